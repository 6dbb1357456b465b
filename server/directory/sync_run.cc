// Directory: sync-run records (sync_run.h), their bytes and their checks.

#include "server/directory/sync_run.h"

#include "server/store/coding.h"

namespace tessera::directory {
namespace {

constexpr std::string_view kSyncRunPrefix = "syncrun/";
constexpr size_t kMaxSyncErrors = 20, kMaxSyncErrorBytes = 512, kMaxSyncFailureBytes = 1024;

}  // namespace

std::string SyncRunKey(std::string_view source_id) {
  std::string key(kSyncRunPrefix);
  key.append(source_id);
  return key;
}

std::string EncodeSyncRun(const SyncRun& r, int64_t last_success_ms) {
  std::string out;
  store::PutVarsint64(out, last_success_ms);
  store::PutLengthPrefixed(out, r.mode);
  store::PutLengthPrefixed(out, r.state);
  store::PutVarsint64(out, r.started_ms);
  store::PutVarsint64(out, r.finished_ms);
  for (uint64_t n : {r.read, r.added, r.updated, r.unchanged, r.deleted, r.rejected})
    store::PutVarint64(out, n);
  store::PutLengthPrefixed(out, r.failure);
  store::PutVarint64(out, r.errors.size());
  for (const std::string& e : r.errors) store::PutLengthPrefixed(out, e);
  store::PutVarint64(out, r.suppressed);  // appended later: absent from older records
  return out;
}

absl::Status DecodeSyncRun(std::string_view data, SyncRun* r, int64_t* last_success_ms) {
  store::Decoder d(data);
  *last_success_ms = d.Varsint64();
  r->mode = std::string(d.LengthPrefixed());
  r->state = std::string(d.LengthPrefixed());
  r->started_ms = d.Varsint64();
  r->finished_ms = d.Varsint64();
  for (uint64_t* n : {&r->read, &r->added, &r->updated, &r->unchanged, &r->deleted, &r->rejected})
    *n = d.Varint64();
  r->failure = std::string(d.LengthPrefixed());
  const uint64_t n = d.Varint64();
  for (uint64_t i = 0; i < n && d.ok() && i <= kMaxSyncErrors; ++i)
    r->errors.emplace_back(d.LengthPrefixed());
  if (d.ok() && !d.done()) r->suppressed = d.Varint64();
  if (!d.ok() || !d.done()) return absl::DataLossError("corrupt sync run record");
  return absl::OkStatus();
}

absl::Status ValidateSyncRun(const SyncRun& r) {
  if (r.mode != "full" && r.mode != "incremental") {
    return absl::InvalidArgumentError("run.mode '" + r.mode.substr(0, 32) +
                                      "' is not full or incremental");
  }
  if (r.state != "ok" && r.state != "partial" && r.state != "failed") {
    return absl::InvalidArgumentError("run.state '" + r.state.substr(0, 32) +
                                      "' is not ok, partial or failed");
  }
  if (r.errors.size() > kMaxSyncErrors) {
    return absl::InvalidArgumentError("run.errors has " + std::to_string(r.errors.size()) +
                                      " entries, limit " + std::to_string(kMaxSyncErrors));
  }
  for (size_t i = 0; i < r.errors.size(); ++i) {
    if (r.errors[i].size() > kMaxSyncErrorBytes) {
      return absl::InvalidArgumentError("run.errors[" + std::to_string(i) + "] is longer than " +
                                        std::to_string(kMaxSyncErrorBytes) + " bytes");
    }
  }
  if (r.failure.size() > kMaxSyncFailureBytes) {
    return absl::InvalidArgumentError("run.failure is longer than " +
                                      std::to_string(kMaxSyncFailureBytes) + " bytes");
  }
  if (r.finished_ms < r.started_ms)
    return absl::InvalidArgumentError("run.finished is before run.started");
  const uint64_t accounted =
      r.added + r.updated + r.unchanged + r.deleted + r.rejected + r.suppressed;
  if (r.state != "failed" && accounted != r.read) {
    // A finished run accounts for every record it read; one that does not lost some.
    return absl::InvalidArgumentError("run counts do not add up: read " + std::to_string(r.read) +
                                      " but added + updated + unchanged + deleted + "
                                      "rejected + suppressed = " +
                                      std::to_string(accounted) + "; report such a run as failed");
  }
  return absl::OkStatus();
}

}  // namespace tessera::directory
