#include "server/expertise/explain.h"

#include <algorithm>
#include <map>
#include <set>

#include "server/identity/records.h"
#include "server/text/text.h"

namespace tessera::expertise {
namespace {

constexpr size_t kSnippetBytes = 220;

// The first sentence of `body` sharing a term with `matched`, clipped.
std::string Snippet(const text::Analyzer& analyzer, std::string_view body, text::Language lang,
                    const std::set<std::string>& matched) {
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find_first_of(".!?\n", start);
    end = end == std::string_view::npos ? body.size() : end + 1;
    const std::string_view sentence = body.substr(start, end - start);
    for (const std::string& t : analyzer.Terms(sentence, lang)) {
      if (matched.count(t) != 0) return Clip(text::TrimAscii(sentence), kSnippetBytes);
    }
    start = end;
  }
  return Clip(text::TrimAscii(body), kSnippetBytes);
}

}  // namespace

std::string Clip(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80)
    --cut;  // not mid-character
  return std::string(s.substr(0, cut)) + "…";
}

absl::Status Explain(const store::Reader& reader, const text::Analyzer& analyzer,
                     std::string_view query_text, const std::vector<text::Language>& langs,
                     const std::vector<std::string>& query_terms,
                     const std::vector<index::ScoredDoc>& pool,
                     const std::vector<index::EvidenceRecord>& records,
                     const std::vector<size_t>& hits, Reply reply, Expert& e) {
  // Query term -> words as typed, in each language the query was stemmed in.
  std::map<std::string, std::vector<std::string>> surfaces;
  for (text::Language l : langs) {
    for (const text::Analyzer::Word& w : analyzer.Words(query_text, l)) {
      auto& v = surfaces[w.term];
      if (std::find(v.begin(), v.end(), w.surface) == v.end()) v.push_back(w.surface);
    }
  }
  for (size_t j = 0; j < e.evidence.size() && j < hits.size(); ++j) {
    EvidenceHit& hit = e.evidence[j];
    const index::EvidenceRecord& r = records[hits[j]];
    hit.kind = r.kind;
    hit.profile = r.entity;
    hit.title = r.title;
    hit.time_ms = r.time_ms;
    std::set<std::string> matched;
    for (size_t t = 0; t < query_terms.size(); ++t) {
      if ((pool[hits[j]].terms >> t & 1) == 0) continue;
      matched.insert(query_terms[t]);
      for (const std::string& s : surfaces[query_terms[t]]) {
        auto& m = hit.matched_words;
        if (std::find(m.begin(), m.end(), s) == m.end()) m.push_back(s);  // two stems, one word
      }
    }
    absl::StatusOr<std::optional<identity::StoredFragment>> f =
        identity::ReadFragment(reader, r.fragkey);
    if (!f.ok()) return f.status();
    if (!*f || r.ordinal >= (*f)->fragment.evidence.size()) continue;  // changed since
    hit.source = (*f)->fragment.source;
    hit.external_id = (*f)->fragment.external_id;
    const identity::Evidence& ev = (*f)->fragment.evidence[r.ordinal];
    const text::Language lang =
        r.language == "fr" ? text::Language::kFrench : text::Language::kEnglish;
    hit.snippet = Snippet(analyzer, ev.text.empty() ? ev.title : ev.text, lang, matched);
  }
  // One line: what kinds of evidence, the best one, relationship, availability, load.
  std::map<std::string, size_t> kinds;
  for (size_t i : hits) ++kinds[records[i].kind];
  std::string why;
  for (const auto& [kind, n] : kinds) why += (why.empty() ? "" : ", ") + KindPhrase(reply, kind, n);
  if (!e.evidence.empty() && !e.evidence.front().title.empty()) {
    why += BestMatch(reply, Clip(e.evidence.front().title, 80));
  }
  for (const std::string& path : e.relationship) why += (why.empty() ? "" : "; ") + path;
  if (e.left) why += (why.empty() ? "" : "; ") + HasLeft(reply);
  if (e.away) why += (why.empty() ? "" : "; ") + AwayRankedLower(reply);
  if (e.open_cases > 0) why += (why.empty() ? "" : "; ") + Busy(reply, e.open_cases);
  e.why = why;
  return absl::OkStatus();
}

}  // namespace tessera::expertise
