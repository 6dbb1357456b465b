#pragma once

// The RocksDB database behind Tessera: one DB, one column family per kind of record
// (server/store/README.md has the key layouts). Writers build a `Batch` that reads its
// own writes and commit it with `Store::Write` as one atomic WriteBatch; readers use a
// `Snapshot`. RocksDB headers stay in store.cc.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tessera::store {

// Column families. The names reach disk: do not change them.
enum class Cf : uint8_t {
  kMeta = 0,    // counters, format version, sources ("default" column family)
  kFragments,   // source records: the truth
  kProfiles,    // derived: one materialised profile per entity
  kIdent,       // derived: identifier -> owning profiles
  kRefs,        // derived: identifier -> fragments whose relations name it
  kEdges,       // derived: typed edges, both directions
  kNames,       // derived: word prefixes of names, e-mails, handles -> profile
  kConflicts,   // derived: identifier conflicts per profile
  kEvidence,    // derived: evidence items per fragment
  kPostings,    // derived: the expertise index, term -> blocks of evidence ids
  kChanges,     // change log: sequence -> changed profile
  kRules,       // manual merge / split rules
  kAudit,       // the audit log: sequence -> who did what, append-only
  kSuppressed,  // erased people: keyed hashes of identifiers and fragment keys
  kScim,        // SCIM resources as identity providers sent them, and their indexes
};
inline constexpr int kCfCount = 15;
const char* CfName(Cf cf);
// Derived column families are rebuilt from fragments and rules by Rebuild.
bool IsDerived(Cf cf);

// Combines a stored value with merge operands (RocksDB's merge operator), for values
// kept up to date by appending changes instead of reading and rewriting them. Must be
// deterministic. Thread-safe.
class MergeOperator {
 public:
  virtual ~MergeOperator() = default;
  virtual const char* name() const = 0;
  // The value after applying `operands` in order to `existing` (nullptr: no value).
  // False when an input is corrupt.
  virtual bool FullMerge(std::string_view key, const std::string_view* existing,
                         const std::vector<std::string_view>& operands, std::string* out) const = 0;
  // One operand doing what `left` then `right` do.
  virtual bool PartialMerge(std::string_view key, std::string_view left, std::string_view right,
                            std::string* out) const = 0;
  // PartialMerge in place: makes `left` do what it did, then what `right` does. A
  // batch folds every operand of a key into one this way, so an operator whose
  // operands concatenate should append rather than copy `left` (which makes folding n
  // operands quadratic). False, with `left` as it was, when they cannot be combined.
  // The default goes through PartialMerge.
  virtual bool PartialMergeInto(std::string_view key, std::string* left,
                                std::string_view right) const;
  // Whether a merged value stands for no record at all (every change undone): such
  // values are dropped by compactions and skipped by Digest, so a key that only ever
  // held removed data leaves no trace.
  virtual bool IsEmpty(std::string_view value) const { return false; }
};

struct StoreOptions {
  // Shared LRU cache for data, index and filter blocks, which also accounts for
  // memtables: the main bound on memory. Default 256 MiB.
  uint64_t block_cache_bytes = 256ull << 20;
  // Memtable budget over all column families, charged to the block cache.
  // Default 64 MiB; larger absorbs write bursts, smaller lowers memory.
  uint64_t write_buffer_bytes = 64ull << 20;
  // fsync the WAL on every batch. Off: acknowledged writes survive a process crash
  // (kill -9) but not a power cut; on: they survive both, at a large cost in ingest rate.
  bool sync_writes = false;
  // Create the database when `path` does not hold one.
  bool create_if_missing = true;
  // The merge operator of the postings column family (server/index sets it).
  std::shared_ptr<const MergeOperator> postings_merge;
};

// Iterates one column family in key order. Thread-compatible.
class Iterator {
 public:
  virtual ~Iterator() = default;
  virtual void Seek(std::string_view target) = 0;
  virtual void SeekToFirst() = 0;
  virtual bool Valid() const = 0;
  virtual void Next() = 0;
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  // Not OK when iteration stopped on an error rather than at the end.
  virtual absl::Status status() const = 0;
};

// Read access, as seen by a snapshot or by a batch (which sees its own writes).
class Reader {
 public:
  virtual ~Reader() = default;
  // Sets `*value` and returns true when `key` exists, false when it does not.
  virtual absl::StatusOr<bool> Get(Cf cf, std::string_view key, std::string* value) const = 0;
  virtual std::unique_ptr<Iterator> NewIterator(Cf cf) const = 0;
  // Get for several keys of one column family: `values` and `found` get one entry per
  // key. This reads them one by one; a snapshot reads them in one batched lookup that
  // shares the filter and index work of keys in the same files.
  [[nodiscard]] virtual absl::Status MultiGet(Cf cf, const std::vector<std::string>& keys,
                                              std::vector<std::string>* values,
                                              std::vector<bool>* found) const;
};

// Pending writes plus reads that see them over the latest database state.
// Thread-compatible; the Store outlives it, and it outlives its iterators. Nothing
// reaches disk until Store::Write.
class Batch : public Reader {
 public:
  virtual void Put(Cf cf, std::string_view key, std::string_view value) = 0;
  virtual void Delete(Cf cf, std::string_view key) = 0;
  // Adds a merge operand (column families with a merge operator only). Operands to one
  // key are combined in the batch; reads through the batch do not see them, so such a
  // column family is read from snapshots.
  virtual void Merge(Cf cf, std::string_view key, std::string_view operand) = 0;
  // Says no more reads will come: drops the parent and pooled iterators. Writes stay.
  virtual void DoneReading() = 0;
  // Distinct keys written or deleted (a key written twice counts once).
  virtual size_t count() const = 0;
  // Bytes of keys and values passed to Put/Delete, an estimate of the batch's size.
  virtual size_t bytes() const = 0;
};

// A consistent point-in-time view. Thread-safe; the Store outlives it.
class Snapshot : public Reader {};

// Owns the RocksDB database. Thread-safe.
class Store {
 public:
  // Opens (or creates) the database at `path`. A database of another format version
  // is FAILED_PRECONDITION; an unreadable one is the RocksDB error.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path,
                                                     const StoreOptions& options);
  virtual ~Store() = default;

  virtual std::unique_ptr<Snapshot> GetSnapshot() const = 0;
  // Reads of the latest committed state, each on its own (no snapshot: cheaper for one
  // or two point lookups, but two reads may see different states). Thread-safe.
  virtual const Reader& Latest() const = 0;
  // A batch whose reads see, below its own writes, those of `parent` (when given) and
  // then the database: the parent may still be committing. The parent must be done
  // with its own reads and have no parent of its own that is not yet in the database.
  virtual std::unique_ptr<Batch> NewBatch(std::shared_ptr<const Batch> parent = nullptr) const = 0;
  // Writes the batch atomically through the WAL; returns after the write is durable
  // to the options' level. The batch keeps its contents: write a new batch next time.
  [[nodiscard]] virtual absl::Status Write(Batch& batch) = 0;
  // Removes every key of the given column families in one atomic write.
  [[nodiscard]] virtual absl::Status Clear(const std::vector<Cf>& cfs) = 0;
  // Removes keys in [begin, end) of one column family.
  [[nodiscard]] virtual absl::Status DeleteRange(Cf cf, std::string_view begin,
                                                 std::string_view end) = 0;
  // A consistent copy at `path` (must not exist) that opens as a working database.
  [[nodiscard]] virtual absl::Status Checkpoint(const std::string& path) = 0;
  // Compacts every column family fully (merging postings operands on the way).
  [[nodiscard]] virtual absl::Status CompactAll() = 0;
  virtual uint64_t EstimateKeys(Cf cf) const = 0;
  virtual uint64_t DiskBytes() const = 0;
  virtual const std::string& path() const = 0;

  // RocksDB's own figures, for the metrics page.
  struct Figures {
    uint64_t block_cache_usage_bytes = 0;  // includes memtables charged to the cache
    uint64_t block_cache_capacity_bytes = 0;
    uint64_t memtable_bytes = 0;  // all memtables, active and immutable
    // Part of the cache's usage that readers hold and eviction cannot free.
    uint64_t block_cache_pinned_bytes = 0;
    // Table readers' memory outside the cache (index and filter blocks live in it).
    uint64_t table_readers_bytes = 0;
    uint64_t pending_compaction_bytes = 0;  // estimate
    uint64_t sst_bytes = 0;                 // every SST file, live or not yet deleted
    uint64_t write_stalls = 0;              // times writes were slowed or stopped, since open
    // Since open: bytes of the batches written, and of the SST files flushes and
    // compactions wrote. compacted ÷ flushed is the write amplification compaction adds.
    uint64_t batch_bytes = 0, flushed_bytes = 0, compacted_bytes = 0;
    uint64_t ingested_bytes = 0;  // SST files a bulk load ingested, since open
    bool writes_stopped = false;  // now
  };
  virtual Figures GetFigures() const = 0;

  // --- Bulk loads ---
  // From now until FinishBulk or AbandonBulk, the merge operands that Write would add
  // to the postings column family are collected instead (MergeSorter, bulk.h: at most
  // `memory_bytes` in memory, sorted runs under <path>/bulk beyond that), and FinishBulk
  // writes them as sorted SST files that RocksDB ingests whole: they skip the memtable,
  // the WAL and the compactions that re-merge large values. Every other write goes on
  // as before. Until FinishBulk, reads do not see the collected operands, and a crash
  // loses them: the caller must be able to derive them again. FAILED_PRECONDITION when
  // a bulk load is running already or no merge operator is set.
  [[nodiscard]] virtual absl::Status BeginBulk(uint64_t memory_bytes) = 0;
  struct BulkFigures {
    uint64_t operands = 0;   // merge operands collected
    uint64_t runs = 0;       // sorted runs written to disk on the way
    uint64_t run_bytes = 0;  // their bytes
    uint64_t keys = 0;       // keys in the SST files
    uint64_t files = 0;      // SST files ingested
    uint64_t sst_bytes = 0;  // their bytes
    bool merged = false;     // false: full values (the column family was empty); true: operands
    double seconds = 0;      // FinishBulk's time
  };
  // Ingests what was collected; the database then reads as if every collected operand
  // had been written by Write, in order. On an error the collected operands are lost
  // (the bulk load ends either way).
  virtual absl::StatusOr<BulkFigures> FinishBulk() = 0;
  // Drops what was collected, e.g. before the column family is rebuilt.
  virtual void AbandonBulk() = 0;
  virtual bool BulkActive() const = 0;
};

// FNV-1a over every key and value of `cfs` as `reader` sees them, as 16 hex digits;
// postings values `postings` calls empty are skipped (as absent).
absl::StatusOr<std::string> Digest(const Reader& reader, const std::vector<Cf>& cfs,
                                   const MergeOperator* postings = nullptr);

// Whether `key` starts with `prefix`.
inline bool HasPrefix(std::string_view key, std::string_view prefix) {
  return key.substr(0, prefix.size()) == prefix;
}

}  // namespace tessera::store
