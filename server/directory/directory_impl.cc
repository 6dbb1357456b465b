// Directory: opening (Directory::Open, DirectoryImpl::Load) and the facade's parts
// wired together. The calls themselves are forwarded in directory_impl.h.

#include "server/directory/directory_impl.h"

#include <utility>

#include "server/index/postings.h"

namespace tessera::directory {

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
    : options_(options),
      analyzer_(options.analyzer),
      write_(std::move(store), options_),
      audit_(write_.store()),
      suppressions_(options_),
      reads_(write_, options_, analyzer_),
      ingester_(write_, options_, analyzer_, suppressions_),
      admin_(write_, ingester_, reads_, options_),
      erasure_(write_, ingester_, reads_, audit_, suppressions_, options_, analyzer_),
      outcomes_(options_, write_.store(), reads_, ingester_, admin_),
      bulk_(write_, admin_, options_) {}

// From one snapshot, in this order (the first error wins): the state, the phone
// region, sources and rules, the audit sequence, suppressions and the change log's
// start; then an interrupted rebuild is finished and the index layout checked.
absl::Status DirectoryImpl::Load() {
  std::unique_ptr<store::Snapshot> snap = write_.store().GetSnapshot();
  absl::StatusOr<bool> existing = write_.LoadState(*snap);
  if (!existing.ok()) return existing.status();
  if (absl::Status s = SettleRegion(*snap); !s.ok()) return s;
  if (absl::Status s = write_.LoadRegistry(*snap); !s.ok()) return s;
  if (absl::Status s = audit_.Load(*snap); !s.ok()) return s;
  if (absl::Status s = suppressions_.Load(*snap); !s.ok()) return s;
  if (absl::Status s = write_.LoadChangeLog(*snap); !s.ok()) return s;
  {
    WritePath::Writer w(write_);
    if (w.state().rebuilding) {
      // A Rebuild was interrupted: derived state may be partial. Finish it.
      absl::StatusOr<RebuildResult> r = admin_.Rebuild(w);
      if (!r.ok()) return Prefixed(r.status(), "resuming an interrupted rebuild: ");
    } else if (w.state().bulk_loading) {
      // A bulk load was cut short: the postings it collected died with the process.
      if (options_.notice) {
        options_.notice("a bulk load did not finish: rebuilding derived data from the fragments");
      }
      absl::StatusOr<RebuildResult> r = admin_.Rebuild(w);
      if (!r.ok()) return Prefixed(r.status(), "rebuilding after an unfinished bulk load: ");
    }
  }
  return CheckIndexLayout(*snap, *existing);
}

// Identifiers are stored normalised with the default phone region, so a database
// keeps the region it was created with: "0671243895" looked up with another region
// would silently find nothing.
absl::Status DirectoryImpl::SettleRegion(const store::Reader& snap) {
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
  std::unique_ptr<store::Batch> batch = write_.store().NewBatch();
  batch->Put(store::Cf::kMeta, kRegionKey, region);
  return write_.store().Write(*batch);
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
    absl::StatusOr<RebuildResult> r = admin_.Rebuild();
    if (!r.ok()) return Prefixed(r.status(), "rebuilding for the new index layout: ");
    if (options_.notice) {
      options_.notice("rebuilt " + std::to_string(r->profiles) + " profiles from " +
                      std::to_string(r->fragments) + " fragments");
    }
  }
  std::unique_ptr<store::Batch> batch = write_.store().NewBatch();
  batch->Put(store::Cf::kMeta, kIndexLayoutKey, kDerivedLayout);
  return write_.store().Write(*batch);
}

LogPosition DirectoryImpl::Position() const {
  return write_.Published(
      [](const MetaState& state, const identity::SourceRegistry&, const identity::RuleSet&) {
        return LogPosition{state.stream_position, state.stream_partial};
      });
}

absl::Status DirectoryImpl::AwaitPosition(uint64_t position, absl::Duration timeout) const {
  if (write_.WaitForPosition(position, timeout)) return absl::OkStatus();
  return absl::FailedPreconditionError(
      "min_position " + std::to_string(position) + " not reached: this server has applied " +
      std::to_string(Position().applied) + " (retry, or read from another replica)");
}

absl::Status DirectoryImpl::CommitPosition(uint64_t position) {
  WritePath::StampWrites(0, false);
  WritePath::Writer w(write_);
  if (w.state().stream_position == position && !w.state().stream_partial) {
    return absl::OkStatus();
  }
  w.state().stream_position = position;
  w.state().stream_partial = false;
  std::unique_ptr<store::Batch> batch = write_.store().NewBatch();
  return w.Commit(*batch);
}

absl::Status DirectoryImpl::ApplyAudit(std::vector<AuditEntry> entries) {
  WritePath::Writer w(write_);
  std::unique_ptr<store::Batch> batch = write_.store().NewBatch();
  return audit_.CommitWith(*batch, entries, [&] { return w.Commit(*batch); });
}

}  // namespace tessera::directory
