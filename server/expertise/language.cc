#include "server/expertise/language.h"

#include <algorithm>
#include <map>
#include <optional>

#include "server/expertise/people.h"
#include "server/identity/identifier.h"
#include "server/identity/records.h"
#include "server/index/person_terms.h"

namespace tessera::expertise {

absl::StatusOr<double> LanguageScore(const store::Reader& reader, const identity::Profile& person,
                                     const LanguageQuery& q) {
  std::vector<uint64_t> tf(q.terms.size(), 0);
  uint64_t length = 0;
  const size_t n = std::min(person.identifiers.size(), kMaxLanguageIdentifiers);
  for (size_t i = 0; i < n; ++i) {
    const identity::ProfileIdentifier& id = person.identifiers[i];
    absl::StatusOr<index::PersonTerms> got =
        index::ReadPersonTerms(reader, identity::IdentKey(id.type, id.value), q.terms);
    if (!got.ok()) return got.status();
    length += got->length;
    for (size_t t = 0; t < q.terms.size(); ++t) tf[t] += got->tf[t];
  }
  if (length == 0 || q.avg_length <= 0) return 0.0;
  const double norm = q.k1 * (1 - q.b + q.b * static_cast<double>(length) / q.avg_length);
  double score = 0;
  for (size_t t = 0; t < q.terms.size(); ++t) {
    const auto f = static_cast<double>(tf[t]);
    if (f > 0) score += q.weights[t] * f * (q.k1 + 1) / (f + norm);
  }
  return score;
}

absl::StatusOr<double> ScanMeanLength(const store::Reader& reader, int64_t today) {
  std::map<uint64_t, uint64_t> length;  // profile -> credited length
  absl::Status status = index::ForEachPersonLength(
      reader, kMaxLengthScan, [&](std::string_view identkey, uint64_t n) -> absl::Status {
        absl::StatusOr<std::vector<uint64_t>> owners = identity::ReadOwners(reader, identkey);
        if (!owners.ok()) return owners.status();
        if (!owners->empty()) length[owners->front()] += n;
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  uint64_t total = 0, people = 0;
  for (const auto& [id, n] : length) {
    absl::StatusOr<std::optional<identity::Profile>> p = identity::ReadProfile(reader, id);
    if (!p.ok()) return p.status();
    if (!*p || std::find((*p)->kinds.begin(), (*p)->kinds.end(), "employee") == (*p)->kinds.end() ||
        HasLeft(**p, today)) {
      continue;
    }
    total += n;
    ++people;
  }
  return people == 0 ? 0.0 : static_cast<double>(total) / static_cast<double>(people);
}

absl::StatusOr<double> PersonLengthCache::Get(const store::Reader& reader, uint64_t generation) {
  const absl::Time now = absl::Now();
  {
    absl::MutexLock l(&mu_);
    // Nothing credited yet is scanned again each time (it is cheap): data may be
    // arriving.
    if (have_ && mean_ > 0 && (generation == generation_ || now - scanned_ < refresh_))
      return mean_;
  }
  // Scanned outside the lock: two queries may both scan, and the later one's stays.
  absl::StatusOr<double> mean = ScanMeanLength(reader, absl::ToUnixSeconds(now) / 86'400);
  if (!mean.ok()) return mean.status();
  absl::MutexLock l(&mu_);
  have_ = true;
  generation_ = generation;
  scanned_ = now;
  mean_ = *mean;
  return *mean;
}

}  // namespace tessera::expertise
