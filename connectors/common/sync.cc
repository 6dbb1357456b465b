#include "connectors/common/sync.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>
#include <unordered_set>

#include "client/lib/ingester.h"
#include "connectors/common/state.h"

namespace tessera::connect {
namespace {

constexpr size_t kMaxReportedErrors = 20;
constexpr size_t kMaxErrorBytes = 512;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Clip(std::string s, size_t n) {
  if (s.size() <= n) return s;
  s.resize(n - 3);
  while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80)
    s.pop_back();  // whole UTF-8
  if (!s.empty() && static_cast<unsigned char>(s.back()) >= 0xC0) s.pop_back();
  return s + "...";
}

// Hash of what a record says, without the parts the runtime sets.
uint64_t HashOf(const v1::Fragment& f) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  f.SerializeToCodedStream(&coded);
  coded.Trim();
  return ContentHash(bytes);
}

// Calls `call` until it succeeds or fails for good: UNAVAILABLE and DEADLINE_EXCEEDED
// (tesserad restarting, or paused) are tried again 4 times, with the backoff the
// ingester uses for batches (250 ms, doubling). Registering a source and reporting a
// run are idempotent, like batches.
template <typename Call>
auto Retrying(Call call) {
  for (int attempt = 0;; ++attempt) {
    auto r = call();
    const absl::StatusCode code = r.status().code();
    const bool transient =
        code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded;
    if (!transient || attempt >= 4) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(250 << attempt));
  }
}

class Runner final : public Sink {
 public:
  Runner(const SourceConfig& config, const client::Client& client, const SyncOptions& options,
         SyncState state)
      : config_(config), options_(options), old_(std::move(state)) {
    run_.set_mode(options.incremental ? "incremental" : "full");
    run_.set_started_unix_ms(NowMs());
    new_ = old_;
    if (options.dry_run) return;
    client::IngestOptions io;
    io.batch_size = config.batch_size;
    // Reading the source overlaps with sending; a run's keys never repeat, so batches
    // may be applied in any order.
    io.in_flight = 2;
    io.bulk = options.bulk;
    io.on_reject = [this](uint64_t tag, const absl::Status& why) {
      auto it = pending_.find(tag);
      const std::string where = it == pending_.end() ? "record" : it->second.locator;
      Error(where + ": " + std::string(why.message()));
      if (it != pending_.end()) pending_.erase(it);
    };
    io.on_acked = [this](const std::vector<uint64_t>& tags) {
      for (uint64_t tag : tags) {
        auto it = pending_.find(tag);
        if (it == pending_.end()) continue;
        if (it->second.deleted) {
          new_.records.erase(it->second.key);
        } else {
          new_.records[it->second.key] = it->second.state;
        }
        pending_.erase(it);
      }
    };
    io.on_progress = [this](const client::IngestProgress& p) {
      sent_ = p;
      Progress("", /*force=*/true);
    };
    ingester_.emplace(client, io);
  }

  absl::Status Emit(v1::Fragment f, std::string_view locator) override {
    if (f.external_id().empty() || f.external_id().find('\n') != std::string::npos) {
      Reject(locator, "empty key or a key with a line break");
      return absl::OkStatus();
    }
    if (!seen_.insert(f.external_id()).second) {
      Reject(locator, "key '" + Clip(f.external_id(), 80) +
                          "' appears twice in this read; the later one is skipped");
      return absl::OkStatus();
    }
    ++read_;
    std::string name = NameOf(f);
    f.set_source(config_.id);
    f.clear_version();
    const uint64_t hash = HashOf(f);
    auto old = old_.records.find(f.external_id());
    const bool known = old != old_.records.end();
    if (known && old->second.hash == hash) {
      if (options_.incremental || options_.dry_run) {
        ++local_unchanged_;
        Progress("", false);
        return absl::OkStatus();  // nothing to send
      }
      f.set_version(old->second.version);  // the server answers "unchanged"
    } else {
      f.set_version(NextVersion(known ? old->second.version : 0));
      if (options_.dry_run) {
        ++(known ? local_updated_ : local_added_);
        if (options_.on_planned) options_.on_planned(known ? '~' : '+', f.external_id(), name);
      }
    }
    if (f.updated_at_unix_ms() == 0) f.set_updated_at_unix_ms(run_.started_unix_ms());
    // The version is read before `f` is moved: argument evaluation order is unspecified
    // (clang moves first, GCC last), and a moved-from fragment has version 0.
    const uint64_t version = f.version();
    return Send(std::move(f), locator, {version, hash, std::move(name)}, /*deleted=*/false);
  }

  absl::Status EmitRecord(
      const Record& r,
      const std::function<absl::Status(const Record&, v1::Fragment&)>& extend) override {
    std::vector<std::string> warnings;
    absl::StatusOr<v1::Fragment> f = MapRecordWith(config_.mapping, r, extend, &warnings);
    for (const std::string& w : warnings) Warn(w);
    if (!f.ok()) {
      Reject(r.locator, std::string(f.status().message()));
      return absl::OkStatus();
    }
    return Emit(*std::move(f), r.locator);
  }

  absl::Status Delete(std::string_view external_id, std::string_view locator) override {
    auto old = old_.records.find(std::string(external_id));
    if (old == old_.records.end()) return absl::OkStatus();  // never sent: nothing to remove
    return Tombstone(old->first, old->second.version, locator);
  }

  // Counts the record as read too: every record read is applied, unchanged or rejected.
  void Reject(std::string_view locator, std::string_view why) override {
    ++read_;
    ++local_rejected_;
    Error(std::string(locator) + ": " + std::string(why));
  }

  void Note(std::string_view what) override { Progress(what, false); }
  void Warn(std::string_view locator, std::string_view why) override {
    Warn(std::string(locator) + ": " + std::string(why));
  }

  // After a complete read: every key sent before and not seen now is gone.
  absl::Status DeleteUnseen() {
    if (seen_.empty() && !old_.records.empty() && !options_.allow_empty) {
      return absl::FailedPreconditionError("the source yielded no records but " +
                                           std::to_string(old_.records.size()) +
                                           " were synced before; refusing to delete them all (run "
                                           "with --allow-empty if the source is really empty)");
    }
    std::vector<std::pair<std::string, const RecordState*>> gone;
    for (const auto& [key, r] : old_.records) {
      if (seen_.count(key) == 0) gone.emplace_back(key, &r);
    }
    std::sort(gone.begin(), gone.end());
    if (absl::Status s = CheckDeleteShare(gone.size()); !s.ok()) return s;
    for (const auto& [key, r] : gone) {
      if (options_.dry_run && options_.on_planned) options_.on_planned('-', key, r->name);
      if (absl::Status s = Tombstone(key, r->version, "deleted " + key); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // The guard against a truncated export: deleting more than max_delete_share of what
  // was synced needs --allow-deletes. (An empty read is the --allow-empty case.)
  absl::Status CheckDeleteShare(size_t deletions) const {
    if (options_.allow_deletes || (seen_.empty() && options_.allow_empty) || old_.records.empty()) {
      return absl::OkStatus();
    }
    const double share = static_cast<double>(deletions) / static_cast<double>(old_.records.size());
    if (share <= config_.max_delete_share) return absl::OkStatus();
    char pct[32];
    snprintf(pct, sizeof pct, "%.0f%% > %.0f%%", share * 100, config_.max_delete_share * 100);
    return absl::FailedPreconditionError(
        "this run would delete " + std::to_string(deletions) + " of the " +
        std::to_string(old_.records.size()) + " records synced before (" + pct +
        ", the source's max_delete_share); nothing was deleted. A truncated "
        "export? If they are really gone, run again with --allow-deletes");
  }

  absl::Status Finish() {
    if (!ingester_) return absl::OkStatus();
    absl::StatusOr<client::IngestProgress> p = ingester_->Finish();
    if (!p.ok()) return p.status();
    sent_ = *p;
    if (options_.bulk && options_.on_bulk) options_.on_bulk(sent_.bulk);
    return absl::OkStatus();
  }

  v1::SyncRun& run() {
    run_.set_read(read_);
    if (options_.dry_run) {
      run_.set_added(local_added_);
      run_.set_updated(local_updated_);
      run_.set_deleted(local_deleted_);
    } else {
      run_.set_added(sent_.added);
      run_.set_updated(sent_.updated);
      run_.set_deleted(sent_.deleted);
    }
    // A record older than the stored one (STALE) is unchanged for the run.
    run_.set_unchanged(local_unchanged_ + sent_.unchanged + sent_.stale);
    run_.set_rejected(local_rejected_ + sent_.rejected);
    run_.set_suppressed(sent_.suppressed);
    return run_;
  }
  SyncState& new_state() { return new_; }

 private:
  struct Pending {
    std::string key, locator;
    RecordState state;
    bool deleted = false;
  };

  uint64_t NextVersion(uint64_t previous) const {
    // Later runs give later versions even if a checkpoint was lost after a send.
    return std::max<uint64_t>(previous + 1, static_cast<uint64_t>(run_.started_unix_ms()));
  }

  // A deletion found counts as read: every one ends as an outcome, like a record.
  absl::Status Tombstone(const std::string& key, uint64_t previous, std::string_view locator) {
    ++read_;
    if (options_.dry_run) {
      ++local_deleted_;
      return absl::OkStatus();
    }
    v1::Fragment f;
    f.set_source(config_.id);
    f.set_external_id(key);
    f.set_kind(config_.mapping.kind);
    f.set_tombstone(true);
    f.set_version(NextVersion(previous));
    f.set_updated_at_unix_ms(run_.started_unix_ms());
    return Send(std::move(f), locator, {}, /*deleted=*/true);
  }

  absl::Status Send(v1::Fragment f, std::string_view locator, RecordState state, bool deleted) {
    if (options_.dry_run) return absl::OkStatus();
    const uint64_t tag = next_tag_++;
    pending_[tag] = {f.external_id(), std::string(locator), std::move(state), deleted};
    absl::Status s = ingester_->Add(std::move(f), tag);
    Progress("", false);
    return s;
  }

  void Warn(const std::string& w) {
    if (options_.on_error) options_.on_error(w);
  }
  void Error(const std::string& e) {
    if (run_.errors_size() < static_cast<int>(kMaxReportedErrors))
      run_.add_errors(Clip(e, kMaxErrorBytes));
    if (options_.on_error) options_.on_error(e);
  }

  void Progress(std::string_view note, bool force) {
    if (!options_.on_progress) return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_progress_ < std::chrono::seconds(2)) return;
    last_progress_ = now;
    options_.on_progress(run(), note);
  }

  const SourceConfig& config_;
  const SyncOptions& options_;
  const SyncState old_;
  SyncState new_;
  std::optional<client::Ingester> ingester_;
  std::unordered_map<uint64_t, Pending> pending_;
  std::unordered_set<std::string> seen_;
  uint64_t next_tag_ = 0, read_ = 0;
  uint64_t local_unchanged_ = 0, local_rejected_ = 0, local_added_ = 0, local_updated_ = 0,
           local_deleted_ = 0;
  client::IngestProgress sent_;
  v1::SyncRun run_;
  std::chrono::steady_clock::time_point last_progress_ = std::chrono::steady_clock::now();
};

}  // namespace

absl::StatusOr<v1::SyncRun> RunSync(const SourceConfig& config, Connector& connector,
                                    const client::Client& client, const SyncOptions& options) {
  absl::StatusOr<SyncState> state = LoadState(config.StateFile());
  if (!state.ok()) return state.status();
  if (!options.dry_run) {
    v1::Source src;
    src.set_id(config.id);
    src.set_kind(config.kind);
    src.set_priority(config.priority);
    src.set_propose_priority(true);
    src.set_description(config.description);
    absl::StatusOr<v1::Source> put = Retrying([&] { return client.PutSource(src); });
    if (!put.ok())
      return absl::Status(put.status().code(), "register source '" + config.id +
                                                   "': " + std::string(put.status().message()));
    if (put->priority() != config.priority && options.on_error) {
      options.on_error("priority " + std::to_string(config.priority) + " in " + config.file + ", " +
                       std::to_string(put->priority()) +
                       " in tesserad's registry: the registry's is kept (" +
                       "`tessera admin source " + config.id + " --priority N` changes it)");
    }
  }
  const std::string cursor = state->cursor;
  Runner runner(config, client, options, *std::move(state));

  ReadRequest req{options.incremental, options.incremental ? cursor : std::string()};
  absl::StatusOr<ReadResult> read = connector.Read(req, runner);
  absl::Status failure = read.status();
  if (failure.ok() && read->complete) failure = runner.DeleteUnseen();
  // What was read is applied even when the read failed part-way: each batch is atomic,
  // and a record sent now is simply unchanged next time.
  if (absl::Status s = runner.Finish(); !s.ok() && failure.ok()) failure = s;

  v1::SyncRun& run = runner.run();
  run.set_finished_unix_ms(std::max<int64_t>(NowMs(), run.started_unix_ms()));
  const uint64_t accounted = run.added() + run.updated() + run.unchanged() + run.deleted() +
                             run.rejected() + run.suppressed();
  if (failure.ok() && accounted != run.read()) {
    failure = absl::DataLossError("counts do not add up: read " + std::to_string(run.read()) +
                                  ", but " + std::to_string(accounted) +
                                  " have an outcome (added, updated, unchanged, deleted, "
                                  "rejected, suppressed); the run is not trusted");
  }
  if (!failure.ok()) {
    run.set_state("failed");
    run.set_failure(Clip(std::string(failure.message()), 1024));
  } else {
    run.set_state(run.rejected() > 0 ? "partial" : "ok");
  }
  if (options.dry_run) return run;

  // The checkpoint records what tesserad acknowledged; the cursor moves only after a
  // clean read, so a failed incremental run is read again from the same point.
  SyncState& next = runner.new_state();
  if (failure.ok()) next.cursor = read->cursor;
  absl::Status saved = SaveState(config.StateFile(), next);
  if (!saved.ok() && failure.ok()) {
    run.set_state("failed");
    run.set_failure(Clip("checkpoint: " + std::string(saved.message()), 1024));
  }
  v1::ReportSyncRequest report;
  report.set_source(config.id);
  *report.mutable_run() = run;
  if (absl::StatusOr<v1::Source> r = Retrying([&] { return client.ReportSync(report); });
      !r.ok() && options.on_error) {
    options.on_error("could not report the run to tesserad: " + std::string(r.status().message()));
  }
  return run;
}

std::string FormatCounts(const v1::SyncRun& r) {
  std::string out;
  const std::pair<const char*, uint64_t> counts[] = {{"read", r.read()},
                                                     {"added", r.added()},
                                                     {"updated", r.updated()},
                                                     {"unchanged", r.unchanged()},
                                                     {"deleted", r.deleted()},
                                                     {"rejected", r.rejected()},
                                                     {"suppressed", r.suppressed()}};
  for (const auto& [name, n] : counts) {
    if (!out.empty()) out += ", ";
    out += std::string(name) + " " + std::to_string(n);
  }
  return out;
}

std::string NameOf(const v1::Fragment& f) {
  std::string given, family;
  for (const v1::Attribute& a : f.attributes()) {
    if (a.name() == "display_name" && !a.value().empty()) return a.value();
    if (a.name() == "given_name" && given.empty()) given = a.value();
    if (a.name() == "family_name" && family.empty()) family = a.value();
  }
  if (given.empty() || family.empty()) return given + family;
  return given + " " + family;
}

}  // namespace tessera::connect
