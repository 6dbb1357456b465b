#include "server/http/console.h"

namespace tessera::http {

void AddPageHeaders(Response& res) {
  res.headers.emplace_back(
      "Content-Security-Policy",
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
      "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
      "frame-ancestors 'none'");
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  res.headers.emplace_back("Referrer-Policy", "no-referrer");
  res.headers.emplace_back("X-Frame-Options", "DENY");
  // Revalidated on each load: a new tesserad serves its own page at once.
  res.headers.emplace_back("Cache-Control", "no-cache");
}

ConsoleFace::ConsoleFace(Listener& listener, std::map<std::string, StaticFile, std::less<>> files)
    : files_(std::move(files)) {
  listener.Route("/console", [this](const Request& req, Response& res) { Serve(req, res); });
  listener.Route("/", [](const Request& req, Response& res) {
    res.route = "/";
    if (req.path != "/") {
      res.status = 404;
      res.body = "no such path: " + req.path + "\n";
      return;
    }
    res.status = 302;
    res.headers.emplace_back("Location", "/console/");
    res.body = "the console is at /console/\n";
  });
}

void ConsoleFace::Serve(const Request& req, Response& res) const {
  res.route = "/console";
  if (req.method != "GET" && req.method != "HEAD") {
    res.status = 405;
    res.headers.emplace_back("Allow", "GET, HEAD");
    res.body = "the console's files answer GET\n";
    return;
  }
  if (req.path == "/console") {
    res.status = 301;
    res.headers.emplace_back("Location", "/console/");
    return;
  }
  std::string_view name = std::string_view(req.path).substr(sizeof "/console/" - 1);
  if (name.empty()) name = "index.html";
  auto it = files_.find(name);
  if (it == files_.end()) {
    res.status = 404;
    res.body = "no such file in the console: " + std::string(name) + "\n";
    return;
  }
  res.status = 200;
  res.content_type = it->second.content_type;
  res.body = std::string(it->second.data);
  AddPageHeaders(res);
}

}  // namespace tessera::http
