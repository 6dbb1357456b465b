#include "server/identity/source.h"

#include <algorithm>

#include "server/store/coding.h"

namespace tessera::identity {

std::string SourceMetaKey(std::string_view id) {
  std::string key(kSourceMetaPrefix);
  key.append(id);
  return key;
}

std::string EncodeSource(const Source& s) {
  std::string out;
  store::PutVarint64(out, s.num);
  store::PutVarsint64(out, s.priority);
  store::PutLengthPrefixed(out, s.id);
  store::PutLengthPrefixed(out, s.kind);
  store::PutLengthPrefixed(out, s.description);
  return out;
}

absl::Status DecodeSource(std::string_view data, Source* s) {
  store::Decoder d(data);
  s->num = d.Varint32();
  s->priority = static_cast<int32_t>(d.Varsint64());
  s->id = std::string(d.LengthPrefixed());
  s->kind = std::string(d.LengthPrefixed());
  s->description = std::string(d.LengthPrefixed());
  if (!d.ok() || !d.done()) return absl::DataLossError("corrupt source record");
  return absl::OkStatus();
}

absl::Status ValidateSource(const Source& s) {
  auto lower_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (s.id.empty() || s.id.size() > 64 || !lower_digit(s.id[0]) ||
      !std::all_of(s.id.begin(), s.id.end(),
                   [&](char c) { return lower_digit(c) || c == '_' || c == '-'; })) {
    return absl::InvalidArgumentError("source id '" + s.id +
                                      "' is not [a-z0-9][a-z0-9_-]*, at most 64 bytes");
  }
  if (s.kind.empty() || s.kind.size() > 32 ||
      !std::all_of(s.kind.begin(), s.kind.end(),
                   [&](char c) { return lower_digit(c) || c == '_' || c == '-'; })) {
    return absl::InvalidArgumentError("source kind '" + s.kind +
                                      "' is not [a-z0-9_-]+, at most 32 bytes");
  }
  if (s.priority < 0 || s.priority > 1000) {
    return absl::InvalidArgumentError("source priority " + std::to_string(s.priority) +
                                      " is outside 0..1000");
  }
  if (s.description.size() > 256) {
    return absl::InvalidArgumentError("source description is longer than 256 bytes");
  }
  return absl::OkStatus();
}

const Source* SourceRegistry::Find(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second;
}

const Source* SourceRegistry::FindNum(uint32_t num) const {
  auto it = id_by_num_.find(num);
  return it == id_by_num_.end() ? nullptr : Find(it->second);
}

const Source& SourceRegistry::Put(Source s) {
  if (const Source* old = Find(s.id); old != nullptr) {
    s.num = old->num;
  } else if (s.num == 0) {
    s.num = id_by_num_.empty() ? 1 : id_by_num_.rbegin()->first + 1;
  }
  id_by_num_[s.num] = s.id;
  auto& stored = by_id_[s.id];
  stored = std::move(s);
  return stored;
}

std::vector<Source> SourceRegistry::All() const {
  std::vector<Source> out;
  for (const auto& [id, s] : by_id_) out.push_back(s);
  return out;
}

}  // namespace tessera::identity
