// Directory: bulk loads (bulk_load.h).

#include "server/directory/bulk_load.h"

#include <chrono>
#include <cstdio>

#include "server/directory/admin.h"

namespace tessera::directory {
namespace {

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Describe(const store::Store::BulkFigures& f) {
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "%llu postings operands, %llu sorted runs, %llu keys in %llu SST files "
                "(%.1f MiB) ingested in %.1f s",
                static_cast<unsigned long long>(f.operands),
                static_cast<unsigned long long>(f.runs), static_cast<unsigned long long>(f.keys),
                static_cast<unsigned long long>(f.files), f.sst_bytes / 1048576.0, f.seconds);
  return buf;
}

}  // namespace

BulkLoads::~BulkLoads() {
  std::thread watcher;
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
    watcher = std::move(watcher_);
  }
  if (watcher.joinable()) watcher.join();
  if (Active()) {
    WritePath::Writer w(write_);
    // Errors were told to options_.notice; the flag left in the state makes the next
    // open rebuild.
    (void)Finish(w, "at close");
  }
}

absl::Status BulkLoads::Begin() {
  last_begin_ns_.store(SteadyNs(), std::memory_order_relaxed);
  if (Active()) return absl::OkStatus();
  {
    WritePath::Writer w(write_);
    if (Active()) return absl::OkStatus();
    store::Store& store = write_.store();
    if (absl::Status s = store.BeginBulk(options_.bulk_memory_bytes); !s.ok()) return s;
    w.state().bulk_loading = true;
    std::unique_ptr<store::Batch> batch = store.NewBatch();
    if (absl::Status s = w.Commit(*batch); !s.ok()) {
      store.AbandonBulk();
      return s;
    }
  }
  absl::MutexLock l(&mu_);
  if (!watcher_.joinable() && !stopping_) watcher_ = std::thread([this] { Watch(); });
  return absl::OkStatus();
}

absl::StatusOr<store::Store::BulkFigures> BulkLoads::Finish() {
  if (!Active()) return store::Store::BulkFigures{};
  WritePath::Writer w(write_);
  return Finish(w, "on request");
}

absl::StatusOr<store::Store::BulkFigures> BulkLoads::Finish(WritePath::Writer& w, const char* why) {
  store::Store& store = write_.store();
  if (!store.BulkActive()) return store::Store::BulkFigures{};
  absl::StatusOr<store::Store::BulkFigures> f = store.FinishBulk();
  if (!f.ok()) {
    // The collected postings are gone: derive them again, so nothing stays missing.
    if (options_.notice) {
      options_.notice("bulk load failed to finish (" + std::string(f.status().message()) +
                      "): rebuilding derived data");
    }
    absl::StatusOr<RebuildResult> r = admin_.Rebuild(w);
    if (!r.ok()) {
      return Prefixed(r.status(), "bulk load failed (" + std::string(f.status().message()) +
                                      "), and so did the rebuild after it: ");
    }
    return Prefixed(f.status(), "bulk load failed, derived data was rebuilt instead: ");
  }
  w.state().bulk_loading = false;
  std::unique_ptr<store::Batch> batch = store.NewBatch();
  if (absl::Status s = w.Commit(*batch); !s.ok()) return s;
  if (options_.notice)
    options_.notice(std::string("bulk load finished ") + why + ": " + Describe(*f));
  return f;
}

void BulkLoads::Watch() {
  const absl::Duration tick = std::min(absl::Seconds(1), options_.bulk_idle / 4);
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), tick)) return;
    }
    if (!Active()) continue;
    const int64_t idle_ns = SteadyNs() - last_begin_ns_.load(std::memory_order_relaxed);
    if (idle_ns < absl::ToInt64Nanoseconds(options_.bulk_idle)) continue;
    WritePath::Writer w(write_);
    // A Begin may have come while the lock was awaited.
    if (SteadyNs() - last_begin_ns_.load(std::memory_order_relaxed) <
        absl::ToInt64Nanoseconds(options_.bulk_idle)) {
      continue;
    }
    if (absl::StatusOr<store::Store::BulkFigures> f = Finish(w, "after an idle period"); !f.ok()) {
      if (options_.notice) options_.notice(std::string(f.status().message()));
    }
  }
}

}  // namespace tessera::directory
