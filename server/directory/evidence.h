#pragma once

// Private to server/directory: the evidence index entries of a changed fragment
// (postings and evidence records), written by Ingester::Derive in the same batch.

#include <cstdint>
#include <vector>

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

// Re-indexes the evidence of one changed fragment: postings of items whose content
// changed, evidence records of items whose content or profile changed.
void IndexEvidence(store::Batch& batch, const text::Analyzer& analyzer,
                   const identity::FragmentDelta& d, CorpusCounts& corpus);

// The indexed terms of each evidence item of `sf` (what IndexEvidence added).
std::vector<index::DocTerms> EvidenceTerms(const text::Analyzer& analyzer,
                                           const identity::StoredFragment& sf);

}  // namespace tessera::directory
