#pragma once

// The faces tesserad shows on its HTTP listener: /healthz and /readyz (no
// credentials, like gRPC health checking), /metrics (Prometheus text; a token with the
// metrics or admin role unless the listener is on loopback and
// SiteOptions allow that) and the SCIM 2.0 service
// provider under /scim/v2/ (server/scim does the work). Routes exist from the start; until the
// database is open (which may mean a rebuild) `/readyz` and every face but health
// answer 503, so a load balancer waits.

#include <atomic>

#include "server/directory/directory.h"
#include "server/gate/gate.h"
#include "server/http/listener.h"
#include "server/scim/service.h"

namespace tessera::http {

// What the faces serve from, once the database is open. Outlives the site's use of it.
struct Backend {
  directory::Directory* dir = nullptr;
  const gate::Gate* gate = nullptr;
  scim::Service* scim = nullptr;
};

struct SiteOptions {
  // /metrics answers anyone when the listener is on loopback (only local processes
  // reach it); false asks for the metrics or admin role there too (a shared host).
  bool metrics_open_on_loopback = true;
};

class Site {
 public:
  // Adds the routes to `listener` (before it starts).
  Site(Listener& listener, SiteOptions options);

  // Serving from `backend` from now on (null: not ready again, e.g. when stopping).
  void SetBackend(const Backend* backend) { backend_.store(backend, std::memory_order_release); }

 private:
  void Metrics(const Backend& b, const Request& req, Response& res) const;
  void Scim(const Backend& b, const Request& req, Response& res) const;
  // `handler` with the backend, or 503 while there is none.
  Handler WithBackend(void (Site::*handler)(const Backend&, const Request&, Response&) const) const;

  Listener& listener_;
  const SiteOptions options_;
  std::atomic<const Backend*> backend_{nullptr};
};

// Per-source sync figures and RocksDB's, read from `dir` whenever /metrics renders.
void AddDirectoryCollectors(const directory::Directory& dir);

}  // namespace tessera::http
