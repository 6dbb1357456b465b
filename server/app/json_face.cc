#include "server/app/json_face.h"

#include <algorithm>
#include <cctype>

namespace tessera::app {
namespace {

constexpr char kPrefix[] = "/api/v1/";

void Send(http::Response& res, const api::JsonReply& reply) {
  res.status = reply.status;
  res.content_type = "application/json; charset=utf-8";
  res.body = reply.body;
  res.headers.emplace_back("Cache-Control", "no-store");
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
}

bool IsJson(const std::string& content_type) {
  std::string media = content_type.substr(0, content_type.find(';'));
  media.erase(std::remove_if(media.begin(), media.end(), [](unsigned char c) { return std::isspace(c); }),
              media.end());
  std::transform(media.begin(), media.end(), media.begin(), [](unsigned char c) { return std::tolower(c); });
  return media == "application/json";
}

}  // namespace

JsonFace::JsonFace(http::Listener& listener) {
  listener.Route(kPrefix, [this](const http::Request& req, http::Response& res) { Serve(req, res); });
}

void JsonFace::Serve(const http::Request& req, http::Response& res) const {
  const std::string method = req.path.substr(sizeof kPrefix - 1);
  res.route = kPrefix;  // the method is added once known: labels stay few
  const api::JsonApi* api = api_.load(std::memory_order_acquire);
  if (api == nullptr) {
    Send(res, api::JsonApi::Error(absl::UnavailableError("not ready: the database is opening (or the server is stopping)")));
    res.headers.emplace_back("Retry-After", "5");
    return;
  }
  if (req.method != "POST") {
    api::JsonReply r = api::JsonApi::Error(absl::InvalidArgumentError(
        "the JSON API answers POST with the request message as JSON, not " + req.method));
    r.status = 405;
    Send(res, r);
    res.headers.emplace_back("Allow", "POST");
    return;
  }
  if (!IsJson(req.Header("content-type"))) {
    api::JsonReply r = api::JsonApi::Error(absl::InvalidArgumentError(
        "send the request with Content-Type: application/json (got '" + req.Header("content-type") + "')"));
    r.status = 415;
    Send(res, r);
    return;
  }
  if (api->Has(method)) res.route += method;
  Send(res, api->Call(method, req.caller, req.body));
}

}  // namespace tessera::app
