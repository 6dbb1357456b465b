#pragma once

// The web console's files on the HTTP listener: `GET /console/` is index.html,
// `/console/{file}` the others, `/` redirects to `/console/`. The files come from
// memory (embedded at build time, client/web), with a strict Content-Security-Policy
// (`default-src 'self'`, no inline script or style, no framing) and the headers that
// keep a browser from sniffing, framing or leaking the address. The page is a client
// of the JSON API (app/json_face.h); nothing here reads the directory.

#include <map>
#include <string>
#include <string_view>

#include "server/http/listener.h"

namespace tessera::http {

struct StaticFile {
  std::string content_type;
  std::string_view data;  // outlives the face
};

class ConsoleFace {
 public:
  // `files` by path relative to the console ("index.html"); adds the routes.
  ConsoleFace(Listener& listener, std::map<std::string, StaticFile, std::less<>> files);

 private:
  void Serve(const Request& req, Response& res) const;

  const std::map<std::string, StaticFile, std::less<>> files_;
};

// The headers every console page and file carries.
void AddPageHeaders(Response& res);

}  // namespace tessera::http
