#pragma once

// Top-k evidence for a query, BM25 with per-kind weights and recency decay:
//
//   score(d) = w(kind_d) · r(d) · Σ_t idf_t · tf·(k1+1) / (tf + k1·(1 − b + b·len_d/avglen))
//   idf_t    = ln(1 + (N − df_t + 0.5)/(df_t + 0.5))          (Robertson & Zaragoza 2009)
//   r(d)     = (1 + age_d/τ)^−p       with p > 0: a power law   (1 when τ = 0)
//            = exp(−age_d/τ)          with p = 0: exponential
//   age_d    = max(0, now − day_d) in days
//
// The power law is the default (FindExperts' recency_power 2): Anderson & Schooler
// (Psychological Science 1991, "Reflections of the environment in memory") found that
// the odds a piece of information is needed again fall as a power of the time since
// it was last needed, not exponentially. Against an exponential of the same τ, a
// power law weighs the last months less evenly and keeps a long tail: a maintainer's
// evidence from years ago still counts a little (server/expertise/README.md has the
// measurements).
//
// MaxScore (Turtle & Flood 1995) with block-max bounds (Ding & Suel, SIGIR 2011), a
// block of postings at a time: terms sorted by their score bound; once the k-th best
// score exceeds the bounds of the weakest terms together, those terms only decide
// between documents found through the others; a block whose header (max tf, min
// length, newest day, kinds) bounds its best score under the k-th is skipped
// undecoded; the essential terms' postings of a block are summed into per-document
// accumulators, and each document touched is dropped as soon as it cannot reach the
// k-th score. Epochs (128 days of evidence dates, postings.h) are searched from the
// newest back (recent evidence scores highest), so the k-th score is high early, and
// the search ends at the first epoch whose best possible score cannot beat it.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/index/postings.h"

namespace tessera::store {
class Reader;
}

namespace tessera::index {

struct SearchParams {
  size_t k = 1000;
  double k1 = 1.2;
  double b = 0.75;
  double avg_length = 1;
  uint64_t docs = 0;  // N
  std::array<double, kEvidenceKinds> kind_weight{1, 1, 1, 1, 1, 1, 1};
  double recency_tau_days = 0;  // 0: no decay
  double recency_power = 0;     // p above; 0: exponential decay
  uint32_t today = 0;           // days since 1970 of "now"; later evidence is skipped (0: none)
  // Per query term, a factor on its idf (empty: 1 each): translated terms count less.
  std::vector<double> term_weight;
};

// At most this many query terms are searched (FindExperts keeps the first ones).
inline constexpr size_t kMaxQueryTerms = 64;

struct ScoredDoc {
  uint64_t doc = 0;
  double score = 0;
  uint64_t terms = 0;  // bit i: query term i matched
};

struct SearchStats {
  uint64_t postings_read = 0;   // postings decoded
  uint64_t docs_scored = 0;     // documents whose score was computed in full or pruned
  uint64_t blocks_skipped = 0;  // blocks passed over on their header alone
  uint64_t epochs_skipped = 0;  // epochs not visited: their recency bound was too low
};

// The k best documents for `terms` (distinct analysed query terms, at most
// kMaxQueryTerms), best first.
absl::StatusOr<std::vector<ScoredDoc>> TopK(const store::Reader& reader,
                                            const std::vector<std::string>& terms,
                                            const SearchParams& params,
                                            SearchStats* stats = nullptr);

}  // namespace tessera::index
