#pragma once

// Sources: the configured origins of fragments. A source's number prefixes its
// fragment keys; its priority decides survivorship. Thread-compatible.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace tessera::identity {

struct Source {
  std::string id;
  std::string kind;
  int32_t priority = 50;  // 0..1000; higher wins
  std::string description;
  uint32_t num = 0;  // assigned once, never reused
};

// The meta-column-family key of a source record.
std::string SourceMetaKey(std::string_view id);
inline constexpr std::string_view kSourceMetaPrefix = "source/";

std::string EncodeSource(const Source& s);
[[nodiscard]] absl::Status DecodeSource(std::string_view data, Source* s);

// Checks id, kind, priority and description against their documented limits.
[[nodiscard]] absl::Status ValidateSource(const Source& s);

class SourceRegistry {
 public:
  const Source* Find(std::string_view id) const;
  const Source* FindNum(uint32_t num) const;
  // Adds `s` (assigning its number) or updates the source with its id (keeping the
  // number). Returns the stored source.
  const Source& Put(Source s);
  std::vector<Source> All() const;  // sorted by id
  size_t size() const { return by_id_.size(); }

 private:
  std::map<std::string, Source, std::less<>> by_id_;
  std::map<uint32_t, std::string> id_by_num_;
};

}  // namespace tessera::identity
