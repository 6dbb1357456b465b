#include "client/lib/ingester.h"

#include <chrono>
#include <thread>

namespace tessera::client {

Ingester::Ingester(const Client& client, IngestOptions options)
    : client_(client), options_(std::move(options)) {
  if (options_.batch_size == 0) options_.batch_size = 1;
}

absl::Status Ingester::Add(v1::Fragment fragment, uint64_t tag) {
  *batch_.add_fragments() = std::move(fragment);
  tags_.push_back(tag);
  if (static_cast<size_t>(batch_.fragments_size()) < options_.batch_size) return absl::OkStatus();
  return Send();
}

absl::StatusOr<IngestProgress> Ingester::Finish() {
  absl::Status s = batch_.fragments_size() > 0 ? Send() : absl::OkStatus();
  if (absl::Status d = Drain(); s.ok()) s = d;
  // A bulk load is ended even after an error: what was applied becomes searchable.
  if (options_.bulk) {
    if (absl::Status b = FinishBulk(); s.ok()) s = b;
  }
  if (!s.ok()) return s;
  return progress_;
}

absl::Status Ingester::FinishBulk() {
  v1::IngestBatch finish;
  finish.set_finish_bulk(true);
  for (int attempt = 0;; ++attempt) {
    v1::IngestResponse resp;
    int bad = -1;
    absl::Status s = SendOnce(finish, &resp, &bad);
    if (s.ok()) {
      progress_.bulk = resp.bulk();
      return s;
    }
    const bool transient = s.code() == absl::StatusCode::kUnavailable ||
                           s.code() == absl::StatusCode::kDeadlineExceeded;
    if (!transient || attempt >= options_.retries) {
      return absl::Status(s.code(), "finishing the bulk load: " + std::string(s.message()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250 << attempt));
  }
}

absl::Status Ingester::Send() {
  if (options_.batch_time_ms != 0) batch_.set_batch_time_unix_ms(options_.batch_time_ms);
  if (options_.bulk) batch_.set_bulk(true);
  v1::IngestBatch batch;
  batch.Swap(&batch_);
  std::vector<uint64_t> tags;
  tags.swap(tags_);
  if (options_.in_flight <= 1) return Collect(Deliver(std::move(batch), std::move(tags)));
  while (pending_.size() >= static_cast<size_t>(options_.in_flight)) {
    Outcome o = pending_.front().get();
    pending_.pop_front();
    if (absl::Status s = Collect(o); !s.ok()) {
      Drain().IgnoreError();  // the others' callbacks still run; the first error is returned
      return s;
    }
  }
  pending_.push_back(
      std::async(std::launch::async, [this, b = std::move(batch), t = std::move(tags)]() mutable {
        return Deliver(std::move(b), std::move(t));
      }));
  return absl::OkStatus();
}

absl::Status Ingester::Drain() {
  absl::Status first;
  while (!pending_.empty()) {
    Outcome o = pending_.front().get();
    pending_.pop_front();
    if (absl::Status s = Collect(o); first.ok()) first = s;
  }
  return first;
}

Ingester::Outcome Ingester::Deliver(v1::IngestBatch batch, std::vector<uint64_t> tags) const {
  Outcome o;
  int attempt = 0;
  while (batch.fragments_size() > 0) {
    v1::IngestResponse resp;
    int bad = -1;
    absl::Status s = SendOnce(batch, &resp, &bad);
    if (s.ok() &&
        (resp.batches_size() != 1 || resp.batches(0).outcomes_size() != batch.fragments_size())) {
      // Every fragment sent gets an outcome; a server that answers for fewer lost some.
      const int answered = resp.batches_size() == 0 ? 0 : resp.batches(0).outcomes_size();
      o.status = absl::DataLossError("tesserad acknowledged " + std::to_string(answered) +
                                     " of the " + std::to_string(batch.fragments_size()) +
                                     " fragments sent in one batch");
      return o;
    }
    if (s.ok()) {
      const v1::IngestCounts& c = resp.totals();
      o.added = c.added();
      o.updated = c.updated();
      o.unchanged = c.unchanged();
      o.stale = c.stale();
      o.deleted = c.deleted();
      o.suppressed = c.suppressed();
      o.sequence = resp.sequence();
      o.position = resp.position();
      o.applied = std::move(tags);
      return o;
    }
    if (s.code() == absl::StatusCode::kInvalidArgument && bad >= 0 &&
        bad < batch.fragments_size()) {
      // The tag says which record; drop the server's "batch 0: fragment N: " prefix.
      std::string why(s.message());
      const std::string prefix = "fragment " + std::to_string(bad) + ": ";
      if (const size_t at = why.find(prefix); at != std::string::npos)
        why.erase(0, at + prefix.size());
      o.rejected.emplace_back(tags[bad], absl::Status(s.code(), why));
      batch.mutable_fragments()->DeleteSubrange(bad, 1);
      tags.erase(tags.begin() + bad);
      continue;
    }
    // Ingest is idempotent by version, so a batch whose fate is unknown is simply sent again.
    const bool transient = s.code() == absl::StatusCode::kUnavailable ||
                           s.code() == absl::StatusCode::kDeadlineExceeded;
    if (transient && attempt < options_.retries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250 << attempt++));
      continue;
    }
    if (transient) {
      o.status = absl::UnavailableError("cannot reach tesserad at " + client_.options().server +
                                        ": " + std::string(s.message()));
    } else {
      o.status = s;
    }
    return o;
  }
  return o;  // every fragment was rejected
}

absl::Status Ingester::Collect(const Outcome& o) {
  for (const auto& [tag, why] : o.rejected) {
    ++progress_.rejected;
    if (options_.on_reject) options_.on_reject(tag, why);
  }
  if (!o.status.ok()) return o.status;
  progress_.added += o.added;
  progress_.updated += o.updated;
  progress_.unchanged += o.unchanged;
  progress_.stale += o.stale;
  progress_.deleted += o.deleted;
  progress_.suppressed += o.suppressed;
  if (o.sequence > progress_.sequence) progress_.sequence = o.sequence;
  if (o.position > progress_.position) progress_.position = o.position;
  ++progress_.batches;
  if (options_.on_acked && !o.applied.empty()) options_.on_acked(o.applied);
  if (options_.on_progress) options_.on_progress(progress_);
  return absl::OkStatus();
}

absl::Status Ingester::SendOnce(const v1::IngestBatch& batch, v1::IngestResponse* resp,
                                int* bad_fragment) const {
  *bad_fragment = -1;
  std::unique_ptr<grpc::ClientContext> ctx = client_.NewContext();
  std::unique_ptr<grpc::ClientWriter<v1::IngestBatch>> writer =
      client_.directory().Ingest(ctx.get(), resp);
  writer->Write(batch);
  writer->WritesDone();
  const grpc::Status s = writer->Finish();
  if (s.ok()) return absl::OkStatus();
  const auto& trailers = ctx->GetServerTrailingMetadata();
  if (auto it = trailers.find("tessera-fragment-index"); it != trailers.end()) {
    *bad_fragment = std::stoi(std::string(it->second.data(), it->second.size()));
  }
  return FromGrpc(s);
}

}  // namespace tessera::client
