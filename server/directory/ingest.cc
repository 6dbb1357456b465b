// Directory: ingest (ingest.h): validating, applying and committing a batch, and
// relinking the fragments a write touches.

#include "server/directory/ingest.h"

#include <utility>

#include "absl/strings/cord.h"
#include "server/directory/evidence.h"
#include "server/directory/suppression.h"
#include "server/identity/records.h"
#include "server/metrics/metrics.h"

namespace tessera::directory {

using identity::Fragment;
using identity::StoredFragment;

namespace {

constexpr size_t kRelinkChunk = 1000;  // fragments relinked per batch

absl::Status FragmentError(const absl::Status& s, size_t index) {
  absl::Status out = Prefixed(s, "fragment " + std::to_string(index) + ": ");
  out.SetPayload(kFragmentIndexPayload, absl::Cord(std::to_string(index)));
  return out;
}

}  // namespace

absl::StatusOr<BatchResult> Ingester::IngestWith(std::vector<Fragment> fragments,
                                                 int64_t batch_time_ms,
                                                 const std::vector<SideWrite>& side) {
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
  AnalysedTexts analysed;
  AnalyseAhead(fragments, analysed);
  BatchResult result;
  WritePath::Ticket ticket;
  {
    WritePath::Stage stage(write_);
    if (absl::Status s = Apply(stage, fragments, batch_time_ms, side, analysed, result); !s.ok())
      return s;
    ticket = stage.Issue();
  }
  if (absl::Status s = write_.CommitInOrder(ticket); !s.ok()) return s;
  result.sequence = ticket.state.sequence;
  metrics::Metrics& m = metrics::Global();
  m.AddIngested("added", result.counts.added);
  m.AddIngested("updated", result.counts.updated);
  m.AddIngested("unchanged", result.counts.unchanged);
  m.AddIngested("stale", result.counts.stale);
  m.AddIngested("deleted", result.counts.deleted);
  m.AddIngested("suppressed", result.counts.suppressed);
  return result;
}

void Ingester::AnalyseAhead(const std::vector<Fragment>& fragments, AnalysedTexts& analysed) const {
  std::shared_ptr<const identity::SourceRegistry> sources;
  for (const Fragment& f : fragments) {
    if (f.tombstone || f.evidence.empty()) continue;
    // A record already stored at this version or a newer one changes nothing (a
    // re-sync): its text need not be analysed. A hint only: the write lock decides.
    if (sources == nullptr) sources = write_.sources();
    if (const identity::Source* src = sources->Find(f.source); src != nullptr) {
      absl::StatusOr<std::optional<StoredFragment>> stored = identity::ReadFragment(
          write_.store().Latest(), identity::FragmentKey(src->num, f.external_id));
      if (stored.ok() && *stored && (*stored)->fragment.version >= f.version) continue;
    }
    analysed.Add(analyzer_, f);
  }
}

absl::Status Ingester::Apply(WritePath::Stage& stage, std::vector<Fragment>& fragments,
                             int64_t batch_time_ms, const std::vector<SideWrite>& side,
                             AnalysedTexts& analysed, BatchResult& result) const {
  std::vector<uint32_t> nums;
  for (size_t i = 0; i < fragments.size(); ++i) {
    const identity::Source* src = stage.sources().Find(fragments[i].source);
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
  WriteContext ctx{stage.batch(), stage.state(),        stage.sources(), stage.rules(),
                   batch_time_ms, /*log_changes=*/true, &analysed};
  for (size_t i = 0; i < fragments.size(); ++i) {
    Outcome outcome;
    ProfileId profile_id = 0;
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
  AddSideWrites(stage.batch(), side);
  return absl::OkStatus();
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

absl::Status Ingester::ApplyOne(WriteContext& ctx, Fragment& f, uint32_t source_num,
                                Outcome* outcome, ProfileId* profile_id) const {
  if (!f.tombstone) {
    absl::StatusOr<bool> suppressed = suppressions_.IsSuppressed(ctx.batch, f);
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

absl::StatusOr<identity::LinkResult> Ingester::Relink(
    WriteContext& ctx, std::span<const identity::Change> changes) const {
  identity::Linker linker(ctx.sources, ctx.rules, options_.limits);
  identity::IdCounters ids{ctx.state.next_profile};
  absl::StatusOr<identity::LinkResult> link = linker.Apply(ctx.batch, changes, ids);
  if (!link.ok()) return link.status();
  ctx.state.next_profile = ids.next_profile;
  if (absl::Status s = Derive(ctx, *link); !s.ok()) return s;
  return link;
}

absl::Status Ingester::RelinkFragments(WritePath::Writer& w,
                                       const std::vector<std::string>& fragkeys, bool log_changes,
                                       int64_t time_ms) const {
  std::unique_ptr<store::Batch> batch = write_.store().NewBatch();
  size_t i = 0;
  do {
    std::vector<identity::Change> changes;
    for (; i < fragkeys.size() && changes.size() < kRelinkChunk; ++i) {
      absl::StatusOr<std::optional<StoredFragment>> sf =
          identity::ReadFragment(*batch, fragkeys[i]);
      if (!sf.ok()) return sf.status();
      if (!*sf || (*sf)->fragment.tombstone) continue;
      changes.push_back({fragkeys[i], **sf, **sf, /*write=*/false});
    }
    WriteContext ctx{*batch, w.state(), w.sources(), w.rules(), time_ms, log_changes};
    if (absl::StatusOr<identity::LinkResult> r = Relink(ctx, changes); !r.ok()) return r.status();
    if (absl::Status s = w.Commit(*batch); !s.ok()) return s;
    batch = write_.store().NewBatch();
  } while (i < fragkeys.size());
  return absl::OkStatus();
}

}  // namespace tessera::directory
