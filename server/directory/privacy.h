#pragma once

// Private to server/directory: the right to erasure. Erase removes a person, their
// records and the records naming them by an erase_related_relations relation, in one
// atomic write with the suppressions (suppression.h) that keep them out and the
// audit entry that says so.

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
