#include "server/http/listener.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "httplib.h"
#include "server/metrics/metrics.h"
#include "spdlog/spdlog.h"

namespace tessera::http {
namespace {

// Per worker thread: the request being served came in over the connection limit, and
// the route it matched (for the metrics line written after the response).
thread_local bool t_overloaded = false;
thread_local std::string t_route;
// Set once a request's head is admitted, until its handler runs: a failure meanwhile is
// the body's read failing, and a read fails by timing out (or by the client leaving).
thread_local bool t_reading_body = false;

// httplib gives each connection to a task queue for its whole keep-alive life. This
// one runs at most `threads` at once and admits `max` connections (running or
// waiting); a connection past that is handed to one spare thread that answers 503.
class BoundedQueue final : public httplib::TaskQueue {
 public:
  BoundedQueue(size_t threads, size_t max) : pool_(threads), overflow_(1), max_(max) {}

  void enqueue(std::function<void()> fn) override {
    if (active_.fetch_add(1) >= max_) {
      active_.fetch_sub(1);
      overflow_.enqueue([fn = std::move(fn)] {
        t_overloaded = true;
        fn();
        t_overloaded = false;
      });
      return;
    }
    pool_.enqueue([this, fn = std::move(fn)] {
      fn();
      active_.fetch_sub(1);
    });
  }
  void shutdown() override {
    pool_.shutdown();
    overflow_.shutdown();
  }

 private:
  httplib::ThreadPool pool_, overflow_;
  std::atomic<size_t> active_{0};
  const size_t max_;
};

const char* Reason(int status) {
  switch (status) {
    case 400:
      return "bad request";
    case 404:
      return "no such path";
    case 405:
      return "method not allowed";
    case 408:
      return "request not received in time";
    case 413:
      return "request body too large";
    case 414:
      return "URL too long";
    case 431:
      return "request headers too large";
    case 503:
      return "server busy";
    default:
      return "error";
  }
}

// Common names of the client certificate TLS verified, if any.
std::vector<std::string> CertificateNames(const SSL* ssl) {
  std::vector<std::string> out;
  if (ssl == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return out;
  X509* cert = SSL_get_peer_certificate(ssl);
  if (cert == nullptr) return out;
  char cn[256];
  const int n =
      X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  if (n > 0) out.emplace_back(cn, static_cast<size_t>(n));
  X509_free(cert);
  return out;
}

}  // namespace

const std::string& Request::Header(const std::string& name) const {
  static const std::string* empty = new std::string();
  auto it = headers.find(name);
  return it == headers.end() ? *empty : it->second;
}

std::optional<std::string> Request::Query(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

bool IsLoopback(std::string_view listen) {
  return listen.rfind("127.", 0) == 0 || listen.rfind("localhost:", 0) == 0 ||
         listen.rfind("[::1]:", 0) == 0;
}

struct Listener::Impl {
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  std::atomic<int> listen_fd{-1};
  std::vector<std::pair<std::string, Handler>> routes;  // longest prefix first
  bool tls = false;

  const std::pair<std::string, Handler>* Find(const std::string& path) const {
    for (const auto& r : routes) {
      if (path.rfind(r.first, 0) == 0) return &r;
    }
    return nullptr;
  }

  void Dispatch(const httplib::Request& hreq, httplib::Response& hres) const {
    t_reading_body = false;
    Request req;
    req.method = hreq.method;
    req.path = hreq.path;
    for (const auto& [k, v] : hreq.params) req.query.emplace(k, v);
    for (const auto& [k, v] : hreq.headers) {
      std::string name = k;
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      req.headers.emplace(std::move(name), v);
    }
    req.body = hreq.body;
    req.tls = tls;
    req.caller.transport = "http";
    req.caller.peer =
        (hreq.remote_addr.find(':') != std::string::npos ? "ipv6:[" + hreq.remote_addr + "]:"
                                                         : "ipv4:" + hreq.remote_addr + ":") +
        std::to_string(hreq.remote_port);
    if (hreq.has_header("Authorization"))
      req.caller.authorization = hreq.get_header_value("Authorization");
    if (hreq.has_header("tessera-reason"))
      req.caller.reason = hreq.get_header_value("tessera-reason");
    if (hreq.has_header(gate::kMinPositionHeader))
      req.caller.min_position = hreq.get_header_value(gate::kMinPositionHeader);
    req.caller.certificate_names = CertificateNames(hreq.ssl);
    Response res;
    const auto* route = Find(req.path);
    if (route == nullptr) {
      res.status = 404;
      res.body = "no such path: " + req.path + "\n";
      res.route = "unmatched";
    } else {
      res.route = route->first;
      route->second(req, res);
    }
    t_route = res.route;
    hres.status = res.status;
    for (const auto& [k, v] : res.headers) hres.set_header(k, v);
    if (!res.body.empty() || res.status != 204) hres.set_content(res.body, res.content_type);
  }
};

Listener::Listener(ListenerOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

Listener::~Listener() { Stop(); }

bool Listener::loopback() const { return IsLoopback(options_.listen); }

void Listener::Route(std::string prefix, Handler handler) {
  impl_->routes.emplace_back(std::move(prefix), std::move(handler));
  std::stable_sort(impl_->routes.begin(), impl_->routes.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

absl::Status Listener::Start() {
  const ListenerOptions& o = options_;
  if (!o.tls_cert.empty()) {
    const std::string cert = o.tls_cert, key = o.tls_key, ca = o.tls_client_ca;
    auto server = std::make_unique<httplib::SSLServer>([cert, key, ca](SSL_CTX& ctx) {
      SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
      if (SSL_CTX_use_certificate_chain_file(&ctx, cert.c_str()) != 1) return false;
      if (SSL_CTX_use_PrivateKey_file(&ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) return false;
      if (!ca.empty()) {
        // Asked for and verified when presented; token callers present none.
        if (SSL_CTX_load_verify_locations(&ctx, ca.c_str(), nullptr) != 1) return false;
        SSL_CTX_set_client_CA_list(&ctx, SSL_load_client_CA_file(ca.c_str()));
        SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, nullptr);
      }
      return true;
    });
    if (!server->is_valid()) {
      return absl::InvalidArgumentError("HTTP listener: cannot use the TLS certificate '" + cert +
                                        "', key '" + key + "'" +
                                        (ca.empty() ? "" : " or client CA '" + ca + "'"));
    }
    impl_->server = std::move(server);
    impl_->tls = true;
  } else {
    impl_->server = std::make_unique<httplib::Server>();
  }
  httplib::Server& s = *impl_->server;
  const size_t threads = std::max<size_t>(1, o.threads),
               max_connections = std::max(o.max_connections, threads);
  s.new_task_queue = [threads, max_connections] {
    return new BoundedQueue(threads, max_connections);
  };
  s.set_payload_max_length(o.max_body_bytes);
  s.set_read_timeout(std::chrono::milliseconds(o.read_timeout_ms));
  s.set_write_timeout(std::chrono::milliseconds(o.write_timeout_ms));
  s.set_keep_alive_timeout(std::max<time_t>(1, o.keep_alive_timeout_ms / 1000));
  s.set_keep_alive_max_count(1000);
  s.set_tcp_nodelay(true);  // small answers go out at once, not after a delayed ACK
  // httplib listens with a backlog of 5: a burst of parallel connections (Entra sends
  // them) overflows it and the kernel resets some. Its socket is noted here, before
  // bind, and listened on again with the system's backlog after.
  std::atomic<int>* listen_fd = &impl_->listen_fd;
  s.set_socket_options([listen_fd](socket_t fd) {
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd->store(fd);
  });
  const Impl* impl = impl_.get();
  s.set_pre_routing_handler([impl, o](const httplib::Request& req, httplib::Response& res) {
    const auto* route = impl->Find(req.path);
    t_route = route != nullptr ? route->first : "unmatched";
    const auto refuse = [&](int status, const std::string& why) {
      t_route = "limit";
      res.status = status;
      if (!res.has_header("Connection")) res.set_header("Connection", "close");
      res.set_content(why + "\n", "text/plain; charset=utf-8");
      return httplib::Server::HandlerResponse::Handled;
    };
    if (req.has_header("Transfer-Encoding")) {
      // httplib bounds only bodies with a Content-Length; identity providers send one.
      return refuse(411, "send the body with a Content-Length (chunked bodies are not accepted)");
    }
    if (t_overloaded) {
      return refuse(503, "server busy: " + std::to_string(o.max_connections) +
                             " connections are open (http.max_connections); retry shortly");
    }
    if (req.target.size() > o.max_url_bytes) {
      return refuse(414, "URL of " + std::to_string(req.target.size()) + " bytes, the limit is " +
                             std::to_string(o.max_url_bytes) + " (http.max_url_bytes)");
    }
    size_t header_bytes = 0;
    for (const auto& [k, v] : req.headers) header_bytes += k.size() + v.size() + 4;
    if (header_bytes > o.max_header_bytes) {
      return refuse(431, "request headers of " + std::to_string(header_bytes) +
                             " bytes, the limit is " + std::to_string(o.max_header_bytes) +
                             " (http.max_header_bytes)");
    }
    t_reading_body = true;
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_error_handler(
      httplib::Server::HandlerWithResponse([o](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        if (t_reading_body && res.status == 400) {
          // httplib answers 400 when the body's read fails; the client stopped sending.
          // (A request whose head does not arrive in time is closed unanswered: httplib
          // gives no hook there.)
          t_reading_body = false;
          res.status = 408;
          res.set_header("Connection", "close");
          res.set_content("request body not received within " + std::to_string(o.read_timeout_ms) +
                              " ms (http.read_timeout_ms)\n",
                          "text/plain; charset=utf-8");
          return httplib::Server::HandlerResponse::Handled;
        }
        std::string why = Reason(res.status);
        if (res.status == 413) {
          why = "request body over " + std::to_string(o.max_body_bytes) +
                " bytes (http.max_body_bytes)";
        }
        res.set_content(why + "\n", "text/plain; charset=utf-8");
        return httplib::Server::HandlerResponse::Handled;
      }));
  s.set_logger([](const httplib::Request&, const httplib::Response& res) {
    t_reading_body = false;
    metrics::Global().ObserveHttp(t_route.empty() ? "unmatched" : t_route, res.status);
  });
  const auto dispatch = [impl](const httplib::Request& req, httplib::Response& res) {
    impl->Dispatch(req, res);
  };
  s.Get(".*", dispatch);
  s.Post(".*", dispatch);
  s.Put(".*", dispatch);
  s.Patch(".*", dispatch);
  s.Delete(".*", dispatch);
  s.Options(".*", dispatch);

  const size_t colon = o.listen.rfind(':');
  if (colon == std::string::npos)
    return absl::InvalidArgumentError("http.listen '" + o.listen + "' is not host:port");
  std::string host = o.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string port_text = o.listen.substr(colon + 1);
  int port = 0;
  if (port_text.empty() || port_text.find_first_not_of("0123456789") != std::string::npos ||
      (port = std::stoi(port_text)) > 65535) {
    return absl::InvalidArgumentError("http.listen '" + o.listen + "': '" + port_text +
                                      "' is not a port");
  }
  if (port == 0) {
    port_ = s.bind_to_any_port(host);
  } else if (s.bind_to_port(host, port)) {
    port_ = port;
  }
  if (port_ <= 0)
    return absl::UnavailableError("cannot listen on " + o.listen +
                                  " for HTTP (is the port in use?)");
  if (const int fd = impl_->listen_fd.load(); fd >= 0) ::listen(fd, SOMAXCONN);
  impl_->thread = std::thread([this] { impl_->server->listen_after_bind(); });
  return absl::OkStatus();
}

void Listener::Stop() {
  if (impl_->server != nullptr) impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace tessera::http
