#define BOOST_TEST_MODULE security
#include <signal.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "client/lib/client.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/impl/client_unary_call.h"
#include "grpcpp/impl/rpc_method.h"
#include "grpcpp/support/byte_buffer.h"
#include "httplib.h"  // its pkg-config flags turn on its OpenSSL support (SSLClient)
#include "nlohmann/json.hpp"
#include "server/access/access.h"
#include "tests/integration/tesserad_process.h"
#include "tests/unit/temp_dir.h"

// tesserad with TLS, mutual TLS and bearer tokens: every RPC of every service, and
// every route of the HTTP listener (health, metrics, SCIM, the JSON API, the console's
// sessions and page), against every kind of caller, through the real server on
// loopback ports. Certificates are made by the openssl command for each run.

using namespace tessera;

using testing::ReadFile;

namespace {

void Sh(const std::string& cmd) {
  BOOST_REQUIRE_MESSAGE(std::system((cmd + " >/dev/null 2>&1").c_str()) == 0, "failed: " << cmd);
}

struct Caller {
  std::string name;
  std::string token;                 // bearer token, or empty
  std::string cert;                  // client certificate base name (cert.pem/cert.key), or empty
  uint32_t roles = 0;                // what the caller holds (0: not authenticated)
  std::vector<std::string> sources;  // the sources a connector is bound to
  std::string principal;             // its name in the audit log (when authenticated)
};

// The port a listener of tesserad wrote to `file`, once it has (0: not within 20 s).
int PortIn(const std::string& file) {
  for (int i = 0; i < 400; ++i) {
    std::ifstream in(file);
    int port = 0;
    if (in >> port && port > 0) return port;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return 0;
}

struct SecureServer {
  SecureServer() {
    // A CA, the server's certificate for 127.0.0.1, and client certificates: one listed
    // in the principals file (hr-sync, a connector) and one that is not (stranger).
    const std::string d = tmp.path();
    Sh("cd " + d +
       " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "
       "ca.key "
       "-out ca.pem -days 2 -subj '/CN=Tessera test CA'");
    Cert("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth");
    Cert("hr-sync", "extendedKeyUsage=clientAuth");
    Cert("stranger", "extendedKeyUsage=clientAuth");
    std::string tokens;
    for (const char* role : {"reader", "agent", "connector", "admin", "auditor", "metrics"}) {
      const std::string token = std::string("token-of-") + role + "-0123456789";
      const bool connector = std::string(role) == "connector";
      callers.push_back({role, token, "", access::Bit(*access::ParseRole(role)),
                         connector ? std::vector<std::string>{"hr"} : std::vector<std::string>{},
                         role});
      tokens += std::string(tokens.empty() ? "" : ",") + R"({"principal": ")" + role +
                R"(", "sha256": ")" + access::Sha256Hex(token) + R"(", "roles": [")" + role +
                R"("])" + (connector ? R"(, "sources": ["hr"])" : "") + "}";
    }
    tokens += R"(, {"principal": "old", "sha256": ")" + access::Sha256Hex("expired-token") +
              R"(", "roles": ["admin"], "expires": "2020-01-01"})";
    tokens += R"(, {"principal": "loader", "sha256": ")" + access::Sha256Hex("token-of-loader") +
              R"(", "roles": ["connector"], "sources": ["hr", "crm"]})";
    std::ofstream(tmp.Sub("principals.json"))
        << R"({"tokens": [)" << tokens
        << R"(], "certificates": [{"common_name": "hr-sync", "roles": ["connector"], "sources": ["hr"]}]})";
    callers.push_back({"no credentials", "", "", 0});
    callers.push_back({"unknown token", "not-a-token", "", 0});
    callers.push_back({"expired token", "expired-token", "", 0});
    callers.push_back({"certificate hr-sync",
                       "",
                       "hr-sync",
                       access::Bit(access::Role::kConnector),
                       {"hr"},
                       "hr-sync"});
    callers.push_back({"certificate stranger", "", "stranger", 0});
    // The HTTP listener shares gRPC's TLS and principals; /metrics asks for a role even
    // on loopback, so the matrix sees the gate there too.
    std::ofstream(tmp.Sub("tesserad.json"))
        << R"({"security": {"tls_cert": ")" << tmp.Sub("server.pem") << R"(", "tls_key": ")"
        << tmp.Sub("server.key") << R"(", "tls_client_ca": ")" << tmp.Sub("ca.pem")
        << R"(", "principals": ")" << tmp.Sub("principals.json") << R"("},)"
        << R"( "http": {"listen": "127.0.0.1:0", "port_file": ")" << tmp.Sub("http-port")
        << R"(", "metrics_open_on_loopback": false}})";
    server.Start();
    http_port = PortIn(tmp.Sub("http-port"));
    BOOST_REQUIRE_MESSAGE(http_port > 0, "no HTTP port file:\n" << server.Log());
    client::Client admin(Options({"admin", "token-of-admin-0123456789", "", 0}));
    for (const char* id : {"hr", "crm"}) {
      v1::Source s;
      s.set_id(id);
      s.set_kind("test");
      s.set_priority(50);
      BOOST_REQUIRE_MESSAGE(admin.PutSource(s).ok(), admin.PutSource(s).status());
    }
  }

  void Cert(const std::string& name, const std::string& ext) {
    const std::string d = tmp.path();
    std::ofstream(tmp.Sub(name + ".ext")) << ext << "\n";
    Sh("cd " + d +
       " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + name +
       ".key -out " + name + ".csr -subj '/CN=" + name + "' && openssl x509 -req -in " + name +
       ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out " + name + ".pem -extfile " +
       name + ".ext");
  }

  // One request as `c` over HTTPS: tesserad's certificate checked against the test CA,
  // the caller's client certificate presented and its token sent when it has them,
  // with a reason the audit log keeps.
  httplib::Result Https(const Caller& c, const std::string& method, const std::string& target,
                        const std::string& body = "") {
    httplib::Headers headers;
    if (!body.empty()) headers.emplace("Content-Type", "application/scim+json");
    return HttpsWith(c, method, target, headers, body);
  }

  // The same with these headers added (Content-Type, Cookie, X-CSRF-Token) and `body`
  // sent as it is.
  httplib::Result HttpsWith(const Caller& c, const std::string& method, const std::string& target,
                            const httplib::Headers& headers, const std::string& body = "") {
    auto cli = c.cert.empty() ? std::make_unique<httplib::SSLClient>("127.0.0.1", http_port)
                              : std::make_unique<httplib::SSLClient>("127.0.0.1", http_port,
                                                                     tmp.Sub(c.cert + ".pem"),
                                                                     tmp.Sub(c.cert + ".key"));
    cli->set_ca_cert_path(tmp.Sub("ca.pem"));
    cli->enable_server_certificate_verification(true);
    cli->set_connection_timeout(5);
    cli->set_read_timeout(20);
    httplib::Request req;
    req.method = method;
    req.path = target;
    req.headers.emplace("tessera-reason", kHttpReason);
    if (!c.token.empty()) req.headers.emplace("Authorization", "Bearer " + c.token);
    for (const auto& header : headers) req.headers.insert(header);
    req.body = body;
    return cli->send(req);
  }

  // Until the database is open the JSON API answers 503; then a GET of /api/v1/session
  // without a cookie is 401.
  void AwaitJsonApi() {
    const Caller nobody{"no credentials"};
    for (int i = 0; i < 400; ++i) {
      const httplib::Result r = Https(nobody, "GET", "/api/v1/session");
      if (r && r->status != 503) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    BOOST_FAIL("/api/v1/ still answers 503 (or nothing) after 20 s");
  }

  // The audit log as the auditor reads it over gRPC: the calls refused with
  // PERMISSION_DENIED whose method `counted` selects, by (principal, method). Each was a
  // request of HttpsWith(): it names the peer (loopback), the reason HttpsWith() gives
  // and a time since `start_ms`.
  std::map<std::pair<std::string, std::string>, int> AuditedRefusals(
      int64_t start_ms, const std::function<bool(const std::string&)>& counted) {
    const auto auditor = std::find_if(callers.begin(), callers.end(), [](const Caller& c) {
      return c.roles == access::Bit(access::Role::kAuditor) && !c.token.empty();
    });
    BOOST_REQUIRE(auditor != callers.end());
    const client::Client c(Options(*auditor));
    std::map<std::pair<std::string, std::string>, int> audited;
    v1::ReadAuditRequest page;
    page.set_page_size(1000);
    do {
      const absl::StatusOr<v1::ReadAuditResponse> r = c.ReadAudit(page);
      BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
      for (const v1::AuditEntry& e : r->entries()) {
        if (!counted(e.method()) || e.outcome() != "PERMISSION_DENIED") continue;
        ++audited[{e.principal(), e.method()}];
        BOOST_TEST(e.peer().rfind("ipv4:127.0.0.1:", 0) == 0u, e.peer());
        BOOST_TEST(e.reason() == kHttpReason);
        BOOST_TEST(e.time_unix_ms() >= start_ms);
        BOOST_TEST(e.sequence() > 0u);
      }
      page.set_after_sequence(r->next_after_sequence());
    } while (page.after_sequence() != 0);
    return audited;
  }

  client::ClientOptions Options(const Caller& c) {
    client::ClientOptions o;
    o.server = server.address();
    o.timeout_ms = 20'000;
    const std::string cert = c.cert.empty() ? "" : tmp.Sub(c.cert + ".pem");
    const std::string key = c.cert.empty() ? "" : tmp.Sub(c.cert + ".key");
    BOOST_REQUIRE(client::LoadCredentials(o, tmp.Sub("ca.pem"), cert, key, "").ok());
    o.token = c.token;
    return o;
  }

  testing::TempDir tmp;
  testing::TesseradProcess server{tmp.path(), {"--config", tmp.Sub("tesserad.json")}};
  std::vector<Caller> callers;
  // A connector bound to two sources: not in `callers`, where it would write crm in
  // connectors_write_only_their_sources; the HTTP matrix asks it too.
  Caller loader{"loader",      "token-of-loader", "", access::Bit(access::Role::kConnector),
                {"hr", "crm"}, "loader"};
  int http_port = 0;
  static constexpr char kHttpReason[] = "security matrix";
};

// Calls `method` ("/tessera.v1.Admin/Stats") with serialised `request`.
grpc::Status CallRaw(const client::Client& c, const std::string& method,
                     const std::string& request) {
  const grpc::internal::RpcMethod rpc(method.c_str(), grpc::internal::RpcMethod::NORMAL_RPC);
  std::unique_ptr<grpc::ClientContext> ctx = c.NewContext();
  grpc::Slice slice(request);
  const grpc::ByteBuffer req(&slice, 1);
  grpc::ByteBuffer resp;
  return grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      c.channel().get(), rpc, ctx.get(), req, &resp);
}

grpc::Status CallIngest(const client::Client& c, const std::string& source) {
  std::unique_ptr<grpc::ClientContext> ctx = c.NewContext();
  v1::IngestResponse resp;
  auto writer = c.directory().Ingest(ctx.get(), &resp);
  if (!source.empty()) {
    v1::IngestBatch batch;
    v1::Fragment* f = batch.add_fragments();
    f->set_source(source);
    f->set_external_id("X1");
    f->set_kind("employee");
    f->set_version(1);
    auto* id = f->add_identifiers();
    id->set_type("employee_id");
    id->set_value("X1");
    writer->Write(batch);
  }
  writer->WritesDone();
  return writer->Finish();
}

// Opens a Watch stream: an admitted caller gets a first event (a heartbeat at least).
grpc::Status CallWatch(const client::Client& c) {
  std::unique_ptr<grpc::ClientContext> ctx = c.NewContext();
  v1::WatchRequest req;
  req.set_from_now(true);
  req.set_progress_interval_ms(100);
  auto stream = c.directory().Watch(ctx.get(), req);
  v1::ChangeEvent e;
  if (stream->Read(&e)) {
    ctx->TryCancel();
    stream->Finish();
    return grpc::Status::OK;
  }
  return stream->Finish();
}

// Every change the caller's Watch shows, from the start of the log to its end now.
std::vector<v1::ChangeEvent> Changes(const client::Client& c, uint64_t end) {
  std::unique_ptr<grpc::ClientContext> ctx = c.NewContext();
  v1::WatchRequest req;
  req.set_progress_interval_ms(100);
  auto stream = c.directory().Watch(ctx.get(), req);
  std::vector<v1::ChangeEvent> out;
  v1::ChangeEvent e;
  while (stream->Read(&e)) {
    if (e.op() != v1::ChangeEvent::PROGRESS) out.push_back(e);
    if (e.sequence() >= end) break;
  }
  ctx->TryCancel();
  stream->Finish();
  return out;
}

using nlohmann::json;

constexpr char kUserSchema[] = "urn:ietf:params:scim:schemas:core:2.0:User";
constexpr char kErrorSchema[] = "urn:ietf:params:scim:api:messages:2.0:Error";
constexpr char kNeedsRole[] = "needs the role";

// A route of the HTTP listener and what happens to a caller the gate lets through.
struct HttpRoute {
  std::string method;
  std::string target;
  std::string gate;    // the method the gate admits the call as; empty: no credentials asked
  int ok = 200;        // the status of a caller allowed in
  std::string says;    // in that answer's body
  std::string source;  // the SCIM source named in the URL, if any
  bool bound = false;  // /Users or /Groups with no source in the URL: the token's own
  std::string body;
  bool new_user = false;  // the body is a user of a fresh userName
};

std::vector<HttpRoute> HttpRoutes() {
  const std::string patch =
      R"({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],)"
      R"( "Operations": [{"op": "replace", "path": "active", "value": false}]})";
  const std::string user =
      json{{"schemas", json::array({kUserSchema})}, {"userName", "matrix-put@example.com"}}.dump();
  const char* list = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
  return {
      {.method = "GET", .target = "/healthz", .says = "ok"},
      {.method = "GET", .target = "/readyz", .says = "ready"},
      {.method = "GET", .target = "/metrics", .gate = "Http.Metrics", .says = "tessera_"},
      {.method = "GET",
       .target = "/scim/v2/ServiceProviderConfig",
       .gate = "Scim.Read",
       .says = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
      {.method = "GET",
       .target = "/scim/v2/ResourceTypes",
       .gate = "Scim.Read",
       .says = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"},
      {.method = "GET", .target = "/scim/v2/Schemas", .gate = "Scim.Read", .says = kUserSchema},
      {.method = "POST",
       .target = "/scim/v2/Schemas",
       .gate = "Scim.Write",
       .ok = 405,
       .says = "is not allowed"},
      {.method = "GET",
       .target = "/scim/v2/hr/Users?count=0",
       .gate = "Scim.Read",
       .says = list,
       .source = "hr"},
      {.method = "GET",
       .target = "/scim/v2/crm/Users?count=0",
       .gate = "Scim.Read",
       .says = list,
       .source = "crm"},
      {.method = "GET",
       .target = "/scim/v2/Users?count=0",
       .gate = "Scim.Read",
       .says = list,
       .bound = true},
      {.method = "GET",
       .target = "/scim/v2/hr/Groups",
       .gate = "Scim.Read",
       .says = list,
       .source = "hr"},
      {.method = "GET",
       .target = "/scim/v2/hr/Users/some-unknown-id",
       .gate = "Scim.Read",
       .ok = 404,
       .says = "not found",
       .source = "hr"},
      {.method = "POST",
       .target = "/scim/v2/hr/Users",
       .gate = "Scim.Write",
       .ok = 201,
       .says = kUserSchema,
       .source = "hr",
       .new_user = true},
      {.method = "POST",
       .target = "/scim/v2/crm/Users",
       .gate = "Scim.Write",
       .ok = 201,
       .says = kUserSchema,
       .source = "crm",
       .new_user = true},
      {.method = "POST",
       .target = "/scim/v2/Users",
       .gate = "Scim.Write",
       .ok = 201,
       .says = kUserSchema,
       .bound = true,
       .new_user = true},
      {.method = "PUT",
       .target = "/scim/v2/hr/Users/unknown-id",
       .gate = "Scim.Write",
       .ok = 404,
       .says = "not found",
       .source = "hr",
       .body = user},
      {.method = "PATCH",
       .target = "/scim/v2/hr/Users/unknown-id",
       .gate = "Scim.Write",
       .ok = 404,
       .says = "not found",
       .source = "hr",
       .body = patch},
      {.method = "DELETE",
       .target = "/scim/v2/hr/Users/unknown-id",
       .gate = "Scim.Write",
       .ok = 404,
       .says = "not found",
       .source = "hr"},
      {.method = "POST",
       .target = "/scim/v2/Bulk",
       .gate = "Scim.Write",
       .ok = 501,
       .says = "not implemented",
       .body =
           R"({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": []})"},
      {.method = "GET",
       .target = "/scim/v2/Me",
       .gate = "Scim.Read",
       .ok = 501,
       .says = "not implemented"},
  };
}

struct HttpExpected {
  int status;
  std::string says;  // in the body
};

// The rules, not the cells: health is open; then the gate (no valid credentials 401, a
// role the method does not take 403); then SCIM's source (a connector writes and reads
// only its bound sources, an admin any; without one in the URL, /Users and /Groups take
// the token's single bound source, else 400 invalidPath); then the route's own answer.
HttpExpected Expect(const HttpRoute& route, const Caller& c) {
  if (route.gate.empty()) return {route.ok, route.says};
  if (c.roles == 0) return {401, ""};
  if ((c.roles & access::RolesFor(route.gate)) == 0) return {403, kNeedsRole};
  const bool admin = (c.roles & access::Bit(access::Role::kAdmin)) != 0;
  const bool bound_to_it =
      std::find(c.sources.begin(), c.sources.end(), route.source) != c.sources.end();
  if (!route.source.empty() && !admin && !bound_to_it)
    return {403, "not bound to source '" + route.source + "'"};
  if (route.bound && (admin || c.sources.size() != 1))
    return {400, "not bound to exactly one source"};
  return {route.ok, route.says};
}

std::string Str(const json& object, const char* key) {
  return object.contains(key) && object[key].is_string() ? object[key].get<std::string>() : "";
}

// The answer's status and body, and the form of a refusal: SCIM's Error in
// application/scim+json on /scim/v2, plain text elsewhere, a Bearer challenge with 401.
void CheckAnswer(const HttpRoute& route, const HttpExpected& want, const httplib::Result& r) {
  if (!r) {
    BOOST_ERROR("no answer: " << httplib::to_string(r.error()));
    return;
  }
  BOOST_TEST(r->status == want.status, r->body);
  BOOST_TEST(r->body.find(want.says) != std::string::npos,
             "'" << want.says << "' not in " << r->body);
  if (r->status == 401)
    BOOST_TEST(r->get_header_value("WWW-Authenticate") == "Bearer realm=\"tessera\"");
  const std::string type = r->get_header_value("Content-Type");
  if (route.target.rfind("/scim/v2/", 0) != 0) {
    BOOST_TEST(type.rfind("text/plain", 0) == 0u, type);
    return;
  }
  BOOST_TEST(type.rfind("application/scim+json", 0) == 0u, type);
  const json body = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  BOOST_TEST(body.is_object(), r->body);
  if (!body.is_object() || r->status < 400) return;
  const std::string schemas = body.contains("schemas") ? body["schemas"].dump() : "";
  BOOST_TEST(schemas == json::array({kErrorSchema}).dump());
  BOOST_TEST(Str(body, "status") == std::to_string(r->status));
  if (r->status == 400) BOOST_TEST(Str(body, "scimType") == "invalidPath");
}

// A userName no other cell uses: the caller's name and the route's index.
std::string NewUserName(const Caller& c, size_t route) {
  std::string name = "matrix-";
  for (char ch : c.name) name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '-';
  return name + "-" + std::to_string(route) + "@example.com";
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The JSON API (/api/v1/) and the console's sessions.

constexpr char kJson[] = "application/json";
constexpr char kSessionCookie[] = "tessera_session";

// A call of the JSON API, and what it answers a caller the gate lets through.
struct JsonRoute {
  std::string method;  // "Directory/GetProfile": the gate admits it as "Directory.GetProfile"
  json request;        // sent as JSON; null: no body
  absl::StatusCode answer = absl::StatusCode::kOk;
  std::string says;  // in that answer's body
  std::string verb = "POST";
  std::string content_type = kJson;  // empty: no Content-Type
  // The face's own refusal of the verb (405) or the media type (415), made before the
  // gate looks at any credentials; as INVALID_ARGUMENT.
  int refused = 0;
};

std::vector<JsonRoute> JsonRoutes() {
  const json nobody = {{"type", "email"}, {"value", "nobody@example.com"}};
  const std::string absent = "no profile has identifier 'email:nobody@example.com'";
  const json search = {{"prefix", "a"}};
  return {
      {.method = "Directory/GetProfile",
       .request = {{"identifier", nobody}},
       .answer = absl::StatusCode::kNotFound,
       .says = absent},
      {.method = "Directory/SearchPeople", .request = search, .says = R"("people")"},
      {.method = "Directory/Neighbors",
       .request = {{"identifier", nobody}},
       .answer = absl::StatusCode::kNotFound,
       .says = absent},
      {.method = "Directory/CustomerHistory",
       .request = {{"identifier", nobody}},
       .answer = absl::StatusCode::kNotFound,
       .says = absent},
      {.method = "Expertise/FindExperts",
       .request = {{"text", "card blocked"}},
       .says = R"("experts")"},
      // The person handling the case must exist: it does not.
      {.method = "Expertise/RecordOutcome",
       .request = {{"case", {{"type", "case"}, {"value", "X-1"}}},
                   {"handledBy", nobody},
                   {"status", "open"}},
       .answer = absl::StatusCode::kNotFound,
       .says = "handled_by: " + absent},
      {.method = "Admin/ListSources", .request = json::object(), .says = R"("sources")"},
      {.method = "Admin/ListRules", .request = json::object(), .says = R"("rules")"},
      {.method = "Directory/SearchPeople",
       .says = "not GET",
       .verb = "GET",
       .content_type = "",
       .refused = 405},
      {.method = "Directory/SearchPeople",
       .request = search,
       .says = "Content-Type: application/json",
       .content_type = "text/plain",
       .refused = 415},
  };
}

std::string GateMethod(std::string json_method) {
  std::replace(json_method.begin(), json_method.end(), '/', '.');
  return json_method;
}

std::string Body(const JsonRoute& route) {
  return route.request.is_null() ? "" : route.request.dump();
}

// The headers of a request to the JSON API: its media type (empty: none) and, as the
// console's page sends them, the session cookie and the CSRF token when given.
httplib::Headers ApiHeaders(const std::string& content_type, const std::string& session = "",
                            const std::string& csrf = "") {
  httplib::Headers h;
  if (!content_type.empty()) h.emplace("Content-Type", content_type);
  if (!session.empty()) h.emplace("Cookie", std::string(kSessionCookie) + "=" + session);
  if (!csrf.empty()) h.emplace("X-CSRF-Token", csrf);
  return h;
}

struct JsonExpected {
  int status;
  std::string code;  // the error object's code; empty: not an error
  std::string says;  // in the body
};

// Google's mapping of the canonical codes onto HTTP statuses (google/rpc/code.proto),
// which the JSON API follows; for the codes these calls end with.
int HttpStatusOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

JsonExpected Answer(absl::StatusCode code, const std::string& says) {
  return {HttpStatusOf(code), code == absl::StatusCode::kOk ? "" : absl::StatusCodeToString(code),
          says};
}

// The rules of the JSON API: the face refuses another verb (405) or media type (415)
// first; then the gate, as for gRPC (no valid credentials 401, a role the method does
// not take 403 naming it); then the method's own answer.
JsonExpected Expect(const JsonRoute& route, const Caller& c) {
  if (route.refused != 0) {
    return {route.refused, absl::StatusCodeToString(absl::StatusCode::kInvalidArgument),
            route.says};
  }
  if (c.roles == 0) return Answer(absl::StatusCode::kUnauthenticated, "");
  if ((c.roles & access::RolesFor(GateMethod(route.method))) == 0) {
    return Answer(absl::StatusCode::kPermissionDenied, kNeedsRole);
  }
  return Answer(route.answer, route.says);
}

// Signing in to the console is a call of Console.SignIn through the same gate.
JsonExpected ExpectSignIn(const Caller& c) {
  if (c.roles == 0) return Answer(absl::StatusCode::kUnauthenticated, "");
  if ((c.roles & access::RolesFor("Console.SignIn")) == 0) {
    return Answer(absl::StatusCode::kPermissionDenied, kNeedsRole);
  }
  return Answer(absl::StatusCode::kOk, "csrfToken");
}

// Every /api/v1 answer: never cached, never sniffed into something else, never framed.
void CheckApiHeaders(const httplib::Response& r) {
  BOOST_TEST(r.get_header_value("Cache-Control") == "no-store");
  BOOST_TEST(r.get_header_value("X-Content-Type-Options") == "nosniff");
  BOOST_TEST(r.get_header_value("Content-Security-Policy") ==
             "default-src 'none'; frame-ancestors 'none'");
}

// A JSON API answer: its status and words, the headers above, a JSON object in
// application/json (no body with 204) and, for an error, exactly {"code": the
// canonical code's name, "message": not empty}.
void CheckJsonAnswer(const JsonExpected& want, const httplib::Result& r) {
  if (!r) {
    BOOST_ERROR("no answer: " << httplib::to_string(r.error()));
    return;
  }
  BOOST_TEST(r->status == want.status, r->body);
  BOOST_TEST(r->body.find(want.says) != std::string::npos,
             "'" << want.says << "' not in " << r->body);
  CheckApiHeaders(*r);
  if (r->status == 405) BOOST_TEST(!r->get_header_value("Allow").empty());
  if (r->status == 204) {
    BOOST_TEST(r->body.empty(), r->body);
    return;
  }
  const std::string type = r->get_header_value("Content-Type");
  BOOST_TEST(type.rfind(kJson, 0) == 0u, type);
  const json body = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  BOOST_TEST(body.is_object(), r->body);
  if (!body.is_object() || want.code.empty()) return;
  BOOST_TEST(Str(body, "code") == want.code, r->body);
  BOOST_TEST(!Str(body, "message").empty(), r->body);
  BOOST_TEST(body.size() == 2u, r->body);
}

// The audit log holds each refusal (for want of a role, or of the session's CSRF token)
// as often as it was made, and no other refusal of the methods it was asked about:
// (principal, method) -> calls.
void CheckAudited(const std::map<std::pair<std::string, std::string>, int>& refused,
                  const std::map<std::pair<std::string, std::string>, int>& audited) {
  std::set<std::pair<std::string, std::string>> all;
  for (const auto& [who_what, n] : refused) all.insert(who_what);
  for (const auto& [who_what, n] : audited) all.insert(who_what);
  for (const auto& who_what : all) {
    const int want = refused.count(who_what) != 0 ? refused.at(who_what) : 0;
    const int got = audited.count(who_what) != 0 ? audited.at(who_what) : 0;
    BOOST_TEST(got == want, who_what.second << " refused to " << who_what.first);
  }
}

bool IsHex64(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The names of the roles in a mask, in the order of access::Role.
std::vector<std::string> RoleNames(uint32_t roles) {
  std::vector<std::string> out;
  for (int i = 0; i < access::kRoleCount; ++i) {
    const auto role = static_cast<access::Role>(i);
    if ((roles & access::Bit(role)) != 0) out.emplace_back(access::RoleName(role));
  }
  return out;
}

// A Set-Cookie header: name=value; attribute; attribute...
struct SetCookie {
  std::string name, value;
  std::set<std::string> attributes;
};

SetCookie ParseSetCookie(const std::string& header) {
  SetCookie c;
  size_t pos = 0;
  for (bool first = true; pos <= header.size(); first = false) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string part = header.substr(pos, end - pos);
    part.erase(0, part.find_first_not_of(' '));
    if (first) {
      const size_t eq = part.find('=');
      c.name = part.substr(0, eq);
      c.value = eq == std::string::npos ? "" : part.substr(eq + 1);
    } else {
      c.attributes.insert(part);
    }
    pos = end + 1;
  }
  return c;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(Security, SecureServer)

BOOST_AUTO_TEST_CASE(every_rpc_for_every_caller) {
  // Requests that let a caller with the right role through to the handler's own checks.
  std::map<std::string, std::string> requests;
  v1::Source hr;
  hr.set_id("hr");
  hr.set_kind("test");
  hr.set_priority(50);
  requests["Admin.PutSource"] = hr.SerializeAsString();
  v1::ReportSyncRequest report;
  report.set_source("hr");
  report.mutable_run()->set_state("ok");
  requests["Admin.ReportSync"] = report.SerializeAsString();

  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  size_t cells = 0;
  for (const char* service : {"tessera.v1.Directory", "tessera.v1.Expertise", "tessera.v1.Admin"}) {
    const google::protobuf::ServiceDescriptor* sd = pool->FindServiceByName(service);
    BOOST_REQUIRE(sd != nullptr);
    for (int m = 0; m < sd->method_count(); ++m) {
      const google::protobuf::MethodDescriptor* md = sd->method(m);
      const std::string short_name = sd->name() + "." + md->name();
      const uint32_t allowed = access::RolesFor(short_name);
      BOOST_TEST(allowed != 0u, short_name << " is open to no role");
      for (const Caller& caller : callers) {
        const client::Client c(Options(caller));
        grpc::Status s;
        if (md->client_streaming()) {
          s = CallIngest(c, "");
        } else if (md->server_streaming() && short_name == "Directory.Watch") {
          s = CallWatch(c);
        } else {
          BOOST_REQUIRE_MESSAGE(!md->server_streaming(),
                                short_name << ": add a streaming call to this test");
          s = CallRaw(c, "/" + sd->full_name() + "/" + md->name(), requests[short_name]);
        }
        ++cells;
        BOOST_TEST_INFO(short_name << " as " << caller.name << ": " << s.error_code() << " "
                                   << s.error_message());
        if (caller.roles == 0) {
          BOOST_TEST(s.error_code() == grpc::StatusCode::UNAUTHENTICATED);
        } else if ((caller.roles & allowed) != 0) {
          BOOST_TEST(s.error_code() != grpc::StatusCode::UNAUTHENTICATED);
          BOOST_TEST(s.error_code() != grpc::StatusCode::PERMISSION_DENIED);
          BOOST_TEST(s.error_code() != grpc::StatusCode::UNAVAILABLE);
        } else {
          BOOST_TEST(s.error_code() == grpc::StatusCode::PERMISSION_DENIED);
          BOOST_TEST(s.error_message().find("needs the role") != std::string::npos);
        }
      }
    }
  }
  BOOST_TEST(cells >= 22u * 10u);
  BOOST_TEST_MESSAGE("role matrix: " << cells << " calls");
}

// The HTTP counterpart: every route of the listener as every kind of caller (and a
// connector bound to two sources), each answer derived from the rules in Expect; then
// the audit log holds each call refused for want of a role, as it does a gRPC one.
BOOST_AUTO_TEST_CASE(every_http_route_for_every_caller) {
  const int64_t start_ms = NowMs();
  // The listener serves before the database is open; /readyz says when the rest does.
  const Caller nobody{"no credentials"};
  bool ready = false;
  for (int i = 0; i < 400 && !ready; ++i) {
    const httplib::Result r = Https(nobody, "GET", "/readyz");
    ready = r && r->status == 200;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  BOOST_REQUIRE_MESSAGE(ready, "/readyz did not answer 200 within 20 s");

  // TLS only: a plaintext request gets no HTTP answer.
  httplib::Client plain("127.0.0.1", http_port);
  plain.set_connection_timeout(5);
  plain.set_read_timeout(5);
  const httplib::Result answered = plain.Get("/healthz");
  BOOST_TEST(!answered, "plaintext HTTP was answered " << (answered ? answered->status : 0));

  std::vector<Caller> everyone = callers;
  everyone.push_back(loader);
  const std::vector<HttpRoute> routes = HttpRoutes();
  std::map<std::pair<std::string, std::string>, int>
      refused_for_role;  // (principal, gate method) -> calls
  size_t cells = 0;
  for (size_t i = 0; i < routes.size(); ++i) {
    const HttpRoute& route = routes[i];
    for (const Caller& caller : everyone) {
      const std::string user = route.new_user ? NewUserName(caller, i) : "";
      const std::string body =
          route.new_user
              ? json{{"schemas", json::array({kUserSchema})}, {"userName", user}, {"active", true}}
                    .dump()
              : route.body;
      const HttpExpected want = Expect(route, caller);
      const httplib::Result r = Https(caller, route.method, route.target, body);
      ++cells;
      BOOST_TEST_CONTEXT(route.method << " " << route.target << " as " << caller.name) {
        CheckAnswer(route, want, r);
        if (r && r->status == 201) {
          BOOST_TEST(Str(json::parse(r->body, nullptr, false), "userName") == user);
          BOOST_TEST(r->get_header_value("Location").rfind("https://", 0) == 0u);
        }
      }
      if (want.says == kNeedsRole) ++refused_for_role[{caller.principal, route.gate}];
    }
  }
  BOOST_TEST(cells >= 20u * 12u);
  BOOST_TEST_MESSAGE("http role matrix: " << cells << " requests");

  // The audit log as the auditor reads it over gRPC: one PERMISSION_DENIED record per
  // refusal for a role, naming the principal, the method, the peer and the reason.
  std::map<std::pair<std::string, std::string>, int> audited =
      AuditedRefusals(start_ms, [](const std::string& method) {
        return method.rfind("Scim.", 0) == 0 || method.rfind("Http.", 0) == 0;
      });
  for (const auto& [who_what, n] : refused_for_role) {
    BOOST_TEST(audited[who_what] == n, who_what.second << " refused to " << who_what.first);
  }
  const int reader_scim = audited[{"reader", "Scim.Read"}] + audited[{"reader", "Scim.Write"}];
  const int reader_metrics = audited[{"reader", "Http.Metrics"}];
  BOOST_TEST(reader_scim > 0);
  BOOST_TEST(reader_metrics > 0);
}

// The JSON API the console calls: every method as every kind of caller, each answer
// derived from the rules in Expect (the face's verb and media type, then the same gate
// as gRPC, then the method's own answer); then the audit log holds each call refused
// for want of a role, as it does a gRPC one.
BOOST_AUTO_TEST_CASE(every_json_api_call_for_every_caller) {
  const int64_t start_ms = NowMs();
  AwaitJsonApi();
  const std::vector<JsonRoute> routes = JsonRoutes();
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  std::set<std::string> gated;
  for (const JsonRoute& route : routes) {
    const size_t slash = route.method.find('/');
    const google::protobuf::ServiceDescriptor* sd =
        pool->FindServiceByName("tessera.v1." + route.method.substr(0, slash));
    BOOST_REQUIRE_MESSAGE(
        sd != nullptr && sd->FindMethodByName(route.method.substr(slash + 1)) != nullptr,
        route.method << " is not a method of the gRPC services");
    BOOST_TEST(access::RolesFor(GateMethod(route.method)) != 0u,
               route.method << " is open to no role");
    gated.insert(GateMethod(route.method));
  }

  std::vector<Caller> everyone = callers;
  everyone.push_back(loader);
  std::map<std::pair<std::string, std::string>, int>
      refused_for_role;  // (principal, gate method) -> calls
  size_t cells = 0;
  for (const JsonRoute& route : routes) {
    for (const Caller& caller : everyone) {
      const JsonExpected want = Expect(route, caller);
      const httplib::Result r = HttpsWith(caller, route.verb, "/api/v1/" + route.method,
                                          ApiHeaders(route.content_type), Body(route));
      ++cells;
      BOOST_TEST_CONTEXT(route.verb << " /api/v1/" << route.method << " (Content-Type '"
                                    << route.content_type << "') as " << caller.name) {
        CheckJsonAnswer(want, r);
      }
      if (want.says == kNeedsRole) ++refused_for_role[{caller.principal, GateMethod(route.method)}];
    }
  }
  BOOST_TEST(cells >= 9u * 12u);
  BOOST_TEST_MESSAGE("JSON API role matrix: " << cells << " requests");

  std::map<std::pair<std::string, std::string>, int> audited = AuditedRefusals(
      start_ms, [&](const std::string& method) { return gated.count(method) != 0; });
  CheckAudited(refused_for_role, audited);
  {
    const int n_reader_expertise_findexperts = audited[{"reader", "Expertise.FindExperts"}];
    BOOST_TEST(n_reader_expertise_findexperts > 0);
  }
  {
    const int n_reader_admin_listsources = audited[{"reader", "Admin.ListSources"}];
    BOOST_TEST(n_reader_admin_listsources > 0);
  }
}

// The console's sessions: signing in (POST /api/v1/session, the token in the body, or
// none with a client certificate) is a call of Console.SignIn through the gate; a
// session then calls the JSON API with the roles of the credentials it was opened
// with, only with its CSRF token, until it is signed out.
BOOST_AUTO_TEST_CASE(console_sessions_for_every_caller) {
  const int64_t start_ms = NowMs();
  AwaitJsonApi();
  const std::vector<JsonRoute> routes = JsonRoutes();
  std::set<std::string> gated = {"Console.SignIn"};
  for (const JsonRoute& route : routes) gated.insert(GateMethod(route.method));
  const std::set<std::string> kCookieAttributes = {"Path=/", "HttpOnly", "SameSite=Strict",
                                                   "Secure"};
  std::vector<Caller> everyone = callers;
  everyone.push_back(loader);
  std::map<std::pair<std::string, std::string>, int>
      refused_for_role;  // (principal, gate method) -> calls
  size_t cells = 0;

  struct SignedIn {
    Caller caller;
    std::string session, csrf;
  };
  std::vector<SignedIn> signed_in;
  for (const Caller& caller : everyone) {
    Caller page = caller;  // as the page signs in: no Authorization header
    page.token.clear();
    const json request = caller.token.empty() ? json::object() : json{{"token", caller.token}};
    const JsonExpected want = ExpectSignIn(caller);
    const httplib::Result r =
        HttpsWith(page, "POST", "/api/v1/session", ApiHeaders(kJson), request.dump());
    ++cells;
    BOOST_TEST_CONTEXT("signing in to the console as " << caller.name) {
      CheckJsonAnswer(want, r);
      if (r && r->status == 200 && want.status == 200) {
        const std::string header = r->get_header_value("Set-Cookie");
        const SetCookie cookie = ParseSetCookie(header);
        BOOST_TEST(r->get_header_value_count("Set-Cookie") == 1u);
        BOOST_TEST(cookie.name == kSessionCookie, header);
        BOOST_TEST(IsHex64(cookie.value), header);
        BOOST_TEST((cookie.attributes == kCookieAttributes), header);
        const json body = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
        const std::string csrf = Str(body, "csrfToken");
        BOOST_TEST(IsHex64(csrf), r->body);
        BOOST_TEST(csrf != cookie.value);
        BOOST_TEST(Str(body, "principal") == caller.principal);
        BOOST_TEST((body.is_object() && body.contains("roles") &&
                    body["roles"] == json(RoleNames(caller.roles))),
                   r->body);
        signed_in.push_back({caller, cookie.value, csrf});
      } else if (r) {
        BOOST_TEST(!r->has_header("Set-Cookie"), r->get_header_value("Set-Cookie"));
      }
    }
    if (want.says == kNeedsRole) ++refused_for_role[{caller.principal, "Console.SignIn"}];
  }
  const auto may_sign_in =
      static_cast<size_t>(std::count_if(everyone.begin(), everyone.end(), [](const Caller& c) {
        return (c.roles & access::RolesFor("Console.SignIn")) != 0;
      }));
  BOOST_TEST(signed_in.size() == may_sign_in);

  // Each session, by its cookie and CSRF token alone, calls every method as the
  // credentials it was opened with would.
  const Caller page{"the console's page"};  // no token, no certificate
  for (const SignedIn& s : signed_in) {
    for (const JsonRoute& route : routes) {
      const JsonExpected want = Expect(route, s.caller);
      const httplib::Result r =
          HttpsWith(page, route.verb, "/api/v1/" + route.method,
                    ApiHeaders(route.content_type, s.session, s.csrf), Body(route));
      ++cells;
      BOOST_TEST_CONTEXT(route.verb << " /api/v1/" << route.method << " in the session of "
                                    << s.caller.name) {
        CheckJsonAnswer(want, r);
      }
      if (want.says == kNeedsRole)
        ++refused_for_role[{s.caller.principal, GateMethod(route.method)}];
    }
  }

  // The reader's session, step by step, to its end.
  auto holding = [&](access::Role role) {
    return std::find_if(signed_in.begin(), signed_in.end(),
                        [&](const SignedIn& s) { return s.caller.roles == access::Bit(role); });
  };
  const auto reader = holding(access::Role::kReader);
  const auto agent = holding(access::Role::kAgent);
  BOOST_REQUIRE(reader != signed_in.end());
  BOOST_REQUIRE(agent != signed_in.end());
  const std::string search = "/api/v1/Directory/SearchPeople", session = "/api/v1/session";
  const std::string prefix = json{{"prefix", "a"}}.dump();
  auto step = [&](const std::string& what, const std::string& verb, const std::string& target,
                  const std::string& body, const std::string& cookie, const std::string& csrf,
                  const JsonExpected& want) {
    httplib::Result r =
        HttpsWith(page, verb, target, ApiHeaders(body.empty() ? "" : kJson, cookie, csrf), body);
    ++cells;
    BOOST_TEST_CONTEXT(what) { CheckJsonAnswer(want, r); }
    return r;
  };
  const JsonExpected no_csrf = Answer(absl::StatusCode::kPermissionDenied, "X-CSRF-Token");
  const JsonExpected ended = Answer(absl::StatusCode::kUnauthenticated, "sign in again");
  const JsonExpected not_signed_in = Answer(absl::StatusCode::kUnauthenticated, "not signed in");
  const JsonExpected found = Answer(absl::StatusCode::kOk, R"("people")");
  step("a search with the reader's cookie and no X-CSRF-Token", "POST", search, prefix,
       reader->session, "", no_csrf);
  step("a search with the reader's cookie and the agent's X-CSRF-Token", "POST", search, prefix,
       reader->session, agent->csrf, no_csrf);
  // A call refused for its CSRF token is audited like one refused for a role (it may be
  // another site riding the cookie).
  refused_for_role[{reader->caller.principal, "Directory.SearchPeople"}] += 2;
  step("a search with the reader's cookie and X-CSRF-Token", "POST", search, prefix,
       reader->session, reader->csrf, found);
  step("a search with a session id no sign-in gave", "POST", search, prefix, std::string(64, '0'),
       reader->csrf, ended);
  {
    const httplib::Result r =
        step("who is signed in, with the reader's cookie", "GET", session, "", reader->session, "",
             Answer(absl::StatusCode::kOk, reader->csrf));
    if (r && r->status == 200) {
      const json body = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
      BOOST_TEST(Str(body, "principal") == reader->caller.principal);
      BOOST_TEST(Str(body, "csrfToken") == reader->csrf);
    }
  }
  step("who is signed in, without a cookie", "GET", session, "", "", "", not_signed_in);
  step("signing out without X-CSRF-Token", "DELETE", session, "", reader->session, "", no_csrf);
  step("who is signed in after that refusal", "GET", session, "", reader->session, "",
       Answer(absl::StatusCode::kOk, reader->csrf));
  {
    const httplib::Result r =
        step("signing out", "DELETE", session, "", reader->session, reader->csrf, {204, "", ""});
    if (r) {
      const std::string header = r->get_header_value("Set-Cookie");
      const SetCookie cleared = ParseSetCookie(header);
      BOOST_TEST(cleared.name == kSessionCookie, header);
      BOOST_TEST(cleared.value.empty(), header);
      BOOST_TEST(cleared.attributes.count("Max-Age=0") == 1u, header);
      BOOST_TEST(cleared.attributes.count("Path=/") == 1u, header);
    }
  }
  step("a search with the reader's cookie after signing out", "POST", search, prefix,
       reader->session, reader->csrf, ended);
  step("who is signed in, with the reader's cookie after signing out", "GET", session, "",
       reader->session, "", ended);
  step("a search in the agent's session after the reader signed out", "POST", search, prefix,
       agent->session, agent->csrf, found);
  BOOST_TEST_MESSAGE("console sessions: " << cells << " requests");

  // Refused sign-ins and the sessions' refused calls are in the audit log like any other.
  std::map<std::pair<std::string, std::string>, int> audited = AuditedRefusals(
      start_ms, [&](const std::string& method) { return gated.count(method) != 0; });
  CheckAudited(refused_for_role, audited);
  {
    const int n_reader_admin_listsources = audited[{"reader", "Admin.ListSources"}];
    BOOST_TEST(n_reader_admin_listsources == 1);
  }  // the reader's session, as the reader
  {
    const int n_metrics_console_signin = audited[{"metrics", "Console.SignIn"}];
    BOOST_TEST(n_metrics_console_signin == 1);
  }
}

// The console's files are public (its data is behind the JSON API): the same answer
// to every caller, whatever credentials it sends, GET only, with a strict
// Content-Security-Policy; "/" and "/console" lead to "/console/".
BOOST_AUTO_TEST_CASE(the_console_page_is_public_and_strict) {
  struct ConsoleRoute {
    std::string method, target;
    int status;
    std::string location;  // the Location header, if any
  };
  const std::vector<ConsoleRoute> routes = {
      {"GET", "/console/", 200, ""},
      {"GET", "/", 302, "/console/"},
      {"GET", "/console", 301, "/console/"},
      {"POST", "/console/", 405, ""},
  };
  std::vector<Caller> everyone = callers;
  everyone.push_back(loader);
  size_t cells = 0;
  for (const ConsoleRoute& route : routes) {
    for (const Caller& caller : everyone) {
      const httplib::Result r = Https(caller, route.method, route.target);
      ++cells;
      BOOST_TEST_CONTEXT(route.method << " " << route.target << " as " << caller.name) {
        if (!r) {
          BOOST_ERROR("no answer: " << httplib::to_string(r.error()));
        } else {
          BOOST_TEST(r->status == route.status, r->body);
          BOOST_TEST(r->get_header_value("Location") == route.location);
          BOOST_TEST(!r->has_header("Set-Cookie"));
          if (route.status == 405)
            BOOST_TEST(r->get_header_value("Allow").find("GET") != std::string::npos);
          if (route.status == 200) {
            const std::string type = r->get_header_value("Content-Type");
            const std::string csp = r->get_header_value("Content-Security-Policy");
            BOOST_TEST(type.rfind("text/html", 0) == 0u, type);
            BOOST_TEST(r->body.find("<html") != std::string::npos);
            BOOST_TEST(csp.find("default-src 'self'") != std::string::npos, csp);
            BOOST_TEST(csp.find("frame-ancestors 'none'") != std::string::npos, csp);
            BOOST_TEST(csp.find("'unsafe-inline'") == std::string::npos, csp);
            BOOST_TEST(csp.find("'unsafe-eval'") == std::string::npos, csp);
            BOOST_TEST(r->get_header_value("X-Content-Type-Options") == "nosniff");
          }
        }
      }
    }
  }
  BOOST_TEST(cells >= 4u * 12u);
}

// The scheme of "Bearer <token>" is case-insensitive (RFC 7235 §2.1).
BOOST_AUTO_TEST_CASE(the_bearer_scheme_is_case_insensitive) {
  const Caller* admin = nullptr;
  for (const Caller& c : callers) {
    if (!c.token.empty() && (c.roles & access::Bit(access::Role::kAdmin)) != 0) admin = &c;
  }
  BOOST_REQUIRE(admin != nullptr);
  client::ClientOptions o = Options(*admin);
  o.token.clear();  // the header is set by hand below
  const client::Client c(o);
  for (const std::string scheme :
       {"Bearer ", "bearer ", "BEARER ", "bEaReR  ", "Basic ", "Bearer"}) {
    std::unique_ptr<grpc::ClientContext> ctx = c.NewContext();
    ctx->AddMetadata("authorization", scheme + (scheme == "Bearer" ? "" : admin->token));
    v1::StatsRequest req;
    v1::StatsResponse resp;
    const grpc::Status s = c.admin().Stats(ctx.get(), req, &resp);
    const bool bearer = scheme.size() > 6 && scheme.substr(0, 6) != "Basic ";
    BOOST_TEST((s.ok() == bearer), "'" << scheme << "': " << s.error_message());
    if (!bearer) BOOST_TEST(s.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  }
}

BOOST_AUTO_TEST_CASE(connectors_write_only_their_sources) {
  for (const Caller& caller : callers) {
    if (caller.roles != access::Bit(access::Role::kConnector)) continue;
    const client::Client c(Options(caller));
    BOOST_TEST(CallIngest(c, "hr").ok(), caller.name);
    const grpc::Status other = CallIngest(c, "crm");
    BOOST_TEST(other.error_code() == grpc::StatusCode::PERMISSION_DENIED, caller.name);
    BOOST_TEST(other.error_message().find("not bound to source 'crm'") != std::string::npos,
               other.error_message());
    v1::Source crm;
    crm.set_id("crm");
    crm.set_kind("test");
    BOOST_TEST(c.PutSource(crm).status().code() == absl::StatusCode::kPermissionDenied);
  }
}

// SIGHUP reloads the principals file: a token taken out of it stops working at once,
// and a broken file is refused with the current principals kept.
BOOST_AUTO_TEST_CASE(sighup_reloads_the_principals_revoking_tokens) {
  const client::Client reader(Options({"reader", "token-of-reader-0123456789", "", 0}));
  const client::Client agent(Options({"agent", "token-of-agent-0123456789", "", 0}));
  v1::SearchPeopleRequest search;
  search.set_prefix("a");
  BOOST_REQUIRE(reader.SearchPeople(search).ok());
  auto until = [&](const client::Client& c, absl::StatusCode want) {
    for (int i = 0; i < 100; ++i) {
      if (c.SearchPeople(search).status().code() == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  std::ofstream(tmp.Sub("principals.json"))
      << R"({"tokens": [{"principal": "agent", "sha256": ")"
      << access::Sha256Hex("token-of-agent-0123456789") << R"(", "roles": ["agent"]}]})";
  BOOST_REQUIRE_EQUAL(kill(server.pid(), SIGHUP), 0);
  BOOST_TEST(until(reader, absl::StatusCode::kUnauthenticated));
  BOOST_TEST(agent.SearchPeople(search).ok());
  std::ofstream(tmp.Sub("principals.json"))
      << R"({"tokens": [{"principal": "x", "roles": ["boss"]}]})";
  BOOST_REQUIRE_EQUAL(kill(server.pid(), SIGHUP), 0);
  // The reload is done when tesserad says it kept the principals it had.
  bool kept = false;
  for (int i = 0; i < 200 && !kept; ++i) {
    kept = server.Log().find("keeping the current principals") != std::string::npos;
    if (!kept) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  BOOST_TEST(kept);
  BOOST_TEST(agent.SearchPeople(search).ok());  // the broken file was not taken
}

BOOST_AUTO_TEST_CASE(health_is_open_and_plaintext_is_refused) {
  client::ClientOptions bare;
  bare.server = server.address();
  bare.timeout_ms = 5'000;
  BOOST_REQUIRE(client::LoadCredentials(bare, tmp.Sub("ca.pem"), "", "", "").ok());
  BOOST_TEST(client::Client(bare).Health().ok());  // TLS, no credentials
  client::ClientOptions plain;
  plain.server = server.address();
  plain.timeout_ms = 5'000;
  BOOST_TEST(client::Client(plain).Health().code() == absl::StatusCode::kUnavailable);
}

BOOST_AUTO_TEST_CASE(cli_and_connector_take_credentials) {
  std::ofstream(tmp.Sub("reader.token")) << "token-of-reader-0123456789\n";
  const std::string base = std::string(TESSERA_CLI_PATH) + " --server " + server.address() +
                           " --ca " + tmp.Sub("ca.pem");
  auto run = [&](const std::string& cmd) {
    const int status = std::system((cmd + " >" + tmp.Sub("out") + " 2>" + tmp.Sub("err")).c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  BOOST_TEST(run(base + " --token-file " + tmp.Sub("reader.token") + " search a") == 0,
             ReadFile(tmp.Sub("err")));
  BOOST_TEST(run(base + " search a") == 1);
  BOOST_TEST(ReadFile(tmp.Sub("err")).find("credentials required") != std::string::npos,
             ReadFile(tmp.Sub("err")));
  BOOST_TEST(run(base + " --token-file " + tmp.Sub("reader.token") + " admin stats") == 1);
  BOOST_TEST(ReadFile(tmp.Sub("err")).find("needs the role admin") != std::string::npos,
             ReadFile(tmp.Sub("err")));

  // The csv connector over mutual TLS as hr-sync, bound to source hr.
  std::ofstream(tmp.Sub("people.csv"))
      << "employee_id,display_name,email\nE1,Ann Lee,ann@example.com\n";
  std::ofstream(tmp.Sub("hr.json"))
      << R"({"source": {"id": "hr", "kind": "csv"}, "state_dir": ")" << tmp.Sub("state")
      << R"(", "input": {"path": ")" << tmp.Sub("people.csv") << R"("}})";
  const std::string connect = std::string(TESSERA_CONNECT_PATH) + " --quiet --server " +
                              server.address() + " --ca " + tmp.Sub("ca.pem") + " --config " +
                              tmp.Sub("hr.json");
  BOOST_TEST(
      run(connect + " --cert " + tmp.Sub("hr-sync.pem") + " --key " + tmp.Sub("hr-sync.key")) == 0,
      ReadFile(tmp.Sub("err")));
  BOOST_TEST(ReadFile(tmp.Sub("out")).find("added 1") != std::string::npos,
             ReadFile(tmp.Sub("out")));
  BOOST_TEST(run(connect) == 1);  // no credentials
}

// The default rules: a reader sees employees (not customers), an agent sees everyone;
// a profile the caller may not see reads exactly as an absent one.
BOOST_AUTO_TEST_CASE(readers_see_employees_agents_see_customers) {
  const client::Client loader(Options({"loader", "token-of-loader", "", 0}));
  {
    std::unique_ptr<grpc::ClientContext> ctx = loader.NewContext();
    v1::IngestResponse resp;
    auto writer = loader.directory().Ingest(ctx.get(), &resp);
    v1::IngestBatch batch;
    auto add = [&](const char* source, const char* id, const char* kind, const char* name,
                   const char* email) {
      v1::Fragment* f = batch.add_fragments();
      f->set_source(source);
      f->set_external_id(id);
      f->set_kind(kind);
      f->set_version(1);
      auto* a = f->add_attributes();
      a->set_name("display_name");
      a->set_value(name);
      auto* x = f->add_identifiers();
      x->set_type("email");
      x->set_value(email);
      return f;
    };
    add("hr", "E1", "employee", "Carl Employee", "carl@corp.example");
    auto* customer = add("crm", "C1", "customer", "Carla Customer", "carla@mail.example");
    auto* rel = customer->add_relations();
    rel->set_type("managed_by");
    rel->mutable_target()->set_type("email");
    rel->mutable_target()->set_value("carl@corp.example");
    writer->Write(batch);
    writer->WritesDone();
    const grpc::Status s = writer->Finish();
    BOOST_REQUIRE_MESSAGE(s.ok(), s.error_message());
  }
  const client::Client reader(Options({"reader", "token-of-reader-0123456789", "", 0}));
  const client::Client agent(Options({"agent", "token-of-agent-0123456789", "", 0}));
  auto by_email = [](const char* email) {
    v1::GetProfileRequest r;
    r.mutable_identifier()->set_type("email");
    r.mutable_identifier()->set_value(email);
    return r;
  };
  absl::StatusOr<v1::Profile> seen = agent.GetProfile(by_email("carla@mail.example"));
  BOOST_REQUIRE_MESSAGE(seen.ok(), seen.status());
  BOOST_TEST(seen->kind() == "customer");
  // Hidden and absent: the same code, the same words.
  absl::StatusOr<v1::Profile> hidden = reader.GetProfile(by_email("carla@mail.example"));
  absl::StatusOr<v1::Profile> absent = reader.GetProfile(by_email("nobody@mail.example"));
  BOOST_TEST(hidden.status().code() == absl::StatusCode::kNotFound);
  BOOST_TEST(std::string(hidden.status().message()) ==
             "no profile has identifier 'email:carla@mail.example'");
  BOOST_TEST(std::string(absent.status().message()) ==
             "no profile has identifier 'email:nobody@mail.example'");
  v1::GetProfileRequest by_id;
  by_id.set_id(seen->id());
  BOOST_TEST(std::string(reader.GetProfile(by_id).status().message()) ==
             "no profile " + std::to_string(seen->id()));
  BOOST_TEST(reader.GetProfile(by_email("carl@corp.example")).ok());

  v1::SearchPeopleRequest search;
  search.set_prefix("carl");
  absl::StatusOr<v1::SearchPeopleResponse> r = reader.SearchPeople(search);
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE(r->people_size() == 1);
  BOOST_TEST(r->people(0).display_name() == "Carl Employee");
  BOOST_TEST(agent.SearchPeople(search)->people_size() == 2);
  search.add_kinds("customer");
  BOOST_TEST(reader.SearchPeople(search)->people_size() == 0);

  // Carl's neighbours: the customer he manages is an edge only the agent sees.
  v1::NeighborsRequest walk;
  walk.mutable_identifier()->set_type("email");
  walk.mutable_identifier()->set_value("carl@corp.example");
  absl::StatusOr<v1::NeighborsResponse> agent_edges = agent.Neighbors(walk);
  absl::StatusOr<v1::NeighborsResponse> reader_edges = reader.Neighbors(walk);
  BOOST_REQUIRE(agent_edges.ok());
  BOOST_REQUIRE(reader_edges.ok());
  BOOST_TEST(agent_edges->edges_size() == 1);
  BOOST_TEST(reader_edges->edges_size() == 0);
  walk.mutable_identifier()->set_value("carla@mail.example");
  BOOST_TEST(reader.Neighbors(walk).status().code() == absl::StatusCode::kNotFound);

  // The change feed: the reader's leaves the customer out, the agent's has it.
  const uint64_t end =
      client::Client(Options({"admin", "token-of-admin-0123456789", "", 0})).Stats()->sequence();
  std::set<uint64_t> agent_saw, reader_saw;
  for (const v1::ChangeEvent& e : Changes(agent, end)) agent_saw.insert(e.profile_id());
  for (const v1::ChangeEvent& e : Changes(reader, end)) reader_saw.insert(e.profile_id());
  BOOST_TEST(agent_saw.count(seen->id()) == 1u);
  BOOST_TEST(reader_saw.count(seen->id()) == 0u);
  BOOST_TEST(reader_saw.count(reader.GetProfile(by_email("carl@corp.example"))->id()) == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(plaintext_off_loopback_is_refused) {
  testing::TempDir tmp;
  const std::string cmd = std::string(TESSERAD_PATH) + " --db " + tmp.Sub("db") +
                          " --listen 0.0.0.0:0 2>" + tmp.Sub("err") + " >/dev/null";
  const int status = std::system(cmd.c_str());
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 1);
  BOOST_TEST(ReadFile(tmp.Sub("err")).find("refusing plaintext on 0.0.0.0:0") != std::string::npos,
             ReadFile(tmp.Sub("err")));
}
