#pragma once

// Private to server/directory: the Directory implementation, split by concern over
// ingest.cc (writes), derive.cc (graph and indexes following linking), reads.cc and
// admin.cc.

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/directory/directory.h"
#include "server/directory/keyed_hash.h"
#include "server/directory/state.h"
#include "server/identity/linker.h"

namespace tessera::directory {

class DirectoryImpl final : public Directory {
 public:
  DirectoryImpl(std::unique_ptr<store::Store> store, const DirectoryOptions& options);

  // Loads sources, rules and counters; resumes an interrupted Rebuild.
  [[nodiscard]] absl::Status Load();
  // Uses (or records) the database's default phone region; see DirectoryOptions.
  [[nodiscard]] absl::Status SettleRegion(const store::Snapshot& snap);
  [[nodiscard]] absl::Status CheckIndexLayout(const store::Reader& snap, bool existing);

  absl::StatusOr<BatchResult> Ingest(std::vector<identity::Fragment> fragments,
                                     int64_t batch_time_ms) override {
    return IngestWith(std::move(fragments), batch_time_ms, {});
  }
  absl::StatusOr<BatchResult> IngestWith(std::vector<identity::Fragment> fragments,
                                         int64_t batch_time_ms,
                                         std::vector<SideWrite> side) override;
  const store::Reader& SideReader() const override { return store_->Latest(); }
  void SetSideEraser(SideEraser eraser) override {
    absl::MutexLock w(&write_mu_);
    side_eraser_ = std::move(eraser);
  }
  store::Store::Figures StoreFigures() const override { return store_->GetFigures(); }
  std::string DefaultRegion() const override { return options_.normalise.default_region; }
  bool HasSource(std::string_view id) const override {
    absl::ReaderMutexLock r(&state_mu_);
    return sources_->Find(id) != nullptr;
  }
  absl::StatusOr<ProfileView> GetProfile(const ProfileRef& ref) const override;
  absl::StatusOr<index::NamePage> SearchPeople(index::NameQuery query) const override;
  absl::StatusOr<NeighborsView> Neighbors(const NeighborsQuery& query) const override;
  absl::StatusOr<FragmentView> GetFragment(const FragmentName& name) const override;
  absl::StatusOr<bool> Linked(uint64_t a, uint64_t b,
                              const std::vector<std::string>& relations) const override;
  absl::StatusOr<ChangesPage> ReadChanges(const ChangesQuery& query) const override;
  uint64_t WaitForChanges(uint64_t after, absl::Duration timeout) const override;
  absl::StatusOr<expertise::Ranking> FindExperts(const expertise::Query& query) const override;
  // FindExperts without the timing.
  absl::StatusOr<expertise::Ranking> Rank(const expertise::Query& query) const;
  absl::StatusOr<OutcomeResult> RecordOutcome(const CaseOutcome& outcome) override;
  absl::StatusOr<OutcomeResult> WithdrawOutcome(const CaseOutcome& outcome);
  absl::StatusOr<HistoryView> History(const HistoryQuery& query) const override;
  absl::StatusOr<SourceInfo> PutSource(identity::Source source, bool priority_if_new) override;
  std::vector<SourceInfo> ListSources() const override;
  absl::StatusOr<SourceInfo> ReportSync(std::string_view source_id, SyncRun run) override;
  absl::StatusOr<Stats> GetStats() const override;
  absl::StatusOr<ConflictPage> ListConflicts(size_t page_size,
                                             const std::string& page_token) const override;
  absl::StatusOr<MergeResult> Merge(const std::vector<uint64_t>& ids, const std::string& reason,
                                    int64_t now_ms) override;
  absl::StatusOr<SplitResult> Split(uint64_t id, const std::vector<FragmentName>& fragments,
                                    const std::string& reason, int64_t now_ms) override;
  std::vector<RuleView> ListRules() const override;
  [[nodiscard]] absl::Status DeleteRule(uint64_t id) override;
  absl::Status AppendAudit(AuditEntry entry) override;
  absl::StatusOr<AuditPage> ReadAudit(uint64_t after, size_t limit) const override;
  absl::StatusOr<uint64_t> TrimAudit(int64_t before_ms) override;
  absl::StatusOr<EraseResult> Erase(const ProfileRef& who, AuditEntry audit) override;
  absl::StatusOr<uint64_t> Backup(const std::string& path) override;
  absl::StatusOr<RebuildResult> Rebuild() override;
  absl::StatusOr<std::string> DerivedDigest() const override;
  [[nodiscard]] absl::Status Compact() override { return store_->CompactAll(); }

 private:
  // The people holding case `case_id` (expertise/cases.h Holds), by id.
  absl::StatusOr<std::vector<index::PersonSummary>> Holders(const store::Reader& reader,
                                                            uint64_t case_id) const;
  // Registers source `id` unless it is.
  [[nodiscard]] absl::Status EnsureSource(const char* id, const char* kind, int32_t priority,
                                          const char* what);
  // Creates the case a hand-over names from its message (RecordOutcome).
  [[nodiscard]] absl::Status CreateCase(const CaseOutcome& o, const std::string& case_value);
  // What one write operation works on; committed together by Commit.
  struct WriteContext {
    store::Batch& batch;
    MetaState& state;
    const identity::SourceRegistry& sources;
    const identity::RuleSet& rules;
    int64_t time_ms;
    bool log_changes;
  };

  // ingest.cc
  [[nodiscard]] absl::Status ApplyOne(WriteContext& ctx, identity::Fragment& f, uint32_t source_num,
                                      Outcome* outcome, uint64_t* profile_id);
  // Links `changes` and derives the graph, indexes and change log from the result.
  absl::StatusOr<identity::LinkResult> Relink(WriteContext& ctx,
                                              std::span<const identity::Change> changes);
  // Writes the state into the batch, commits it, then publishes state/rules/sources.
  [[nodiscard]] absl::Status Commit(store::Batch& batch, const MetaState& state,
                                    const identity::RuleSet* rules,
                                    const identity::SourceRegistry* sources)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  void TrimChangeLog(uint64_t sequence);
  // Ingest's first stage (under write_mu_): applies the batch over the one still
  // committing, if any, and takes a ticket. The second stage, CommitInOrder, writes it
  // after every earlier ticket, without write_mu_, so the next batch is applied while
  // this one is written.
  absl::StatusOr<uint64_t> ApplyStage(std::vector<identity::Fragment>& fragments,
                                      int64_t batch_time_ms, const std::vector<SideWrite>& side,
                                      BatchResult& result, std::shared_ptr<store::Batch>& batch,
                                      MetaState& state);
  [[nodiscard]] absl::Status CommitInOrder(uint64_t ticket, store::Batch& batch,
                                           const MetaState& state);
  // Waits until every issued batch is committed; admin writes call it first.
  void Drain() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  bool PipelineHasRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(pipe_mu_) {
    return committed_ + 1 >= issued_;
  }
  bool PipelineDrained() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(pipe_mu_) {
    return committed_ == issued_;
  }

  // privacy.cc
  // Loads the audit sequence and whether anything is suppressed.
  [[nodiscard]] absl::Status LoadPrivacy(const store::Reader& snap);
  // Puts `entry` into `batch` under the next audit sequence (audit_mu_ held).
  void PutAudit(store::Batch& batch, AuditEntry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(audit_mu_);
  // The keyed hash of an identifier (IdentKey) or a fragment (source id, external id).
  std::string SuppressionHash(char domain, std::string_view a, std::string_view b) const;
  // Whether `f` (validated) names an erased person; false quickly when none is.
  absl::StatusOr<bool> IsSuppressed(const store::Reader& reader, const identity::Fragment& f) const;
  // The suppression key: the configured one, or the database's (made when missing).
  [[nodiscard]] absl::Status EnsureSuppressionKey(store::Batch& batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // derive.cc
  [[nodiscard]] absl::Status Derive(WriteContext& ctx, const identity::LinkResult& link);

  // admin.cc
  // Relinks every live fragment in `fragkeys`, committing in chunks.
  [[nodiscard]] absl::Status RelinkFragments(const std::vector<std::string>& fragkeys,
                                             MetaState& state, const identity::RuleSet& rules,
                                             const identity::SourceRegistry& sources,
                                             bool log_changes, int64_t time_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::StatusOr<RebuildResult> RebuildLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // reads.cc
  absl::StatusOr<ProfileView> GetProfileFrom(const store::Reader& reader,
                                             const ProfileRef& ref) const;
  // `absent`, when given, receives the NOT_FOUND message for `ref` naming no profile.
  absl::StatusOr<uint64_t> Resolve(const store::Reader& reader, const ProfileRef& ref,
                                   std::string* absent = nullptr) const;
  // The profile `ref` names, if present and visible under ref.visible; else NOT_FOUND
  // worded as for an absent one.
  absl::StatusOr<identity::Profile> ReadVisible(const store::Reader& reader, const ProfileRef& ref,
                                                uint64_t* id) const;
  FragmentName NameOf(std::string_view fragkey) const;
  std::vector<FragmentName> NamesOf(const std::vector<std::string>& fragkeys) const;
  absl::StatusOr<std::vector<ConflictView>> ConflictsOf(const store::Reader& reader,
                                                        uint64_t id) const;

  std::unique_ptr<store::Store> store_;
  // Set at construction; Load() settles the phone region from the database, before
  // any call is served.
  DirectoryOptions options_;
  const text::Analyzer analyzer_;

  // Held by every write; serialises batches in arrival order.
  absl::Mutex write_mu_;
  SideEraser side_eraser_ ABSL_GUARDED_BY(write_mu_);
  // Guards what readers share with writers. Writers hold write_mu_ too, so they may
  // read these under a reader lock and replace them under a writer lock.
  // Case states FindExperts read, for the queries after it on the same data.
  mutable expertise::CaseCache case_cache_;
  mutable absl::Mutex state_mu_;
  // Replaced whole (copy on write), so a writer can keep using the one it took.
  std::shared_ptr<const identity::SourceRegistry> sources_ ABSL_GUARDED_BY(state_mu_);
  std::shared_ptr<const identity::RuleSet> rules_ ABSL_GUARDED_BY(state_mu_);
  MetaState state_ ABSL_GUARDED_BY(state_mu_);
  // The ingest pipeline: tickets issued by ApplyStage, committed in order.
  absl::Mutex pipe_mu_;
  uint64_t issued_ ABSL_GUARDED_BY(pipe_mu_) = 0;
  uint64_t committed_ ABSL_GUARDED_BY(pipe_mu_) = 0;
  // Set when a write fails: every batch applied over it fails too, until drained.
  bool poisoned_ ABSL_GUARDED_BY(pipe_mu_) = false;
  // The last applied batch and the state after it, while it may still be committing.
  std::shared_ptr<store::Batch> last_batch_ ABSL_GUARDED_BY(write_mu_);
  MetaState last_state_ ABSL_GUARDED_BY(write_mu_);
  std::atomic<uint64_t> keys_written_{0};
  // The audit log's last sequence. Appends commit in groups: the first caller to find
  // no write under way writes every record queued meanwhile in one batch (so
  // concurrent readers of customers share one WAL write) while the others wait.
  // Sequences are assigned by that writer, in order and without gaps. Erase takes
  // the writer's place for its own batch (write_mu_ before audit_mu_).
  struct AuditWaiter {
    AuditEntry* entry;
    bool done = false;
    absl::Status status;
  };
  absl::Mutex audit_mu_;
  uint64_t audit_sequence_ ABSL_GUARDED_BY(audit_mu_) = 0;
  bool audit_writing_ ABSL_GUARDED_BY(audit_mu_) = false;
  std::vector<AuditWaiter*> audit_queue_ ABSL_GUARDED_BY(audit_mu_);
  // The suppression key and its hasher, and the first 8 bytes of every suppression
  // hash: ingest looks a fragment's hashes up in the database only on a match, and
  // hashes nothing while the set is empty. All under write_mu_ (ingest's apply stage
  // and Erase hold it).
  std::string suppression_key_;
  std::shared_ptr<const KeyedHash> hasher_;
  std::unordered_set<uint64_t> suppressed_prefixes_;
  // Oldest change-log entry kept; written by one committer at a time, read by feeds.
  std::atomic<uint64_t> first_change_{1};
};

// "fragment 3: " style context on a status.
[[nodiscard]] absl::Status Prefixed(const absl::Status& s, const std::string& context);
// Puts (or deletes, for a row without a value) side rows into store::Cf::kScim.
void AddSideWrites(store::Batch& batch, const std::vector<SideWrite>& rows);

}  // namespace tessera::directory
