#pragma once

// The unified profile: materialised from its fragments so that a read is one lookup.
// Every value keeps its provenance (the member fragment it came from); values are
// kept in survivorship order, so the displayed value is the first.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "server/identity/fragment.h"
#include "server/identity/identifier.h"

namespace tessera::identity {

// Whether a caller may see profile `id`, whose kinds are `kinds` (server/access and
// server/api decide; the core only applies it). Empty: sees every profile.
using ProfileFilter = std::function<bool(uint64_t id, const std::vector<std::string>& kinds)>;

class SourceRegistry;

struct Member {
  std::string fragkey;  // FragmentKey of the fragment
  std::string source;
  std::string external_id;
  uint64_t version = 0;
  int64_t time_ms = 0;  // the fragment's updated_at
  std::string kind;
};

// A value and the member fragment it came from (index into Profile::members), with
// the value as that source wrote it when it differs.
struct SourcedValue {
  std::string value;
  uint32_t member = 0;
  std::string raw;
};

struct ProfileAttribute {
  std::string name;
  std::vector<SourcedValue> values;  // survivorship order; values[0] is displayed
};

struct ProfileIdentifier {
  IdType type = IdType::kEmail;
  std::string value;                     // normalised
  std::vector<SourcedValue> provenance;  // `value` fields unused
};

struct Profile {
  uint64_t id = 0;
  std::string kind;                // kind of the first member
  std::vector<std::string> kinds;  // sorted, unique
  std::string display_name;
  std::vector<Member> members;                 // survivorship order
  std::vector<ProfileAttribute> attributes;    // sorted by name
  std::vector<ProfileIdentifier> identifiers;  // sorted by (type, value)
  std::vector<uint64_t> peers;  // profiles sharing an identifier with this one, ascending
  int64_t updated_at_ms = 0;    // latest member time

  // The displayed value of attribute `name`, or nullptr.
  const std::string* Attr(std::string_view name) const;
  // The first identifier of `type`, or nullptr.
  const std::string* FirstIdentifier(IdType type) const;
};

// Survivorship order of fragments: source priority (higher first), then updated_at
// (newer first), then source id and external id (for determinism).
// Builds the profile `id` from `fragments` (fragment key, stored fragment), any order.
Profile Materialise(uint64_t id,
                    std::span<const std::pair<std::string, const StoredFragment*>> fragments,
                    const SourceRegistry& sources);

std::string EncodeProfile(const Profile& p);
[[nodiscard]] absl::Status DecodeProfile(std::string_view data, Profile* p);

// Fragments that share an identifier but disagree on a single-valued identifier type
// or on the class of entity: kept apart and reported.
struct Conflict {
  std::string type;                  // identifier type name, or "kind"
  std::vector<std::string> values;   // sorted
  IdType via_type = IdType::kEmail;  // the shared identifier
  std::string via_value;
  std::vector<uint64_t> profiles;     // ascending
  std::vector<std::string> fragkeys;  // sorted

  bool operator==(const Conflict&) const = default;
};

std::string EncodeConflict(const Conflict& c);
[[nodiscard]] absl::Status DecodeConflict(std::string_view data, Conflict* c);

}  // namespace tessera::identity
