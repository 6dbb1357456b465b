#pragma once

// The change log: one entry per changed profile, keyed by a sequence number that only
// grows (u64be), so a reader can follow changes from a position (Watch builds on it).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "server/directory/ids.h"

namespace tessera::directory {

struct ChangeRecord {
  enum class Op : uint8_t { kUpsert = 1, kDelete = 2 };  // disk values
  ProfileId profile = 0;
  Op op = Op::kUpsert;
  int64_t time_ms = 0;  // the batch time
  // The profile's kinds (after an upsert, before a delete), so a filtered change feed
  // can decide without reading the profile. Empty in records written before they
  // were recorded.
  std::vector<std::string> kinds;
};

std::string ChangeKey(Sequence sequence);
std::string EncodeChange(const ChangeRecord& c);
[[nodiscard]] absl::Status DecodeChange(std::string_view data, ChangeRecord* c);

}  // namespace tessera::directory
