// Directory: the write path (write_path.h): the locks, the published state, the ingest
// pipeline and the commit every write goes through.

#include "server/directory/write_path.h"

#include <utility>

#include "server/directory/changelog.h"
#include "server/identity/records.h"
#include "server/store/coding.h"

namespace tessera::directory {

void AddSideWrites(store::Batch& batch, const std::vector<SideWrite>& rows) {
  for (const SideWrite& w : rows) {
    if (w.value) {
      batch.Put(store::Cf::kScim, w.key, *w.value);
    } else {
      batch.Delete(store::Cf::kScim, w.key);
    }
  }
}

absl::Status Prefixed(const absl::Status& s, const std::string& context) {
  return absl::Status(s.code(), context + std::string(s.message()));
}

namespace {
// The log position the calling thread's writes record (WritePath::StampWrites).
thread_local MetaState stamp_on_thread;
}  // namespace

WritePath::WritePath(std::unique_ptr<store::Store> store, const DirectoryOptions& options)
    : store_(std::move(store)), options_(options) {}

void WritePath::StampWrites(uint64_t position, bool partial) {
  stamp_on_thread.stream_position = position;
  stamp_on_thread.stream_partial = partial;
}

void WritePath::Held::Take(bool pending) {
  path_.write_mu_.AssertHeld();  // by the derived class's constructor
  absl::ReaderMutexLock r(&path_.state_mu_);
  state_ = pending ? path_.last_state_ : path_.state_;
  if (stamp_on_thread.stream_position != 0) {
    state_.stream_position = stamp_on_thread.stream_position;
    state_.stream_partial = stamp_on_thread.stream_partial;
  }
  sources_ = path_.sources_;
  rules_ = path_.rules_;
}

WritePath::Writer::Writer(WritePath& path) : Held(path) {
  path.write_mu_.Lock();
  path.Drain();
  Take(/*pending=*/false);
}

WritePath::Writer::~Writer() { path_.write_mu_.Unlock(); }

absl::Status WritePath::Writer::Commit(store::Batch& batch, const identity::RuleSet* rules,
                                       const identity::SourceRegistry* sources) {
  path_.write_mu_.AssertHeld();  // held since construction
  std::shared_ptr<const identity::RuleSet> new_rules =
      rules != nullptr ? std::make_shared<const identity::RuleSet>(*rules) : nullptr;
  std::shared_ptr<const identity::SourceRegistry> new_sources =
      sources != nullptr ? std::make_shared<const identity::SourceRegistry>(*sources) : nullptr;
  if (absl::Status s = path_.Commit(batch, state_, new_rules, new_sources); !s.ok()) return s;
  if (new_rules != nullptr) rules_ = std::move(new_rules);
  if (new_sources != nullptr) sources_ = std::move(new_sources);
  return absl::OkStatus();
}

WritePath::Stage::Stage(WritePath& path) : Held(path) {
  path.write_mu_.Lock();
  bool drained = false;
  {
    // At most one batch is written while this one is applied, so this batch reads
    // through that one only, and everything older is in the database.
    absl::MutexLock p(&path.pipe_mu_);
    path.pipe_mu_.Await(absl::Condition(&path, &WritePath::PipelineHasRoom));
    drained = path.committed_ == path.issued_;
  }
  Take(/*pending=*/!drained);
  batch_ = path.store_->NewBatch(drained ? nullptr : path.last_batch_);
}

WritePath::Stage::~Stage() { path_.write_mu_.Unlock(); }

WritePath::Ticket WritePath::Stage::Issue() {
  path_.write_mu_.AssertHeld();  // held since construction
  batch_->Put(store::Cf::kMeta, kStateKey, EncodeState(state_));
  batch_->DoneReading();
  path_.last_batch_ = batch_;
  path_.last_state_ = state_;
  absl::MutexLock p(&path_.pipe_mu_);
  return Ticket{++path_.issued_, batch_, state_};
}

absl::Status WritePath::CommitInOrder(const Ticket& ticket) {
  absl::MutexLock p(&pipe_mu_);
  struct Turn {
    const WritePath* path;
    uint64_t ticket;
    static bool Come(Turn* t) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return t->path->committed_ + 1 == t->ticket;
    }
  } turn{this, ticket.number};
  pipe_mu_.Await(absl::Condition(&Turn::Come, &turn));
  absl::Status status =
      poisoned_ ? absl::UnavailableError("an earlier batch could not be written; send again")
                : absl::OkStatus();
  if (status.ok()) {
    // Only this ticket may write now; let the next batch be applied meanwhile.
    pipe_mu_.Unlock();
    status = store_->Write(*ticket.batch);
    if (status.ok()) keys_written_ += ticket.batch->count();
    if (status.ok()) {
      absl::MutexLock l(&state_mu_);
      state_ = ticket.state;
    }
    if (status.ok()) TrimChangeLog(ticket.state.sequence);
    pipe_mu_.Lock();
    if (!status.ok()) poisoned_ = true;
  }
  committed_ = ticket.number;
  if (committed_ == issued_) poisoned_ = false;
  return status;
}

void WritePath::Drain() {
  absl::MutexLock p(&pipe_mu_);
  pipe_mu_.Await(absl::Condition(this, &WritePath::PipelineDrained));
}

absl::Status WritePath::Commit(store::Batch& batch, const MetaState& state,
                               std::shared_ptr<const identity::RuleSet> rules,
                               std::shared_ptr<const identity::SourceRegistry> sources) {
  batch.Put(store::Cf::kMeta, kStateKey, EncodeState(state));
  if (absl::Status s = store_->Write(batch); !s.ok()) return s;
  keys_written_ += batch.count();
  {
    absl::MutexLock l(&state_mu_);
    state_ = state;
    if (rules != nullptr) rules_ = std::move(rules);
    if (sources != nullptr) sources_ = std::move(sources);
  }
  TrimChangeLog(state.sequence);
  return absl::OkStatus();
}

void WritePath::TrimChangeLog(Sequence sequence) {
  const uint64_t retain = options_.change_log_retain;
  // Trim in steps of a tenth of the window so it is one range delete now and then.
  if (sequence < retain || sequence - retain < first_change_ + retain / 10) return;
  const Sequence keep_from = sequence - retain + 1;
  if (store_->DeleteRange(store::Cf::kChanges, ChangeKey(first_change_), ChangeKey(keep_from))
          .ok()) {
    first_change_ = keep_from;
  }
}

std::shared_ptr<const identity::SourceRegistry> WritePath::sources() const {
  absl::ReaderMutexLock l(&state_mu_);
  return sources_;
}

std::shared_ptr<const identity::RuleSet> WritePath::rules() const {
  absl::ReaderMutexLock l(&state_mu_);
  return rules_;
}

Sequence WritePath::sequence() const {
  absl::ReaderMutexLock l(&state_mu_);
  return state_.sequence;
}

Sequence WritePath::WaitForSequence(Sequence after, absl::Duration timeout) const {
  struct Past {
    const WritePath* path;
    Sequence after;
    static bool Done(Past* p) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return p->path->state_.sequence > p->after;
    }
  } past{this, after};
  state_mu_.ReaderLockWhenWithTimeout(absl::Condition(&Past::Done, &past), timeout);
  const Sequence sequence = state_.sequence;
  state_mu_.ReaderUnlock();
  return sequence;
}

bool WritePath::WaitForPosition(uint64_t position, absl::Duration timeout) const {
  struct Reached {
    const WritePath* path;
    uint64_t position;
    static bool Done(Reached* r) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      // A command of several writes counts once its last write is done.
      const MetaState& s = r->path->state_;
      return s.stream_position > r->position ||
             (s.stream_position == r->position && !s.stream_partial);
    }
  } reached{this, position};
  const bool done =
      state_mu_.ReaderLockWhenWithTimeout(absl::Condition(&Reached::Done, &reached), timeout);
  state_mu_.ReaderUnlock();
  return done;
}

absl::StatusOr<bool> WritePath::LoadState(const store::Reader& snap) {
  MetaState state;
  std::string value;
  absl::StatusOr<bool> found = snap.Get(store::Cf::kMeta, kStateKey, &value);
  if (!found.ok()) return found.status();
  if (*found) {
    if (absl::Status s = DecodeState(value, &state); !s.ok()) return s;
  }
  absl::MutexLock l(&state_mu_);
  state_ = std::move(state);
  return *found;
}

absl::Status WritePath::LoadRegistry(const store::Reader& snap) {
  identity::SourceRegistry sources;
  std::unique_ptr<store::Iterator> it = snap.NewIterator(store::Cf::kMeta);
  for (it->Seek(identity::kSourceMetaPrefix);
       it->Valid() && store::HasPrefix(it->key(), identity::kSourceMetaPrefix); it->Next()) {
    identity::Source src;
    if (absl::Status s = identity::DecodeSource(it->value(), &src); !s.ok()) return s;
    sources.Put(std::move(src));
  }
  identity::RuleSet rules;
  it = snap.NewIterator(store::Cf::kRules);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    identity::Rule rule;
    if (absl::Status s = identity::DecodeRule(it->value(), &rule); !s.ok()) return s;
    rules.Put(std::move(rule));
  }
  absl::MutexLock l(&state_mu_);
  sources_ = std::make_shared<const identity::SourceRegistry>(std::move(sources));
  rules_ = std::make_shared<const identity::RuleSet>(std::move(rules));
  return absl::OkStatus();
}

absl::Status WritePath::LoadChangeLog(const store::Reader& snap) {
  std::unique_ptr<store::Iterator> it = snap.NewIterator(store::Cf::kChanges);
  it->SeekToFirst();
  first_change_ = it->Valid() ? store::DecodeFixed64BE(it->key().data()) : sequence() + 1;
  return it->status();
}

}  // namespace tessera::directory
