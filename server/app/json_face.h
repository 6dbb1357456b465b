#pragma once

// The JSON API (server/api/json_api.h) on the HTTP listener, under /api/v1/. This glue
// lives in app/ because it joins the two transports: server/http knows no protobuf,
// server/api no HTTP.
//
// `POST /api/v1/{Service}/{Method}` with `Content-Type: application/json` (a form
// posted from another site cannot carry that type without the browser asking this
// server first, and it is not asked: no CORS). Other methods get 405, other types 415,
// each as a JSON error. Answers are `application/json`, `Cache-Control: no-store`.
// Until the database is open (and while stopping) every call gets 503.

#include <atomic>

#include "server/api/json_api.h"
#include "server/http/listener.h"

namespace tessera::app {

class JsonFace {
 public:
  // Adds the route to `listener` (before it starts).
  explicit JsonFace(http::Listener& listener);

  // Serving from `api` from now on (null: 503 again).
  void SetApi(const api::JsonApi* api) { api_.store(api, std::memory_order_release); }

 private:
  void Serve(const http::Request& req, http::Response& res) const;

  std::atomic<const api::JsonApi*> api_{nullptr};
};

}  // namespace tessera::app
