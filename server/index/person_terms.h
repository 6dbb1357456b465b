#pragma once

// A person's language: for each identifier an evidence item credits (a case's
// `resolved_by` target), the sum of each term's frequency over the lead of every item
// crediting it (DocTerms::lead: its first 16 terms, the title and first sentence that
// state its subject), and the sum of those leads' lengths. This is what Balog's
// candidate model ("model 1", expertise/language.h) needs: a person's whole history,
// not only the items a query finds. Kept in the postings column family with the same
// counters (merge operands, no read at ingest):
//
//   0x03 · identkey · term      ->  Σ tf of `term` over the leads crediting `identkey`
//   0x04 · identkey             ->  Σ length of those leads
//
// `identkey` is the identifier as the crediting fragment states it (identity::IdentKey,
// which ends in 0x00, so a key splits unambiguously), not a profile id: merging or
// splitting profiles rewrites nothing, and a query sums a person's identifiers.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "server/index/postings.h"
#include "server/store/store.h"

namespace tessera::index {

// An item credits at most this many identifiers in these sums (a case resolved by a
// whole team counts for its first sixteen, in IdentKey order).
inline constexpr size_t kMaxCreditedPerItem = 16;

std::string PersonTermKey(std::string_view identkey, std::string_view term);
std::string PersonLengthKey(std::string_view identkey);

// Adds to `batch` the operands that turn an item crediting `before_ids` with
// `before`'s lead into one crediting `after_ids` with `after`'s (either item may be
// null: added or removed). Ids are IdentKeys, sorted and unique; only the first
// kMaxCreditedPerItem count.
void UpdatePersonTerms(store::Batch& batch, const std::vector<std::string>& before_ids,
                       const DocTerms* before, const std::vector<std::string>& after_ids,
                       const DocTerms* after);

// What one identifier has credited: its length sum and, for each of `terms`, its
// frequency sum (0 for a term it never had). Reads the terms only when the length is
// above 0.
struct PersonTerms {
  uint64_t length = 0;
  std::vector<uint64_t> tf;
};
absl::StatusOr<PersonTerms> ReadPersonTerms(const store::Reader& reader, std::string_view identkey,
                                            const std::vector<std::string>& terms);

// Calls `f` with each identifier whose length is above 0 and that length, in key
// order, for at most `max_keys` entries; stops at f's first error.
absl::Status ForEachPersonLength(
    const store::Reader& reader, size_t max_keys,
    const std::function<absl::Status(std::string_view identkey, uint64_t length)>& f);

}  // namespace tessera::index
