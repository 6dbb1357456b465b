#pragma once

// A person's language: Balog, Azzopardi & de Rijke's candidate model ("model 1",
// SIGIR 2006), in which a person is represented by everything credited to them (every
// case they resolved), not only the items a query finds. FindExperts fuses it with
// its document model (ranker.h) by CombSUM of max-normalised scores (Fox & Shaw,
// TREC-2 1994): the document model finds the people and their evidence, this one
// tells apart those whose whole history speaks the query's language.
//
// A person is scored with BM25 (Robertson & Zaragoza 2009) over their history as one
// document:
//
//   Σ_t  w_t · idf_t · tf_t · (k1 + 1) / (tf_t + k1 · (1 − b + b · L / avg L))
//
// tf_t and L sum the term's frequency and the length of each credited item's lead (its
// first 16 terms) over the person's identifiers (index/person_terms.h); idf_t is the document
// model's, from the items' document frequency; w_t is the term's query weight (1, or the
// translation weight); avg L is the mean of L over the people who can be ranked (employees who have
// not left), read by PersonLengthCache: averaged over everyone ever credited, the many past
// contributors with a short history lower it by half or more, and the model then favours long
// histories too much (measured: it loses on two development sets).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/identity/profile.h"
#include "server/store/store.h"

namespace tessera::expertise {

// At most this many of a person's identifiers are read (a profile of many e-mails).
inline constexpr size_t kMaxLanguageIdentifiers = 32;
// A scan for the mean length reads at most this many identifiers' lengths (and their
// people's profiles): all of them in an organisation of a few thousand people, a
// sample (the first in key order) beyond, so the query that rescans stays fast.
inline constexpr size_t kMaxLengthScan = 4'096;

struct LanguageQuery {
  std::vector<std::string> terms;
  std::vector<double> weights;  // per term: w_t · idf_t
  double k1 = 1.2, b = 0.75;
  double avg_length = 0;  // avg L above; > 0
};

// The person's score; 0 when nothing is credited to them.
absl::StatusOr<double> LanguageScore(const store::Reader& reader, const identity::Profile& person,
                                     const LanguageQuery& q);

// avg L: the mean credited length of the employees who have not left as of `today`
// (days since 1970-01-01), or 0 when none has anything credited.
absl::StatusOr<double> ScanMeanLength(const store::Reader& reader, int64_t today);

// avg L as of now for queries on the same data: scanned again once the data changed
// (its generation moved) and the last scan is older than `refresh`. Thread-safe.
class PersonLengthCache {
 public:
  explicit PersonLengthCache(absl::Duration refresh = absl::Seconds(60)) : refresh_(refresh) {}
  absl::StatusOr<double> Get(const store::Reader& reader, uint64_t generation);

 private:
  const absl::Duration refresh_;
  absl::Mutex mu_;
  bool have_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time scanned_ ABSL_GUARDED_BY(mu_);
  double mean_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tessera::expertise
