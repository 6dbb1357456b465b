#pragma once

// tesserad's configuration: defaults here, then a JSON file (--config), then flags.
// README.md "Configuration" shows a full file; deploy/tesserad.example.json is one.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/api/directory_service.h"
#include "server/directory/directory.h"
#include "server/http/session.h"
#include "server/http/site.h"
#include "server/identity/source.h"
#include "server/scim/service.h"

namespace tessera::app {

struct ServerConfig {
  // Database folder; created when missing.
  std::string db = "tessera-data";
  // host:port to serve on; port 0 picks a free one (see port_file).
  std::string listen = "127.0.0.1:50051";
  // When set, the bound port is written there once the server accepts calls.
  std::string port_file;
  // trace, debug, info, warn, error.
  std::string log_level = "info";
  // Largest request or response message. Default 64 MiB: a full ingest batch.
  uint64_t max_message_bytes = 64ull << 20;
  // On SIGTERM, in-flight calls get this long to finish before they are cancelled.
  uint32_t shutdown_grace_ms = 10'000;
  // Store, limits, identifier normalisation, change-log retention.
  directory::DirectoryOptions directory;
  api::ApiLimits api;
  // Sources registered (or updated) at start-up.
  std::vector<identity::Source> sources;
  // text.dictionaries: FreeDict dictd files for FindExperts' translations ("PREFIX"
  // with from and to languages). Unset: Debian's dict-freedict-fra-eng and -eng-fra
  // when installed; [] turns translation off.
  std::optional<std::vector<text::DictionaryFile>> dictionaries;
  // The HTTP listener (health, metrics, SCIM): off unless http.listen is set. Its TLS
  // is security.tls_*, like gRPC's.
  http::ListenerOptions http;
  http::SiteOptions http_site;
  // The web console's sessions (console.*).
  http::SessionOptions console_sessions;
  // When set, the HTTP listener's bound port is written there once it serves.
  std::string http_port_file;
  // SCIM provisioning (server/scim): limits, paging and how userName maps.
  scim::ScimOptions scim;
  // Replicated mode (replication.*, --replication): the NATS servers of the log (empty:
  // plain mode, one database, no NATS), the stream, this replica's name and bounds.
  struct Replication {
    std::vector<std::string> servers;
    std::string stream = "tessera";
    std::string node;            // default: the host name and the gRPC port
    int replicas = 0;            // stream copies when this server creates it (0: min(3, servers))
    uint32_t max_age_hours = 0;  // the stream's retention when created (0: no limit)
    uint64_t max_bytes = 0;
    uint64_t max_read_lag = 10'000;  // reads without min_position refused beyond (0: never)
    uint32_t apply_wait_ms = 60'000;
    uint32_t publish_timeout_ms = 20'000;
    uint32_t min_position_wait_ms = 10'000;
    // Authentication and TLS to the NATS servers (replica/log.h): a file holding a
    // token, or a NATS .creds file; a CA, and a client certificate and key.
    std::string token_file, credentials_file;
    std::string tls_ca, tls_cert, tls_key;
  } replication;
  // Transport security and who may call what (README "Security").
  struct Security {
    // PEM files. With cert and key, tesserad serves TLS only; with client_ca too,
    // clients may present certificates signed by it (mutual TLS).
    std::string tls_cert, tls_key, tls_client_ca;
    // Principals file (server/access/access.h): when set, every call must carry a
    // bearer token or a client certificate listed there, with a role for the method.
    std::string principals;
    // Plaintext on an address other than loopback is refused unless this is set.
    bool allow_plaintext = false;
    // Role -> profile kinds it may read ("*": all), replacing access::Visibility's
    // defaults for the roles named.
    std::map<std::string, std::vector<std::string>> visible_kinds;
    // Kind -> relations through which a principal's `person` sees profiles of that
    // kind (its own customers); replaces the defaults for the kinds named.
    std::map<std::string, std::vector<std::string>> visible_via;
    // Kind ("*": every kind) -> sensitive fields (attribute names, identifier types);
    // when set, replaces the default list whole. Redacted unless the caller holds one
    // of `see_sensitive` (default: agent).
    std::optional<std::map<std::string, std::vector<std::string>>> sensitive;
    std::vector<std::string> see_sensitive = {"agent"};
    // The audit log (server/api/gate.h): on by default; reading a profile of one of
    // `audited_kinds` is recorded.
    bool audit = true;
    std::vector<std::string> audited_kinds = {"customer"};
    // Audit entries older than this many days are deleted (checked at start and
    // hourly); 0 keeps them forever.
    uint32_t audit_retain_days = 0;
    // A file holding the key of the keyed hash that records erased people (at least
    // 16 bytes). Unset: a random key kept in the database.
    std::string suppression_key_file;
  } security;

  // The first invalid field, named: "store.block_cache_bytes: must be at least 1 MiB".
  [[nodiscard]] absl::Status Validate() const;
};

// Reads a JSON configuration file over `config`; an unknown key or a value of the
// wrong type is an error naming the key.
[[nodiscard]] absl::Status LoadConfigFile(const std::string& path, ServerConfig& config);

}  // namespace tessera::app
