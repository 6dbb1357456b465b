#define BOOST_TEST_MODULE security
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/lib/client.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/impl/client_unary_call.h"
#include "grpcpp/impl/rpc_method.h"
#include "grpcpp/support/byte_buffer.h"
#include "server/access/access.h"
#include "tests/integration/tesserad_process.h"
#include "tests/unit/temp_dir.h"

// tesserad with TLS, mutual TLS and bearer tokens: every RPC of every service against
// every kind of caller, through the real server on a loopback port. Certificates are
// made by the openssl command for each run.

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
};

struct SecureServer {
  SecureServer() {
    // A CA, the server's certificate for 127.0.0.1, and client certificates: one listed
    // in the principals file (hr-sync, a connector) and one that is not (stranger).
    const std::string d = tmp.path();
    Sh("cd " + d + " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key "
                   "-out ca.pem -days 2 -subj '/CN=Tessera test CA'");
    Cert("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth");
    Cert("hr-sync", "extendedKeyUsage=clientAuth");
    Cert("stranger", "extendedKeyUsage=clientAuth");
    std::string tokens;
    for (const char* role : {"reader", "agent", "connector", "admin", "auditor"}) {
      const std::string token = std::string("token-of-") + role + "-0123456789";
      callers.push_back({role, token, "", access::Bit(*access::ParseRole(role))});
      tokens += std::string(tokens.empty() ? "" : ",") + R"({"principal": ")" + role + R"(", "sha256": ")" +
                access::Sha256Hex(token) + R"(", "roles": [")" + role + R"("])" +
                (std::string(role) == "connector" ? R"(, "sources": ["hr"])" : "") + "}";
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
    callers.push_back({"certificate hr-sync", "", "hr-sync", access::Bit(access::Role::kConnector)});
    callers.push_back({"certificate stranger", "", "stranger", 0});
    std::ofstream(tmp.Sub("tesserad.json")) << R"({"security": {"tls_cert": ")" << tmp.Sub("server.pem")
                                             << R"(", "tls_key": ")" << tmp.Sub("server.key")
                                             << R"(", "tls_client_ca": ")" << tmp.Sub("ca.pem")
                                             << R"(", "principals": ")" << tmp.Sub("principals.json") << R"("}})";
    server.Start();
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
    Sh("cd " + d + " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + name +
       ".key -out " + name + ".csr -subj '/CN=" + name + "' && openssl x509 -req -in " + name +
       ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out " + name + ".pem -extfile " + name + ".ext");
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
};

// Calls `method` ("/tessera.v1.Admin/Stats") with serialised `request`.
grpc::Status CallRaw(const client::Client& c, const std::string& method, const std::string& request) {
  const grpc::internal::RpcMethod rpc(method.c_str(), grpc::internal::RpcMethod::NORMAL_RPC);
  std::unique_ptr<grpc::ClientContext> ctx = c.NewContext();
  grpc::Slice slice(request);
  const grpc::ByteBuffer req(&slice, 1);
  grpc::ByteBuffer resp;
  return grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(c.channel().get(), rpc, ctx.get(), req,
                                                                               &resp);
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
          BOOST_REQUIRE_MESSAGE(!md->server_streaming(), short_name << ": add a streaming call to this test");
          s = CallRaw(c, "/" + sd->full_name() + "/" + md->name(), requests[short_name]);
        }
        ++cells;
        BOOST_TEST_INFO(short_name << " as " << caller.name << ": " << s.error_code() << " " << s.error_message());
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
  for (const std::string scheme : {"Bearer ", "bearer ", "BEARER ", "bEaReR  ", "Basic ", "Bearer"}) {
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
    BOOST_TEST(other.error_message().find("not bound to source 'crm'") != std::string::npos, other.error_message());
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
      << R"({"tokens": [{"principal": "agent", "sha256": ")" << access::Sha256Hex("token-of-agent-0123456789")
      << R"(", "roles": ["agent"]}]})";
  BOOST_REQUIRE_EQUAL(kill(server.pid(), SIGHUP), 0);
  BOOST_TEST(until(reader, absl::StatusCode::kUnauthenticated));
  BOOST_TEST(agent.SearchPeople(search).ok());
  std::ofstream(tmp.Sub("principals.json")) << R"({"tokens": [{"principal": "x", "roles": ["boss"]}]})";
  BOOST_REQUIRE_EQUAL(kill(server.pid(), SIGHUP), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  BOOST_TEST(agent.SearchPeople(search).ok());  // the broken file was not taken
  BOOST_TEST(server.Log().find("keeping the current principals") != std::string::npos);
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
  const std::string base = std::string(TESSERA_CLI_PATH) + " --server " + server.address() + " --ca " + tmp.Sub("ca.pem");
  auto run = [&](const std::string& cmd) {
    const int status = std::system((cmd + " >" + tmp.Sub("out") + " 2>" + tmp.Sub("err")).c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  BOOST_TEST(run(base + " --token-file " + tmp.Sub("reader.token") + " search a") == 0, ReadFile(tmp.Sub("err")));
  BOOST_TEST(run(base + " search a") == 1);
  BOOST_TEST(ReadFile(tmp.Sub("err")).find("credentials required") != std::string::npos, ReadFile(tmp.Sub("err")));
  BOOST_TEST(run(base + " --token-file " + tmp.Sub("reader.token") + " admin stats") == 1);
  BOOST_TEST(ReadFile(tmp.Sub("err")).find("needs the role admin") != std::string::npos, ReadFile(tmp.Sub("err")));

  // The csv connector over mutual TLS as hr-sync, bound to source hr.
  std::ofstream(tmp.Sub("people.csv")) << "employee_id,display_name,email\nE1,Ann Lee,ann@example.com\n";
  std::ofstream(tmp.Sub("hr.json")) << R"({"source": {"id": "hr", "kind": "csv"}, "state_dir": ")" << tmp.Sub("state")
                                    << R"(", "input": {"path": ")" << tmp.Sub("people.csv") << R"("}})";
  const std::string connect = std::string(TESSERA_CONNECT_PATH) + " --quiet --server " + server.address() +
                              " --ca " + tmp.Sub("ca.pem") + " --config " + tmp.Sub("hr.json");
  BOOST_TEST(run(connect + " --cert " + tmp.Sub("hr-sync.pem") + " --key " + tmp.Sub("hr-sync.key")) == 0,
             ReadFile(tmp.Sub("err")));
  BOOST_TEST(ReadFile(tmp.Sub("out")).find("added 1") != std::string::npos, ReadFile(tmp.Sub("out")));
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
    auto add = [&](const char* source, const char* id, const char* kind, const char* name, const char* email) {
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
  BOOST_TEST(std::string(hidden.status().message()) == "no profile has identifier 'email:carla@mail.example'");
  BOOST_TEST(std::string(absent.status().message()) == "no profile has identifier 'email:nobody@mail.example'");
  v1::GetProfileRequest by_id;
  by_id.set_id(seen->id());
  BOOST_TEST(std::string(reader.GetProfile(by_id).status().message()) == "no profile " + std::to_string(seen->id()));
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
  const uint64_t end = client::Client(Options({"admin", "token-of-admin-0123456789", "", 0})).Stats()->sequence();
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
  const std::string cmd = std::string(TESSERAD_PATH) + " --db " + tmp.Sub("db") + " --listen 0.0.0.0:0 2>" +
                          tmp.Sub("err") + " >/dev/null";
  const int status = std::system(cmd.c_str());
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 1);
  BOOST_TEST(ReadFile(tmp.Sub("err")).find("refusing plaintext on 0.0.0.0:0") != std::string::npos,
             ReadFile(tmp.Sub("err")));
}
