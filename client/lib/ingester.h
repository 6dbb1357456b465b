#pragma once

// Streams fragments to tesserad in batches. Each batch travels in its own Ingest
// stream, so its per-fragment outcomes always come back. A fragment the server
// rejects (INVALID_ARGUMENT naming it) is reported through `on_reject`, dropped, and
// the rest of its batch is sent again: one bad record never holds back the others and
// nothing is half-applied. UNAVAILABLE is retried with backoff (ingest is idempotent by
// version); so is DEADLINE_EXCEEDED; any other error stops the ingest.

#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "client/lib/client.h"

namespace tessera::client {

struct IngestProgress {
  uint64_t batches = 0;
  uint64_t added = 0, updated = 0, unchanged = 0, stale = 0, deleted = 0, rejected = 0;
  uint64_t suppressed = 0;  // naming an erased person: refused by the server, not an error
  uint64_t sequence = 0;    // the server's change-log sequence after the last batch
  // Replicated mode: a log position at least as far as every batch (0 otherwise).
  uint64_t position = 0;
  // With IngestOptions::bulk: what the server ingested when Finish ended the bulk load.
  v1::BulkLoadResult bulk;
  uint64_t fragments() const {
    return added + updated + unchanged + stale + deleted + rejected + suppressed;
  }
};

struct IngestOptions {
  size_t batch_size = 1000;   // fragments per batch, at most the server's limit (5,000)
  int64_t batch_time_ms = 0;  // 0: tesserad stamps the receipt time
  int retries = 4;  // attempts after UNAVAILABLE or DEADLINE_EXCEEDED, doubling backoff from 250 ms
  // Batches on their way at once. 1: Add waits for each batch's answer. More: batches
  // travel in the background while the caller builds the next (they may be applied out
  // of order, so only for fragments whose keys do not repeat across batches). The
  // callbacks always run on the caller's thread, inside Add or Finish.
  int in_flight = 1;
  // A bulk load (a first sync of many records; directory.proto's IngestBatch.bulk):
  // every batch is marked bulk, and Finish asks the server to end the load, so the
  // evidence is searchable when Finish returns.
  bool bulk = false;
  std::function<void(const IngestProgress&)> on_progress;                // after each batch
  std::function<void(uint64_t tag, const absl::Status& why)> on_reject;  // per rejected fragment
  // After each acknowledged batch, with the tags of the fragments it applied.
  std::function<void(const std::vector<uint64_t>& tags)> on_acked;
};

// Thread-compatible; `client` outlives it. Callbacks run on the caller's thread.
class Ingester {
 public:
  Ingester(const Client& client, IngestOptions options);

  // Queues `fragment`; sends a batch when one is full. `tag` (a line number, say)
  // comes back in on_reject.
  [[nodiscard]] absl::Status Add(v1::Fragment fragment, uint64_t tag);
  // Sends what is left (and with options.bulk, ends the bulk load) and returns the totals.
  absl::StatusOr<IngestProgress> Finish();

 private:
  // What became of one batch, gathered off the caller's thread.
  struct Outcome {
    absl::Status status;
    uint64_t added = 0, updated = 0, unchanged = 0, stale = 0, deleted = 0, suppressed = 0,
             sequence = 0, position = 0;
    std::vector<std::pair<uint64_t, absl::Status>> rejected;  // tag, why
    std::vector<uint64_t> applied;                            // tags
  };

  [[nodiscard]] absl::Status Send();
  // Ends the server's bulk load, retrying as Deliver does.
  [[nodiscard]] absl::Status FinishBulk();
  // Sends one batch until it is applied or fails (thread-safe: no callbacks).
  Outcome Deliver(v1::IngestBatch batch, std::vector<uint64_t> tags) const;
  // Counts an outcome and runs the callbacks.
  [[nodiscard]] absl::Status Collect(const Outcome& o);
  // Collects every batch still on its way; the first error wins.
  [[nodiscard]] absl::Status Drain();
  absl::Status SendOnce(const v1::IngestBatch& batch, v1::IngestResponse* resp,
                        int* bad_fragment) const;

  const Client& client_;
  IngestOptions options_;
  v1::IngestBatch batch_;
  std::vector<uint64_t> tags_;
  IngestProgress progress_;
  std::deque<std::future<Outcome>> pending_;
};

}  // namespace tessera::client
