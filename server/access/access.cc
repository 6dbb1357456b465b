#include "server/access/access.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "nlohmann/json.hpp"

namespace tessera::access {
namespace {

using nlohmann::json;

constexpr std::string_view kRoleNames[kRoleCount] = {"reader", "agent",   "connector",
                                                     "admin",  "auditor", "metrics"};

// Which roles may call each method. Methods not listed: nobody.
const std::map<std::string, uint32_t, std::less<>>& MethodRoles() {
  static const auto* m = [] {
    constexpr uint32_t kRead = Bit(Role::kReader) | Bit(Role::kAgent);
    constexpr uint32_t kAdmin = Bit(Role::kAdmin);
    // A connector registers its source and reports each run (sync runtime), for its
    // bound sources only (checked by the handler).
    constexpr uint32_t kAdminOrConnector = Bit(Role::kAdmin) | Bit(Role::kConnector);
    return new std::map<std::string, uint32_t, std::less<>>{
        {"Directory.Ingest", Bit(Role::kConnector)},
        {"Directory.GetProfile", kRead},
        {"Directory.SearchPeople", kRead},
        {"Directory.Neighbors", kRead},
        {"Directory.CustomerHistory", kRead},
        {"Directory.Watch", kRead},
        {"Expertise.FindExperts", Bit(Role::kAgent)},
        {"Expertise.RecordOutcome", Bit(Role::kAgent)},
        {"Admin.PutSource", kAdminOrConnector},
        {"Admin.ReportSync", kAdminOrConnector},
        {"Admin.ListSources", kAdmin},
        {"Admin.Stats", kAdmin},
        {"Admin.ListConflicts", kAdmin},
        {"Admin.GetFragment", kAdmin},
        {"Admin.Merge", kAdmin},
        {"Admin.Split", kAdmin},
        {"Admin.ListRules", kAdmin},
        {"Admin.DeleteRule", kAdmin},
        {"Admin.Backup", kAdmin},
        {"Admin.Rebuild", kAdmin},
        {"Admin.Compact", kAdmin},
        {"Admin.Erase", kAdmin},
        {"Admin.ReadAudit", Bit(Role::kAuditor)},
        // SCIM provisioning (server/scim over HTTP): a connector bound to the source
        // the identity provider writes, or an admin.
        {"Scim.Read", kAdminOrConnector},
        {"Scim.Write", kAdminOrConnector},
        {"Http.Metrics", Bit(Role::kMetrics) | kAdmin},
        // The web console: people who read the directory, answer customers, run it
        // or audit it sign in; connectors and metrics scrapers have no use for it.
        {"Console.SignIn", kRead | kAdmin | Bit(Role::kAuditor)},
    };
  }();
  return *m;
}

// "2027-06-30" -> milliseconds at the start of that day (UTC), or nullopt.
std::optional<int64_t> DayStartMs(std::string_view date) {
  int y = 0;
  unsigned m = 0, d = 0;
  char extra = 0;
  if (date.size() != 10 ||
      sscanf(std::string(date).c_str(), "%4d-%2u-%2u%c", &y, &m, &d, &extra) != 3) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m),
                                        std::chrono::day(d)};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::sys_days(ymd).time_since_epoch())
      .count();
}

absl::Status Bad(std::string_view where, const std::string& what) {
  return absl::InvalidArgumentError(std::string(where) + ": " + what);
}

// Reads the fields every entry has: roles, sources, expires.
absl::Status ReadEntry(const json& e, const std::string& where, Principal& p) {
  static const std::vector<std::string> kKnown = {"principal", "sha256",  "common_name", "roles",
                                                  "sources",   "expires", "person"};
  for (const auto& [key, value] : e.items()) {
    if (std::find(kKnown.begin(), kKnown.end(), key) == kKnown.end())
      return Bad(where, "unknown field '" + key + "'");
  }
  if (!e.contains("roles") || !e["roles"].is_array() || e["roles"].empty()) {
    return Bad(
        where,
        "'roles' must be a non-empty list (reader, agent, connector, admin, auditor, metrics)");
  }
  for (const json& r : e["roles"]) {
    std::optional<Role> role = r.is_string() ? ParseRole(r.get<std::string>()) : std::nullopt;
    if (!role)
      return Bad(where, "unknown role " + r.dump() +
                            " (known: reader, agent, connector, admin, auditor, metrics)");
    p.roles |= Bit(*role);
  }
  if (e.contains("sources")) {
    if (!e["sources"].is_array()) return Bad(where, "'sources' must be a list of source ids");
    for (const json& s : e["sources"]) {
      if (!s.is_string() || s.get<std::string>().empty())
        return Bad(where, "'sources' must be a list of source ids");
      p.sources.push_back(s.get<std::string>());
    }
  }
  if (p.Has(Role::kConnector) && p.sources.empty()) {
    return Bad(where, "a connector must be bound to the source ids it writes ('sources')");
  }
  if (e.contains("person")) {
    const std::string person = e["person"].is_string() ? e["person"].get<std::string>() : "";
    const size_t colon = person.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == person.size() ||
        person.size() > 320) {
      return Bad(
          where,
          "'person' must be the caller's own identifier, type:value (email:marc@bank.example)");
    }
    p.person = person;
  }
  if (e.contains("expires")) {
    std::optional<int64_t> ms =
        e["expires"].is_string() ? DayStartMs(e["expires"].get<std::string>()) : std::nullopt;
    if (!ms) return Bad(where, "'expires' must be a date YYYY-MM-DD");
    p.expires_ms = *ms;
  }
  return absl::OkStatus();
}

std::string RequiredString(const json& e, const char* field) {
  return e.contains(field) && e[field].is_string() ? e[field].get<std::string>() : std::string();
}

}  // namespace

std::string_view RoleName(Role role) { return kRoleNames[static_cast<int>(role)]; }

std::optional<Role> ParseRole(std::string_view name) {
  for (int i = 0; i < kRoleCount; ++i) {
    if (kRoleNames[i] == name) return static_cast<Role>(i);
  }
  return std::nullopt;
}

bool Principal::MayWrite(std::string_view source) const {
  return std::find(sources.begin(), sources.end(), source) != sources.end();
}

uint32_t RolesFor(std::string_view method) {
  auto it = MethodRoles().find(method);
  return it == MethodRoles().end() ? 0 : it->second;
}

std::string DescribeRoles(uint32_t mask) {
  std::string out;
  for (int i = 0; i < kRoleCount; ++i) {
    if ((mask >> i & 1) != 0) out += (out.empty() ? "" : " or ") + std::string(kRoleNames[i]);
  }
  return out.empty() ? "none" : out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

Visibility Visibility::Default() {
  Visibility v;
  v.Set(Role::kReader, {"employee", "team"});
  v.Set(Role::kAgent, {"*"});
  v.SetVia("customer", {"account_manager", "managed_by"});
  const std::vector<std::string> everyone = {"personal_phone", "personal_email", "home_address",
                                             "birth_date",     "twitter",        "facebook",
                                             "instagram",      "whatsapp"};
  v.SetSensitive("*", everyone);
  for (const char* kind : {"customer", "contact"}) {
    std::vector<std::string> fields = everyone;
    fields.insert(fields.end(), {"phone", "email"});
    v.SetSensitive(kind, fields);
  }
  v.SetSeeSensitive(Bit(Role::kAgent));
  return v;
}

const std::vector<std::string>& Visibility::Via(std::string_view kind) const {
  static const std::vector<std::string> kNone;
  auto it = via_.find(kind);
  return it == via_.end() ? kNone : it->second;
}

std::vector<std::string> Visibility::Redacted(const Principal* who,
                                              const std::vector<std::string>& kinds) const {
  std::vector<std::string> out;
  if (who == nullptr || (who->roles & see_sensitive_) != 0) return out;
  auto add = [&](std::string_view kind) {
    auto it = sensitive_.find(kind);
    if (it == sensitive_.end()) return;
    for (const std::string& f : it->second) {
      if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
    }
  };
  add("*");
  for (const std::string& k : kinds) add(k);
  return out;
}

bool Visibility::SeesAll(const Principal& who) const {
  for (int r = 0; r < kRoleCount; ++r) {
    if (who.Has(static_cast<Role>(r)) &&
        std::find(kinds_[r].begin(), kinds_[r].end(), "*") != kinds_[r].end()) {
      return true;
    }
  }
  return false;
}

bool Visibility::MaySee(const Principal& who, const std::vector<std::string>& kinds) const {
  if (SeesAll(who)) return true;
  for (const std::string& k : KindsFor(who)) {
    if (std::find(kinds.begin(), kinds.end(), k) != kinds.end()) return true;
  }
  return false;
}

std::vector<std::string> Visibility::KindsFor(const Principal& who) const {
  std::vector<std::string> out;
  for (int r = 0; r < kRoleCount; ++r) {
    if (!who.Has(static_cast<Role>(r))) continue;
    for (const std::string& k : kinds_[r]) {
      if (std::find(out.begin(), out.end(), k) == out.end()) out.push_back(k);
    }
  }
  return out;
}

absl::StatusOr<Principals> Principals::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("principals file '" + path + "' cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), path);
}

absl::StatusOr<Principals> Principals::Parse(std::string_view text, std::string_view origin) {
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Bad(origin, "not a JSON object");
  for (const auto& [key, value] : doc.items()) {
    if (key != "tokens" && key != "certificates") {
      return Bad(origin, "unknown field '" + key + "' (expected tokens, certificates)");
    }
    if (!value.is_array()) return Bad(origin, "'" + key + "' must be a list");
  }
  Principals out;
  if (doc.contains("tokens")) {
    for (size_t i = 0; i < doc["tokens"].size(); ++i) {
      const json& e = doc["tokens"][i];
      const std::string where = std::string(origin) + ": tokens[" + std::to_string(i) + "]";
      if (!e.is_object()) return Bad(where, "not an object");
      Principal p;
      p.name = RequiredString(e, "principal");
      if (p.name.empty()) return Bad(where, "'principal' (a name for the audit log) is required");
      std::string hash = RequiredString(e, "sha256");
      if (hash.size() != 64 || hash.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return Bad(where, "'sha256' must be the 64 lowercase hex digits of the token's SHA-256");
      }
      if (e.contains("common_name")) return Bad(where, "'common_name' belongs in \"certificates\"");
      if (absl::Status s = ReadEntry(e, where, p); !s.ok()) return s;
      if (!out.by_hash_.emplace(std::move(hash), std::move(p)).second)
        return Bad(where, "the same token twice");
    }
  }
  if (doc.contains("certificates")) {
    for (size_t i = 0; i < doc["certificates"].size(); ++i) {
      const json& e = doc["certificates"][i];
      const std::string where = std::string(origin) + ": certificates[" + std::to_string(i) + "]";
      if (!e.is_object()) return Bad(where, "not an object");
      Principal p;
      std::string cn = RequiredString(e, "common_name");
      if (cn.empty()) return Bad(where, "'common_name' (the client certificate's CN) is required");
      if (e.contains("sha256")) return Bad(where, "'sha256' belongs in \"tokens\"");
      p.name = e.contains("principal") ? RequiredString(e, "principal") : cn;
      if (absl::Status s = ReadEntry(e, where, p); !s.ok()) return s;
      if (!out.by_cn_.emplace(std::move(cn), std::move(p)).second)
        return Bad(where, "the same common name twice");
    }
  }
  return out;
}

absl::StatusOr<const Principal*> Principals::ByToken(std::string_view token, int64_t now_ms) const {
  auto it = by_hash_.find(Sha256Hex(token));
  if (it == by_hash_.end()) return absl::UnauthenticatedError("unknown token");
  if (it->second.expires_ms != 0 && now_ms >= it->second.expires_ms) {
    return absl::UnauthenticatedError("the token of '" + it->second.name + "' has expired");
  }
  return &it->second;
}

const Principal* Principals::ByCertificate(std::string_view common_name) const {
  auto it = by_cn_.find(common_name);
  return it == by_cn_.end() ? nullptr : &it->second;
}

absl::StatusOr<NewToken> MakeToken(std::string_view principal, const std::vector<Role>& roles,
                                   const std::vector<std::string>& sources,
                                   std::string_view expires) {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) return absl::InternalError("no random bytes for a token");
  unsigned char b64[64];
  const int n = EVP_EncodeBlock(b64, raw, sizeof raw);
  std::string token(reinterpret_cast<const char*>(b64), static_cast<size_t>(n));
  token.erase(std::remove(token.begin(), token.end(), '='), token.end());
  std::replace(token.begin(), token.end(), '+', '-');
  std::replace(token.begin(), token.end(), '/', '_');
  json e = {{"principal", std::string(principal)}, {"sha256", Sha256Hex(token)}};
  for (Role r : roles) e["roles"].push_back(std::string(RoleName(r)));
  if (!sources.empty()) e["sources"] = sources;
  if (!expires.empty()) e["expires"] = std::string(expires);
  // Validate what we print, so the entry loads as is.
  const std::string entry = e.dump();
  absl::StatusOr<Principals> check =
      Principals::Parse("{\"tokens\": [" + entry + "]}", "new token");
  if (!check.ok()) return check.status();
  return NewToken{token, entry};
}

}  // namespace tessera::access
