// Directory: the audit log (audit.h): group-committed appends, pages, retention.

#include "server/directory/audit.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "server/store/coding.h"

namespace tessera::directory {
namespace {

// A checkpoint of the sequence, written with every kAuditCheckpointEvery-th record and
// before a trim: one key per record instead of two, and at open the sequence is the
// checkpoint's or the newest record's after it, whichever is larger.
constexpr char kAuditSequenceKey[] = "audit-sequence";
constexpr Sequence kAuditCheckpointEvery = 4096;
constexpr uint8_t kAuditRecordVersion = 1;
constexpr size_t kDefaultAuditPage = 500, kMaxAuditPage = 1000;

std::string EncodeAudit(const AuditEntry& e) {
  std::string out(1, static_cast<char>(kAuditRecordVersion));
  store::PutVarsint64(out, e.time_ms);
  for (const std::string* s :
       {&e.principal, &e.peer, &e.method, &e.outcome, &e.reason, &e.detail}) {
    store::PutLengthPrefixed(out, *s);
  }
  store::PutVarint64(out, e.profiles.size());
  for (ProfileId id : e.profiles) store::PutVarint64(out, id);
  return out;
}

absl::Status DecodeAudit(std::string_view data, AuditEntry* e) {
  store::Decoder d(data);
  if (d.Byte() != kAuditRecordVersion)
    return absl::DataLossError("audit record of an unknown version");
  e->time_ms = d.Varsint64();
  for (std::string* s :
       {&e->principal, &e->peer, &e->method, &e->outcome, &e->reason, &e->detail}) {
    *s = std::string(d.LengthPrefixed());
  }
  const uint64_t n = d.Varint64();
  e->profiles.clear();
  for (uint64_t i = 0; i < n && d.ok(); ++i) e->profiles.push_back(d.Varint64());
  if (!d.ok() || !d.done()) return absl::DataLossError("corrupt audit record");
  return absl::OkStatus();
}

}  // namespace

absl::Status AuditLog::Load(const store::Reader& snap) {
  std::string value;
  absl::StatusOr<bool> found = snap.Get(store::Cf::kMeta, kAuditSequenceKey, &value);
  if (!found.ok()) return found.status();
  Sequence last = *found && value.size() == 8 ? store::DecodeFixed64BE(value.data()) : 0;
  // The checkpoint trails the newest record by fewer than kAuditCheckpointEvery.
  std::unique_ptr<store::Iterator> it = snap.NewIterator(store::Cf::kAudit);
  std::string start;
  store::PutFixed64BE(start, last + 1);
  for (it->Seek(start); it->Valid(); it->Next()) {
    if (it->key().size() != 8) return absl::DataLossError("corrupt audit key");
    last = std::max(last, store::DecodeFixed64BE(it->key().data()));
  }
  if (absl::Status s = it->status(); !s.ok()) return s;
  absl::MutexLock a(&mu_);
  sequence_ = last;
  return absl::OkStatus();
}

void AuditLog::Put(store::Batch& batch, AuditEntry& entry) {
  entry.sequence = ++sequence_;
  std::string key;
  store::PutFixed64BE(key, entry.sequence);
  batch.Put(store::Cf::kAudit, key, EncodeAudit(entry));
  if (entry.sequence % kAuditCheckpointEvery == 0)
    batch.Put(store::Cf::kMeta, kAuditSequenceKey, key);
}

absl::Status AuditLog::Append(AuditEntry entry) {
  absl::MutexLock a(&mu_);
  Waiter me{&entry};
  queue_.push_back(&me);
  struct Turn {
    AuditLog* log;
    Waiter* me;
    static bool Come(Turn* t) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return t->me->done || !t->log->writing_;
    }
  } turn{this, &me};
  mu_.Await(absl::Condition(&Turn::Come, &turn));
  if (me.done) return me.status;  // a writer took it along
  // Write every queued record, this one included, as one batch.
  writing_ = true;
  std::vector<Waiter*> group;
  group.swap(queue_);
  std::unique_ptr<store::Batch> batch = store_.NewBatch();
  for (Waiter* w : group) Put(*batch, *w->entry);
  mu_.Unlock();
  absl::Status s = store_.Write(*batch);
  mu_.Lock();
  if (!s.ok()) sequence_ -= group.size();
  for (Waiter* w : group) w->done = true, w->status = s;
  writing_ = false;
  return s;
}

absl::Status AuditLog::CommitWith(store::Batch& batch, std::span<AuditEntry> entries,
                                  const std::function<absl::Status()>& commit) {
  absl::MutexLock a(&mu_);
  mu_.Await(absl::Condition(
      +[](bool* writing) { return !*writing; }, &writing_));
  for (AuditEntry& entry : entries) Put(batch, entry);
  absl::Status s = commit();
  if (!s.ok()) sequence_ -= entries.size();
  return s;
}

absl::StatusOr<AuditPage> AuditLog::Read(Sequence after, size_t limit) const {
  if (limit > kMaxAuditPage) {
    return absl::InvalidArgumentError("at most " + std::to_string(kMaxAuditPage) +
                                      " audit entries per page");
  }
  if (limit == 0) limit = kDefaultAuditPage;
  std::unique_ptr<store::Snapshot> snap = store_.GetSnapshot();
  std::unique_ptr<store::Iterator> it = snap->NewIterator(store::Cf::kAudit);
  std::string start;
  store::PutFixed64BE(start, after + 1);
  AuditPage page;
  for (it->Seek(start); it->Valid(); it->Next()) {
    if (page.entries.size() == limit) {
      page.next_after = page.entries.back().sequence;
      break;
    }
    AuditEntry e;
    if (absl::Status s = DecodeAudit(it->value(), &e); !s.ok()) return s;
    e.sequence = store::DecodeFixed64BE(it->key().data());
    page.entries.push_back(std::move(e));
  }
  if (absl::Status s = it->status(); !s.ok()) return s;
  return page;
}

absl::StatusOr<uint64_t> AuditLog::Trim(int64_t before_ms) {
  std::unique_ptr<store::Snapshot> snap = store_.GetSnapshot();
  std::unique_ptr<store::Iterator> it = snap->NewIterator(store::Cf::kAudit);
  std::string first;
  Sequence last = 0;
  uint64_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    AuditEntry e;
    if (absl::Status s = DecodeAudit(it->value(), &e); !s.ok()) return s;
    if (e.time_ms >= before_ms) break;
    if (n++ == 0) first = std::string(it->key());
    last = store::DecodeFixed64BE(it->key().data());
  }
  if (absl::Status s = it->status(); !s.ok()) return s;
  if (n == 0) return 0;
  {
    // The checkpoint first: once every record is gone, it is all that keeps numbering
    // from starting again.
    absl::MutexLock a(&mu_);
    mu_.Await(absl::Condition(
        +[](bool* writing) { return !*writing; }, &writing_));
    std::string seq;
    store::PutFixed64BE(seq, sequence_);
    std::unique_ptr<store::Batch> batch = store_.NewBatch();
    batch->Put(store::Cf::kMeta, kAuditSequenceKey, seq);
    if (absl::Status s = store_.Write(*batch); !s.ok()) return s;
  }
  std::string end;
  store::PutFixed64BE(end, last + 1);
  if (absl::Status s = store_.DeleteRange(store::Cf::kAudit, first, end); !s.ok()) return s;
  return n;
}

}  // namespace tessera::directory
