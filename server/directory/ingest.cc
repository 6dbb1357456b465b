// Directory: opening, ingest and the commit path shared by every write.

#include <chrono>
#include <utility>

#include "absl/strings/cord.h"
#include "server/directory/changelog.h"
#include "server/directory/directory_impl.h"
#include "server/identity/records.h"
#include "server/index/postings.h"
#include "server/metrics/metrics.h"
#include "server/store/coding.h"

namespace tessera::directory {

using identity::Fragment;
using identity::StoredFragment;

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

absl::Status FragmentError(const absl::Status& s, size_t index) {
  absl::Status out = Prefixed(s, "fragment " + std::to_string(index) + ": ");
  out.SetPayload(kFragmentIndexPayload, absl::Cord(std::to_string(index)));
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Directory>> Directory::Open(const std::string& path,
                                                           const DirectoryOptions& options) {
  store::StoreOptions store_options = options.store;
  store_options.postings_merge = index::PostingsMergeOperator();
  absl::StatusOr<std::unique_ptr<store::Store>> store = store::Store::Open(path, store_options);
  if (!store.ok()) return store.status();
  auto dir = std::make_unique<DirectoryImpl>(*std::move(store), options);
  if (absl::Status s = dir->Load(); !s.ok()) return s;
  return std::unique_ptr<Directory>(std::move(dir));
}

DirectoryImpl::DirectoryImpl(std::unique_ptr<store::Store> store, const DirectoryOptions& options)
    : store_(std::move(store)), options_(options), analyzer_(options.analyzer) {}

absl::Status DirectoryImpl::Load() {
  absl::MutexLock w(&write_mu_);
  std::unique_ptr<store::Snapshot> snap = store_->GetSnapshot();
  MetaState state;
  std::string value;
  absl::StatusOr<bool> found = snap->Get(store::Cf::kMeta, kStateKey, &value);
  if (!found.ok()) return found.status();
  if (*found) {
    if (absl::Status s = DecodeState(value, &state); !s.ok()) return s;
  }
  if (absl::Status s = SettleRegion(*snap); !s.ok()) return s;
  identity::SourceRegistry sources;
  std::unique_ptr<store::Iterator> it = snap->NewIterator(store::Cf::kMeta);
  for (it->Seek(identity::kSourceMetaPrefix);
       it->Valid() && store::HasPrefix(it->key(), identity::kSourceMetaPrefix); it->Next()) {
    identity::Source src;
    if (absl::Status s = identity::DecodeSource(it->value(), &src); !s.ok()) return s;
    sources.Put(std::move(src));
  }
  identity::RuleSet rules;
  it = snap->NewIterator(store::Cf::kRules);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    identity::Rule rule;
    if (absl::Status s = identity::DecodeRule(it->value(), &rule); !s.ok()) return s;
    rules.Put(std::move(rule));
  }
  if (absl::Status s = LoadPrivacy(*snap); !s.ok()) return s;
  it = snap->NewIterator(store::Cf::kChanges);
  it->SeekToFirst();
  first_change_ = it->Valid() ? store::DecodeFixed64BE(it->key().data()) : state.sequence + 1;
  if (absl::Status s = it->status(); !s.ok()) return s;
  {
    absl::MutexLock l(&state_mu_);
    state_ = state;
    sources_ = std::make_shared<const identity::SourceRegistry>(std::move(sources));
    rules_ = std::make_shared<const identity::RuleSet>(std::move(rules));
  }
  if (state.rebuilding) {
    // A Rebuild was interrupted: derived state may be partial. Finish it.
    absl::StatusOr<RebuildResult> r = RebuildLocked();
    if (!r.ok()) return Prefixed(r.status(), "resuming an interrupted rebuild: ");
  }
  return CheckIndexLayout(*snap, found.value() && *found);
}

// Identifiers are stored normalised with the default phone region, so a database
// keeps the region it was created with: "0671243895" looked up with another region
// would silently find nothing.
absl::Status DirectoryImpl::SettleRegion(const store::Snapshot& snap) {
  std::string stored;
  absl::StatusOr<bool> found = snap.Get(store::Cf::kMeta, kRegionKey, &stored);
  if (!found.ok()) return found.status();
  std::string& region = options_.normalise.default_region;
  if (*found) {
    if (options_.region_given && stored != region) {
      return absl::FailedPreconditionError("the database was created with default phone region " +
                                           stored + ", the configuration says " + region +
                                           "; phone numbers are stored normalised with " + stored +
                                           ". Start with --default-region " + stored +
                                           " (or without one: the database's is used)");
    }
    region = stored;
    return absl::OkStatus();
  }
  // A new database (or one from before the region was recorded): record it now.
  std::unique_ptr<store::Batch> batch = store_->NewBatch();
  batch->Put(store::Cf::kMeta, kRegionKey, region);
  return store_->Write(*batch);
}

// A database written by a tesserad with another postings layout (or from before the
// layout was recorded) cannot be searched as it is: its derived data is rebuilt from
// the fragments, once, at open.
absl::Status DirectoryImpl::CheckIndexLayout(const store::Reader& snap, bool existing) {
  std::string layout;
  absl::StatusOr<bool> found = snap.Get(store::Cf::kMeta, kIndexLayoutKey, &layout);
  if (!found.ok()) return found.status();
  static_assert(std::string_view(kDerivedLayout).starts_with(index::kPostingsLayout));
  if (*found && layout == kDerivedLayout) return absl::OkStatus();
  if (existing) {
    if (options_.notice) {
      options_.notice("the evidence index was written with layout '" +
                      (*found ? layout : "postings-v1-blocks-16") + "', this tesserad uses '" +
                      kDerivedLayout + "': rebuilding derived data");
    }
    absl::StatusOr<RebuildResult> r = RebuildLocked();
    if (!r.ok()) return Prefixed(r.status(), "rebuilding for the new index layout: ");
    if (options_.notice) {
      options_.notice("rebuilt " + std::to_string(r->profiles) + " profiles from " +
                      std::to_string(r->fragments) + " fragments");
    }
  }
  std::unique_ptr<store::Batch> batch = store_->NewBatch();
  batch->Put(store::Cf::kMeta, kIndexLayoutKey, kDerivedLayout);
  return store_->Write(*batch);
}

absl::StatusOr<BatchResult> DirectoryImpl::IngestWith(std::vector<Fragment> fragments,
                                                      int64_t batch_time_ms,
                                                      std::vector<SideWrite> side) {
  const identity::Limits& limits = options_.limits;
  if (fragments.size() > limits.max_batch_fragments) {
    return absl::InvalidArgumentError("batch has " + std::to_string(fragments.size()) +
                                      " fragments, the limit is " +
                                      std::to_string(limits.max_batch_fragments));
  }
  // Validation needs no lock: concurrent streams validate in parallel.
  for (size_t i = 0; i < fragments.size(); ++i) {
    if (absl::Status s = identity::Validate(fragments[i], limits, options_.normalise); !s.ok()) {
      return FragmentError(s, i);
    }
  }
  BatchResult result;
  std::shared_ptr<store::Batch> batch;
  MetaState state;
  absl::StatusOr<uint64_t> ticket =
      ApplyStage(fragments, batch_time_ms, side, result, batch, state);
  if (!ticket.ok()) return ticket.status();
  if (absl::Status s = CommitInOrder(*ticket, *batch, state); !s.ok()) return s;
  result.sequence = state.sequence;
  metrics::Metrics& m = metrics::Global();
  m.AddIngested("added", result.counts.added);
  m.AddIngested("updated", result.counts.updated);
  m.AddIngested("unchanged", result.counts.unchanged);
  m.AddIngested("stale", result.counts.stale);
  m.AddIngested("deleted", result.counts.deleted);
  m.AddIngested("suppressed", result.counts.suppressed);
  return result;
}

absl::StatusOr<uint64_t> DirectoryImpl::ApplyStage(
    std::vector<Fragment>& fragments, int64_t batch_time_ms, const std::vector<SideWrite>& side,
    BatchResult& result, std::shared_ptr<store::Batch>& batch, MetaState& state) {
  absl::MutexLock w(&write_mu_);
  bool drained = false;
  {
    // At most one batch is written while this one is applied, so this batch reads
    // through that one only, and everything older is in the database.
    absl::MutexLock p(&pipe_mu_);
    pipe_mu_.Await(absl::Condition(this, &DirectoryImpl::PipelineHasRoom));
    drained = committed_ == issued_;
  }
  std::shared_ptr<const identity::SourceRegistry> sources;
  std::shared_ptr<const identity::RuleSet> rules;
  {
    absl::ReaderMutexLock r(&state_mu_);
    state = drained ? state_ : last_state_;
    sources = sources_;
    rules = rules_;
  }
  std::vector<uint32_t> nums;
  for (size_t i = 0; i < fragments.size(); ++i) {
    const identity::Source* src = sources->Find(fragments[i].source);
    if (src == nullptr) {
      return FragmentError(
          absl::FailedPreconditionError(
              "source '" + fragments[i].source +
              "' is not registered; register it with `tessera admin source " + fragments[i].source +
              " --kind KIND --priority N` or under \"sources\" in the "
              "server configuration"),
          i);
    }
    nums.push_back(src->num);
  }
  batch = store_->NewBatch(drained ? nullptr : last_batch_);
  WriteContext ctx{*batch, state, *sources, *rules, batch_time_ms, /*log_changes=*/true};
  for (size_t i = 0; i < fragments.size(); ++i) {
    Outcome outcome;
    uint64_t profile_id = 0;
    if (absl::Status s = ApplyOne(ctx, fragments[i], nums[i], &outcome, &profile_id); !s.ok()) {
      return FragmentError(s, i);
    }
    if (outcome == Outcome::kSuppressed && !side.empty()) {
      absl::Status refused =
          FragmentError(absl::FailedPreconditionError(
                            "the person was erased from this directory (Erase); their records are "
                            "refused"),
                        i);
      refused.SetPayload(kSuppressedPayload, absl::Cord(std::to_string(i)));
      return refused;
    }
    result.outcomes.push_back(outcome);
    result.profile_ids.push_back(profile_id);
    uint64_t* counter[] = {nullptr,
                           &result.counts.added,
                           &result.counts.updated,
                           &result.counts.unchanged,
                           &result.counts.stale,
                           &result.counts.deleted,
                           &result.counts.suppressed};
    ++*counter[static_cast<int>(outcome)];
  }
  AddSideWrites(*batch, side);
  batch->Put(store::Cf::kMeta, kStateKey, EncodeState(state));
  batch->DoneReading();
  last_batch_ = batch;
  last_state_ = state;
  absl::MutexLock p(&pipe_mu_);
  return ++issued_;
}

absl::Status DirectoryImpl::CommitInOrder(uint64_t ticket, store::Batch& batch,
                                          const MetaState& state) {
  absl::MutexLock p(&pipe_mu_);
  struct Turn {
    const DirectoryImpl* dir;
    uint64_t ticket;
    static bool Come(Turn* t) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return t->dir->committed_ + 1 == t->ticket;
    }
  } turn{this, ticket};
  pipe_mu_.Await(absl::Condition(&Turn::Come, &turn));
  absl::Status status =
      poisoned_ ? absl::UnavailableError("an earlier batch could not be written; send again")
                : absl::OkStatus();
  if (status.ok()) {
    // Only this ticket may write now; let the next batch be applied meanwhile.
    pipe_mu_.Unlock();
    status = store_->Write(batch);
    if (status.ok()) keys_written_ += batch.count();
    if (status.ok()) {
      absl::MutexLock l(&state_mu_);
      state_ = state;
    }
    if (status.ok()) TrimChangeLog(state.sequence);
    pipe_mu_.Lock();
    if (!status.ok()) poisoned_ = true;
  }
  committed_ = ticket;
  if (committed_ == issued_) poisoned_ = false;
  return status;
}

void DirectoryImpl::Drain() {
  absl::MutexLock p(&pipe_mu_);
  pipe_mu_.Await(absl::Condition(this, &DirectoryImpl::PipelineDrained));
}

namespace {

// What a fragment of version `f` does against the stored one.
Outcome Decide(const std::optional<StoredFragment>& before, const Fragment& f) {
  if (!before) return f.tombstone ? Outcome::kUnchanged : Outcome::kAdded;
  const Fragment& old = before->fragment;
  if (f.version < old.version) return Outcome::kStale;
  if (f.version == old.version) {
    if (f.tombstone == old.tombstone) return Outcome::kUnchanged;
    // A tombstone of the stored version deletes it; a record of a deleted version
    // is older news than its deletion.
    return f.tombstone ? Outcome::kDeleted : Outcome::kStale;
  }
  if (f.tombstone) return old.tombstone ? Outcome::kUnchanged : Outcome::kDeleted;
  return old.tombstone ? Outcome::kAdded : Outcome::kUpdated;
}

}  // namespace

absl::Status DirectoryImpl::ApplyOne(WriteContext& ctx, Fragment& f, uint32_t source_num,
                                     Outcome* outcome, uint64_t* profile_id) {
  if (!f.tombstone) {
    absl::StatusOr<bool> suppressed = IsSuppressed(ctx.batch, f);
    if (!suppressed.ok()) return suppressed.status();
    if (*suppressed) {
      // It names an erased person: not stored, whatever is stored stays as it is.
      *outcome = Outcome::kSuppressed;
      *profile_id = 0;
      return absl::OkStatus();
    }
  }
  const std::string key = identity::FragmentKey(source_num, f.external_id);
  absl::StatusOr<std::optional<StoredFragment>> before = identity::ReadFragment(ctx.batch, key);
  if (!before.ok()) return before.status();
  *outcome = Decide(*before, f);
  const bool newer = !*before || f.version > (*before)->fragment.version;
  const bool store_it = *outcome == Outcome::kAdded || *outcome == Outcome::kUpdated ||
                        *outcome == Outcome::kDeleted || (f.tombstone && newer);
  *profile_id = *before ? (*before)->entity : 0;
  if (!store_it) return absl::OkStatus();

  identity::Change change{key, *before, {}, true};
  if (f.tombstone) {
    Fragment& t = change.after.fragment;  // a tombstone keeps only its key and version
    t.source = f.source;
    t.external_id = f.external_id;
    t.version = f.version;
    t.tombstone = true;
  } else {
    if (f.updated_at_ms == 0) f.updated_at_ms = ctx.time_ms;
    change.after.fragment = std::move(f);
  }
  change.after.fno = *before ? (*before)->fno : ctx.state.next_fno++;
  change.after.entity = *before ? (*before)->entity : 0;
  change.after.origin = *before ? (*before)->origin : 0;
  absl::StatusOr<identity::LinkResult> link = Relink(ctx, {&change, 1});
  if (!link.ok()) return link.status();

  MetaState& st = ctx.state;
  const bool was_live = *before && !(*before)->fragment.tombstone;
  const bool was_tomb = *before && (*before)->fragment.tombstone;
  const bool is_live = !change.after.fragment.tombstone;
  if (was_live) --st.live_fragments, --st.live_by_source[source_num];
  if (was_tomb) --st.tombstones;
  if (is_live) ++st.live_fragments, ++st.live_by_source[source_num];
  if (!is_live) ++st.tombstones;
  *profile_id = link->profile_of.at(key);
  return absl::OkStatus();
}

absl::StatusOr<identity::LinkResult> DirectoryImpl::Relink(
    WriteContext& ctx, std::span<const identity::Change> changes) {
  identity::Linker linker(ctx.sources, ctx.rules, options_.limits);
  identity::IdCounters ids{ctx.state.next_profile};
  absl::StatusOr<identity::LinkResult> link = linker.Apply(ctx.batch, changes, ids);
  if (!link.ok()) return link.status();
  ctx.state.next_profile = ids.next_profile;
  if (absl::Status s = Derive(ctx, *link); !s.ok()) return s;
  return link;
}

absl::Status DirectoryImpl::Commit(store::Batch& batch, const MetaState& state,
                                   const identity::RuleSet* rules,
                                   const identity::SourceRegistry* sources) {
  batch.Put(store::Cf::kMeta, kStateKey, EncodeState(state));
  if (absl::Status s = store_->Write(batch); !s.ok()) return s;
  keys_written_ += batch.count();
  {
    absl::MutexLock l(&state_mu_);
    state_ = state;
    if (rules != nullptr) rules_ = std::make_shared<const identity::RuleSet>(*rules);
    if (sources != nullptr) sources_ = std::make_shared<const identity::SourceRegistry>(*sources);
  }
  TrimChangeLog(state.sequence);
  return absl::OkStatus();
}

void DirectoryImpl::TrimChangeLog(uint64_t sequence) {
  const uint64_t retain = options_.change_log_retain;
  // Trim in steps of a tenth of the window so it is one range delete now and then.
  if (sequence < retain || sequence - retain < first_change_ + retain / 10) return;
  const uint64_t keep_from = sequence - retain + 1;
  if (store_->DeleteRange(store::Cf::kChanges, ChangeKey(first_change_), ChangeKey(keep_from))
          .ok()) {
    first_change_ = keep_from;
  }
}

}  // namespace tessera::directory
