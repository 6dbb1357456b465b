// Directory: ReadPath::ReadChanges (reads.h), the change feed (Directory.Watch) over
// the change log.

#include "server/directory/changelog.h"
#include "server/directory/reads.h"
#include "server/identity/records.h"
#include "server/store/coding.h"

namespace tessera::directory {

namespace {

constexpr size_t kDefaultChangesPage = 256;
constexpr size_t kMaxChangesPage = 1000;

}  // namespace

absl::StatusOr<ChangesPage> ReadPath::ReadChanges(const ChangesQuery& query) const {
  if (query.limit > kMaxChangesPage) {
    return absl::InvalidArgumentError("at most " + std::to_string(kMaxChangesPage) +
                                      " changes per page");
  }
  const size_t limit = query.limit == 0 ? kDefaultChangesPage : query.limit;
  const Sequence sequence = write_.sequence();
  // Taken after reading the sequence: every entry up to it is in the snapshot unless
  // it was trimmed.
  std::unique_ptr<store::Snapshot> snap = write_.store().GetSnapshot();
  if (query.after > sequence) {
    return absl::OutOfRangeError(
        "position " + std::to_string(query.after) + " is beyond the change log, which ends at " +
        std::to_string(sequence) +
        " (was the database restored from an older backup?); start again from 0");
  }
  ChangesPage page;
  page.position = query.after;
  if (query.after == sequence) return page;
  std::unique_ptr<store::Iterator> it = snap->NewIterator(store::Cf::kChanges);
  it->Seek(ChangeKey(query.after + 1));
  // Sequences have no gaps: a missing first entry was trimmed.
  if (!it->Valid() || store::DecodeFixed64BE(it->key().data()) != query.after + 1) {
    if (absl::Status s = it->status(); !s.ok()) return s;
    return absl::OutOfRangeError(
        "position " + std::to_string(query.after) +
        " is older than the retained change log (it keeps the last " +
        std::to_string(options_.change_log_retain) + " changes; oldest now " +
        std::to_string(write_.first_change()) +
        "): read the profiles you mirror again, then watch from the current sequence");
  }
  size_t examined = 0;
  for (; it->Valid() && page.events.size() < limit && examined < limit * 16;
       it->Next(), ++examined) {
    const Sequence seq = store::DecodeFixed64BE(it->key().data());
    if (seq > sequence) break;
    page.position = seq;
    ChangeRecord rec;
    if (absl::Status s = DecodeChange(it->value(), &rec); !s.ok()) return s;
    ChangeEvent ev{seq, rec.profile, rec.op == ChangeRecord::Op::kDelete, rec.time_ms,
                   std::nullopt};
    std::optional<identity::Profile> now;
    if (!ev.deleted && (query.with_profiles || (query.visible && rec.kinds.empty()))) {
      absl::StatusOr<std::optional<identity::Profile>> p =
          identity::ReadProfile(*snap, rec.profile);
      if (!p.ok()) return p.status();
      now = *std::move(p);
    }
    if (query.visible) {
      // The kinds the change recorded; records from before they were recorded fall
      // back to the profile as it is now, and are left out when it is gone.
      const std::vector<std::string>* kinds = !rec.kinds.empty() ? &rec.kinds
                                              : now              ? &now->kinds
                                                                 : nullptr;
      if (kinds == nullptr || !query.visible(rec.profile, *kinds)) continue;
    }
    if (query.with_profiles) ev.current = std::move(now);
    page.events.push_back(std::move(ev));
  }
  if (absl::Status s = it->status(); !s.ok()) return s;
  return page;
}

}  // namespace tessera::directory
