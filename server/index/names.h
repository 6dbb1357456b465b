#pragma once

// The people-search index: for each person profile, one entry per word of its names
// and per e-mail, handle and id it carries, so a prefix finds the profile whichever
// of them the caller starts typing. Key: folded token · 0x00 · u64be profile id;
// value: the profile's summary and all its tokens (to check further query words).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tessera::store {
class Batch;
class Reader;
}  // namespace tessera::store

namespace tessera::index {

struct PersonSummary {
  uint64_t id = 0;
  std::string kind;
  std::string display_name;
  std::string email;
  std::string team;
  std::string title;
  std::string location;

  bool operator==(const PersonSummary&) const = default;
};

// What the index holds for one profile.
struct NameEntry {
  PersonSummary summary;
  std::vector<std::string> tokens;  // folded, sorted, unique
};

// Replaces the entries of `before` by those of `after` (either may be empty = none),
// writing only what differs.
void UpdateNames(store::Batch& batch, const NameEntry* before, const NameEntry* after);

struct NameQuery {
  std::string prefix;              // one or more words; each must prefix-match a token
  std::vector<std::string> kinds;  // empty: any person kind
  std::string team;                // exact, case- and accent-insensitive; empty: any
  std::string location;
  size_t page_size = 50;
  uint64_t after_id = 0;    // page token: results have larger ids
  size_t max_scan = 20000;  // index entries read at most
};

struct NamePage {
  std::vector<PersonSummary> people;  // ascending id
  uint64_t next_after_id = 0;         // 0 at the end
  bool truncated = false;             // more than max_scan entries matched
};

absl::StatusOr<NamePage> SearchNames(const store::Reader& reader, const NameQuery& q);

}  // namespace tessera::index
