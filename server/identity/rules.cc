#include "server/identity/rules.h"

#include <algorithm>

#include "server/store/coding.h"

namespace tessera::identity {

std::string RuleKey(uint64_t id) {
  std::string key;
  store::PutFixed64BE(key, id);
  return key;
}

std::string EncodeRule(const Rule& r) {
  std::string out;
  out.push_back(static_cast<char>(r.type));
  store::PutVarint64(out, r.id);
  store::PutVarsint64(out, r.created_ms);
  store::PutLengthPrefixed(out, r.reason);
  for (const auto* side : {&r.fragkeys, &r.apart}) {
    store::PutVarint64(out, side->size());
    for (const auto& k : *side) store::PutLengthPrefixed(out, k);
  }
  return out;
}

absl::Status DecodeRule(std::string_view data, Rule* r) {
  store::Decoder d(data);
  const uint8_t type = d.Byte();
  if (type != 1 && type != 2) return absl::DataLossError("corrupt rule record");
  r->type = static_cast<Rule::Type>(type);
  r->id = d.Varint64();
  r->created_ms = d.Varsint64();
  r->reason = std::string(d.LengthPrefixed());
  for (auto* side : {&r->fragkeys, &r->apart}) {
    side->resize(d.Count());
    for (auto& k : *side) k = std::string(d.LengthPrefixed());
  }
  if (!d.ok() || !d.done()) return absl::DataLossError("corrupt rule record");
  return absl::OkStatus();
}

void RuleSet::Put(Rule r) {
  Remove(r.id);
  for (const auto* side : {&r.fragkeys, &r.apart}) {
    for (const auto& k : *side) by_fragment_.emplace(k, r.id);
  }
  const uint64_t id = r.id;
  rules_.emplace(id, std::move(r));
}

void RuleSet::Remove(uint64_t id) {
  auto it = rules_.find(id);
  if (it == rules_.end()) return;
  for (const auto* side : {&it->second.fragkeys, &it->second.apart}) {
    for (const auto& k : *side) {
      auto [lo, hi] = by_fragment_.equal_range(k);
      for (auto f = lo; f != hi;) f = (f->second == id) ? by_fragment_.erase(f) : std::next(f);
    }
  }
  rules_.erase(it);
}

const Rule* RuleSet::Find(uint64_t id) const {
  auto it = rules_.find(id);
  return it == rules_.end() ? nullptr : &it->second;
}

std::vector<const Rule*> RuleSet::RulesOf(std::string_view fragkey) const {
  std::vector<const Rule*> out;
  auto [lo, hi] = by_fragment_.equal_range(fragkey);
  for (auto it = lo; it != hi; ++it) out.push_back(&rules_.at(it->second));
  std::sort(out.begin(), out.end(), [](const Rule* a, const Rule* b) { return a->id < b->id; });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace tessera::identity
