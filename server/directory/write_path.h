#pragma once

// Private to server/directory: the write path every part of the directory shares. It
// owns the store, the write lock, the published state (sources, rules, counters), the
// ingest pipeline and the commit that writes a batch and publishes what it changed.
//
// Two ways in, each an object that holds the write lock while it lives:
// - WritePath::Writer, for admin writes (sources, rules, merge, split, erase, rebuild,
//   backup): waits until every ingest batch in flight is committed, then carries
//   copies of the state, sources and rules to change and Commit.
// - WritePath::Stage, for ingest: applies a batch over the one still committing, if
//   any, and takes a ticket; CommitInOrder writes the batches in ticket order outside
//   the write lock, so batch N+1 is applied while batch N is written.
//
// Locks, in the order they are taken: write_mu_; then the parts' own (the audit log's,
// the suppressions'); then pipe_mu_ or state_mu_, never both. Readers take state_mu_
// only, shared.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/directory/directory.h"
#include "server/directory/ids.h"
#include "server/directory/state.h"
#include "server/identity/rules.h"
#include "server/identity/source.h"
#include "server/store/store.h"

namespace tessera::directory {

// Thread-safe.
class WritePath {
 public:
  // `options` (change_log_retain) outlives it.
  WritePath(std::unique_ptr<store::Store> store, const DirectoryOptions& options);

  // What a holder of the write lock works on: its copy of the counters, and the
  // sources and rules as last committed.
  class Held {
   public:
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;

    // The counters this write changes; committing stores and publishes them.
    MetaState& state() { return state_; }
    const identity::SourceRegistry& sources() const { return *sources_; }
    const identity::RuleSet& rules() const { return *rules_; }

   protected:
    explicit Held(WritePath& path) : path_(path) {}
    ~Held() = default;
    // Copies the published sources and rules, and the published state, or with
    // `pending` the state after the last batch applied (it may still be committing).
    void Take(bool pending);

    WritePath& path_;
    MetaState state_;
    std::shared_ptr<const identity::SourceRegistry> sources_;
    std::shared_ptr<const identity::RuleSet> rules_;
  };

  // Holds the write lock with the ingest pipeline drained, for admin writes.
  class ABSL_SCOPED_LOCKABLE Writer : public Held {
   public:
    explicit Writer(WritePath& path) ABSL_EXCLUSIVE_LOCK_FUNCTION(path.write_mu_);
    ~Writer() ABSL_UNLOCK_FUNCTION();

    // Puts the state into `batch`, writes it and publishes the state, and `rules` and
    // `sources` when given (null: unchanged; sources() and rules() then return the
    // new ones). On error nothing is published.
    [[nodiscard]] absl::Status Commit(store::Batch& batch, const identity::RuleSet* rules = nullptr,
                                      const identity::SourceRegistry* sources = nullptr);
  };

  // An ingest batch applied and sealed, waiting for its turn to be written.
  struct Ticket {
    uint64_t number = 0;
    std::shared_ptr<store::Batch> batch;
    MetaState state;  // after the batch
  };

  // Ingest's first stage: holds the write lock with at most one batch still committing,
  // and a batch that reads through that one's writes.
  class ABSL_SCOPED_LOCKABLE Stage : public Held {
   public:
    explicit Stage(WritePath& path) ABSL_EXCLUSIVE_LOCK_FUNCTION(path.write_mu_);
    ~Stage() ABSL_UNLOCK_FUNCTION();

    store::Batch& batch() { return *batch_; }
    // Puts the state into the batch, seals it and takes the next ticket; the next
    // Stage reads through it until CommitInOrder has written it.
    Ticket Issue();

   private:
    std::shared_ptr<store::Batch> batch_;
  };

  // Ingest's second stage, without the write lock: writes `ticket`'s batch after every
  // earlier ticket and publishes its state. UNAVAILABLE when an earlier batch failed
  // (this one was applied over it), or the store's error.
  [[nodiscard]] absl::Status CommitInOrder(const Ticket& ticket);

  // Loading at open, before any call is served, in this order: the state (returns
  // whether one was stored), the sources and rules, the change log's first entry.
  absl::StatusOr<bool> LoadState(const store::Reader& snap);
  [[nodiscard]] absl::Status LoadRegistry(const store::Reader& snap);
  [[nodiscard]] absl::Status LoadChangeLog(const store::Reader& snap);

  // Calls f(state, sources, rules) on the published ones, under the shared state lock:
  // `f` reads and returns, nothing more.
  template <typename F>
  auto Published(F&& f) const {
    absl::ReaderMutexLock r(&state_mu_);
    return f(state_, *sources_, *rules_);
  }
  // The published sources and rules (copy on write: they never change once taken).
  std::shared_ptr<const identity::SourceRegistry> sources() const;
  std::shared_ptr<const identity::RuleSet> rules() const;
  // The published change-log sequence.
  Sequence sequence() const;
  // Blocks until the published sequence passes `after` or `timeout` ends; returns it.
  Sequence WaitForSequence(Sequence after, absl::Duration timeout) const;
  // The oldest change-log entry kept.
  Sequence first_change() const { return first_change_.load(); }
  // Replicated mode: every write the calling thread makes from now on records log
  // `position` (and `partial`) in the state it commits, in the same atomic batch; 0
  // stops. Writes from other threads (a rebuild, a bulk load's end) keep the position
  // already published.
  static void StampWrites(uint64_t position, bool partial);
  // Blocks until the published state records log `position` or `timeout` ends;
  // whether it does.
  bool WaitForPosition(uint64_t position, absl::Duration timeout) const;
  // Keys written by this process since it opened the database.
  uint64_t keys_written() const { return keys_written_.load(); }

  store::Store& store() const { return *store_; }

 private:
  // Writes `batch` with `state` in it and publishes state, and rules and sources when
  // not null.
  [[nodiscard]] absl::Status Commit(store::Batch& batch, const MetaState& state,
                                    std::shared_ptr<const identity::RuleSet> rules,
                                    std::shared_ptr<const identity::SourceRegistry> sources)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  void TrimChangeLog(Sequence sequence);
  // Waits until every issued batch is committed.
  void Drain() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  bool PipelineHasRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(pipe_mu_) {
    return committed_ + 1 >= issued_;
  }
  bool PipelineDrained() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(pipe_mu_) {
    return committed_ == issued_;
  }

  const std::unique_ptr<store::Store> store_;
  const DirectoryOptions& options_;

  // Held by every write; serialises batches in arrival order.
  absl::Mutex write_mu_;
  // Guards what readers share with writers. Writers hold write_mu_ too, so they may
  // read these under a reader lock and replace them under a writer lock.
  mutable absl::Mutex state_mu_ ABSL_ACQUIRED_AFTER(write_mu_);
  // Replaced whole (copy on write), so a writer can keep using the one it took.
  std::shared_ptr<const identity::SourceRegistry> sources_ ABSL_GUARDED_BY(state_mu_);
  std::shared_ptr<const identity::RuleSet> rules_ ABSL_GUARDED_BY(state_mu_);
  MetaState state_ ABSL_GUARDED_BY(state_mu_);
  // The ingest pipeline: tickets issued by Stage, committed in order.
  absl::Mutex pipe_mu_ ABSL_ACQUIRED_AFTER(write_mu_);
  uint64_t issued_ ABSL_GUARDED_BY(pipe_mu_) = 0;
  uint64_t committed_ ABSL_GUARDED_BY(pipe_mu_) = 0;
  // Set when a write fails: every batch applied over it fails too, until drained.
  bool poisoned_ ABSL_GUARDED_BY(pipe_mu_) = false;
  // The last applied batch and the state after it, while it may still be committing.
  std::shared_ptr<store::Batch> last_batch_ ABSL_GUARDED_BY(write_mu_);
  MetaState last_state_ ABSL_GUARDED_BY(write_mu_);
  std::atomic<uint64_t> keys_written_{0};
  // Oldest change-log entry kept; written by one committer at a time, read by feeds.
  std::atomic<Sequence> first_change_{1};
};

// "fragment 3: " style context on a status.
[[nodiscard]] absl::Status Prefixed(const absl::Status& s, const std::string& context);
// Puts (or deletes, for a row without a value) side rows into store::Cf::kScim.
void AddSideWrites(store::Batch& batch, const std::vector<SideWrite>& rows);

}  // namespace tessera::directory
