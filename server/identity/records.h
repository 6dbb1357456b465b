#pragma once

// Reading and keying identity records in the store (server/store/README.md has the
// layouts): profiles by id, fragments by key, identifier owners, conflicts.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "server/identity/fragment.h"
#include "server/identity/profile.h"

namespace tessera::store {
class Reader;
}

namespace tessera::identity {

// u64be id.
std::string ProfileKey(uint64_t id);
// u64be profile · u32be ordinal.
std::string ConflictKey(uint64_t profile, uint32_t ordinal);

// The record or nullopt when absent; DATA_LOSS when it does not decode.
absl::StatusOr<std::optional<Profile>> ReadProfile(const store::Reader& reader, uint64_t id);
absl::StatusOr<std::optional<StoredFragment>> ReadFragment(const store::Reader& reader,
                                                           std::string_view fragkey);

// Profiles owning an identifier (IdentKey), ascending; empty when none. More than
// one only when the identifier is shared by conflicting or split profiles.
absl::StatusOr<std::vector<uint64_t>> ReadOwners(const store::Reader& reader,
                                                 std::string_view identkey);
std::string EncodeOwners(const std::vector<uint64_t>& owners);
// The owners of identifier (`type`, `normalised`) and of its alias (mentions.h
// AliasOf: a WhatsApp id that is a phone number, and that phone number), ascending.
absl::StatusOr<std::vector<uint64_t>> ReadOwnersOf(const store::Reader& reader, IdType type,
                                                   std::string_view normalised);

// Conflicts recorded for `profile`.
absl::StatusOr<std::vector<Conflict>> ReadConflicts(const store::Reader& reader, uint64_t profile);

}  // namespace tessera::identity
