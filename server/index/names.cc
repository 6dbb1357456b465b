#include "server/index/names.h"

#include <algorithm>
#include <map>
#include <memory>

#include "server/store/coding.h"
#include "server/store/store.h"
#include "server/text/text.h"

namespace tessera::index {
namespace {

std::string NameKey(std::string_view token, uint64_t id) {
  std::string key(token);
  key.push_back('\0');
  store::PutFixed64BE(key, id);
  return key;
}

std::string EncodeEntry(const NameEntry& e) {
  std::string out;
  const PersonSummary& s = e.summary;
  for (const std::string* f :
       {&s.kind, &s.display_name, &s.email, &s.team, &s.title, &s.location}) {
    store::PutLengthPrefixed(out, *f);
  }
  store::PutVarint64(out, e.tokens.size());
  for (const auto& t : e.tokens) store::PutLengthPrefixed(out, t);
  return out;
}

bool DecodeEntry(std::string_view data, uint64_t id, NameEntry* e) {
  store::Decoder d(data);
  PersonSummary& s = e->summary;
  s.id = id;
  for (std::string* f : {&s.kind, &s.display_name, &s.email, &s.team, &s.title, &s.location}) {
    *f = std::string(d.LengthPrefixed());
  }
  e->tokens.resize(d.Count());
  for (auto& t : e->tokens) t = std::string(d.LengthPrefixed());
  return d.ok() && d.done();
}

std::vector<std::string> SplitSpaces(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    // Phone numbers are indexed without their '+'.
    const size_t from = (i < s.size() && s[i] == '+' && j > i + 1) ? i + 1 : i;
    if (j > from) out.emplace_back(s.substr(from, j - from));
    i = j;
  }
  return out;
}

bool Matches(const NameEntry& e, const NameQuery& q, const std::vector<std::string>& words) {
  if (!q.kinds.empty() &&
      std::find(q.kinds.begin(), q.kinds.end(), e.summary.kind) == q.kinds.end()) {
    return false;
  }
  if (!q.team.empty() && text::Fold(e.summary.team) != text::Fold(q.team)) return false;
  if (!q.location.empty() && text::Fold(e.summary.location) != text::Fold(q.location)) return false;
  return std::all_of(words.begin(), words.end(), [&](const std::string& w) {
    auto it = std::lower_bound(e.tokens.begin(), e.tokens.end(), w);
    return it != e.tokens.end() && store::HasPrefix(*it, w);
  });
}

}  // namespace

void UpdateNames(store::Batch& batch, const NameEntry* before, const NameEntry* after) {
  std::map<std::string, std::string> old_keys, new_keys;
  if (before != nullptr) {
    const std::string value = EncodeEntry(*before);
    for (const auto& t : before->tokens) old_keys[NameKey(t, before->summary.id)] = value;
  }
  if (after != nullptr) {
    const std::string value = EncodeEntry(*after);
    for (const auto& t : after->tokens) new_keys[NameKey(t, after->summary.id)] = value;
  }
  for (const auto& [key, value] : new_keys) {
    auto it = old_keys.find(key);
    if (it == old_keys.end() || it->second != value) batch.Put(store::Cf::kNames, key, value);
  }
  for (const auto& [key, value] : old_keys) {
    if (new_keys.count(key) == 0) batch.Delete(store::Cf::kNames, key);
  }
}

absl::StatusOr<NamePage> SearchNames(const store::Reader& reader, const NameQuery& q) {
  const std::vector<std::string> words = SplitSpaces(text::Fold(q.prefix));
  NamePage page;
  if (words.empty()) return page;
  // Scan the longest word's range: the most selective.
  const std::string& scan = *std::max_element(
      words.begin(), words.end(), [](const auto& a, const auto& b) { return a.size() < b.size(); });
  std::map<uint64_t, NameEntry> found;
  std::unique_ptr<store::Iterator> it = reader.NewIterator(store::Cf::kNames);
  size_t scanned = 0;
  for (it->Seek(scan); it->Valid() && store::HasPrefix(it->key(), scan); it->Next()) {
    if (++scanned > q.max_scan) {
      page.truncated = true;
      break;
    }
    std::string_view key = it->key();
    if (key.size() < 9) return absl::DataLossError("corrupt name index key");
    const uint64_t id = store::DecodeFixed64BE(key.data() + key.size() - 8);
    if (id <= q.after_id || found.count(id) != 0) continue;
    NameEntry e;
    if (!DecodeEntry(it->value(), id, &e)) return absl::DataLossError("corrupt name index entry");
    if (Matches(e, q, words)) found.emplace(id, std::move(e));
  }
  if (absl::Status s = it->status(); !s.ok()) return s;
  for (auto& [id, e] : found) {
    if (page.people.size() == q.page_size) {
      page.next_after_id = page.people.back().id;
      break;
    }
    page.people.push_back(std::move(e.summary));
  }
  return page;
}

}  // namespace tessera::index
