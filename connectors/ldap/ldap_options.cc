#include "connectors/ldap/ldap_options.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "nlohmann/json.hpp"

namespace tessera::connect {
namespace {

using nlohmann::json;

constexpr char kKeys[] =
    "uri, bind_dn, password, password_file, base_dn, filter, scope, page_size, start_tls, ca_file, "
    "timeout_ms";

absl::Status Bad(const std::string& key, const std::string& why) {
  return absl::InvalidArgumentError("\"input." + key + "\": " + why);
}

absl::Status GetString(const json& v, const std::string& key, std::string* out) {
  if (!v.is_string() || v.get<std::string>().empty()) return Bad(key, "must be a non-empty string");
  *out = v.get<std::string>();
  return absl::OkStatus();
}

absl::Status GetInt(const json& v, const std::string& key, int64_t lo, int64_t hi, int64_t* out) {
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
    return Bad(key, "must be an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  *out = v.get<int64_t>();
  return absl::OkStatus();
}

absl::Status ReadPassword(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Bad("password_file", "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  while (!out->empty() && (out->back() == '\n' || out->back() == '\r')) out->pop_back();
  if (out->empty()) return Bad("password_file", path + " is empty");
  return absl::OkStatus();
}

// One key of the input object.
absl::Status ApplyKey(const SourceConfig& config, const std::string& key, const json& v,
                      LdapOptions* o, std::string* password_file,
                      const std::vector<std::string>& other_keys) {
  if (key == "uri") {
    if (absl::Status s = GetString(v, key, &o->uri); !s.ok()) return s;
    if (o->uri.rfind("ldap://", 0) != 0 && o->uri.rfind("ldaps://", 0) != 0) {
      return Bad(key, "'" + o->uri + "' must start with ldap:// or ldaps://");
    }
    return absl::OkStatus();
  }
  if (key == "bind_dn") return GetString(v, key, &o->bind_dn);
  if (key == "password") return GetString(v, key, &o->password);
  if (key == "password_file") return GetString(v, key, password_file);
  if (key == "base_dn") return GetString(v, key, &o->base_dn);
  if (key == "ca_file") {
    if (absl::Status s = GetString(v, key, &o->ca_file); !s.ok()) return s;
    o->ca_file = config.Resolve(o->ca_file);
    return absl::OkStatus();
  }
  if (key == "filter") {
    if (absl::Status s = GetString(v, key, &o->filter); !s.ok()) return s;
    if (o->filter.front() != '(' || o->filter.back() != ')') {
      return Bad(key, "'" + o->filter + "' must be an RFC 4515 filter in parentheses");
    }
    return absl::OkStatus();
  }
  if (key == "scope") {
    std::string s;
    if (!v.is_string()) return Bad(key, "must be \"base\", \"one\" or \"sub\"");
    s = v.get<std::string>();
    if (s == "base") {
      o->scope = LdapScope::kBase;
    } else if (s == "one") {
      o->scope = LdapScope::kOne;
    } else if (s == "sub") {
      o->scope = LdapScope::kSub;
    } else {
      return Bad(key, "'" + s + "' must be \"base\", \"one\" or \"sub\"");
    }
    return absl::OkStatus();
  }
  if (key == "start_tls") {
    if (!v.is_boolean()) return Bad(key, "must be true or false");
    o->start_tls = v.get<bool>();
    return absl::OkStatus();
  }
  int64_t n = 0;
  if (key == "page_size") {
    if (absl::Status s = GetInt(v, key, 1, 100000, &n); !s.ok()) return s;
    o->page_size = static_cast<int>(n);
    return absl::OkStatus();
  }
  if (key == "timeout_ms") {
    if (absl::Status s = GetInt(v, key, 100, 3600000, &n); !s.ok()) return s;
    o->timeout_ms = n;
    return absl::OkStatus();
  }
  std::string expected = kKeys;
  for (const std::string& k : other_keys) expected += ", " + k;
  return Bad(key, "unknown key (expected " + expected + ")");
}

}  // namespace

absl::StatusOr<LdapOptions> ParseLdapOptions(const SourceConfig& config,
                                             const LdapOptions& defaults,
                                             const std::vector<std::string>& other_keys) {
  const json in = json::parse(config.input_json, nullptr, /*allow_exceptions=*/false);
  if (!in.is_object()) return absl::InvalidArgumentError("\"input\": must be an object");
  LdapOptions o = defaults;
  std::string password_file;
  bool has_password = false;
  for (const auto& [key, v] : in.items()) {
    if (std::find(other_keys.begin(), other_keys.end(), key) != other_keys.end()) continue;
    if (absl::Status s = ApplyKey(config, key, v, &o, &password_file, other_keys); !s.ok()) {
      return s;
    }
    has_password = has_password || key == "password";
  }
  if (o.uri.empty()) return Bad("uri", "is required (ldap://host:port or ldaps://host:port)");
  if (o.base_dn.empty()) return Bad("base_dn", "is required");
  if (has_password && !password_file.empty()) {
    return Bad("password_file", "give either password or password_file, not both");
  }
  if (!password_file.empty()) {
    if (absl::Status s = ReadPassword(config.Resolve(password_file), &o.password); !s.ok()) {
      return s;
    }
  }
  if (!o.password.empty() && o.bind_dn.empty()) {
    return Bad("bind_dn", "is required with a password (leave both out to bind anonymously)");
  }
  if (o.start_tls && o.uri.rfind("ldaps://", 0) == 0) {
    return Bad("start_tls", "cannot be used with ldaps:// (already TLS)");
  }
  return o;
}

}  // namespace tessera::connect
