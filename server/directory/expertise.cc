// Directory: FindExperts (ReadPath, reads.h) on one snapshot, timed.

#include <algorithm>
#include <chrono>

#include "server/directory/reads.h"
#include "server/index/postings.h"
#include "server/metrics/metrics.h"

namespace tessera::directory {

absl::StatusOr<expertise::Ranking> ReadPath::FindExperts(const expertise::Query& query) const {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<expertise::Ranking> r = Rank(query);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  if (r.ok()) metrics::Global().ObserveFindExperts(elapsed.count());
  return r;
}

absl::StatusOr<expertise::Ranking> ReadPath::Rank(const expertise::Query& query) const {
  expertise::Corpus corpus;
  expertise::Query q = query;
  write_.Published([&](const MetaState& state, const auto&, const auto&) {
    corpus.docs = static_cast<uint64_t>(std::max<int64_t>(0, state.evidence_docs));
    corpus.length = static_cast<uint64_t>(std::max<int64_t>(0, state.evidence_length));
    q.generation = state.sequence;  // taken before the snapshot: its data is at least this new
  });
  q.case_cache = &case_cache_;
  std::unique_ptr<store::Snapshot> snap = write_.store().GetSnapshot();
  if (options_.expertise.language_weight > 0) {
    absl::StatusOr<double> mean = person_lengths_.Get(*snap, q.generation);
    if (!mean.ok()) return mean.status();
    corpus.person_length = *mean;
  }
  const expertise::Ranker ranker(options_.expertise, analyzer_, options_.normalise,
                                 options_.lexicon.get());
  return ranker.Find(*snap, corpus, q);
}

}  // namespace tessera::directory
