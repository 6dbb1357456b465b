#pragma once

// Why an expert was ranked: their best evidence items with the fragment they come
// from, a snippet around the first match and the query words they matched, and a
// one-line summary.

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "server/expertise/phrases.h"
#include "server/expertise/ranker.h"
#include "server/index/evidence.h"
#include "server/index/search.h"

namespace tessera::store {
class Reader;
}

namespace tessera::expertise {

// `langs`: the languages the query's words were stemmed in (its own first).
// `hits`: indices into `pool` and `records` of the expert's evidence, best first.
// Fills e.evidence (whose doc and score are set) and e.why, in `reply`'s words.
[[nodiscard]] absl::Status Explain(const store::Reader& reader, const text::Analyzer& analyzer,
                                   std::string_view query_text,
                                   const std::vector<text::Language>& langs,
                                   const std::vector<std::string>& query_terms,
                                   const std::vector<index::ScoredDoc>& pool,
                                   const std::vector<index::EvidenceRecord>& records,
                                   const std::vector<size_t>& hits, Reply reply, Expert& e);

// At most `max_bytes` of `s`, cut at a UTF-8 character boundary, "…" appended if cut.
std::string Clip(std::string_view s, size_t max_bytes);

}  // namespace tessera::expertise
