#pragma once

// Private to server/directory: the audit log, in its own column family, keyed by its
// own sequence (checkpointed under `audit-sequence` in meta).

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/directory/directory.h"
#include "server/directory/ids.h"
#include "server/store/store.h"

namespace tessera::directory {

// Appends commit in groups: the first caller to find no write under way writes every
// record queued meanwhile in one batch (so concurrent readers of customers share one
// WAL write) while the others wait. Sequences are assigned by that writer, in order
// and without gaps. Thread-safe; `store` outlives it.
class AuditLog {
 public:
  explicit AuditLog(store::Store& store) : store_(store) {}

  // Loads the last sequence, at open.
  [[nodiscard]] absl::Status Load(const store::Reader& snap);
  // Directory::AppendAudit, ReadAudit and TrimAudit.
  [[nodiscard]] absl::Status Append(AuditEntry entry);
  absl::StatusOr<AuditPage> Read(Sequence after, size_t limit) const;
  absl::StatusOr<uint64_t> Trim(int64_t before_ms);

  // Puts `entries` into `batch` in the group writer's place, then runs `commit` (which
  // writes the batch), so the sequence stays in commit order. When `commit` fails
  // the sequences are given back. Callers holding the write lock take it before this
  // one (Erase, a replica applying audit records).
  [[nodiscard]] absl::Status CommitWith(store::Batch& batch, std::span<AuditEntry> entries,
                                        const std::function<absl::Status()>& commit);

 private:
  struct Waiter {
    AuditEntry* entry;
    bool done = false;
    absl::Status status;
  };
  // Puts `entry` into `batch` under the next sequence.
  void Put(store::Batch& batch, AuditEntry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  store::Store& store_;
  absl::Mutex mu_;
  Sequence sequence_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Waiter*> queue_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tessera::directory
