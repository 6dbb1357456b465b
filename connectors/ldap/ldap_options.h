#pragma once

// The "input" object of an LDAP source (connectors/ldap/README.md lists the keys).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/common/config.h"

namespace tessera::connect {

enum class LdapScope { kBase, kOne, kSub };

struct LdapOptions {
  std::string uri;      // ldap://host:port or ldaps://host:port
  std::string bind_dn;  // empty: anonymous bind
  std::string password;
  std::string base_dn;
  std::string filter = "(objectClass=inetOrgPerson)";
  LdapScope scope = LdapScope::kSub;
  // Entries per page of the paged-results search (RFC 2696): the connector holds one
  // page at a time. Must not exceed the server's size limit for the bind identity.
  int page_size = 500;
  bool start_tls = false;  // StartTLS on an ldap:// connection (certificate checked)
  std::string ca_file;     // CA certificates for ldaps:// or StartTLS; "" = system default
  // Connecting, binding, and the longest wait for the server's next message.
  int64_t timeout_ms = 30000;
};

// Parses and checks `config.input_json` over `defaults`. Errors name the key
// ("input.page_size: ..."); an unknown key is an error, except the `other_keys` a
// kind built on this one parses itself. A password file is read here, relative to
// the configuration file; its trailing line break is dropped.
absl::StatusOr<LdapOptions> ParseLdapOptions(const SourceConfig& config,
                                             const LdapOptions& defaults = {},
                                             const std::vector<std::string>& other_keys = {});

}  // namespace tessera::connect
