#pragma once

// Identifier types and their exact normalisation. Two identifiers name the same
// person when their type and normalised value are equal; README.md ("Identifiers")
// documents each rule, and identity_test.cc checks them case by case.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tessera::identity {

// Disk tags: they prefix identifier keys. Do not change the numbers. Single-valued
// types come first so that clustering links on them before anything else.
enum class IdType : uint8_t {
  kEmployeeId = 1,
  kCustomerId = 2,
  kUpn = 3,
  kEmail = 4,
  kPhone = 5,
  kTwitter = 6,
  kFacebook = 7,
  kInstagram = 8,
  kWhatsapp = 9,
  kLdapDn = 10,
  kTeam = 11,
  kCase = 12,
  kDocument = 13,
  // "<source>/<id>": a resource an identity provider created over SCIM (server/scim),
  // matched exactly, so relations can name a user or group before it exists.
  kScimId = 14,
  // An Active Directory object's objectGUID in its canonical string form
  // ("c0f3b2a1-...", lower case): survives renames and moves (connectors/ad).
  kAdGuid = 15,
};
// The highest tag in use: keys with a tag above it are corrupt.
inline constexpr uint8_t kMaxIdTag = 15;

std::optional<IdType> ParseIdType(std::string_view name);
std::string_view IdTypeName(IdType type);
// The comma-separated list of type names, for error messages.
std::string_view IdTypeList();

// A person has at most one value of a single-valued type (employee_id, customer_id,
// upn): two fragments disagreeing on one are a conflict, never merged.
bool IsSingleValued(IdType type);

struct NormaliseOptions {
  // ISO 3166 region used for phone numbers written without a country code.
  std::string default_region = "US";
};

// The normalised form of `raw` (as a source wrote it) for `type`, or INVALID_ARGUMENT
// saying what is wrong with it ("'12ab' is not a phone number"). Thread-safe.
absl::StatusOr<std::string> Normalise(IdType type, std::string_view raw,
                                      const NormaliseOptions& options);

// The key of an identifier in the identifier indexes: u8 type · value · 0x00.
// Normalised values never contain NUL, so the key is prefix-free.
std::string IdentKey(IdType type, std::string_view normalised);
// Splits an IdentKey back; false when `key` is not one.
bool ParseIdentKey(std::string_view key, IdType* type, std::string_view* value);

// "type:value", as the CLI writes identifiers.
std::string IdentText(IdType type, std::string_view value);

}  // namespace tessera::identity
