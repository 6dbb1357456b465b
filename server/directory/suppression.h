#pragma once

// Private to server/directory: what records erased people (Erase) so that ingest
// refuses them: a keyed hash (HMAC-SHA-256 under the suppression key) of each of
// their identifiers and records, stored in store::Cf::kSuppressed.

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/directory/directory.h"
#include "server/directory/keyed_hash.h"
#include "server/identity/fragment.h"
#include "server/store/store.h"

namespace tessera::directory {

// Identifiers that name a person (or account) rather than a thing they relate to.
bool NamesThePerson(identity::IdType t);

// The keyed hash of an identifier (domain 'i', IdentKey) or a record (domain 'f',
// source id, external id).
std::string SuppressionHash(const KeyedHash& hasher, char domain, std::string_view a,
                            std::string_view b);

// The suppression key and the first 8 bytes of every suppression hash: ingest looks a
// fragment's hashes up in the database only on a match, and hashes nothing while the
// set is empty. Thread-safe; `options` outlives it.
class Suppressions {
 public:
  explicit Suppressions(const DirectoryOptions& options) : options_(options) {}

  // Loads the key (the configured one, else the database's) and the hash prefixes.
  [[nodiscard]] absl::Status Load(const store::Reader& snap);
  // Whether `f` (validated) names an erased person: one of its records' or person
  // identifiers' hashes, or the target of one of its erase_related_relations, is
  // stored. False quickly when nobody was erased.
  absl::StatusOr<bool> IsSuppressed(const store::Reader& reader, const identity::Fragment& f) const;

  // The hasher under the key, making a random key and putting it into `batch` when
  // there is none; `*made` says so (Forget it unless the batch commits).
  absl::StatusOr<std::shared_ptr<const KeyedHash>> EnsureKey(store::Batch& batch, bool* made);
  // Forgets a key EnsureKey made whose batch did not commit.
  void ForgetKey();
  // Hashes now committed: ingest checks them from now on.
  void Add(const std::set<std::string>& hashes);

 private:
  const DirectoryOptions& options_;
  mutable absl::Mutex mu_;
  std::string key_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const KeyedHash> hasher_ ABSL_GUARDED_BY(mu_);
  std::unordered_set<uint64_t> prefixes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tessera::directory
