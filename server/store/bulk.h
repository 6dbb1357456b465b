#pragma once

// Private to server/store: the bulk-load path of Store::BeginBulk. A MergeSorter
// collects the merge operands that writes would have put in one column family, in the
// order they were committed, and turns them into sorted SST files for RocksDB to
// ingest (IngestExternalFile): no memtable, no WAL, and none of the compactions that
// re-merge and rewrite large values as an index grows.
//
// Operands to one key are folded together in memory. Past the memory budget the folded
// operands are written out as a sorted run (a plain file of length-prefixed keys and
// operands under the sorter's directory). Finish merges the runs, oldest first, so a
// key's operands are still applied in commit order.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rocksdb/options.h"
#include "server/store/store.h"

namespace tessera::store {

// Thread-compatible.
class MergeSorter {
 public:
  // Creates `dir` (removing what an earlier, interrupted load left there). `op`
  // outlives the sorter.
  static absl::StatusOr<std::unique_ptr<MergeSorter>> Create(std::string dir,
                                                             const MergeOperator& op,
                                                             size_t memory_bytes);
  ~MergeSorter();  // removes the directory and everything in it
  MergeSorter(const MergeSorter&) = delete;
  MergeSorter& operator=(const MergeSorter&) = delete;

  // Adds one operand, after every operand added before it.
  [[nodiscard]] absl::Status Add(std::string_view key, std::string_view operand);
  // Writes every key once, in key order, into SST files of at most ~`file_bytes` each
  // that do not overlap (`options` are the column family's). With `base_empty` (the
  // column family holds nothing), each key's operands are merged into its full value
  // and written as a Put, and values the operator calls empty are left out; otherwise
  // they are written as one Merge operand over what the database holds. Returns the
  // files' paths, in key order; adds to `figures`. Call once.
  absl::StatusOr<std::vector<std::string>> Finish(const rocksdb::Options& options, bool base_empty,
                                                  uint64_t file_bytes, Store::BulkFigures* figures);

 private:
  MergeSorter(std::string dir, const MergeOperator& op, size_t memory_bytes)
      : dir_(std::move(dir)), op_(op), memory_bytes_(memory_bytes) {}

  // Writes the operands held in memory as the next sorted run and forgets them.
  [[nodiscard]] absl::Status Spill();

  const std::string dir_;
  const MergeOperator& op_;
  const size_t memory_bytes_;
  absl::flat_hash_map<std::string, std::string> held_;  // key -> folded operand
  size_t held_bytes_ = 0;
  std::vector<std::string> runs_;  // paths, oldest first
  uint64_t operands_ = 0;
  uint64_t run_bytes_ = 0;
};

}  // namespace tessera::store
