#pragma once

// The JSON API (server/api/json_api.h) and the console's sign-in on the HTTP listener,
// under /api/v1/. This glue lives in app/ because it joins the two transports:
// server/http knows no protobuf, server/api no HTTP.
//
// `POST /api/v1/{Service}/{Method}` with `Content-Type: application/json` (a form
// posted from another site cannot carry that type without the browser asking this
// server first, and it is not asked: no CORS). Other methods get 405, other types 415,
// each as a JSON error. Answers are `application/json`, `Cache-Control: no-store`.
// Until the database is open (and while stopping) every call gets 503.
//
// Credentials: an `Authorization: Bearer` header (scripts), or the console's session
// cookie. `POST /api/v1/session` {"token": "..."} (or no token, with a client
// certificate) signs in through the gate (method Console.SignIn) and sets the HttpOnly,
// SameSite=Strict cookie (Secure under TLS); its answer carries the CSRF token every
// later call with the cookie must send as `X-CSRF-Token`. `GET /api/v1/session` says
// who is signed in (and the CSRF token again, for a reloaded page); `DELETE` signs
// out, ending the session on the server.

#include <atomic>

#include "server/api/json_api.h"
#include "server/http/listener.h"
#include "server/http/session.h"

namespace tessera::app {

class JsonFace {
 public:
  // Adds the route to `listener` (before it starts).
  JsonFace(http::Listener& listener, http::SessionOptions sessions,
           std::function<int64_t()> now_ms);

  // Serving from `api`, admitting sign-ins with `gate`, from now on (null: 503 again).
  // Both outlive their use here.
  void SetBackend(const api::JsonApi* api, const api::Gate* gate) {
    gate_.store(gate, std::memory_order_release);
    api_.store(api, std::memory_order_release);
  }

  const http::SessionStore& sessions() const { return sessions_; }

 private:
  void Serve(const http::Request& req, http::Response& res);
  void SessionCall(const api::Gate& gate, const http::Request& req, http::Response& res);

  std::atomic<const api::JsonApi*> api_{nullptr};
  std::atomic<const api::Gate*> gate_{nullptr};
  http::SessionStore sessions_;
};

}  // namespace tessera::app
