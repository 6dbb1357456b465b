#pragma once

// Manual linking rules. They name fragments by key (source, external_id), which a
// re-sync keeps, so they survive re-syncs; clustering applies them before identifiers.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace tessera::identity {

struct Rule {
  enum class Type : uint8_t { kMerge = 1, kSplit = 2 };  // disk values
  uint64_t id = 0;
  Type type = Type::kMerge;
  std::vector<std::string> fragkeys;  // merge: one profile; split: one side
  std::vector<std::string> apart;     // split: the other side
  std::string reason;
  int64_t created_ms = 0;
};

// Key in the rules column family: u64be id.
std::string RuleKey(uint64_t id);
std::string EncodeRule(const Rule& r);
[[nodiscard]] absl::Status DecodeRule(std::string_view data, Rule* r);

// All rules, indexed by the fragments they name. Thread-compatible.
class RuleSet {
 public:
  void Put(Rule r);
  void Remove(uint64_t id);
  const Rule* Find(uint64_t id) const;
  // The rules naming `fragkey` (either side), by ascending id.
  std::vector<const Rule*> RulesOf(std::string_view fragkey) const;
  const std::map<uint64_t, Rule>& all() const { return rules_; }
  bool empty() const { return rules_.empty(); }

 private:
  std::map<uint64_t, Rule> rules_;
  std::multimap<std::string, uint64_t, std::less<>> by_fragment_;
};

}  // namespace tessera::identity
