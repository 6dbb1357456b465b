#include "client/lib/ingester.h"

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
  if (batch_.fragments_size() > 0) {
    if (absl::Status s = Send(); !s.ok()) return s;
  }
  return progress_;
}

absl::Status Ingester::SendOnce(const v1::IngestBatch& batch, v1::IngestResponse* resp, int* bad_fragment) {
  *bad_fragment = -1;
  std::unique_ptr<grpc::ClientContext> ctx = client_.NewContext();
  std::unique_ptr<grpc::ClientWriter<v1::IngestBatch>> writer = client_.directory().Ingest(ctx.get(), resp);
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

absl::Status Ingester::Send() {
  if (options_.batch_time_ms != 0) batch_.set_batch_time_unix_ms(options_.batch_time_ms);
  int attempt = 0;
  while (batch_.fragments_size() > 0) {
    v1::IngestResponse resp;
    int bad = -1;
    absl::Status s = SendOnce(batch_, &resp, &bad);
    if (s.ok()) {
      const v1::IngestCounts& c = resp.totals();
      progress_.added += c.added();
      progress_.updated += c.updated();
      progress_.unchanged += c.unchanged();
      progress_.stale += c.stale();
      progress_.deleted += c.deleted();
      progress_.sequence = resp.sequence();
      break;
    }
    if (s.code() == absl::StatusCode::kInvalidArgument && bad >= 0 && bad < batch_.fragments_size()) {
      ++progress_.rejected;
      if (options_.on_reject) {
        // The tag says which record; drop the server's "batch 0: fragment N: " prefix.
        std::string why(s.message());
        const std::string prefix = "fragment " + std::to_string(bad) + ": ";
        if (const size_t at = why.find(prefix); at != std::string::npos) why.erase(0, at + prefix.size());
        options_.on_reject(tags_[bad], absl::Status(s.code(), why));
      }
      batch_.mutable_fragments()->DeleteSubrange(bad, 1);
      tags_.erase(tags_.begin() + bad);
      continue;
    }
    // Ingest is idempotent by version, so a batch whose fate is unknown is simply sent again.
    const bool transient =
        s.code() == absl::StatusCode::kUnavailable || s.code() == absl::StatusCode::kDeadlineExceeded;
    if (transient && attempt < options_.retries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250 << attempt++));
      continue;
    }
    if (transient) {
      return absl::UnavailableError("cannot reach tesserad at " + client_.options().server + ": " +
                                    std::string(s.message()));
    }
    return s;
  }
  ++progress_.batches;
  if (options_.on_acked) options_.on_acked(tags_);
  batch_.Clear();
  tags_.clear();
  if (options_.on_progress) options_.on_progress(progress_);
  return absl::OkStatus();
}

}  // namespace tessera::client
