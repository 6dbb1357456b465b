#pragma once

// Private to server/directory: the right to erasure. Erase removes a person, their
// records and the records naming them by an erase_related_relations relation, in one
// atomic write with the suppressions (suppression.h) that keep them out and the
// audit entry that says so.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/directory/directory.h"
#include "server/directory/ids.h"
#include "server/directory/write_path.h"
#include "server/text/analyzer.h"

namespace tessera::directory {

class AuditLog;
class Ingester;
class KeyedHash;
class ReadPath;
class Suppressions;

// Thread-safe; what it is given outlives it.
class Erasure {
 public:
  Erasure(WritePath& write, const Ingester& ingester, const ReadPath& reads, AuditLog& audit,
          Suppressions& suppressions, const DirectoryOptions& options,
          const text::Analyzer& analyzer)
      : write_(write),
        ingester_(ingester),
        reads_(reads),
        audit_(audit),
        suppressions_(suppressions),
        options_(options),
        analyzer_(analyzer) {}

  // Directory::SetSideEraser and Erase.
  void SetSideEraser(SideEraser eraser);
  absl::StatusOr<EraseResult> Erase(const ProfileRef& who, AuditEntry audit);

 private:
  // What one erasure removes, gathered phase by phase.
  struct Plan {
    std::map<std::string, identity::StoredFragment> doomed;  // by fragment key
    std::set<std::string> identkeys;                         // the person's identifiers (IdentKey)
    std::set<uint64_t> dropped_rules;
    identity::RuleSet kept_rules;
    std::vector<std::string> relink_after;  // other records of the dropped rules
    std::set<std::string> hashes;           // suppressions
  };

  absl::StatusOr<identity::Profile> ResolvePerson(const store::Reader& reader,
                                                  const ProfileRef& who, ProfileId* id) const;
  [[nodiscard]] absl::Status CollectOwn(const store::Reader& reader,
                                        const identity::Profile& person, Plan& plan) const;
  [[nodiscard]] absl::Status CollectRelated(const store::Reader& reader, Plan& plan,
                                            EraseResult& result) const;
  void DropRules(const identity::RuleSet& rules, store::Batch& batch, Plan& plan) const;
  [[nodiscard]] absl::Status Unlink(WritePath::Writer& w, store::Batch& batch, const Plan& plan,
                                    int64_t time_ms) const;
  [[nodiscard]] absl::Status EraseSideRows(store::Batch& batch, const Plan& plan,
                                           EraseResult& result);
  void Suppress(const KeyedHash& hasher, store::Batch& batch, Plan& plan,
                EraseResult& result) const;
  [[nodiscard]] absl::Status AuditAndCommit(WritePath::Writer& w, store::Batch& batch,
                                            const Plan& plan, AuditEntry& audit,
                                            EraseResult& result);
  [[nodiscard]] absl::Status DropEmptiedPostings(const Plan& plan) const;

  WritePath& write_;
  const Ingester& ingester_;
  const ReadPath& reads_;
  AuditLog& audit_;
  Suppressions& suppressions_;
  const DirectoryOptions& options_;
  const text::Analyzer& analyzer_;
  // Taken inside the write lock, by Erase while it calls the eraser.
  absl::Mutex side_mu_;
  SideEraser side_eraser_ ABSL_GUARDED_BY(side_mu_);
};

}  // namespace tessera::directory
