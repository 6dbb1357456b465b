// tesserad: the Tessera directory server.

#include <dlfcn.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "client/web/web_assets.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "server/access/access.h"
#include "server/api/admin_service.h"
#include "server/api/directory_service.h"
#include "server/api/expertise_service.h"
#include "server/api/gate.h"
#include "server/app/config.h"
#include "server/app/json_face.h"
#include "server/app/signals.h"
#include "server/http/console.h"
#include "server/http/listener.h"
#include "server/http/site.h"
#include "server/metrics/metrics.h"
#include "server/replica/log.h"
#include "server/replica/replicated.h"
#include "server/scim/service.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace tessera::app {
namespace {

constexpr char kDescription[] =
    "tesserad - the Tessera directory server.\n\n"
    "Serves the Directory, Expertise and Admin gRPC services (proto/tessera/v1) over one\n"
    "RocksDB database, with gRPC health checking and server reflection. Settings come from\n"
    "the defaults, then"
    " --config FILE (JSON, see README.md \"Configuration\"), then the flags below.\n"
    "SIGTERM or SIGINT stops it cleanly: in-flight calls finish, the database is closed; a\n"
    "rebuild under way (at open, or Admin.Rebuild) stops and resumes at the next start.\n"
    "TLS, mutual TLS and bearer-token authentication with roles, visibility rules, the\n"
    "audit log and erasure are set in the configuration's \"security\" section (README.md\n"
    "\"Security\"); --new-token makes tokens; SIGHUP reloads the principals file.\n"
    "--http-listen turns on the HTTP listener (same TLS and tokens): /healthz, /readyz,\n"
    "/metrics (Prometheus) and SCIM 2.0 provisioning at /scim/v2/ (README.md \"Provisioning\n"
    "from Entra ID or Okta\").\n";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsLoopback(const std::string& listen) {
  return listen.rfind("127.", 0) == 0 || listen.rfind("localhost:", 0) == 0 ||
         listen.rfind("[::1]:", 0) == 0 || listen.rfind("unix:", 0) == 0;
}

// --new-token: the token on the first line, the entry for the principals file on the second.
int PrintNewToken(const std::string& principal, const std::vector<std::string>& role_names,
                  const std::vector<std::string>& sources, const std::string& expires) {
  std::vector<access::Role> roles;
  for (const std::string& name : role_names) {
    std::optional<access::Role> r = access::ParseRole(name);
    if (!r) {
      fprintf(stderr,
              "tesserad: unknown role '%s' (known: reader, agent, connector, admin, auditor, "
              "metrics)\n",
              name.c_str());
      return 2;
    }
    roles.push_back(*r);
  }
  absl::StatusOr<access::NewToken> t = access::MakeToken(principal, roles, sources, expires);
  if (!t.ok()) {
    fprintf(stderr, "tesserad: %s\n", std::string(t.status().message()).c_str());
    return 2;
  }
  printf("%s\n%s\n", t->token.c_str(), t->entry.c_str());
  fprintf(stderr,
          "Give the token (line 1) to the caller; add the entry (line 2) to \"tokens\" in the "
          "principals file.\n");
  return 0;
}

absl::StatusOr<std::string> ReadPem(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(std::string(what) + " '" + path + "' cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// TLS from the configuration, or plaintext (refused off loopback unless allowed).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const ServerConfig& cfg) {
  const ServerConfig::Security& sec = cfg.security;
  if (sec.tls_cert.empty()) {
    if (!IsLoopback(cfg.listen)) {
      if (!sec.allow_plaintext) {
        return absl::FailedPreconditionError("refusing plaintext on " + cfg.listen +
                                             ": configure security.tls_cert and tls_key, or set "
                                             "security.allow_plaintext");
      }
      spdlog::warn("serving plaintext on {}: anyone on the path can read the traffic", cfg.listen);
    }
    return grpc::InsecureServerCredentials();
  }
  absl::StatusOr<std::string> cert = ReadPem(sec.tls_cert, "security.tls_cert");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPem(sec.tls_key, "security.tls_key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (!sec.tls_client_ca.empty()) {
    absl::StatusOr<std::string> ca = ReadPem(sec.tls_client_ca, "security.tls_client_ca");
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
    // Certificates are optional (token callers have none) but verified when presented.
    options.client_certificate_request = GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  options.pem_key_cert_pairs.push_back({*key, *cert});
  return grpc::SslServerCredentials(options);
}

#ifdef TESSERA_JEMALLOC
// jemalloc's options, read at start; MALLOC_CONF in the environment overrides them.
// One arena per CPU instead of four: jemalloc returns a freed block to the arena it
// came from and purges an arena's freed pages only while the arena is used, so cache
// blocks read by the load's threads and evicted by later queries stayed resident in
// arenas no thread used any more. Per-CPU arenas are all in use while tesserad is
// busy. expertise_bench, 256 MiB cache (README "Memory"): query peak 594-604 ->
// 507-521 MiB, load 13,169-13,646 -> 14,387-15,200 fragments/s.
extern "C" {
// NOLINTNEXTLINE(readability-identifier-naming): the name jemalloc looks up.
extern const char* malloc_conf;
const char* malloc_conf = "percpu_arena:percpu";
}
#endif

// jemalloc's control function, found by symbol lookup.
using Mallctl = int (*)(const char*, void*, size_t*, void*, size_t);

// jemalloc's setting `name`, or `fallback` when it has none.
template <typename T>
T AllocatorSetting(Mallctl mallctl, const char* name, T fallback) {
  T value = fallback;
  size_t size = sizeof(T);
  return mallctl(name, &value, &size, nullptr, 0) == 0 ? value : fallback;
}

// The allocator the process runs on: jemalloc (linked, server/app/CMakeLists.txt) when
// its mallctl is the one symbol lookup finds, as malloc is, else glibc's; with the
// jemalloc options that bound memory.
std::string AllocatorName() {
  auto* mallctl = reinterpret_cast<Mallctl>(dlsym(RTLD_DEFAULT, "mallctl"));
  if (mallctl == nullptr) return "glibc malloc";
  const char* version = AllocatorSetting<const char*>(mallctl, "version", nullptr);
  if (version == nullptr) return "glibc malloc";
  const bool background = AllocatorSetting<bool>(mallctl, "opt.background_thread", false);
  const auto decay_ms = AllocatorSetting<ssize_t>(mallctl, "opt.dirty_decay_ms", -1);
  const char* arenas = AllocatorSetting<const char*>(mallctl, "opt.percpu_arena", "?");
  return std::string("jemalloc ") + version + ", arenas " + arenas + ", background purge " +
         (background ? "on" : "off") + ", dirty pages kept " + std::to_string(decay_ms) + " ms";
}

// Replicated mode: the database becomes a replica of the log (server/replica).
absl::StatusOr<std::unique_ptr<directory::Directory>> OpenReplicated(
    const ServerConfig& cfg, std::unique_ptr<directory::Directory> local) {
  const ServerConfig::Replication& rc = cfg.replication;
  replica::LogOptions lo;
  lo.servers = rc.servers;
  lo.stream = rc.stream;
  lo.replicas = rc.replicas;
  lo.max_age = absl::Hours(rc.max_age_hours);
  lo.max_bytes = static_cast<int64_t>(rc.max_bytes);
  lo.publish_timeout = absl::Milliseconds(rc.publish_timeout_ms);
  if (!rc.token_file.empty()) {
    absl::StatusOr<std::string> token = ReadPem(rc.token_file, "replication.token_file");
    if (!token.ok()) return token.status();
    lo.token = std::string(absl::StripAsciiWhitespace(*token));
    if (lo.token.empty()) {
      return absl::InvalidArgumentError("replication.token_file: '" + rc.token_file +
                                        "' holds no token");
    }
  }
  lo.credentials_file = rc.credentials_file;
  lo.tls_ca_file = rc.tls_ca;
  lo.tls_cert_file = rc.tls_cert;
  lo.tls_key_file = rc.tls_key;
  replica::ReplicaOptions ro;
  ro.node = rc.node;
  if (ro.node.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    ro.node = std::string(host) + ":" + cfg.listen.substr(cfg.listen.rfind(':') + 1);
  }
  lo.name = "tesserad " + ro.node;
  ro.apply_wait = absl::Milliseconds(rc.apply_wait_ms);
  ro.max_read_lag = rc.max_read_lag;
  ro.audit_spool = cfg.db + "/replica-audit-spool";
  ro.limits = cfg.directory.limits;
  ro.normalise = cfg.directory.normalise;
  ro.normalise.default_region = local->DefaultRegion();  // the database's own
  ro.notice = [](const std::string& what) { spdlog::warn("{}", what); };
  absl::StatusOr<std::unique_ptr<replica::Log>> log = replica::Log::Open(lo);
  if (!log.ok()) return log.status();
  spdlog::info("replicated mode: node {}, stream '{}' on {}, applied up to position {}", ro.node,
               lo.stream, absl::StrJoin(lo.servers, ","), local->Position().applied);
  return replica::OpenReplica(std::move(local), *std::move(log), ro);
}

// Parses flags and the configuration file into `cfg`; returns an exit code or -1 to run.
int ParseArgs(int argc, char** argv, ServerConfig& cfg) {
  CLI::App cli{kDescription, "tesserad"};
  // A flag given twice takes its last value, so wrappers can override defaults.
  std::string config_path, db, listen, port_file, log_level, region, http_listen, http_port_file;
  std::string replication, stream, node;
  uint64_t cache_mb = 0;
  bool sync = false;
  cli.set_version_flag("--version", [] {
    return std::string("tesserad ") + TESSERA_VERSION + " (allocator: " + AllocatorName() + ")";
  });
  cli.add_option("--config", config_path, "JSON configuration file")->check(CLI::ExistingFile);
  cli.add_option("--db", db, "database folder, created when missing (default: tessera-data)")
      ->take_last();
  cli.add_option("--listen", listen,
                 "host:port to serve on; port 0 picks one (default: 127.0.0.1:50051)")
      ->take_last();
  cli.add_option("--port-file", port_file, "write the bound port to this file once serving")
      ->take_last();
  cli.add_option(
         "--http-listen", http_listen,
         "host:port of the HTTP listener (health, metrics, SCIM); port 0 picks one (default: off)")
      ->take_last();
  cli.add_option("--http-port-file", http_port_file,
                 "write the HTTP listener's bound port to this file")
      ->take_last();
  cli.add_option("--replication", replication,
                 "NATS servers of the replicated log, nats://host:port,... (default: off, one "
                 "database on its own; README \"Replicas\")")
      ->take_last();
  cli.add_option("--stream", stream, "with --replication: the JetStream stream (default: tessera)")
      ->take_last();
  cli.add_option("--node", node,
                 "with --replication: this replica's name (default: host name and gRPC port)")
      ->take_last();
  cli.add_option("--log-level", log_level, "trace, debug, info, warn or error (default: info)")
      ->take_last();
  cli.add_option("--default-region", region,
                 "ISO region for phone numbers without a country code; a new database records it "
                 "(default: US), an existing one keeps its own and refuses another")
      ->take_last();
  cli.add_option("--block-cache-mb", cache_mb,
                 "RocksDB block cache, the main memory bound (default: 256)")
      ->take_last();
  cli.add_flag("--sync-writes", sync,
               "fsync every batch: survives power loss, ingests much slower");
  std::string new_token, expires;
  std::vector<std::string> roles, sources;
  cli.add_option(
      "--new-token", new_token,
      "print a new bearer token for this principal and its principals-file entry, then exit");
  cli.add_option("--roles", roles,
                 "with --new-token: reader, agent, connector, admin, auditor, metrics")
      ->delimiter(',');
  cli.add_option("--sources", sources, "with --new-token: source ids a connector may write")
      ->delimiter(',');
  cli.add_option("--expires", expires,
                 "with --new-token: last day + 1 the token works (YYYY-MM-DD)");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : 2;  // --help is code 0; usage errors are 2
  }
  if (!new_token.empty()) return PrintNewToken(new_token, roles, sources, expires);
  if (!config_path.empty()) {
    if (absl::Status s = LoadConfigFile(config_path, cfg); !s.ok()) {
      fprintf(stderr, "tesserad: %s\n", std::string(s.message()).c_str());
      return 2;
    }
  }
  if (!db.empty()) cfg.db = db;
  if (!listen.empty()) cfg.listen = listen;
  if (!port_file.empty()) cfg.port_file = port_file;
  if (!http_listen.empty()) cfg.http.listen = http_listen;
  if (!http_port_file.empty()) cfg.http_port_file = http_port_file;
  if (!replication.empty()) cfg.replication.servers = absl::StrSplit(replication, ',');
  if (!stream.empty()) cfg.replication.stream = stream;
  if (!node.empty()) cfg.replication.node = node;
  if (!log_level.empty()) cfg.log_level = log_level;
  if (!region.empty()) {
    cfg.directory.normalise.default_region = region;
    cfg.directory.region_given = true;
  }
  if (cache_mb != 0) cfg.directory.store.block_cache_bytes = cache_mb << 20;
  if (sync) cfg.directory.store.sync_writes = true;
  if (absl::Status s = cfg.Validate(); !s.ok()) {
    fprintf(stderr, "tesserad: invalid configuration: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  return -1;
}

// FindExperts' translations: the configured dictionaries, else Debian's FreeDict
// French-English pair when installed (a missing package means no translation).
absl::Status LoadLexicon(const ServerConfig& cfg, directory::DirectoryOptions& options) {
  std::vector<text::DictionaryFile> files;
  if (cfg.dictionaries) {
    files = *cfg.dictionaries;
  } else {
    for (const text::DictionaryFile& f :
         {text::DictionaryFile{"/usr/share/dictd/freedict-fra-eng", text::Language::kFrench,
                               text::Language::kEnglish},
          text::DictionaryFile{"/usr/share/dictd/freedict-eng-fra", text::Language::kEnglish,
                               text::Language::kFrench}}) {
      if (std::ifstream(f.prefix + ".index").good()) files.push_back(f);
    }
  }
  if (files.empty()) return absl::OkStatus();
  absl::StatusOr<text::Lexicon> lexicon =
      text::Lexicon::Load(files, text::Analyzer(options.analyzer));
  if (!lexicon.ok()) return lexicon.status();
  spdlog::info(
      "translating FindExperts queries between French and English: {} terms from {} dictionaries",
      lexicon->size(), files.size());
  options.lexicon = std::make_shared<const text::Lexicon>(*std::move(lexicon));
  return absl::OkStatus();
}

absl::Status RegisterSources(directory::Directory& dir, const ServerConfig& cfg) {
  for (const identity::Source& s : cfg.sources) {
    // The registry owns a source's priority: the configuration's applies to a new source.
    absl::StatusOr<directory::SourceInfo> r = dir.PutSource(s, /*priority_if_new=*/true);
    if (!r.ok())
      return absl::Status(r.status().code(),
                          "source '" + s.id + "': " + std::string(r.status().message()));
    if (r->source.priority != s.priority) {
      spdlog::warn(
          "source '{}': priority {} in the configuration, {} in the registry; the registry's is "
          "kept "
          "(tessera admin source {} --priority N changes it)",
          s.id, s.priority, r->source.priority, s.id);
    }
  }
  return absl::OkStatus();
}

int Run(const ServerConfig& cfg) {
  // Before anything starts a thread: they all inherit the blocked signals, which only
  // this one takes. A stop while opening interrupts a long rebuild (it resumes later).
  SignalThread signals;

  // The HTTP listener starts first, so /healthz answers and /readyz says "not ready"
  // while the database opens (a rebuild at open can take minutes).
  // The faces are declared before the listener so that, on every way out of Run, the
  // listener stops (its destructor) before the handlers it calls are destroyed.
  std::unique_ptr<http::Site> site;
  std::unique_ptr<JsonFace> json_face;
  std::unique_ptr<http::ConsoleFace> console;
  std::unique_ptr<http::Listener> listener;
  if (!cfg.http.listen.empty()) {
    http::ListenerOptions http_options = cfg.http;
    http_options.tls_cert = cfg.security.tls_cert;
    http_options.tls_key = cfg.security.tls_key;
    http_options.tls_client_ca = cfg.security.tls_client_ca;
    if (http_options.tls_cert.empty() && !http::IsLoopback(http_options.listen)) {
      if (!cfg.security.allow_plaintext) {
        spdlog::error(
            "refusing plaintext HTTP on {}: configure security.tls_cert and tls_key, or set "
            "security.allow_plaintext",
            http_options.listen);
        return 1;
      }
      spdlog::warn("serving plaintext HTTP on {}: anyone on the path can read the traffic",
                   http_options.listen);
    }
    listener = std::make_unique<http::Listener>(http_options);
    site = std::make_unique<http::Site>(*listener, cfg.http_site);
    json_face = std::make_unique<JsonFace>(*listener, cfg.console_sessions, NowMs);
    std::map<std::string, http::StaticFile, std::less<>> files;
    for (const web::Asset* a = web::kAssets; a->path != nullptr; ++a) {
      files[a->path] = {a->content_type,
                        std::string_view(reinterpret_cast<const char*>(a->data), a->size)};
    }
    console = std::make_unique<http::ConsoleFace>(*listener, std::move(files));
    if (absl::Status s = listener->Start(); !s.ok()) {
      spdlog::error("{}", std::string(s.message()));
      return 1;
    }
    const std::string host = http_options.listen.substr(0, http_options.listen.rfind(':'));
    spdlog::info("HTTP listening on {}:{} ({})", host, listener->port(),
                 http_options.tls_cert.empty() ? "plaintext" : "TLS");
    if (!cfg.http_port_file.empty()) std::ofstream(cfg.http_port_file) << listener->port() << "\n";
  }

  spdlog::info("opening database {} (block cache {} MiB, allocator {})", cfg.db,
               cfg.directory.store.block_cache_bytes >> 20, AllocatorName());
  directory::DirectoryOptions options = cfg.directory;
  if (!cfg.security.suppression_key_file.empty()) {
    absl::StatusOr<std::string> key =
        ReadPem(cfg.security.suppression_key_file, "security.suppression_key_file");
    if (!key.ok() || key->size() < 16) {
      spdlog::error("{}", key.ok()
                              ? "security.suppression_key_file: the key must be at least 16 bytes"
                              : std::string(key.status().message()));
      return 1;
    }
    options.suppression_key = *std::move(key);
  }
  if (absl::Status s = LoadLexicon(cfg, options); !s.ok()) {
    spdlog::error("text.dictionaries: {}", std::string(s.message()));
    return 1;
  }
  options.notice = [](const std::string& what) { spdlog::warn("{}", what); };
  options.cancelled = [&signals] { return signals.stop_requested(); };
  absl::StatusOr<std::unique_ptr<directory::Directory>> dir =
      directory::Directory::Open(cfg.db, options);
  if (!dir.ok() && dir.status().code() == absl::StatusCode::kCancelled &&
      signals.stop_requested()) {
    spdlog::info("stopped while opening: {}", std::string(dir.status().message()));
    return 0;
  }
  if (!dir.ok()) {
    spdlog::error("cannot open database: {}", std::string(dir.status().message()));
    return 1;
  }
  const bool replicated = !cfg.replication.servers.empty();
  if (replicated) {
    dir = OpenReplicated(cfg, *std::move(dir));
    if (!dir.ok()) {
      spdlog::error("{}", std::string(dir.status().message()));
      return 1;
    }
  }
  if (absl::Status s = RegisterSources(**dir, cfg); !s.ok()) {
    spdlog::error("cannot register sources: {}", std::string(s.message()));
    // A replica serves what it has applied while the log is unreachable.
    if (!replicated) return 1;
  }
  std::shared_ptr<const access::Principals> principals;
  if (!cfg.security.principals.empty()) {
    absl::StatusOr<access::Principals> p = access::Principals::Load(cfg.security.principals);
    if (!p.ok()) {
      spdlog::error("security.principals: {}", std::string(p.status().message()));
      return 1;
    }
    spdlog::info("authentication on: {} principals", p->size());
    principals = std::make_shared<const access::Principals>(*std::move(p));
  } else if (!IsLoopback(cfg.listen)) {
    spdlog::warn(
        "authentication is off (no security.principals): anyone who can reach {} can read and "
        "write",
        cfg.listen);
  }
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = Credentials(cfg);
  if (!credentials.ok()) {
    spdlog::error("{}", std::string(credentials.status().message()));
    return 1;
  }
  access::Visibility visibility = access::Visibility::Default();
  for (const auto& [role, kinds] : cfg.security.visible_kinds)
    visibility.Set(*access::ParseRole(role), kinds);
  for (const auto& [kind, relations] : cfg.security.visible_via) visibility.SetVia(kind, relations);
  if (cfg.security.sensitive) {
    visibility.ClearSensitive();
    for (const auto& [kind, fields] : *cfg.security.sensitive)
      visibility.SetSensitive(kind, fields);
  }
  uint32_t see_sensitive = 0;
  for (const std::string& r : cfg.security.see_sensitive)
    see_sensitive |= access::Bit(*access::ParseRole(r));
  visibility.SetSeeSensitive(see_sensitive);
  const api::Auditor auditor(**dir, {cfg.security.audit, cfg.security.audited_kinds}, NowMs);
  api::Gate gate(principals, NowMs, std::move(visibility), &auditor);
  if (replicated) {
    gate.SetDirectory(dir->get(), absl::Milliseconds(cfg.replication.min_position_wait_ms));
  }
  const std::unique_ptr<SignalThread::Handler> reload = signals.OnReload([&] {
    if (cfg.security.principals.empty()) {
      spdlog::warn("SIGHUP: no principals file to reload (authentication is off)");
      return;
    }
    absl::StatusOr<access::Principals> p = access::Principals::Load(cfg.security.principals);
    if (!p.ok()) {
      spdlog::error("SIGHUP: keeping the current principals: {}",
                    std::string(p.status().message()));
      return;
    }
    spdlog::info("SIGHUP: reloaded {}: {} principals", cfg.security.principals, p->size());
    gate.Replace(std::make_shared<const access::Principals>(*std::move(p)));
  });
  scim::ScimOptions scim_options = cfg.scim;
  scim_options.default_region = (*dir)->DefaultRegion();
  scim::Service scim_service(**dir, scim_options, NowMs);
  // An erasure forgets the person's SCIM resource too. (The database closes before
  // scim_service goes, so the eraser never outlives it in use.)
  (*dir)->SetSideEraser(
      [&scim_service](const store::Reader&, const std::vector<directory::FragmentName>& erased) {
        return scim_service.Forget(erased);
      });
  http::AddDirectoryCollectors(**dir);
  const http::Backend backend{dir->get(), &gate, &scim_service};
  api::DirectoryService directory_service(**dir, gate, cfg.api, NowMs);
  api::AdminService admin_service(**dir, gate, NowMs, &scim_service);
  api::ExpertiseService expertise_service(**dir, gate, NowMs);
  const api::JsonApi json_api(directory_service, expertise_service, admin_service,
                              cfg.max_message_bytes);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(cfg.listen, *credentials, &port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(cfg.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(cfg.max_message_bytes));
  builder.RegisterService(&directory_service);
  builder.RegisterService(&admin_service);
  builder.RegisterService(&expertise_service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    spdlog::error("cannot listen on {} (is the port in use?)", cfg.listen);
    return 1;
  }
  server->GetHealthCheckService()->SetServingStatus(true);
  // A replica that stopped applying the log (a gap) is NOT_SERVING, as /readyz says.
  absl::Notification health_done;
  std::thread health([&] {
    if (!replicated) return;
    bool serving = true;
    while (!health_done.WaitForNotificationWithTimeout(absl::Seconds(1))) {
      const directory::ReplicaStatus r = (*dir)->Replication();
      const bool now = r.stopped.empty();
      if (now != serving) server->GetHealthCheckService()->SetServingStatus(now);
      serving = now;
    }
  });
  const std::string host = cfg.listen.substr(0, cfg.listen.rfind(':'));
  spdlog::info("tesserad listening on {}:{}", host, port);
  if (!cfg.port_file.empty()) {
    std::ofstream(cfg.port_file) << port << "\n";
  }

  // The JSON API first: once /readyz says ready, every face is.
  if (json_face != nullptr) json_face->SetBackend(&json_api, &gate);
  if (site != nullptr) site->SetBackend(&backend);
  const std::unique_ptr<SignalThread::Handler> stop = signals.OnStop([&] {
    spdlog::info("stop requested (SIGTERM or SIGINT), finishing in-flight calls");
    server->GetHealthCheckService()->SetServingStatus(false);
    if (site != nullptr) site->SetBackend(nullptr);
    if (json_face != nullptr) json_face->SetBackend(nullptr, nullptr);
    server->Shutdown(std::chrono::system_clock::now() +
                     std::chrono::milliseconds(cfg.shutdown_grace_ms));
  });
  // Audit retention: the oldest entries go, at start and then hourly.
  absl::Notification stopping;
  std::thread retention([&] {
    if (cfg.security.audit_retain_days == 0) return;
    const int64_t keep_ms = int64_t{cfg.security.audit_retain_days} * 86'400'000;
    do {
      absl::StatusOr<uint64_t> n = (*dir)->TrimAudit(NowMs() - keep_ms);
      if (!n.ok()) spdlog::error("audit retention: {}", std::string(n.status().message()));
      if (n.ok() && *n > 0) {
        spdlog::info("audit retention: deleted {} entries older than {} days", *n,
                     cfg.security.audit_retain_days);
      }
    } while (!stopping.WaitForNotificationWithTimeout(absl::Hours(1)));
  });
  server->Wait();
  health_done.Notify();
  health.join();
  // HTTP requests in progress finish; the listener then closes its connections.
  if (listener != nullptr) listener->Stop();
  stopping.Notify();
  retention.join();
  server.reset();
  dir->reset();  // closes the database
  spdlog::info("tesserad stopped");
  return 0;
}

}  // namespace
}  // namespace tessera::app

int main(int argc, char** argv) {
  // Debian builds Abseil without NDEBUG, which turns on absl::Mutex's deadlock
  // detection: every lock, ours and gRPC's, then updates a process-wide lock graph
  // under a global lock. Lock order is checked by clang's -Wthread-safety and the
  // ThreadSanitizer build instead (tests/sanitize.sh).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  tessera::app::ServerConfig cfg;
  if (int code = tessera::app::ParseArgs(argc, argv, cfg); code >= 0) return code;
  spdlog::set_default_logger(spdlog::stderr_color_mt("tesserad"));
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  return tessera::app::Run(cfg);
}
