#pragma once

// Text forms the CLI and connectors share: identifiers as "type:value", profile ids,
// RFC 3339 times, and fragments as JSON lines (README.md "Fragment JSONL format").

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "tessera/v1/types.pb.h"

namespace tessera::client {

// "email:alice@example.com" -> {email, alice@example.com}. The value may itself
// contain ':' ("ldap_dn:uid=a,dc=x" or "phone:+33 1 ..."); only the first splits.
absl::StatusOr<v1::Identifier> ParseIdentifier(std::string_view text);

// A profile named on a command line: a positive integer id, or "type:value".
struct ProfileName {
  uint64_t id = 0;
  v1::Identifier identifier;  // when id == 0
};
absl::StatusOr<ProfileName> ParseProfileName(std::string_view text);

// "2026-03-01T09:00:00Z", "2026-03-01T09:00:00.250+02:00" or "2026-03-01" -> ms
// since the epoch, UTC.
absl::StatusOr<int64_t> ParseTime(std::string_view text);
// ms since the epoch -> "2026-03-01T09:00:00Z" (".250" when there are milliseconds).
std::string FormatTime(int64_t ms);

// One JSON object -> a fragment. Errors name the field: "identifiers[2]: expected
// \"type:value\"". Unknown keys are errors, so a typo cannot silently drop data.
absl::StatusOr<v1::Fragment> ParseFragmentJson(std::string_view line);

}  // namespace tessera::client
