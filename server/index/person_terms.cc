#include "server/index/person_terms.h"

#include <algorithm>
#include <map>
#include <memory>

namespace tessera::index {
namespace {

constexpr char kPersonTermKeyTag = '\x03';
constexpr char kPersonLengthKeyTag = '\x04';

std::string Tagged(char tag, std::string_view identkey) {
  std::string key;
  key.reserve(1 + identkey.size() + 24);
  key.push_back(tag);
  key.append(identkey);
  return key;
}

// The first kMaxCreditedPerItem identifiers.
size_t Credited(const std::vector<std::string>& ids) {
  return std::min(ids.size(), kMaxCreditedPerItem);
}

}  // namespace

std::string PersonTermKey(std::string_view identkey, std::string_view term) {
  std::string key = Tagged(kPersonTermKeyTag, identkey);
  key.append(term);
  return key;
}

std::string PersonLengthKey(std::string_view identkey) {
  return Tagged(kPersonLengthKeyTag, identkey);
}

void UpdatePersonTerms(store::Batch& batch, const std::vector<std::string>& before_ids,
                       const DocTerms* before, const std::vector<std::string>& after_ids,
                       const DocTerms* after) {
  // key -> change; what is credited before and after alike nets to 0 and is not written.
  std::map<std::string, int64_t> delta;
  auto add = [&](const std::vector<std::string>& ids, const DocTerms* d, int64_t sign) {
    if (d == nullptr) return;
    for (size_t i = 0; i < Credited(ids); ++i) {
      delta[PersonLengthKey(ids[i])] += sign * d->lead_length;
      for (const auto& [term, tf] : d->lead) delta[PersonTermKey(ids[i], term)] += sign * tf;
    }
  };
  add(before_ids, before, -1);
  add(after_ids, after, +1);
  for (const auto& [key, n] : delta) {
    if (n != 0) AddToCount(batch, key, n);
  }
}

absl::StatusOr<PersonTerms> ReadPersonTerms(const store::Reader& reader, std::string_view identkey,
                                            const std::vector<std::string>& terms) {
  PersonTerms out;
  out.tf.assign(terms.size(), 0);
  absl::StatusOr<uint64_t> length =
      ReadCount(reader, PersonLengthKey(identkey), "person evidence length");
  if (!length.ok()) return length.status();
  out.length = *length;
  if (out.length == 0) return out;  // credited nothing under this identifier
  std::vector<std::string> keys;
  keys.reserve(terms.size());
  for (const std::string& term : terms) keys.push_back(PersonTermKey(identkey, term));
  std::vector<std::string> values;
  std::vector<bool> found;
  if (absl::Status s = reader.MultiGet(store::Cf::kPostings, keys, &values, &found); !s.ok())
    return s;
  for (size_t t = 0; t < terms.size(); ++t) {
    int64_t n = 0;
    if (!found[t]) continue;
    if (!ParseCount(values[t], &n)) return absl::DataLossError("corrupt person term frequency");
    out.tf[t] = n > 0 ? static_cast<uint64_t>(n) : 0;
  }
  return out;
}

absl::Status ForEachPersonLength(
    const store::Reader& reader, size_t max_keys,
    const std::function<absl::Status(std::string_view identkey, uint64_t length)>& f) {
  std::unique_ptr<store::Iterator> it = reader.NewIterator(store::Cf::kPostings);
  size_t seen = 0;
  for (it->Seek(std::string(1, kPersonLengthKeyTag));
       it->Valid() && !it->key().empty() && it->key().front() == kPersonLengthKeyTag &&
       seen < max_keys;
       it->Next(), ++seen) {
    int64_t n = 0;
    if (!ParseCount(it->value(), &n)) return absl::DataLossError("corrupt person evidence length");
    if (n <= 0) continue;
    if (absl::Status s = f(it->key().substr(1), static_cast<uint64_t>(n)); !s.ok()) return s;
  }
  return it->status();
}

}  // namespace tessera::index
