#pragma once

// Who may call what. Plain C++: server/gate maps a call's credentials (bearer token or
// mutual-TLS certificate) and method onto these types and enforces the answer, for
// gRPC (server/api) and HTTP (server/http) alike.
//
// Principals come from one JSON file (the "principals file"):
//
//   {"tokens": [{"principal": "cm-desk", "sha256": "<hex of the token's SHA-256>",
//                "roles": ["agent"], "expires": "2027-06-30"}],
//    "certificates": [{"common_name": "hr-sync", "roles": ["connector"], "sources": ["hr"]}]}
//
// Tokens are stored hashed; `tesserad --new-token` makes one and prints its entry.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tessera::access {

// reader: employees' public profiles and people search; agent: FindExperts and
// customers' profiles; connector: Ingest (and registering / reporting on) its bound
// sources only; admin: the Admin service; auditor: the audit log.
// kMetrics reads /metrics when the HTTP listener is not on loopback.
enum class Role : uint8_t { kReader = 0, kAgent, kConnector, kAdmin, kAuditor, kMetrics };
inline constexpr int kRoleCount = 6;
std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);
inline constexpr uint32_t Bit(Role role) { return 1u << static_cast<int>(role); }

struct Principal {
  std::string name;
  uint32_t roles = 0;                // Bit(role) for each role held
  std::vector<std::string> sources;  // connector: the source ids it may write
  int64_t expires_ms = 0;            // 0: never
  // The caller's own identifier ("email:marc@bank.example"), for relationship rules
  // (Visibility::Via); empty: none.
  std::string person;

  bool Has(Role role) const { return (roles & Bit(role)) != 0; }
  bool MayWrite(std::string_view source) const;
};

// The roles that may call `method` ("Service.Method", e.g. "Directory.GetProfile"),
// as a mask of Bit(role); 0 for a method nobody may call (unknown).
uint32_t RolesFor(std::string_view method);
// "reader or agent": the roles of a mask, for error messages.
std::string DescribeRoles(uint32_t mask);

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// Who may see which profiles, and which of their fields, on every read path
// (GetProfile, SearchPeople, Neighbors, Watch, FindExperts).
//  - By kind: each role may read some kinds ("*": every kind). A principal sees a
//    profile when one of its roles may see one of the profile's kinds.
//  - By relationship: a principal with a `person` also sees profiles of a kind that are
//    linked to that person by one of the kind's relations (a customer and their own
//    account manager). server/gate checks the edge.
//  - Sensitive fields (attribute names or identifier types, per kind; "*": every kind)
//    are redacted for principals without one of the see-sensitive roles.
// Profiles a caller may not see read as absent. Defaults: reader sees employees and
// teams, agent sees everything; customers are visible via account_manager/managed_by;
// personal phone/e-mail, home address, birth date and social handles of everyone,
// and customers' and contacts' phones and e-mails, are for agents only.
class Visibility {
 public:
  static Visibility Default();
  // Replaces one role's kinds ("security.visible_kinds": {"reader": ["employee"]}).
  void Set(Role role, std::vector<std::string> kinds) {
    kinds_[static_cast<int>(role)] = std::move(kinds);
  }
  // Relations through which a principal's person sees profiles of `kind`.
  void SetVia(const std::string& kind, std::vector<std::string> relations) {
    via_[kind] = std::move(relations);
  }
  const std::vector<std::string>& Via(std::string_view kind) const;
  bool AnyVia() const { return !via_.empty(); }
  // Sensitive fields of profiles of `kind` ("*": of every profile).
  void SetSensitive(const std::string& kind, std::vector<std::string> fields) {
    sensitive_[kind] = std::move(fields);
  }
  void ClearSensitive() { sensitive_.clear(); }
  // The roles (mask of Bit(role)) that see sensitive fields.
  void SetSeeSensitive(uint32_t roles) { see_sensitive_ = roles; }
  // The fields `who` must not see on a profile of these kinds (none when `who` is null:
  // authentication is off).
  std::vector<std::string> Redacted(const Principal* who,
                                    const std::vector<std::string>& kinds) const;

  bool SeesAll(const Principal& who) const;
  bool MaySee(const Principal& who, const std::vector<std::string>& kinds) const;
  // The kinds `who` may see (meaningless when SeesAll).
  std::vector<std::string> KindsFor(const Principal& who) const;

 private:
  std::vector<std::string> kinds_[kRoleCount];
  std::map<std::string, std::vector<std::string>, std::less<>> via_;
  std::map<std::string, std::vector<std::string>, std::less<>> sensitive_;
  uint32_t see_sensitive_ = 0;
};

class Principals {
 public:
  // Errors name the file and the entry ("principals.json: tokens[2]: unknown role 'boss'").
  static absl::StatusOr<Principals> Load(const std::string& path);
  static absl::StatusOr<Principals> Parse(std::string_view json, std::string_view origin);

  // The principal holding `token`: UNAUTHENTICATED when it is unknown or expired at
  // `now_ms` (the message does not echo the token).
  absl::StatusOr<const Principal*> ByToken(std::string_view token, int64_t now_ms) const;
  // The principal of a client certificate's common name, or nullptr.
  const Principal* ByCertificate(std::string_view common_name) const;

  size_t size() const { return by_hash_.size() + by_cn_.size(); }

 private:
  std::map<std::string, Principal, std::less<>> by_hash_;  // token SHA-256 hex -> principal
  std::map<std::string, Principal, std::less<>> by_cn_;    // certificate common name -> principal
};

// A new random token (256 bits, base64url) and its principals-file entry.
struct NewToken {
  std::string token;
  std::string entry;  // one JSON object for "tokens"
};
absl::StatusOr<NewToken> MakeToken(std::string_view principal, const std::vector<Role>& roles,
                                   const std::vector<std::string>& sources,
                                   std::string_view expires);

}  // namespace tessera::access
