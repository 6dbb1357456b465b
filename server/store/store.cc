#include "server/store/store.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory_resource>
#include <mutex>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "rocksdb/cache.h"
#include "rocksdb/compaction_filter.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/listener.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
#include "rocksdb/write_buffer_manager.h"
#include "server/store/bulk.h"

namespace tessera::store {
namespace {

// Bumped when a key or value layout changes; README.md in this folder lists them.
constexpr char kFormatKey[] = "format";
constexpr char kFormatVersion[] = "tessera-1";

constexpr const char* kCfNames[kCfCount] = {
    "default",  "fragments", "profiles", "ident", "refs",  "edges",      "names", "conflicts",
    "evidence", "postings",  "changes",  "rules", "audit", "suppressed", "scim",
};

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return absl::UnavailableError(msg);
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return absl::FailedPreconditionError(msg + " (is another tesserad using this database?)");
  }
  return absl::InternalError(msg);
}

class RocksIterator final : public Iterator {
 public:
  using Release = std::function<void(std::unique_ptr<rocksdb::Iterator>)>;
  explicit RocksIterator(rocksdb::Iterator* it) : it_(it) {}
  RocksIterator(std::unique_ptr<rocksdb::Iterator> it, Release release)
      : it_(std::move(it)), release_(std::move(release)) {}
  ~RocksIterator() override {
    if (release_) release_(std::move(it_));
  }
  void Seek(std::string_view target) override { it_->Seek(rocksdb::Slice(target)); }
  void SeekToFirst() override { it_->SeekToFirst(); }
  bool Valid() const override { return it_->Valid(); }
  void Next() override { it_->Next(); }
  std::string_view key() const override { return it_->key().ToStringView(); }
  std::string_view value() const override { return it_->value().ToStringView(); }
  absl::Status status() const override { return FromRocks(it_->status(), "iterator"); }

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
  Release release_;
};

// Adapts a store::MergeOperator to RocksDB's interface.
class RocksMergeOperator final : public rocksdb::MergeOperator {
 public:
  explicit RocksMergeOperator(std::shared_ptr<const store::MergeOperator> op)
      : op_(std::move(op)) {}
  const char* Name() const override { return op_->name(); }
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    std::vector<std::string_view> operands;
    operands.reserve(in.operand_list.size());
    for (const rocksdb::Slice& s : in.operand_list) operands.push_back(s.ToStringView());
    std::string_view existing;
    if (in.existing_value != nullptr) existing = in.existing_value->ToStringView();
    return op_->FullMerge(in.key.ToStringView(), in.existing_value != nullptr ? &existing : nullptr,
                          operands, &out->new_value);
  }
  bool PartialMerge(const rocksdb::Slice& key, const rocksdb::Slice& left,
                    const rocksdb::Slice& right, std::string* out,
                    rocksdb::Logger*) const override {
    return op_->PartialMerge(key.ToStringView(), left.ToStringView(), right.ToStringView(), out);
  }
  // RocksDB's default folds a run of operands pairwise, copying the growing left one
  // each time (quadratic in a common term's operands at flush and compaction): fold
  // them in place instead.
  bool PartialMergeMulti(const rocksdb::Slice& key, const std::deque<rocksdb::Slice>& operands,
                         std::string* out, rocksdb::Logger*) const override {
    if (operands.empty()) return false;
    out->assign(operands.front().data(), operands.front().size());
    for (size_t i = 1; i < operands.size(); ++i) {
      if (!op_->PartialMergeInto(key.ToStringView(), out, operands[i].ToStringView())) return false;
    }
    return true;
  }

 private:
  std::shared_ptr<const store::MergeOperator> op_;
};

// Drops merged values the merge operator calls empty. RocksDB does not show a
// compaction filter the values it merges in the same compaction, so an emptied key
// goes at the compaction after the one that merged it.
class EmptyValueFilter final : public rocksdb::CompactionFilter {
 public:
  explicit EmptyValueFilter(std::shared_ptr<const store::MergeOperator> op) : op_(std::move(op)) {}
  const char* Name() const override { return "tessera.drop-empty"; }
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& existing_value, std::string*,
              bool*) const override {
    return op_->IsEmpty(existing_value.ToStringView());
  }

 private:
  std::shared_ptr<const store::MergeOperator> op_;
};

class RocksSnapshot final : public Snapshot {
 public:
  // `latest`: no snapshot, every read sees the latest committed state.
  RocksSnapshot(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& cfs,
                bool latest = false)
      : db_(db), cfs_(cfs), snap_(latest ? nullptr : db->GetSnapshot()) {
    ro_.snapshot = snap_;
  }
  ~RocksSnapshot() override {
    if (snap_ != nullptr) db_->ReleaseSnapshot(snap_);
  }

  absl::StatusOr<bool> Get(Cf cf, std::string_view key, std::string* value) const override {
    rocksdb::Status s = db_->Get(ro_, cfs_[static_cast<int>(cf)], rocksdb::Slice(key), value);
    if (s.IsNotFound()) return false;
    if (!s.ok()) return FromRocks(s, "get");
    return true;
  }
  std::unique_ptr<Iterator> NewIterator(Cf cf) const override {
    return std::make_unique<RocksIterator>(db_->NewIterator(ro_, cfs_[static_cast<int>(cf)]));
  }
  absl::Status MultiGet(Cf cf, const std::vector<std::string>& keys,
                        std::vector<std::string>* values, std::vector<bool>* found) const override {
    const size_t n = keys.size();
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> pinned(n);
    std::vector<rocksdb::Status> statuses(n);
    db_->MultiGet(ro_, cfs_[static_cast<int>(cf)], n, slices.data(), pinned.data(),
                  statuses.data());
    values->assign(n, std::string());
    found->assign(n, false);
    for (size_t i = 0; i < n; ++i) {
      if (statuses[i].IsNotFound()) continue;
      if (!statuses[i].ok()) return FromRocks(statuses[i], "multiget");
      (*values)[i].assign(pinned[i].data(), pinned[i].size());
      (*found)[i] = true;
    }
    return absl::OkStatus();
  }

 private:
  rocksdb::DB* db_;
  const std::vector<rocksdb::ColumnFamilyHandle*>& cfs_;
  const rocksdb::Snapshot* snap_;
  rocksdb::ReadOptions ro_;
};

// Pending writes of one column family: key -> value, or nullopt for a delete. Ordered,
// so an iterator can merge them with the database's keys. Allocated from the batch's
// arena: one batch makes tens of thousands of them and frees them all at once.
using PendingMap = std::pmr::map<std::pmr::string, std::optional<std::pmr::string>, std::less<>>;

class RocksBatch;

// Iterates a base (the database, or the database under a parent batch) and a batch's
// pending writes as one: pending entries win on equal keys, pending deletes hide keys.
class MergedIterator final : public Iterator {
 public:
  MergedIterator(std::unique_ptr<Iterator> base, const PendingMap& pending)
      : base_(std::move(base)), pending_(pending) {}

  void Seek(std::string_view target) override {
    base_->Seek(target);
    delta_ = pending_.lower_bound(target);
    Settle();
  }
  void SeekToFirst() override {
    base_->SeekToFirst();
    delta_ = pending_.begin();
    Settle();
  }
  bool Valid() const override { return on_ != On::kNone; }
  void Next() override {
    if (on_ == On::kBase || on_ == On::kBoth) base_->Next();
    if (on_ == On::kDelta || on_ == On::kBoth) ++delta_;
    Settle();
  }
  std::string_view key() const override {
    return on_ == On::kBase ? base_->key() : std::string_view(delta_->first);
  }
  std::string_view value() const override {
    return on_ == On::kBase ? base_->value() : std::string_view(*delta_->second);
  }
  absl::Status status() const override { return base_->status(); }

 private:
  enum class On { kNone, kBase, kDelta, kBoth };

  // Positions on the smaller of the two current keys, skipping pending deletes.
  void Settle() {
    while (true) {
      const bool has_base = base_->Valid();
      const bool has_delta = delta_ != pending_.end();
      if (!has_base && !has_delta) {
        on_ = On::kNone;
        return;
      }
      const int cmp = !has_base ? 1 : !has_delta ? -1 : base_->key().compare(delta_->first);
      if (cmp < 0) {
        on_ = On::kBase;
        return;
      }
      if (delta_->second.has_value()) {
        on_ = cmp == 0 ? On::kBoth : On::kDelta;
        return;
      }
      if (cmp == 0) base_->Next();  // a pending delete hides the database key
      ++delta_;
    }
  }

  std::unique_ptr<Iterator> base_;
  const PendingMap& pending_;
  PendingMap::const_iterator delta_;
  On on_ = On::kNone;
};

// Pending writes in a plain WriteBatch (what Store::Write commits) plus an ordered map
// per column family, so reads see them over the latest database state, and over the
// parent batch's writes while that one may still be committing. Database iterators
// are pooled per column family: creating one costs far more than a seek, and the
// writer's view of the database does not change while it holds the batch (a parent's
// writes are read from the parent, never from the database).
class RocksBatch final : public Batch {
 public:
  RocksBatch(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& cfs,
             std::shared_ptr<const Batch> parent, const MergeOperator* postings_merge)
      : db_(db),
        cfs_(cfs),
        parent_(std::static_pointer_cast<const RocksBatch>(std::move(parent))),
        postings_merge_(postings_merge),
        arena_(64 << 10) {
    for (int i = 0; i < kCfCount; ++i) pending_.emplace_back(&arena_);
  }

  absl::StatusOr<bool> Get(Cf cf, std::string_view key, std::string* value) const override {
    for (const RocksBatch* b = this; b != nullptr; b = b->parent_.get()) {
      const PendingMap& pending = b->pending_[static_cast<int>(cf)];
      if (auto it = pending.find(key); it != pending.end()) {
        if (!it->second) return false;
        value->assign(it->second->data(), it->second->size());
        return true;
      }
    }
    rocksdb::Status s = db_->Get(ro_, cfs_[static_cast<int>(cf)], rocksdb::Slice(key), value);
    if (s.IsNotFound()) return false;
    if (!s.ok()) return FromRocks(s, "get");
    return true;
  }
  std::unique_ptr<Iterator> NewIterator(Cf cf) const override {
    const int i = static_cast<int>(cf);
    std::unique_ptr<rocksdb::Iterator> db_it;
    if (pool_[i].empty()) {
      db_it.reset(db_->NewIterator(ro_, cfs_[i]));
    } else {
      db_it = std::move(pool_[i].back());
      pool_[i].pop_back();
    }
    std::unique_ptr<Iterator> it = std::make_unique<RocksIterator>(
        std::move(db_it), [this, i](std::unique_ptr<rocksdb::Iterator> used) {
          if (used->status().ok()) pool_[i].push_back(std::move(used));
        });
    if (parent_ != nullptr)
      it = std::make_unique<MergedIterator>(std::move(it), parent_->pending_[i]);
    return std::make_unique<MergedIterator>(std::move(it), pending_[i]);
  }
  void Put(Cf cf, std::string_view key, std::string_view value) override {
    bytes_ += key.size() + value.size();
    pending_[static_cast<int>(cf)].insert_or_assign(
        std::pmr::string(key, &arena_),
        std::optional<std::pmr::string>(std::in_place, value, &arena_));
  }
  void Delete(Cf cf, std::string_view key) override {
    bytes_ += key.size();
    pending_[static_cast<int>(cf)].insert_or_assign(std::pmr::string(key, &arena_), std::nullopt);
  }
  void Merge(Cf cf, std::string_view key, std::string_view operand) override {
    assert(cf == Cf::kPostings && postings_merge_ != nullptr);
    bytes_ += key.size() + operand.size();
    auto it = merges_.find(key);
    if (it == merges_.end()) {
      char* copy = static_cast<char*>(arena_.allocate(key.size(), 1));
      std::copy(key.begin(), key.end(), copy);
      merges_.emplace(std::string_view(copy, key.size()), operand);
      return;
    }
    if (!postings_merge_->PartialMergeInto(key, &it->second, operand)) {
      // The operator cannot combine them: keep both as separate operands.
      overflow_.emplace_back(std::string(key), std::move(it->second));
      it->second.assign(operand);
    }
  }
  void DoneReading() override {
    parent_.reset();
    for (auto& pool : pool_) pool.clear();
  }
  size_t count() const override {
    size_t n = merges_.size() + overflow_.size();
    for (const PendingMap& m : pending_) n += m.size();
    return n;
  }
  size_t bytes() const override { return bytes_; }

  // The WriteBatch to commit, built from the pending maps: one entry per key (the last
  // write wins, as it would in the database) in key order per column family. Sorted
  // input lets each memtable insert start where the previous one ended.
  // Without `with_merges`, the postings operands are left out (a bulk load collects
  // them through ForEachMerge instead).
  rocksdb::WriteBatch* write_batch(bool with_merges = true) {
    if (wb_.Count() == 0) {
      for (int i = 0; i < kCfCount; ++i) {
        for (const auto& [key, value] : pending_[i]) {
          rocksdb::Status s = value ? wb_.Put(cfs_[i], rocksdb::Slice(key.data(), key.size()),
                                              rocksdb::Slice(value->data(), value->size()))
                                    : wb_.Delete(cfs_[i], rocksdb::Slice(key.data(), key.size()));
          assert(s.ok());
          (void)s;
        }
      }
      if (with_merges) {
        rocksdb::ColumnFamilyHandle* postings = cfs_[static_cast<int>(Cf::kPostings)];
        (void)ForEachMerge([&](std::string_view key, std::string_view operand) {
          (void)wb_.Merge(postings, rocksdb::Slice(key.data(), key.size()),
                          rocksdb::Slice(operand.data(), operand.size()));
          return absl::OkStatus();
        });
      }
    }
    return &wb_;
  }
  // Calls f(key, operand) on the postings operands in the order they apply to each key
  // (those the operator could not combine first, then the combined ones), keys in key
  // order when `in_key_order`; stops at the first error.
  template <typename F>
  absl::Status ForEachMerge(F&& f, bool in_key_order = true) const {
    for (const auto& [key, operand] : overflow_) {
      if (absl::Status s = f(key, operand); !s.ok()) return s;
    }
    if (!in_key_order) {
      for (const auto& [key, operand] : merges_) {
        if (absl::Status s = f(key, operand); !s.ok()) return s;
      }
      return absl::OkStatus();
    }
    std::vector<const std::pair<const std::string_view, std::string>*> sorted;
    sorted.reserve(merges_.size());
    for (const auto& entry : merges_) sorted.push_back(&entry);
    std::sort(sorted.begin(), sorted.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    for (const auto* entry : sorted) {
      if (absl::Status s = f(entry->first, entry->second); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  rocksdb::DB* db_;
  const std::vector<rocksdb::ColumnFamilyHandle*>& cfs_;
  std::shared_ptr<const RocksBatch> parent_;
  const MergeOperator* postings_merge_;
  rocksdb::WriteBatch wb_;
  size_t bytes_ = 0;
  std::pmr::monotonic_buffer_resource arena_;
  std::vector<PendingMap> pending_;  // one per column family, in arena_
  // Merge operands of the postings column family, combined per key (keys in arena_;
  // hashed, as a batch of text adds thousands of terms, and sorted once when written);
  // overflow_ keeps, in order, operands the operator could not combine (none for ours).
  absl::flat_hash_map<std::string_view, std::string> merges_;
  std::vector<std::pair<std::string, std::string>> overflow_;
  mutable std::vector<std::unique_ptr<rocksdb::Iterator>> pool_[kCfCount];
  rocksdb::ReadOptions ro_;
};

rocksdb::Options MakeOptions(const StoreOptions& o, const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::Options opt;
  opt.create_if_missing = o.create_if_missing;
  opt.create_missing_column_families = true;
  opt.max_background_jobs = 2;
  opt.bytes_per_sync = 1 << 20;
  opt.level_compaction_dynamic_level_bytes = true;
  opt.write_buffer_manager =
      std::make_shared<rocksdb::WriteBufferManager>(o.write_buffer_bytes, cache);
  opt.max_total_wal_size = 4 * o.write_buffer_bytes;
  opt.keep_log_file_num = 5;
  return opt;
}

rocksdb::ColumnFamilyOptions MakeCfOptions(const StoreOptions& o,
                                           const std::shared_ptr<rocksdb::Cache>& cache,
                                           size_t block_bytes = 4096) {
  rocksdb::ColumnFamilyOptions cfo;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.block_size = block_bytes;
  // Index and filter blocks live in the cache too, so the cache size bounds memory.
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  // Partitioned index and filters: a point lookup loads one small partition instead of a
  // whole file's filter, so a cache smaller than the filters does not thrash (ingest
  // probes many absent identifier keys). Only the top-level index stays pinned.
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.pin_top_level_index_and_filter = true;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.format_version = 5;
  cfo.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cfo.write_buffer_size = std::max<uint64_t>(4ull << 20, o.write_buffer_bytes / 4);
  // Ingest looks up many keys that do not exist yet (new fragments, identifiers): a
  // memtable bloom filter answers those without walking the skiplist.
  cfo.memtable_prefix_bloom_size_ratio = 0.02;
  cfo.memtable_whole_key_filtering = true;
  const auto supported = rocksdb::GetSupportedCompressions();
  if (std::find(supported.begin(), supported.end(), rocksdb::kLZ4Compression) != supported.end()) {
    cfo.compression = rocksdb::kLZ4Compression;
  }
  return cfo;
}

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TESSERA_UNDER_TSAN 1
#endif
#endif

// RocksDB's write thread hands each writer's batch to its write group's leader through
// atomics. A ThreadSanitizer build links Debian's librocksdb, which is not instrumented,
// so TSan cannot see that hand-over and reports every pair of concurrent writes as a
// race. Such a build orders writes with a mutex TSan sees instead; every other build
// takes no lock here, RocksDB orders them (tests/sanitizers/tsan.supp).
class WriteOrder {
 public:
  explicit WriteOrder(std::mutex& mu) {
#ifdef TESSERA_UNDER_TSAN
    lock_ = std::unique_lock<std::mutex>(mu);
#else
    (void)mu;
#endif
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

class RocksStore final : public Store {
 public:
  RocksStore(std::string path, const StoreOptions& options) : path_(std::move(path)) {
    wo_.sync = options.sync_writes;
  }
  ~RocksStore() override {
    latest_.reset();
    for (auto* h : cfs_) {
      if (h != nullptr) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    if (db_ != nullptr) db_->Close().PermitUncheckedError();
  }

  absl::Status OpenDb(const StoreOptions& o) {
    // A tenth of the cache is reserved for index and filter partitions.
    rocksdb::LRUCacheOptions co;
    co.capacity = o.block_cache_bytes;
    co.high_pri_pool_ratio = 0.1;
    cache_ = rocksdb::NewLRUCache(co);
    postings_merge_ = o.postings_merge;
    rocksdb::Options opt = MakeOptions(o, cache_);
    opt.listeners.push_back(stalls_);
    const rocksdb::ColumnFamilyOptions cfo = MakeCfOptions(o, cache_);
    static_cast<rocksdb::ColumnFamilyOptions&>(opt) = cfo;
    std::vector<rocksdb::ColumnFamilyDescriptor> descs;
    for (const char* name : kCfNames) descs.emplace_back(name, cfo);
    // Queries read postings in long runs: bigger blocks mean fewer cache lookups and
    // block loads per posting. Postings are varint and fixed-width columns that LZ4
    // shrinks by ~13% (2.0 → 2.3 GB at 2M evidence items), while decompressing blocks
    // that miss the cache cost ~15% of FindExperts time: stored uncompressed.
    descs[static_cast<int>(Cf::kPostings)].options = MakeCfOptions(o, cache_, 32 << 10);
    descs[static_cast<int>(Cf::kPostings)].options.compression = rocksdb::kNoCompression;
    if (o.postings_merge != nullptr) {
      descs[static_cast<int>(Cf::kPostings)].options.merge_operator =
          std::make_shared<RocksMergeOperator>(o.postings_merge);
      postings_filter_ = std::make_unique<EmptyValueFilter>(o.postings_merge);
      descs[static_cast<int>(Cf::kPostings)].options.compaction_filter = postings_filter_.get();
    }
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(opt, path_, descs, &cfs_, &raw);
    if (s.ok()) {
      // Sorted runs of a bulk load the last process did not finish: its caller derives
      // them again (Store::BeginBulk).
      std::error_code ec;
      std::filesystem::remove_all(path_ + "/bulk", ec);
    }
    db_.reset(raw);
    if (!s.ok()) return FromRocks(s, "open database '" + path_ + "'");
    latest_ = std::make_unique<RocksSnapshot>(db_.get(), cfs_, /*latest=*/true);
    return CheckFormat();
  }

  std::unique_ptr<Snapshot> GetSnapshot() const override {
    return std::make_unique<RocksSnapshot>(db_.get(), cfs_);
  }
  const Reader& Latest() const override { return *latest_; }
  std::unique_ptr<Batch> NewBatch(std::shared_ptr<const Batch> parent) const override {
    return std::make_unique<RocksBatch>(db_.get(), cfs_, std::move(parent), postings_merge_.get());
  }
  absl::Status Write(Batch& batch) override {
    WriteOrder order(tsan_write_order_);
    auto& rb = static_cast<RocksBatch&>(batch);
    if (bulk_on_.load(std::memory_order_acquire)) return WriteCollecting(rb);
    rocksdb::WriteBatch* wb = rb.write_batch();
    batch_bytes_.fetch_add(wb->GetDataSize(), std::memory_order_relaxed);
    return FromRocks(db_->Write(wo_, wb), "write");
  }

  absl::Status BeginBulk(uint64_t memory_bytes) override {
    std::lock_guard<std::mutex> l(bulk_mu_);
    if (sorter_ != nullptr) return absl::FailedPreconditionError("a bulk load is running already");
    if (postings_merge_ == nullptr) {
      return absl::FailedPreconditionError("bulk load: no merge operator for postings");
    }
    rocksdb::ColumnFamilyHandle* h = cfs_[static_cast<int>(Cf::kPostings)];
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), h));
    it->SeekToFirst();
    if (!it->status().ok()) return FromRocks(it->status(), "bulk load");
    absl::StatusOr<std::unique_ptr<MergeSorter>> sorter =
        MergeSorter::Create(path_ + "/bulk", *postings_merge_, memory_bytes);
    if (!sorter.ok()) return sorter.status();
    sorter_ = *std::move(sorter);
    bulk_base_empty_ = !it->Valid();
    bulk_error_ = absl::OkStatus();
    bulk_on_.store(true, std::memory_order_release);
    return absl::OkStatus();
  }
  absl::StatusOr<BulkFigures> FinishBulk() override {
    const auto start = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> l(bulk_mu_);
    if (sorter_ == nullptr) return absl::FailedPreconditionError("no bulk load is running");
    // BulkActive() stays true until the files are in: a reader who waits for it to turn
    // false then finds the postings.
    struct End {
      RocksStore* s;
      ~End() {
        s->sorter_.reset();
        s->bulk_on_.store(false, std::memory_order_release);
      }
    } end{this};
    MergeSorter* sorter = sorter_.get();
    if (!bulk_error_.ok()) return bulk_error_;
    BulkFigures figures;
    figures.merged = !bulk_base_empty_;
    rocksdb::ColumnFamilyHandle* h = cfs_[static_cast<int>(Cf::kPostings)];
    const rocksdb::Options options(db_->GetDBOptions(), db_->GetOptions(h));
    // Files of the size compactions write, so later compactions can pick them one by one.
    absl::StatusOr<std::vector<std::string>> files =
        sorter->Finish(options, bulk_base_empty_, options.target_file_size_base, &figures);
    if (!files.ok()) return files.status();
    if (!files->empty()) {
      rocksdb::IngestExternalFileOptions io;
      io.move_files = true;
      if (absl::Status s = FromRocks(db_->IngestExternalFile(h, *files, io), "bulk load: ingest");
          !s.ok()) {
        return s;
      }
    }
    ingested_bytes_.fetch_add(figures.sst_bytes, std::memory_order_relaxed);
    figures.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return figures;
  }
  void AbandonBulk() override {
    std::lock_guard<std::mutex> l(bulk_mu_);
    bulk_on_.store(false, std::memory_order_release);
    sorter_.reset();
  }
  bool BulkActive() const override { return bulk_on_.load(std::memory_order_acquire); }
  absl::Status Clear(const std::vector<Cf>& cfs) override {
    rocksdb::WriteBatch wb;
    for (Cf cf : cfs) {
      rocksdb::ColumnFamilyHandle* h = cfs_[static_cast<int>(cf)];
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), h));
      it->SeekToLast();
      if (!it->status().ok()) return FromRocks(it->status(), "clear");
      if (!it->Valid()) continue;
      std::string end = it->key().ToString();
      end.push_back('\0');  // just past the last key
      rocksdb::Status s = wb.DeleteRange(h, rocksdb::Slice(), rocksdb::Slice(end));
      if (!s.ok()) return FromRocks(s, "clear");
    }
    WriteOrder order(tsan_write_order_);
    return FromRocks(db_->Write(wo_, &wb), "clear");
  }
  absl::Status DeleteRange(Cf cf, std::string_view begin, std::string_view end) override {
    WriteOrder order(tsan_write_order_);
    return FromRocks(db_->DeleteRange(wo_, cfs_[static_cast<int>(cf)], rocksdb::Slice(begin),
                                      rocksdb::Slice(end)),
                     "delete range");
  }
  absl::Status Checkpoint(const std::string& path) override {
    rocksdb::Checkpoint* raw = nullptr;
    rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw);
    std::unique_ptr<rocksdb::Checkpoint> cp(raw);
    if (!s.ok()) return FromRocks(s, "checkpoint");
    return FromRocks(cp->CreateCheckpoint(path), "checkpoint to '" + path + "'");
  }
  absl::Status CompactAll() override {
    rocksdb::CompactRangeOptions o;
    o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
    for (auto* h : cfs_) {
      if (absl::Status s = FromRocks(db_->CompactRange(o, h, nullptr, nullptr), "compact"); !s.ok())
        return s;
    }
    return absl::OkStatus();
  }
  uint64_t EstimateKeys(Cf cf) const override {
    uint64_t n = 0;
    db_->GetIntProperty(cfs_[static_cast<int>(cf)], "rocksdb.estimate-num-keys", &n);
    return n;
  }
  uint64_t DiskBytes() const override {
    uint64_t total = 0;
    for (auto* h : cfs_) {
      uint64_t n = 0;
      db_->GetIntProperty(h, "rocksdb.total-sst-files-size", &n);
      total += n;
    }
    return total;
  }
  const std::string& path() const override { return path_; }

  Figures GetFigures() const override {
    Figures f;
    uint64_t n = 0;
    if (cache_ != nullptr) {
      f.block_cache_usage_bytes = cache_->GetUsage();
      f.block_cache_capacity_bytes = cache_->GetCapacity();
      f.block_cache_pinned_bytes = cache_->GetPinnedUsage();
    }
    for (auto* h : cfs_) {
      if (db_->GetIntProperty(h, rocksdb::DB::Properties::kCurSizeAllMemTables, &n))
        f.memtable_bytes += n;
      if (db_->GetIntProperty(h, rocksdb::DB::Properties::kEstimatePendingCompactionBytes, &n)) {
        f.pending_compaction_bytes += n;
      }
      if (db_->GetIntProperty(h, rocksdb::DB::Properties::kTotalSstFilesSize, &n)) f.sst_bytes += n;
      if (db_->GetIntProperty(h, rocksdb::DB::Properties::kEstimateTableReadersMem, &n))
        f.table_readers_bytes += n;
    }
    if (db_->GetIntProperty(rocksdb::DB::Properties::kIsWriteStopped, &n))
      f.writes_stopped = n != 0;
    f.write_stalls = stalls_->count.load(std::memory_order_relaxed);
    f.batch_bytes = batch_bytes_.load(std::memory_order_relaxed);
    f.flushed_bytes = stalls_->flushed.load(std::memory_order_relaxed);
    f.compacted_bytes = stalls_->compacted.load(std::memory_order_relaxed);
    f.ingested_bytes = ingested_bytes_.load(std::memory_order_relaxed);
    return f;
  }

 private:
  // Counts the times RocksDB starts delaying or stopping writes, and the bytes of the
  // table files its flushes and compactions write.
  struct StallCounter final : rocksdb::EventListener {
    std::atomic<uint64_t> count{0}, flushed{0}, compacted{0};
    void OnStallConditionsChanged(const rocksdb::WriteStallInfo& info) override {
      if (info.condition.cur != rocksdb::WriteStallCondition::kNormal &&
          info.condition.prev == rocksdb::WriteStallCondition::kNormal) {
        count.fetch_add(1, std::memory_order_relaxed);
      }
    }
    void OnTableFileCreated(const rocksdb::TableFileCreationInfo& info) override {
      if (!info.status.ok()) return;
      if (info.reason == rocksdb::TableFileCreationReason::kFlush) {
        flushed.fetch_add(info.file_size, std::memory_order_relaxed);
      } else if (info.reason == rocksdb::TableFileCreationReason::kCompaction) {
        compacted.fetch_add(info.file_size, std::memory_order_relaxed);
      }
    }
  };
  std::shared_ptr<StallCounter> stalls_ = std::make_shared<StallCounter>();
  std::atomic<uint64_t> batch_bytes_{0};
  std::atomic<uint64_t> ingested_bytes_{0};

  // A write while a bulk load runs: everything but the postings operands goes to the
  // database, then those operands to the sorter. The database write comes first, so a
  // batch that fails leaves nothing collected. A sorter that fails after the write
  // cannot take the write back: its error is kept for FinishBulk, which reports it
  // (the caller then derives the postings again).
  absl::Status WriteCollecting(RocksBatch& rb) {
    rocksdb::WriteBatch* wb = rb.write_batch(/*with_merges=*/false);
    batch_bytes_.fetch_add(wb->GetDataSize(), std::memory_order_relaxed);
    if (wb->Count() > 0) {
      if (absl::Status s = FromRocks(db_->Write(wo_, wb), "write"); !s.ok()) return s;
    }
    std::lock_guard<std::mutex> l(bulk_mu_);
    if (sorter_ == nullptr) {
      // The bulk load ended between the check and here: write the operands as usual.
      rocksdb::WriteBatch merges;
      rocksdb::ColumnFamilyHandle* postings = cfs_[static_cast<int>(Cf::kPostings)];
      (void)rb.ForEachMerge([&](std::string_view key, std::string_view operand) {
        (void)merges.Merge(postings, rocksdb::Slice(key.data(), key.size()),
                           rocksdb::Slice(operand.data(), operand.size()));
        return absl::OkStatus();
      });
      if (merges.Count() == 0) return absl::OkStatus();
      return FromRocks(db_->Write(wo_, &merges), "write");
    }
    if (!bulk_error_.ok()) return absl::OkStatus();
    // Key order does not matter to the sorter: only each key's operands keep theirs.
    bulk_error_ = rb.ForEachMerge(
        [&](std::string_view key, std::string_view operand) { return sorter_->Add(key, operand); },
        /*in_key_order=*/false);
    return absl::OkStatus();
  }

  mutable std::mutex bulk_mu_;
  std::atomic<bool> bulk_on_{false};
  std::unique_ptr<MergeSorter> sorter_;  // guarded by bulk_mu_
  bool bulk_base_empty_ = false;         // guarded by bulk_mu_
  absl::Status bulk_error_;              // guarded by bulk_mu_

  absl::Status CheckFormat() {
    std::string value;
    rocksdb::ColumnFamilyHandle* meta = cfs_[0];
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta, kFormatKey, &value);
    if (s.IsNotFound()) {
      // A new database, or one that has never been written: claim it.
      return FromRocks(db_->Put(wo_, meta, kFormatKey, kFormatVersion), "write format");
    }
    if (!s.ok()) return FromRocks(s, "read format");
    if (value != kFormatVersion) {
      return absl::FailedPreconditionError("database '" + path_ + "' has format '" + value +
                                           "', this tesserad reads '" + kFormatVersion + "'");
    }
    return absl::OkStatus();
  }

  std::string path_;
  std::shared_ptr<const MergeOperator> postings_merge_;
  std::unique_ptr<rocksdb::CompactionFilter>
      postings_filter_;  // outlives db_ (closed in the destructor)
  std::shared_ptr<rocksdb::Cache> cache_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  std::unique_ptr<RocksSnapshot> latest_;
  rocksdb::WriteOptions wo_;
  std::mutex tsan_write_order_;  // used by WriteOrder in ThreadSanitizer builds only
};

}  // namespace

absl::Status Reader::MultiGet(Cf cf, const std::vector<std::string>& keys,
                              std::vector<std::string>* values, std::vector<bool>* found) const {
  values->assign(keys.size(), std::string());
  found->assign(keys.size(), false);
  for (size_t i = 0; i < keys.size(); ++i) {
    absl::StatusOr<bool> got = Get(cf, keys[i], &(*values)[i]);
    if (!got.ok()) return got.status();
    (*found)[i] = *got;
  }
  return absl::OkStatus();
}

const char* CfName(Cf cf) { return kCfNames[static_cast<int>(cf)]; }

bool IsDerived(Cf cf) {
  switch (cf) {
    case Cf::kProfiles:
    case Cf::kIdent:
    case Cf::kRefs:
    case Cf::kEdges:
    case Cf::kNames:
    case Cf::kConflicts:
    case Cf::kEvidence:
    case Cf::kPostings:
      return true;
    case Cf::kMeta:
    case Cf::kFragments:
    case Cf::kChanges:
    case Cf::kRules:
    case Cf::kAudit:
    case Cf::kSuppressed:
    case Cf::kScim:
      return false;
  }
  return false;
}

bool MergeOperator::PartialMergeInto(std::string_view key, std::string* left,
                                     std::string_view right) const {
  std::string combined;
  if (!PartialMerge(key, *left, right, &combined)) return false;
  *left = std::move(combined);
  return true;
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path,
                                                   const StoreOptions& options) {
  std::error_code ec;
  if (!options.create_if_missing && !std::filesystem::exists(path + "/CURRENT", ec)) {
    return absl::NotFoundError("no database at '" + path + "'");
  }
  auto store = std::make_unique<RocksStore>(path, options);
  if (absl::Status s = store->OpenDb(options); !s.ok()) return s;
  return std::unique_ptr<Store>(std::move(store));
}

absl::StatusOr<std::string> Digest(const Reader& reader, const std::vector<Cf>& cfs,
                                   const MergeOperator* postings) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    // Separate fields so ("ab","c") and ("a","bc") differ.
    h ^= 0xff;
    h *= 1099511628211ull;
  };
  for (Cf cf : cfs) {
    mix(CfName(cf));
    std::unique_ptr<Iterator> it = reader.NewIterator(cf);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (cf == Cf::kPostings && postings != nullptr && postings->IsEmpty(it->value())) continue;
      mix(it->key());
      mix(it->value());
    }
    if (absl::Status s = it->status(); !s.ok()) return s;
  }
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf);
}

}  // namespace tessera::store
