// Directory: suppressions (suppression.h), the records of erased people that ingest
// refuses.

#include "server/directory/suppression.h"

#include <openssl/rand.h>

#include <algorithm>
#include <vector>

#include "server/identity/records.h"
#include "server/store/coding.h"

namespace tessera::directory {
namespace {

constexpr char kSuppressionKeyKey[] = "suppression-key";
constexpr size_t kSuppressionKeyBytes = 32;

}  // namespace

bool NamesThePerson(identity::IdType t) {
  using identity::IdType;
  return t != IdType::kTeam && t != IdType::kCase && t != IdType::kDocument;
}

std::string SuppressionHash(const KeyedHash& hasher, char domain, std::string_view a,
                            std::string_view b) {
  // HMAC-SHA-256 over domain · len(a) · a · b: identifiers and fragments never collide.
  std::string msg(1, domain);
  store::PutLengthPrefixed(msg, a);
  msg.append(b);
  return hasher(msg);
}

absl::Status Suppressions::Load(const store::Reader& snap) {
  absl::MutexLock l(&mu_);
  key_ = options_.suppression_key;
  if (key_.empty()) {
    std::string value;
    absl::StatusOr<bool> found = snap.Get(store::Cf::kMeta, kSuppressionKeyKey, &value);
    if (!found.ok()) return found.status();
    if (*found) key_ = value;
  }
  if (!key_.empty()) hasher_ = std::make_shared<const KeyedHash>(key_);
  prefixes_.clear();
  std::unique_ptr<store::Iterator> it = snap.NewIterator(store::Cf::kSuppressed);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() >= 8) prefixes_.insert(store::DecodeFixed64BE(it->key().data()));
  }
  if (absl::Status s = it->status(); !s.ok()) return s;
  if (!prefixes_.empty() && key_.empty()) {
    return absl::FailedPreconditionError(
        "the database records erased people but its suppression key is missing");
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> Suppressions::IsSuppressed(const store::Reader& reader,
                                                const identity::Fragment& f) const {
  absl::ReaderMutexLock l(&mu_);
  if (prefixes_.empty()) return false;
  std::vector<std::string> hashes = {SuppressionHash(*hasher_, 'f', f.source, f.external_id)};
  for (const identity::Identifier& id : f.identifiers) {
    if (NamesThePerson(id.tag))
      hashes.push_back(SuppressionHash(*hasher_, 'i', identity::IdentKey(id.tag, id.value), ""));
  }
  const std::vector<std::string>& related = options_.erase_related_relations;
  for (const identity::Relation& r : f.relations) {
    if (std::find(related.begin(), related.end(), r.type) != related.end()) {
      hashes.push_back(
          SuppressionHash(*hasher_, 'i', identity::IdentKey(r.target.tag, r.target.value), ""));
    }
  }
  std::string ignored;
  for (const std::string& h : hashes) {
    if (prefixes_.count(store::DecodeFixed64BE(h.data())) == 0) continue;
    absl::StatusOr<bool> found = reader.Get(store::Cf::kSuppressed, h, &ignored);
    if (!found.ok()) return found.status();
    if (*found) return true;
  }
  return false;
}

absl::StatusOr<std::shared_ptr<const KeyedHash>> Suppressions::EnsureKey(store::Batch& batch,
                                                                         bool* made) {
  absl::MutexLock l(&mu_);
  *made = key_.empty();
  if (!*made) return hasher_;
  std::string key(kSuppressionKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    return absl::InternalError("cannot make a random suppression key");
  }
  batch.Put(store::Cf::kMeta, kSuppressionKeyKey, key);
  key_ = std::move(key);
  hasher_ = std::make_shared<const KeyedHash>(key_);
  return hasher_;
}

void Suppressions::ForgetKey() {
  absl::MutexLock l(&mu_);
  key_.clear();
  hasher_.reset();
}

void Suppressions::Add(const std::set<std::string>& hashes) {
  absl::MutexLock l(&mu_);
  for (const std::string& h : hashes) prefixes_.insert(store::DecodeFixed64BE(h.data()));
}

}  // namespace tessera::directory
