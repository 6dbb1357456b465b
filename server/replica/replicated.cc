// Replica: the replicated Directory (replicated.h): publish, apply in log order, and
// hand each write's result back to the call that published it.

#include "server/replica/replicated.h"

#include <fcntl.h>
#include <unistd.h>

#include <any>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/metrics/metrics.h"
#include "server/replica/command.h"

namespace tessera::replica {
namespace {

using directory::AuditEntry;
using directory::Directory;

// Audit records published in one message at most (each is ~100-300 bytes).
constexpr size_t kAuditGroup = 512;

// How long the log may end before this replica's position before applying stops
// (ApplyLoop): longer than a stream leader election takes here (5-7 s, 29 s once
// under ASan on 2 cores; replication_test).
constexpr std::chrono::seconds kShortLogGrace{60};

// Errors of this replica's own store, not of the command: applying stops, since the
// other replicas applied it and this one cannot follow.
bool LocalFailure(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kResourceExhausted:
      return true;
    default:
      return false;
  }
}

// Tells this process's commands from an earlier one's of the same node.
uint64_t BootNonce() {
  std::random_device rd;
  return (uint64_t{rd()} << 32) ^ rd() ^
         static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
}

template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& r) {
  return r.status();
}
inline absl::Status StatusOf(const absl::Status& s) { return s; }

class ReplicatedDirectory final : public Directory {
 public:
  ReplicatedDirectory(std::unique_ptr<Directory> local, std::unique_ptr<Log> log,
                      ReplicaOptions options)
      : local_(std::move(local)),
        log_(std::move(log)),
        options_(std::move(options)),
        boot_(BootNonce()),
        origin_(options_.node + "/" + absl::StrCat(absl::Hex(boot_, absl::kZeroPad16))) {}

  ~ReplicatedDirectory() override {
    {
      absl::MutexLock l(&mu_);
      stopping_ = true;
    }
    if (applier_.joinable()) applier_.join();
  }
  ReplicatedDirectory(const ReplicatedDirectory&) = delete;
  ReplicatedDirectory& operator=(const ReplicatedDirectory&) = delete;

  void Start() {
    applier_ = std::thread([this] { ApplyLoop(); });
  }

  // --- Writes: published, then applied here ---

  absl::StatusOr<directory::BatchResult> Ingest(std::vector<identity::Fragment> fragments,
                                                int64_t batch_time_ms) override {
    Command c;
    c.type = CommandType::kIngest;
    c.fragments = std::move(fragments);
    c.time_ms = batch_time_ms;
    if (EncodeCommand(c).size() > log_->MaxMessageBytes()) return IngestInParts(std::move(c));
    return Run<absl::StatusOr<directory::BatchResult>>(std::move(c));
  }
  absl::StatusOr<directory::BatchResult> IngestWith(
      std::vector<identity::Fragment> fragments, int64_t batch_time_ms,
      std::vector<directory::SideWrite> side) override {
    Command c;
    c.type = CommandType::kIngestWith;
    c.fragments = std::move(fragments);
    c.time_ms = batch_time_ms;
    c.side = std::move(side);
    return Run<absl::StatusOr<directory::BatchResult>>(std::move(c));
  }
  absl::StatusOr<directory::OutcomeResult> RecordOutcome(
      const directory::CaseOutcome& outcome) override {
    Command c;
    c.type = CommandType::kRecordOutcome;
    c.outcome = outcome;
    return Run<absl::StatusOr<directory::OutcomeResult>>(std::move(c));
  }
  absl::StatusOr<directory::SourceInfo> PutSource(identity::Source source,
                                                  bool priority_if_new) override {
    Command c;
    c.type = CommandType::kPutSource;
    c.source = std::move(source);
    c.priority_if_new = priority_if_new;
    return Run<absl::StatusOr<directory::SourceInfo>>(std::move(c));
  }
  absl::StatusOr<directory::SourceInfo> ReportSync(std::string_view source_id,
                                                   directory::SyncRun run) override {
    Command c;
    c.type = CommandType::kReportSync;
    c.source.id = source_id;
    c.run = std::move(run);
    return Run<absl::StatusOr<directory::SourceInfo>>(std::move(c));
  }
  absl::StatusOr<directory::MergeResult> Merge(const std::vector<directory::ProfileId>& ids,
                                               const std::string& reason, int64_t now_ms) override {
    Command c;
    c.type = CommandType::kMerge;
    c.ids.assign(ids.begin(), ids.end());
    c.reason = reason;
    c.time_ms = now_ms;
    return Run<absl::StatusOr<directory::MergeResult>>(std::move(c));
  }
  absl::StatusOr<directory::SplitResult> Split(
      directory::ProfileId id, const std::vector<directory::FragmentName>& fragments,
      const std::string& reason, int64_t now_ms) override {
    Command c;
    c.type = CommandType::kSplit;
    c.ids = {id};
    c.names = fragments;
    c.reason = reason;
    c.time_ms = now_ms;
    return Run<absl::StatusOr<directory::SplitResult>>(std::move(c));
  }
  [[nodiscard]] absl::Status DeleteRule(uint64_t id) override {
    Command c;
    c.type = CommandType::kDeleteRule;
    c.ids = {id};
    return Run<absl::Status>(std::move(c));
  }
  absl::StatusOr<uint64_t> TrimAudit(int64_t before_ms) override {
    Command c;
    c.type = CommandType::kTrimAudit;
    c.time_ms = before_ms;
    return Run<absl::StatusOr<uint64_t>>(std::move(c));
  }
  absl::StatusOr<directory::EraseResult> Erase(const directory::ProfileRef& who,
                                               AuditEntry audit) override {
    // Who may erase whom is decided here, where the caller's filters are: the command
    // names the profile that check found.
    absl::StatusOr<directory::ProfileView> found = local_->GetProfile(who);
    if (!found.ok()) return found.status();
    Command c;
    c.type = CommandType::kErase;
    c.ids = {found->profile.id};
    c.audit = {std::move(audit)};
    return Run<absl::StatusOr<directory::EraseResult>>(std::move(c));
  }
  [[nodiscard]] absl::Status AppendAudit(AuditEntry entry) override;

  // Bulk loads are a plain-mode optimisation of one database's writes: a replica
  // applies bulk batches as ordinary ones.
  [[nodiscard]] absl::Status BeginBulk() override { return absl::OkStatus(); }
  absl::StatusOr<store::Store::BulkFigures> FinishBulk() override {
    return store::Store::BulkFigures{};
  }
  bool BulkActive() const override { return false; }

  // --- Reads: the local directory's, unless applying stopped ---

  const store::Reader& SideReader() const override { return local_->SideReader(); }
  void SetSideEraser(directory::SideEraser eraser) override {
    local_->SetSideEraser(std::move(eraser));
  }
  store::Store::Figures StoreFigures() const override { return local_->StoreFigures(); }
  std::string DefaultRegion() const override { return local_->DefaultRegion(); }
  absl::StatusOr<directory::ProfileView> GetProfile(
      const directory::ProfileRef& ref) const override {
    if (absl::Status s = Serving(); !s.ok()) return s;
    return local_->GetProfile(ref);
  }
  absl::StatusOr<index::NamePage> SearchPeople(index::NameQuery query) const override {
    if (absl::Status s = Serving(); !s.ok()) return s;
    return local_->SearchPeople(std::move(query));
  }
  absl::StatusOr<directory::NeighborsView> Neighbors(
      const directory::NeighborsQuery& query) const override {
    if (absl::Status s = Serving(); !s.ok()) return s;
    return local_->Neighbors(query);
  }
  absl::StatusOr<directory::HistoryView> History(
      const directory::HistoryQuery& query) const override {
    if (absl::Status s = Serving(); !s.ok()) return s;
    return local_->History(query);
  }
  absl::StatusOr<directory::FragmentView> GetFragment(
      const directory::FragmentName& name) const override {
    if (absl::Status s = Serving(); !s.ok()) return s;
    return local_->GetFragment(name);
  }
  absl::StatusOr<bool> Linked(directory::ProfileId a, directory::ProfileId b,
                              const std::vector<std::string>& relations) const override {
    if (absl::Status s = Serving(); !s.ok()) return s;
    return local_->Linked(a, b, relations);
  }
  absl::StatusOr<directory::ChangesPage> ReadChanges(
      const directory::ChangesQuery& query) const override {
    if (absl::Status s = Serving(); !s.ok()) return s;
    return local_->ReadChanges(query);
  }
  directory::Sequence WaitForChanges(directory::Sequence after,
                                     absl::Duration timeout) const override {
    return local_->WaitForChanges(after, timeout);
  }
  absl::StatusOr<expertise::Ranking> FindExperts(const expertise::Query& query) const override {
    if (absl::Status s = Serving(); !s.ok()) return s;
    return local_->FindExperts(query);
  }
  std::vector<directory::SourceInfo> ListSources() const override { return local_->ListSources(); }
  bool HasSource(std::string_view id) const override { return local_->HasSource(id); }
  absl::StatusOr<directory::Stats> GetStats() const override { return local_->GetStats(); }
  absl::StatusOr<directory::ConflictPage> ListConflicts(
      size_t page_size, const std::string& page_token) const override {
    return local_->ListConflicts(page_size, page_token);
  }
  std::vector<directory::RuleView> ListRules() const override { return local_->ListRules(); }
  absl::StatusOr<directory::AuditPage> ReadAudit(directory::Sequence after,
                                                 size_t limit) const override {
    return local_->ReadAudit(after, limit);
  }

  // --- This replica's own maintenance ---

  absl::StatusOr<directory::Sequence> Backup(const std::string& path) override {
    return local_->Backup(path);  // the checkpoint records its log position
  }
  absl::StatusOr<directory::RebuildResult> Rebuild() override { return local_->Rebuild(); }
  [[nodiscard]] absl::Status Compact() override { return local_->Compact(); }
  absl::StatusOr<std::string> DerivedDigest() const override { return local_->DerivedDigest(); }

  // --- Replication ---

  directory::LogPosition Position() const override { return local_->Position(); }
  [[nodiscard]] absl::Status AwaitPosition(uint64_t position,
                                           absl::Duration timeout) const override {
    if (absl::Status s = Serving(); !s.ok()) return s;
    return local_->AwaitPosition(position, timeout);
  }
  void StampWrites(uint64_t position, bool partial) override {
    local_->StampWrites(position, partial);
  }
  [[nodiscard]] absl::Status CommitPosition(uint64_t position) override {
    return local_->CommitPosition(position);
  }
  [[nodiscard]] absl::Status ApplyAudit(std::vector<AuditEntry> entries) override {
    return local_->ApplyAudit(std::move(entries));
  }
  directory::ReplicaStatus Replication() const override {
    directory::ReplicaStatus st;
    st.replicated = true;
    st.node = options_.node;
    st.applied = local_->Position().applied;
    absl::MutexLock l(&mu_);
    // As last heard (every second), and never behind what was applied since.
    st.log_last = std::max(log_last_, st.applied);
    st.lag = log_last_ > st.applied ? log_last_ - st.applied : 0;
    st.log_reachable = log_reachable_;
    st.lagging = options_.max_read_lag > 0 && st.lag > options_.max_read_lag;
    st.stopped = stopped_;
    return st;
  }

 private:
  // A call waiting for its command to be applied here.
  struct Pending {
    bool done = false;
    std::any result;
  };

  absl::Status Serving() const {
    absl::MutexLock l(&mu_);
    if (stopped_.empty()) return absl::OkStatus();
    return absl::UnavailableError("this replica stopped applying the replicated log (" + stopped_ +
                                  "): read from another replica");
  }

  // Publishes `c` and waits for this replica to apply it; R is the call's result type.
  template <typename R>
  R Run(Command c) {
    if (absl::Status s = Serving(); !s.ok()) return s;
    uint64_t serial = 0;
    Pending pending;
    {
      absl::MutexLock l(&mu_);
      serial = ++serial_;
      pending_[serial] = &pending;
    }
    c.origin = origin_;
    c.serial = serial;
    const std::string name(CommandName(c.type));
    absl::StatusOr<uint64_t> position = log_->Publish("cmd", EncodeCommand(c), MessageId(c));
    absl::MutexLock l(&mu_);
    if (position.ok()) {
      struct Ready {
        const ReplicatedDirectory* self;
        const Pending* p;
        static bool Done(Ready* r) ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return r->p->done || !r->self->stopped_.empty();
        }
      } ready{this, &pending};
      mu_.AwaitWithTimeout(absl::Condition(&Ready::Done, &ready), options_.apply_wait);
    }
    pending_.erase(serial);
    if (!position.ok()) return position.status();
    if (pending.done) return std::any_cast<R>(std::move(pending.result));
    if (!stopped_.empty()) {
      return absl::UnavailableError(name + " was written to the log at position " +
                                    std::to_string(*position) +
                                    " but this replica stopped applying it (" + stopped_ + ")");
    }
    return absl::DeadlineExceededError(
        name + " was written to the log at position " + std::to_string(*position) +
        " but not applied here within " + absl::FormatDuration(options_.apply_wait) +
        "; it will be: read with min_position " + std::to_string(*position));
  }

  // An ingest command over the log's largest message, sent as several in order.
  absl::StatusOr<directory::BatchResult> IngestInParts(Command whole);
  void ApplyLoop();
  // Applies one message; an error stops the applier.
  absl::Status Apply(const LogMessage& m);
  template <typename R>
  void Deliver(const Command& c, R result);
  // The message id the stream de-duplicates a command's retries by.
  static std::string MessageId(const Command& c) {
    return c.origin + "-" + std::to_string(c.serial);
  }
  [[nodiscard]] absl::Status Spool(uint64_t serial, const std::string& data);
  // Publishes the spooled audit records, oldest first, while the log takes them.
  void FlushSpool();
  void Stop(const std::string& why) {
    if (options_.notice) options_.notice("replication stopped: " + why);
    absl::MutexLock l(&mu_);
    stopped_ = why;
  }
  // Refreshes the log's bounds (lag, reachability); says what is wrong when the log no
  // longer holds position `next`. `ends` gets the log's last position when it ends
  // before this replica's (next − 1), else is left alone.
  std::optional<std::string> CheckBounds(uint64_t next, std::optional<uint64_t>* ends);
  // Whether the log's message at `position` is the one this replica applied there
  // (`digest` of its data); nullopt when it could not be read now.
  std::optional<bool> LogHolds(uint64_t position, size_t digest);

  const std::unique_ptr<Directory> local_;
  const std::unique_ptr<Log> log_;
  const ReplicaOptions options_;
  const uint64_t boot_;
  const std::string origin_;
  std::thread applier_;
  std::atomic<uint64_t> spooled_{0};

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::string stopped_ ABSL_GUARDED_BY(mu_);
  uint64_t serial_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, Pending*> pending_ ABSL_GUARDED_BY(mu_);
  uint64_t log_last_ ABSL_GUARDED_BY(mu_) = 0;
  bool log_reachable_ ABSL_GUARDED_BY(mu_) = false;

  // Audit records waiting to be published, group commit style.
  struct AuditWaiter {
    AuditEntry entry;
    bool done = false;
    absl::Status status;
  };
  absl::Mutex audit_mu_;
  bool audit_publishing_ ABSL_GUARDED_BY(audit_mu_) = false;
  std::vector<AuditWaiter*> audit_queue_ ABSL_GUARDED_BY(audit_mu_);
};

template <typename R>
void ReplicatedDirectory::Deliver(const Command& c, R result) {
  if (c.origin != origin_) return;
  absl::MutexLock l(&mu_);
  auto it = pending_.find(c.serial);
  if (it == pending_.end()) return;  // the call gave up waiting
  it->second->result = std::move(result);
  it->second->done = true;
}

absl::Status ReplicatedDirectory::AppendAudit(AuditEntry entry) {
  // The first caller to find no publish under way publishes every record queued
  // meanwhile as one message; the others wait for it (as the local audit log does
  // with its writes). A record is acknowledged once the log holds it; every replica
  // appends it when it applies that message.
  absl::MutexLock a(&audit_mu_);
  AuditWaiter me{std::move(entry)};
  audit_queue_.push_back(&me);
  struct Turn {
    ReplicatedDirectory* self;
    AuditWaiter* me;
    static bool Come(Turn* t) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return t->me->done || (!t->self->audit_publishing_ && t->self->audit_queue_.front() == t->me);
    }
  } turn{this, &me};
  audit_mu_.Await(absl::Condition(&Turn::Come, &turn));
  if (me.done) return me.status;
  audit_publishing_ = true;
  std::vector<AuditWaiter*> group;
  const size_t n = std::min(kAuditGroup, audit_queue_.size());
  group.assign(audit_queue_.begin(), audit_queue_.begin() + static_cast<ptrdiff_t>(n));
  audit_queue_.erase(audit_queue_.begin(), audit_queue_.begin() + static_cast<ptrdiff_t>(n));
  Command c;
  c.type = CommandType::kAudit;
  c.origin = origin_;
  {
    absl::MutexLock l(&mu_);
    c.serial = ++serial_;
  }
  for (const AuditWaiter* w : group) c.audit.push_back(w->entry);
  audit_mu_.Unlock();
  const std::string data = EncodeCommand(c);
  absl::Status status = log_->Publish("audit", data, MessageId(c)).status();
  if (status.code() == absl::StatusCode::kUnavailable && !options_.audit_spool.empty()) {
    // The log is unreachable: keep the records on disk, published when it is back.
    status = Spool(c.serial, data);
  }
  audit_mu_.Lock();
  for (AuditWaiter* w : group) w->done = true, w->status = status;
  audit_publishing_ = false;
  return me.status;
}

absl::Status ReplicatedDirectory::Spool(uint64_t serial, const std::string& data) {
  std::error_code ec;
  std::filesystem::create_directories(options_.audit_spool, ec);
  // Named by boot and serial, so the files sort in the order they were written.
  char name[64];
  std::snprintf(name, sizeof(name), "%016llx-%020llu.audit", static_cast<unsigned long long>(boot_),
                static_cast<unsigned long long>(serial));
  const std::string path = options_.audit_spool + "/" + name;
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0;
  if (ok) ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  if (ok) ok = ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (ok) ok = ::rename(tmp.c_str(), path.c_str()) == 0;
  if (!ok) {
    return absl::UnavailableError("the replicated log is unreachable and the audit spool " +
                                  options_.audit_spool + " cannot be written");
  }
  if (spooled_.fetch_add(1) == 0 && options_.notice) {
    options_.notice("audit: the replicated log is unreachable; audit records are kept in " +
                    options_.audit_spool + " until it is back");
  }
  return absl::OkStatus();
}

void ReplicatedDirectory::FlushSpool() {
  if (options_.audit_spool.empty()) return;
  std::error_code ec;
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(options_.audit_spool, ec)) {
    if (e.path().extension() == ".audit") files.push_back(e.path().string());
  }
  if (files.empty()) return;
  std::sort(files.begin(), files.end());
  size_t sent = 0;
  for (const std::string& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Command c;
    if (absl::Status s = DecodeCommand(data, &c); !s.ok()) {
      if (options_.notice) options_.notice("audit spool: " + f + " is corrupt, kept aside");
      std::filesystem::rename(f, f + ".corrupt", ec);
      continue;
    }
    // The same message id as the first try: a record published before a crash is
    // stored once (within the stream's duplicate window).
    if (!log_->Publish("audit", data, MessageId(c)).ok()) return;  // the next round
    std::filesystem::remove(f, ec);
    ++sent;
  }
  spooled_ = 0;
  if (options_.notice) {
    options_.notice("audit: " + std::to_string(sent) +
                    " spooled group(s) of audit records "
                    "published to the replicated log");
  }
}

absl::StatusOr<directory::BatchResult> ReplicatedDirectory::IngestInParts(Command whole) {
  // Checked whole first, as one plain-mode batch is, so that an invalid fragment
  // refuses the batch before any part of it is in the log.
  const size_t limit = log_->MaxMessageBytes();
  if (whole.fragments.size() > options_.limits.max_batch_fragments) {
    return absl::InvalidArgumentError("batch has " + std::to_string(whole.fragments.size()) +
                                      " fragments, the limit is " +
                                      std::to_string(options_.limits.max_batch_fragments));
  }
  std::vector<size_t> sizes;
  for (size_t i = 0; i < whole.fragments.size(); ++i) {
    identity::Fragment copy = whole.fragments[i];
    absl::Status s = identity::Validate(copy, options_.limits, options_.normalise);
    Command one;
    one.fragments.push_back(whole.fragments[i]);
    sizes.push_back(EncodeCommand(one).size());
    if (s.ok() && sizes.back() > limit) {
      s = absl::InvalidArgumentError("is " + std::to_string(sizes.back()) +
                                     " bytes encoded, over the replicated log's largest message (" +
                                     std::to_string(limit) +
                                     " bytes: raise max_payload on the NATS servers)");
    }
    if (!s.ok()) {
      absl::Status out(s.code(), "fragment " + std::to_string(i) + ": " + std::string(s.message()));
      out.SetPayload(directory::kFragmentIndexPayload, absl::Cord(std::to_string(i)));
      return out;
    }
  }
  directory::BatchResult total;
  size_t i = 0;
  while (i < whole.fragments.size()) {
    Command part;
    part.type = CommandType::kIngest;
    part.time_ms = whole.time_ms;
    size_t bytes = 64;
    const size_t first = i;
    while (i < whole.fragments.size() && (part.fragments.empty() || bytes + sizes[i] <= limit)) {
      bytes += sizes[i];
      part.fragments.push_back(std::move(whole.fragments[i++]));
    }
    absl::StatusOr<directory::BatchResult> r =
        Run<absl::StatusOr<directory::BatchResult>>(std::move(part));
    if (!r.ok()) {
      std::string where = "fragments " + std::to_string(first) + " to " + std::to_string(i - 1) +
                          " (the batch was over the log's largest message and sent in parts; "
                          "fragments before " +
                          std::to_string(first) + " were applied): ";
      absl::Status out(r.status().code(), where + std::string(r.status().message()));
      if (auto index = r.status().GetPayload(directory::kFragmentIndexPayload)) {
        size_t k = 0;
        if (absl::SimpleAtoi(std::string(*index), &k)) {
          out.SetPayload(directory::kFragmentIndexPayload, absl::Cord(std::to_string(first + k)));
        }
      }
      return out;
    }
    total.outcomes.insert(total.outcomes.end(), r->outcomes.begin(), r->outcomes.end());
    total.profile_ids.insert(total.profile_ids.end(), r->profile_ids.begin(), r->profile_ids.end());
    total.counts.added += r->counts.added;
    total.counts.updated += r->counts.updated;
    total.counts.unchanged += r->counts.unchanged;
    total.counts.stale += r->counts.stale;
    total.counts.deleted += r->counts.deleted;
    total.counts.suppressed += r->counts.suppressed;
    total.sequence = r->sequence;
  }
  return total;
}

std::optional<std::string> ReplicatedDirectory::CheckBounds(uint64_t next,
                                                            std::optional<uint64_t>* ends) {
  absl::StatusOr<LogBounds> b = log_->Bounds();
  {
    absl::MutexLock l(&mu_);
    log_reachable_ = b.ok();
    if (b.ok()) log_last_ = b->last;
  }
  if (!b.ok()) return std::nullopt;
  if (b->first > next) {
    metrics::Global().AddReplicaGap();
    return "gap in the log: this replica needs position " + std::to_string(next) +
           " but the log starts at " + std::to_string(b->first) +
           " (its retention dropped the rest: restore this replica from a backup of another "
           "replica, replica/README.md)";
  }
  if (b->last + 1 < next) *ends = b->last;
  return std::nullopt;
}

std::optional<bool> ReplicatedDirectory::LogHolds(uint64_t position, size_t digest) {
  absl::StatusOr<std::unique_ptr<Log::Reader>> r = log_->Read(position);
  if (!r.ok()) return std::nullopt;
  absl::StatusOr<std::optional<LogMessage>> m = (*r)->Next(absl::Seconds(2));
  if (!m.ok() || !m->has_value() || (*m)->position != position) return std::nullopt;
  return std::hash<std::string_view>{}((*m)->data) == digest;
}

void ReplicatedDirectory::ApplyLoop() {
  const directory::LogPosition at = local_->Position();
  // A command only partly applied when the process stopped is applied again: its
  // writes so far are ones it makes again alike (ingest says "unchanged").
  uint64_t next = at.partial ? at.applied : at.applied + 1;
  if (options_.notice) {
    options_.notice("replication: node " + options_.node + " applies the log from position " +
                    std::to_string(next));
  }
  std::unique_ptr<Log::Reader> reader;
  auto last_bounds = std::chrono::steady_clock::now() - std::chrono::seconds(10);
  auto last_message = std::chrono::steady_clock::now();
  bool reported_unreachable = false;
  // When the log ends before this replica's position, nothing is applied until it
  // holds that position again with the command this replica applied there. Right after
  // a stream leader is lost, the new one can report the stream before it has applied
  // all it holds (seen: one position short, under load); a stream that was recreated
  // or lost messages stays short, or holds another command there, and applying stops.
  bool log_short = false;
  auto short_since = std::chrono::steady_clock::now();
  std::optional<size_t> applied_digest;  // of the command applied at next − 1
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (stopping_ || !stopped_.empty()) return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_bounds > std::chrono::seconds(1)) {
      last_bounds = now;
      std::optional<uint64_t> ends;
      if (std::optional<std::string> wrong = CheckBounds(next, &ends)) {
        Stop(*wrong);
        return;
      }
      const std::string lost =
          " (the stream was recreated or lost messages: this replica's data is not the log's)";
      // While the log is unreachable nothing is known of it: a short one stays paused.
      const bool reachable = Replication().log_reachable;
      if (reachable && ends && !log_short) {
        log_short = true;
        short_since = now;
        if (options_.notice) {
          options_.notice("replication: the log ends at position " + std::to_string(*ends) +
                          ", before this replica's " + std::to_string(next - 1) +
                          ": applying waits until it holds that position again");
        }
      } else if (reachable && ends && now - short_since >= kShortLogGrace) {
        Stop("the log ends at position " + std::to_string(*ends) + " but this replica applied " +
             std::to_string(next - 1) + lost);
        return;
      } else if (reachable && !ends && log_short) {
        std::optional<bool> same =
            applied_digest ? LogHolds(next - 1, *applied_digest) : std::optional<bool>(true);
        if (same && !*same) {
          Stop("the log's position " + std::to_string(next - 1) +
               " is not the command this replica applied there" + lost);
          return;
        }
        if (!same && now - short_since >= kShortLogGrace) {
          Stop("the log's position " + std::to_string(next - 1) +
               " could not be read to check it is the command this replica applied there");
          return;
        }
        if (same) {
          log_short = false;
          reader.reset();  // read again from the position
          if (options_.notice)
            options_.notice("replication: the log holds this replica's position again");
        }
      }
      if (Replication().log_reachable) FlushSpool();
    }
    if (log_short) {
      absl::MutexLock l(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(200));
      continue;
    }
    if (reader == nullptr) {
      absl::Status s = log_->EnsureStream();
      absl::StatusOr<std::unique_ptr<Log::Reader>> r =
          s.ok() ? log_->Read(next) : absl::StatusOr<std::unique_ptr<Log::Reader>>(s);
      if (!r.ok()) {
        if (!reported_unreachable && options_.notice)
          options_.notice(std::string(r.status().message()));
        reported_unreachable = true;
        absl::MutexLock l(&mu_);
        mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(500));
        continue;
      }
      if (reported_unreachable && options_.notice)
        options_.notice("replication: reading the log again");
      reported_unreachable = false;
      reader = *std::move(r);
    }
    absl::StatusOr<std::optional<LogMessage>> m = reader->Next(absl::Milliseconds(200));
    if (!m.ok()) {
      if (options_.notice) options_.notice(std::string(m.status().message()));
      reader.reset();
      continue;
    }
    if (!m->has_value()) {
      // The log has more than was applied, yet nothing came for a while (the servers
      // restarted and the consumer is gone): read again from the position.
      bool behind = false;
      {
        absl::MutexLock l(&mu_);
        behind = log_reachable_ && log_last_ >= next;
      }
      if (behind && std::chrono::steady_clock::now() - last_message > std::chrono::seconds(5)) {
        if (options_.notice) {
          options_.notice(
              "replication: no message for 5 s while behind the log: reading again "
              "from position " +
              std::to_string(next));
        }
        reader.reset();
        last_message = std::chrono::steady_clock::now();
      }
      continue;
    }
    last_message = std::chrono::steady_clock::now();
    const LogMessage& msg = **m;
    if (msg.position != next) {
      metrics::Global().AddReplicaGap();
      Stop(msg.position > next
               ? "gap in the log: expected position " + std::to_string(next) + ", the log gave " +
                     std::to_string(msg.position) +
                     " (the log no longer holds what this replica needs: restore it from a "
                     "backup of another replica, replica/README.md)"
               : "the log went back: expected position " + std::to_string(next) + ", it gave " +
                     std::to_string(msg.position));
      return;
    }
    if (absl::Status s = Apply(msg); !s.ok()) {
      Stop("applying position " + std::to_string(msg.position) + ": " + std::string(s.message()));
      return;
    }
    applied_digest = std::hash<std::string_view>{}(msg.data);
    ++next;
  }
}

absl::Status ReplicatedDirectory::Apply(const LogMessage& m) {
  Command c;
  if (absl::Status s = DecodeCommand(m.data, &c); !s.ok()) return s;
  // Ingest and audit records make one write; the other commands may make several, so
  // the position is recorded as partial until the command ends.
  const bool single = c.type == CommandType::kIngest || c.type == CommandType::kIngestWith ||
                      c.type == CommandType::kAudit;
  local_->StampWrites(m.position, !single);
  absl::Status status;
  auto settle = [&](auto result) {
    status = StatusOf(result);
    Deliver(c, std::move(result));
  };
  switch (c.type) {
    case CommandType::kIngest:
      settle(local_->Ingest(std::move(c.fragments), c.time_ms));
      break;
    case CommandType::kIngestWith:
      settle(local_->IngestWith(std::move(c.fragments), c.time_ms, std::move(c.side)));
      break;
    case CommandType::kPutSource:
      settle(local_->PutSource(c.source, c.priority_if_new));
      break;
    case CommandType::kReportSync:
      settle(local_->ReportSync(c.source.id, c.run));
      break;
    case CommandType::kMerge:
      settle(local_->Merge(c.ids, c.reason, c.time_ms));
      break;
    case CommandType::kSplit:
      settle(local_->Split(c.ids.empty() ? 0 : c.ids[0], c.names, c.reason, c.time_ms));
      break;
    case CommandType::kDeleteRule:
      settle(local_->DeleteRule(c.ids.empty() ? 0 : c.ids[0]));
      break;
    case CommandType::kRecordOutcome:
      settle(local_->RecordOutcome(c.outcome));
      break;
    case CommandType::kErase: {
      directory::ProfileRef who;
      who.id = c.ids.empty() ? 0 : c.ids[0];
      settle(local_->Erase(who, c.audit.empty() ? AuditEntry{} : c.audit[0]));
      break;
    }
    case CommandType::kTrimAudit:
      settle(local_->TrimAudit(c.time_ms));
      break;
    case CommandType::kAudit:
      status = local_->ApplyAudit(std::move(c.audit));
      break;
  }
  local_->StampWrites(0, false);
  metrics::Global().AddReplicaApplied(CommandName(c.type));
  // An erasure that committed and then failed ("erased, but ...") stands; other local
  // failures mean this replica did not do what its peers did.
  if (LocalFailure(status) && !absl::StartsWith(status.message(), "erased, but")) return status;
  if (absl::Status s = local_->CommitPosition(m.position); !s.ok()) return s;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<directory::Directory>> OpenReplica(
    std::unique_ptr<directory::Directory> local, std::unique_ptr<Log> log,
    const ReplicaOptions& options) {
  if (local == nullptr || log == nullptr)
    return absl::InvalidArgumentError("replica: no database or log");
  auto replica = std::make_unique<ReplicatedDirectory>(std::move(local), std::move(log), options);
  replica->Start();
  return std::unique_ptr<directory::Directory>(std::move(replica));
}

}  // namespace tessera::replica
