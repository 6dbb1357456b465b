#pragma once

// Private to server/directory: the Directory implementation, a facade over the parts
// that each own one concern (README.md lists them): the write path every write
// shares, ingest, the read side, admin, suppressions and erasure, the audit log and
// case outcomes. Each override forwards to one part.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/directory/admin.h"
#include "server/directory/audit.h"
#include "server/directory/bulk_load.h"
#include "server/directory/directory.h"
#include "server/directory/ingest.h"
#include "server/directory/outcomes.h"
#include "server/directory/privacy.h"
#include "server/directory/reads.h"
#include "server/directory/suppression.h"
#include "server/directory/write_path.h"
#include "server/text/analyzer.h"

namespace tessera::directory {

// Thread-safe, as Directory.
class DirectoryImpl final : public Directory {
 public:
  DirectoryImpl(std::unique_ptr<store::Store> store, const DirectoryOptions& options);

  // Loads sources, rules and counters; resumes an interrupted Rebuild.
  [[nodiscard]] absl::Status Load();

  absl::StatusOr<BatchResult> Ingest(std::vector<identity::Fragment> fragments,
                                     int64_t batch_time_ms) override {
    return ingester_.Ingest(std::move(fragments), batch_time_ms);
  }
  absl::StatusOr<BatchResult> IngestWith(std::vector<identity::Fragment> fragments,
                                         int64_t batch_time_ms,
                                         std::vector<SideWrite> side) override {
    return ingester_.IngestWith(std::move(fragments), batch_time_ms, side);
  }
  const store::Reader& SideReader() const override { return write_.store().Latest(); }
  void SetSideEraser(SideEraser eraser) override { erasure_.SetSideEraser(std::move(eraser)); }
  store::Store::Figures StoreFigures() const override { return write_.store().GetFigures(); }
  std::string DefaultRegion() const override { return options_.normalise.default_region; }

  absl::StatusOr<ProfileView> GetProfile(const ProfileRef& ref) const override {
    return reads_.GetProfile(ref);
  }
  absl::StatusOr<index::NamePage> SearchPeople(index::NameQuery query) const override {
    return reads_.SearchPeople(std::move(query));
  }
  absl::StatusOr<NeighborsView> Neighbors(const NeighborsQuery& query) const override {
    return reads_.Neighbors(query);
  }
  absl::StatusOr<HistoryView> History(const HistoryQuery& query) const override {
    return reads_.History(query);
  }
  absl::StatusOr<FragmentView> GetFragment(const FragmentName& name) const override {
    return reads_.GetFragment(name);
  }
  absl::StatusOr<bool> Linked(ProfileId a, ProfileId b,
                              const std::vector<std::string>& relations) const override {
    return reads_.Linked(a, b, relations);
  }
  absl::StatusOr<ChangesPage> ReadChanges(const ChangesQuery& query) const override {
    return reads_.ReadChanges(query);
  }
  Sequence WaitForChanges(Sequence after, absl::Duration timeout) const override {
    return reads_.WaitForChanges(after, timeout);
  }
  absl::StatusOr<expertise::Ranking> FindExperts(const expertise::Query& query) const override {
    return reads_.FindExperts(query);
  }
  absl::StatusOr<OutcomeResult> RecordOutcome(const CaseOutcome& outcome) override {
    return outcomes_.Record(outcome);
  }

  absl::StatusOr<SourceInfo> PutSource(identity::Source source, bool priority_if_new) override {
    return admin_.PutSource(std::move(source), priority_if_new);
  }
  std::vector<SourceInfo> ListSources() const override { return admin_.ListSources(); }
  bool HasSource(std::string_view id) const override { return admin_.HasSource(id); }
  absl::StatusOr<SourceInfo> ReportSync(std::string_view source_id, SyncRun run) override {
    return admin_.ReportSync(source_id, std::move(run));
  }
  absl::StatusOr<Stats> GetStats() const override { return admin_.GetStats(); }
  absl::StatusOr<ConflictPage> ListConflicts(size_t page_size,
                                             const std::string& page_token) const override {
    return admin_.ListConflicts(page_size, page_token);
  }
  absl::StatusOr<MergeResult> Merge(const std::vector<ProfileId>& ids, const std::string& reason,
                                    int64_t now_ms) override {
    return admin_.Merge(ids, reason, now_ms);
  }
  absl::StatusOr<SplitResult> Split(ProfileId id, const std::vector<FragmentName>& fragments,
                                    const std::string& reason, int64_t now_ms) override {
    return admin_.Split(id, fragments, reason, now_ms);
  }
  std::vector<RuleView> ListRules() const override { return admin_.ListRules(); }
  [[nodiscard]] absl::Status DeleteRule(uint64_t id) override { return admin_.DeleteRule(id); }

  [[nodiscard]] absl::Status AppendAudit(AuditEntry entry) override {
    return audit_.Append(std::move(entry));
  }
  absl::StatusOr<AuditPage> ReadAudit(Sequence after, size_t limit) const override {
    return audit_.Read(after, limit);
  }
  absl::StatusOr<uint64_t> TrimAudit(int64_t before_ms) override { return audit_.Trim(before_ms); }
  absl::StatusOr<EraseResult> Erase(const ProfileRef& who, AuditEntry audit) override {
    // A running bulk load holds postings of the person's words in memory and in sorted
    // runs on disk: they are ingested (and their files removed) first, so the erasure
    // removes them with the rest.
    if (absl::StatusOr<store::Store::BulkFigures> f = bulk_.Finish(); !f.ok()) return f.status();
    return erasure_.Erase(who, std::move(audit));
  }

  absl::StatusOr<Sequence> Backup(const std::string& path) override {
    // A backup taken during a bulk load would have to be rebuilt when restored.
    if (absl::StatusOr<store::Store::BulkFigures> f = bulk_.Finish(); !f.ok()) return f.status();
    return admin_.Backup(path);
  }
  absl::StatusOr<RebuildResult> Rebuild() override { return admin_.Rebuild(); }
  [[nodiscard]] absl::Status Compact() override { return write_.store().CompactAll(); }
  absl::StatusOr<std::string> DerivedDigest() const override { return admin_.DerivedDigest(); }
  [[nodiscard]] absl::Status BeginBulk() override { return bulk_.Begin(); }
  absl::StatusOr<store::Store::BulkFigures> FinishBulk() override { return bulk_.Finish(); }
  bool BulkActive() const override { return bulk_.Active(); }
  LogPosition Position() const override;
  [[nodiscard]] absl::Status AwaitPosition(uint64_t position,
                                           absl::Duration timeout) const override;
  void StampWrites(uint64_t position, bool partial) override {
    WritePath::StampWrites(position, partial);
  }
  [[nodiscard]] absl::Status CommitPosition(uint64_t position) override;
  [[nodiscard]] absl::Status ApplyAudit(std::vector<AuditEntry> entries) override;
  ReplicaStatus Replication() const override { return {}; }

 private:
  // Uses (or records) the database's default phone region; see DirectoryOptions.
  [[nodiscard]] absl::Status SettleRegion(const store::Reader& snap);
  // Rebuilds derived data written with another layout (kDerivedLayout), then records ours.
  [[nodiscard]] absl::Status CheckIndexLayout(const store::Reader& snap, bool existing);

  // Set at construction; Load() settles the phone region from the database, before
  // any call is served. The parts keep references to it and to the analyzer.
  DirectoryOptions options_;
  const text::Analyzer analyzer_;
  // In dependency order: each part is built from the ones before it.
  WritePath write_;
  AuditLog audit_;
  Suppressions suppressions_;
  ReadPath reads_;
  Ingester ingester_;
  Admin admin_;
  Erasure erasure_;
  Outcomes outcomes_;
  BulkLoads bulk_;  // last: finishing a bulk load at close uses the parts above
};

}  // namespace tessera::directory
