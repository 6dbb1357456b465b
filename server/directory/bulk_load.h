#pragma once

// Private to server/directory: bulk loads (Directory::BeginBulk). The store collects
// the postings apart while one runs; this part starts and finishes it under the write
// lock, records it in the state (so a crash makes the next open rebuild), and finishes
// a load left idle.

#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/directory/directory.h"
#include "server/directory/write_path.h"

namespace tessera::directory {

class Admin;

// Thread-safe; what it is given outlives it.
class BulkLoads {
 public:
  BulkLoads(WritePath& write, Admin& admin, const DirectoryOptions& options)
      : write_(write), admin_(admin), options_(options) {}
  // Stops the idle watcher and finishes a bulk load still running.
  ~BulkLoads();
  BulkLoads(const BulkLoads&) = delete;
  BulkLoads& operator=(const BulkLoads&) = delete;

  // Directory::BeginBulk and FinishBulk.
  [[nodiscard]] absl::Status Begin();
  absl::StatusOr<store::Store::BulkFigures> Finish();
  bool Active() const { return write_.store().BulkActive(); }

 private:
  absl::StatusOr<store::Store::BulkFigures> Finish(WritePath::Writer& w, const char* why);
  // The watcher thread: finishes a bulk load once options_.bulk_idle passes without a
  // Begin, until the destructor stops it.
  void Watch();

  WritePath& write_;
  Admin& admin_;
  const DirectoryOptions& options_;
  std::atomic<int64_t> last_begin_ns_{0};  // steady clock
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread watcher_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tessera::directory
