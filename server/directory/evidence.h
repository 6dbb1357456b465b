#pragma once

// Private to server/directory: the evidence index entries of a changed fragment
// (postings and evidence records), written by Ingester::Derive in the same batch.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "server/identity/linker.h"
#include "server/index/postings.h"
#include "server/store/store.h"
#include "server/text/analyzer.h"

namespace tessera::directory {

// Documents and total length of the evidence corpus (BM25's N and average length).
struct CorpusCounts {
  int64_t docs = 0;
  int64_t length = 0;
};

// The terms of evidence texts analysed ahead of the write lock, so concurrent ingest
// streams analyse their batches in parallel; found again by language tag and text.
// Thread-compatible.
class AnalysedTexts {
 public:
  // Analyses every evidence item of `f`.
  void Add(const text::Analyzer& analyzer, const identity::Fragment& f);
  // The terms (document id, kind and day unset) of an item Add analysed with the same
  // language tag, title and text, moved out; nullopt if there is none.
  std::optional<index::DocTerms> Take(const identity::Evidence& e);

 private:
  absl::flat_hash_map<std::string, index::DocTerms> terms_;
};

// Re-indexes the evidence of one changed fragment: postings of items whose content
// changed, evidence records of items whose content or profile changed. Terms are
// taken from `ready` where it has them (may be null), else analysed here.
void IndexEvidence(store::Batch& batch, const text::Analyzer& analyzer,
                   const identity::FragmentDelta& d, CorpusCounts& corpus,
                   AnalysedTexts* ready = nullptr);

// The indexed terms of each evidence item of `sf` (what IndexEvidence added).
std::vector<index::DocTerms> EvidenceTerms(const text::Analyzer& analyzer,
                                           const identity::StoredFragment& sf);

}  // namespace tessera::directory
