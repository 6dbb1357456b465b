#include "server/identity/records.h"

#include <algorithm>

#include "server/identity/mentions.h"
#include "server/store/coding.h"
#include "server/store/store.h"

namespace tessera::identity {

std::string ProfileKey(uint64_t id) {
  std::string key;
  store::PutFixed64BE(key, id);
  return key;
}

std::string ConflictKey(uint64_t profile, uint32_t ordinal) {
  std::string key;
  store::PutFixed64BE(key, profile);
  store::PutFixed32BE(key, ordinal);
  return key;
}

absl::StatusOr<std::optional<Profile>> ReadProfile(const store::Reader& reader, uint64_t id) {
  std::string value;
  absl::StatusOr<bool> found = reader.Get(store::Cf::kProfiles, ProfileKey(id), &value);
  if (!found.ok()) return found.status();
  if (!*found) return std::nullopt;
  Profile p;
  if (absl::Status s = DecodeProfile(value, &p); !s.ok()) {
    return absl::DataLossError("profile " + std::to_string(id) + ": " + std::string(s.message()));
  }
  return p;
}

absl::StatusOr<std::optional<StoredFragment>> ReadFragment(const store::Reader& reader,
                                                           std::string_view fragkey) {
  std::string value;
  absl::StatusOr<bool> found = reader.Get(store::Cf::kFragments, fragkey, &value);
  if (!found.ok()) return found.status();
  if (!*found) return std::nullopt;
  StoredFragment f;
  if (absl::Status s = DecodeFragment(value, &f); !s.ok()) return s;
  return f;
}

absl::StatusOr<std::vector<uint64_t>> ReadOwnersOf(const store::Reader& reader, IdType type,
                                                   std::string_view normalised) {
  absl::StatusOr<std::vector<uint64_t>> owners = ReadOwners(reader, IdentKey(type, normalised));
  IdType alias;
  if (!owners.ok() || !AliasOf(type, normalised, &alias)) return owners;
  absl::StatusOr<std::vector<uint64_t>> more = ReadOwners(reader, IdentKey(alias, normalised));
  if (!more.ok()) return more.status();
  owners->insert(owners->end(), more->begin(), more->end());
  std::sort(owners->begin(), owners->end());
  owners->erase(std::unique(owners->begin(), owners->end()), owners->end());
  return owners;
}

absl::StatusOr<std::vector<uint64_t>> ReadOwners(const store::Reader& reader,
                                                 std::string_view identkey) {
  std::string value;
  absl::StatusOr<bool> found = reader.Get(store::Cf::kIdent, identkey, &value);
  if (!found.ok()) return found.status();
  std::vector<uint64_t> owners;
  if (!*found) return owners;
  store::Decoder d(value);
  owners.resize(d.Count());
  for (uint64_t& id : owners) id = d.Varint64();
  if (!d.ok() || !d.done()) return absl::DataLossError("corrupt identifier index entry");
  return owners;
}

std::string EncodeOwners(const std::vector<uint64_t>& owners) {
  std::string out;
  store::PutVarint64(out, owners.size());
  for (uint64_t id : owners) store::PutVarint64(out, id);
  return out;
}

absl::StatusOr<std::vector<Conflict>> ReadConflicts(const store::Reader& reader, uint64_t profile) {
  std::vector<Conflict> out;
  const std::string prefix = ProfileKey(profile);
  std::unique_ptr<store::Iterator> it = reader.NewIterator(store::Cf::kConflicts);
  for (it->Seek(prefix); it->Valid() && store::HasPrefix(it->key(), prefix); it->Next()) {
    Conflict c;
    if (absl::Status s = DecodeConflict(it->value(), &c); !s.ok()) return s;
    out.push_back(std::move(c));
  }
  if (absl::Status s = it->status(); !s.ok()) return s;
  return out;
}

}  // namespace tessera::identity
