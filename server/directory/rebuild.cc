// Directory: Admin::Rebuild (admin.h): re-deriving every derived column family from
// fragments and rules, and the digest that shows whether anything differed.

#include <chrono>
#include <map>

#include "server/directory/admin.h"
#include "server/directory/ingest.h"
#include "server/identity/records.h"
#include "server/index/postings.h"

namespace tessera::directory {
namespace {

constexpr size_t kRebuildBatchBytes = 8u << 20;  // commit a rebuild batch past this

std::vector<store::Cf> DerivedCfs() {
  std::vector<store::Cf> cfs;
  for (int i = 0; i < store::kCfCount; ++i) {
    if (store::IsDerived(static_cast<store::Cf>(i))) cfs.push_back(static_cast<store::Cf>(i));
  }
  return cfs;
}

// The keys of the live fragments, by the profile they belong to; `*count` of them.
// Only the keys are held (a fragment is read again when its group comes), so memory
// follows the number of fragments, not their size.
absl::StatusOr<std::map<ProfileId, std::vector<std::string>>> GroupByProfile(
    const store::Reader& snap, uint64_t* count) {
  std::map<ProfileId, std::vector<std::string>> groups;
  std::unique_ptr<store::Iterator> it = snap.NewIterator(store::Cf::kFragments);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    identity::StoredFragment sf;
    if (absl::Status s = identity::DecodeFragment(it->value(), &sf); !s.ok()) return s;
    if (sf.fragment.tombstone) continue;
    ++*count;
    groups[sf.entity].emplace_back(it->key());
  }
  if (absl::Status s = it->status(); !s.ok()) return s;
  return groups;
}

}  // namespace

absl::StatusOr<std::string> Admin::DerivedDigest() const {
  std::unique_ptr<store::Snapshot> snap = write_.store().GetSnapshot();
  return store::Digest(*snap, DerivedCfs(), index::PostingsMergeOperator().get());
}

absl::StatusOr<RebuildResult> Admin::Rebuild() {
  WritePath::Writer w(write_);
  return Rebuild(w);
}

absl::StatusOr<RebuildResult> Admin::Rebuild(WritePath::Writer& w) {
  RebuildResult result;
  absl::StatusOr<std::string> before = DerivedDigest();
  if (!before.ok()) return before.status();
  result.digest_before = *before;
  store::Store& store = write_.store();
  // Everything is derived again: a bulk load's collected postings would count twice.
  store.AbandonBulk();
  w.state().bulk_loading = false;
  // Mark first, so a crash in the middle resumes at the next Open.
  w.state().rebuilding = true;
  std::unique_ptr<store::Batch> batch = store.NewBatch();
  if (absl::Status s = w.Commit(*batch); !s.ok()) return s;
  if (absl::Status s = store.Clear(DerivedCfs()); !s.ok()) return s;
  w.state().ResetDerived();

  // Relink group by group in id order: each group is re-clustered whole, so every
  // profile keeps its id.
  std::unique_ptr<store::Snapshot> snap = store.GetSnapshot();
  absl::StatusOr<std::map<ProfileId, std::vector<std::string>>> groups =
      GroupByProfile(*snap, &result.fragments);
  if (!groups.ok()) return groups.status();
  batch = store.NewBatch();
  uint64_t done = 0;
  auto last_notice = std::chrono::steady_clock::now();
  for (auto& [profile, keys] : *groups) {
    if (options_.cancelled && options_.cancelled()) {
      return absl::CancelledError("rebuild interrupted after " + std::to_string(done) + " of " +
                                  std::to_string(result.fragments) +
                                  " fragments; it resumes at the next start");
    }
    std::vector<identity::Change> changes;
    for (std::string& key : keys) {
      absl::StatusOr<std::optional<identity::StoredFragment>> sf =
          identity::ReadFragment(*snap, key);
      if (!sf.ok()) return sf.status();
      if (!*sf) return absl::DataLossError("fragment vanished during rebuild");
      changes.push_back({std::move(key), std::nullopt, **std::move(sf), false});
    }
    done += changes.size();
    WriteContext ctx{*batch, w.state(), w.sources(), w.rules(), 0, /*log_changes=*/false};
    if (absl::StatusOr<identity::LinkResult> r = ingester_.Relink(ctx, changes); !r.ok())
      return r.status();
    if (batch->bytes() > kRebuildBatchBytes) {
      if (absl::Status s = w.Commit(*batch); !s.ok()) return s;
      batch = store.NewBatch();
      if (options_.notice &&
          std::chrono::steady_clock::now() - last_notice > std::chrono::seconds(10)) {
        options_.notice("rebuilding: " + std::to_string(done) + " of " +
                        std::to_string(result.fragments) + " fragments");
        last_notice = std::chrono::steady_clock::now();
      }
    }
  }
  w.state().rebuilding = false;
  if (absl::Status s = w.Commit(*batch); !s.ok()) return s;
  // Everything derived was just rewritten, much of it as merge operands: compacting now
  // gives searches merged postings instead of merging them on every read.
  if (absl::Status s = store.CompactAll(); !s.ok()) return s;
  result.profiles = w.state().profiles;
  absl::StatusOr<std::string> after = DerivedDigest();
  if (!after.ok()) return after.status();
  result.digest_after = *after;
  return result;
}

}  // namespace tessera::directory
