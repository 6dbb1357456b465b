#pragma once

// tesserad's HTTP/1.1 listener (cpp-httplib underneath; README.md says why): TLS with
// the gRPC certificate and key, optional client certificates, a bounded worker pool,
// and limits on body, header and URL sizes, timeouts and open connections. Faces
// (health, metrics, SCIM, later the console) add routes by path prefix; each handler
// gets a plain Request with the caller filled for the gate (server/gate) and fills a
// plain Response. httplib stays inside listener.cc.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/gate/call_log.h"

namespace tessera::http {

struct ListenerOptions {
  std::string listen;  // host:port; port 0 picks one
  // TLS: PEM files. Empty cert: plaintext (the caller checks it is allowed).
  std::string tls_cert, tls_key;
  // Client certificates signed by this CA are asked for and verified when presented.
  std::string tls_client_ca;
  size_t threads = 16;                 // workers; each serves one connection at a time
  size_t max_connections = 256;        // open connections, queued ones included; then 503
  size_t max_body_bytes = 4 << 20;     // then 413
  size_t max_header_bytes = 16 << 10;  // all header lines together; then 431
  size_t max_url_bytes = 4096;         // then 414
  int64_t read_timeout_ms = 10'000;    // a request not read by then: connection closed
  int64_t write_timeout_ms = 10'000;
  int64_t keep_alive_timeout_ms = 5'000;  // idle connections close after this
};

struct Request {
  std::string method;                             // "GET"
  std::string path;                               // decoded path, without the query
  std::multimap<std::string, std::string> query;  // decoded ('+' and %20 are spaces)
  std::map<std::string, std::string> headers;     // names lower-cased; the first value of each
  std::string body;
  gate::Caller caller;
  bool tls = false;

  // The header's value, or "" (`name` lower-case).
  const std::string& Header(const std::string& name) const;
  // The first value of a query parameter.
  std::optional<std::string> Query(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // The route's name in metrics ("/scim/v2/Users"); the face's prefix by default.
  std::string route;
};

using Handler = std::function<void(const Request&, Response&)>;

class Listener {
 public:
  explicit Listener(ListenerOptions options);
  ~Listener();  // stops
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Requests whose path starts with `prefix` (the longest prefix wins) go to
  // `handler`, whatever their method. Before Start.
  void Route(std::string prefix, Handler handler);

  // Binds and serves on a thread of its own. The error names the address.
  [[nodiscard]] absl::Status Start();
  // The bound port (after Start).
  int port() const { return port_; }
  bool loopback() const;
  // Stops accepting, lets requests in progress finish (connections then close).
  void Stop();

 private:
  struct Impl;
  ListenerOptions options_;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// Whether `listen` (host:port) is a loopback address.
bool IsLoopback(std::string_view listen);

}  // namespace tessera::http
