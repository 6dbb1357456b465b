// Directory: indexing the evidence of changed fragments (postings and evidence records),
// in the same batch as the fragment.

#include "server/directory/evidence.h"

#include <algorithm>

#include "server/directory/ids.h"
#include "server/index/evidence.h"
#include "server/index/person_terms.h"
#include "server/index/postings.h"

namespace tessera::directory {
namespace {

constexpr int64_t kMsPerDay = 86'400'000;

int64_t TimeOf(const identity::Evidence& e, const identity::Fragment& f) {
  return e.time_ms != 0 ? e.time_ms : f.updated_at_ms;
}

bool SameContent(const identity::Evidence& a, const identity::Fragment& fa,
                 const identity::Evidence& b, const identity::Fragment& fb) {
  return a.title == b.title && a.text == b.text && a.language == b.language && a.kind == b.kind &&
         TimeOf(a, fa) / kMsPerDay == TimeOf(b, fb) / kMsPerDay;
}

// What Analyse indexes of an item's text, with document id, kind and day unset.
index::DocTerms TextTerms(const text::Analyzer& analyzer, const identity::Evidence& e) {
  const std::string body = e.title.empty() ? e.text : e.title + "\n" + e.text;
  const text::Language lang = analyzer.Pick(e.language, body);
  return index::DocTerms::From(0, index::EvidenceKind::kOther, 0, analyzer.Terms(body, lang));
}

index::DocTerms Analyse(const text::Analyzer& analyzer, DocId doc, const identity::Evidence& e,
                        const identity::Fragment& f, AnalysedTexts* ready = nullptr) {
  std::optional<index::DocTerms> terms;
  if (ready != nullptr) terms = ready->Take(e);
  if (!terms) terms = TextTerms(analyzer, e);
  terms->doc = doc;
  terms->kind = index::KindOf(e.kind);
  terms->day = static_cast<uint32_t>(std::max<int64_t>(0, TimeOf(e, f) / kMsPerDay));
  return *std::move(terms);
}

// The identifiers an item credits (its `role` relation's targets), sorted and unique;
// none for an item about its own entity (a skill, a bio).
std::vector<std::string> CreditedIds(const identity::Fragment& f, const identity::Evidence& e) {
  std::vector<std::string> ids;
  if (e.role.empty()) return ids;
  for (const identity::Relation& r : f.relations) {
    if (r.type == e.role) ids.push_back(identity::IdentKey(r.target.tag, r.target.value));
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

// Language tag, title and text, each length-prefixed: what an item's terms depend on.
std::string TextKey(const identity::Evidence& e) {
  std::string key;
  key.reserve(e.language.size() + e.title.size() + e.text.size() + 6);
  for (const std::string* part : {&e.language, &e.title, &e.text}) {
    key += std::to_string(part->size());
    key.push_back(':');
    key += *part;
  }
  return key;
}

index::EvidenceRecord RecordOf(const text::Analyzer& analyzer, const identity::StoredFragment& sf,
                               const std::string& fragkey, uint32_t ordinal) {
  const identity::Evidence& e = sf.fragment.evidence[ordinal];
  const text::Language lang = analyzer.Pick(e.language, e.title + "\n" + e.text.substr(0, 2000));
  return {sf.entity,
          fragkey,
          ordinal,
          e.kind,
          e.role,
          e.title,
          std::string(text::LanguageName(lang)),
          TimeOf(e, sf.fragment)};
}

}  // namespace

void AnalysedTexts::Add(const text::Analyzer& analyzer, const identity::Fragment& f) {
  for (const identity::Evidence& e : f.evidence) {
    std::string key = TextKey(e);
    if (!terms_.contains(key)) terms_.emplace(std::move(key), TextTerms(analyzer, e));
  }
}

std::optional<index::DocTerms> AnalysedTexts::Take(const identity::Evidence& e) {
  auto it = terms_.find(TextKey(e));
  if (it == terms_.end()) return std::nullopt;
  std::optional<index::DocTerms> out(std::move(it->second));
  terms_.erase(it);
  return out;
}

void IndexEvidence(store::Batch& batch, const text::Analyzer& analyzer,
                   const identity::FragmentDelta& d, CorpusCounts& corpus, AnalysedTexts* ready) {
  const identity::StoredFragment* before = d.before ? &*d.before : nullptr;
  const identity::StoredFragment* after = d.after ? &*d.after : nullptr;
  const size_t nb = before ? before->fragment.evidence.size() : 0;
  const size_t na = after ? after->fragment.evidence.size() : 0;
  static const std::vector<std::string> kNoIds;
  for (size_t i = 0; i < std::max(nb, na); ++i) {
    const auto ordinal = static_cast<uint32_t>(i);
    const DocId doc = index::DocId((after ? after : before)->fno, ordinal);
    const identity::Evidence* eb = i < nb ? &before->fragment.evidence[i] : nullptr;
    const identity::Evidence* ea = i < na ? &after->fragment.evidence[i] : nullptr;
    const bool same_text = eb && ea && SameContent(*eb, before->fragment, *ea, after->fragment);
    std::optional<index::DocTerms> tb, ta;
    if (!same_text) {
      if (eb) tb = Analyse(analyzer, doc, *eb, before->fragment);
      if (ea) ta = Analyse(analyzer, doc, *ea, after->fragment, ready);
      const index::CorpusDelta delta =
          index::UpdatePostings(batch, tb ? &*tb : nullptr, ta ? &*ta : nullptr);
      corpus.docs += delta.docs;
      corpus.length += delta.length;
    }
    // The credited people's language (person_terms.h): when the text or who it
    // credits changed.
    const std::vector<std::string> cb = eb ? CreditedIds(before->fragment, *eb) : kNoIds;
    const std::vector<std::string> ca = ea ? CreditedIds(after->fragment, *ea) : kNoIds;
    if ((!same_text && (!cb.empty() || !ca.empty())) || cb != ca) {
      if (eb && !tb) tb = Analyse(analyzer, doc, *eb, before->fragment);
      if (ea && !ta) ta = Analyse(analyzer, doc, *ea, after->fragment, ready);
      index::UpdatePersonTerms(batch, cb, tb ? &*tb : nullptr, ca, ta ? &*ta : nullptr);
    }
    std::optional<index::EvidenceRecord> rb, ra;
    if (eb) rb = RecordOf(analyzer, *before, d.fragkey, ordinal);
    if (ea) ra = RecordOf(analyzer, *after, d.fragkey, ordinal);
    if (ra && ra != rb)
      batch.Put(store::Cf::kEvidence, index::EvidenceKey(doc), index::EncodeEvidence(*ra));
    if (!ra && rb) batch.Delete(store::Cf::kEvidence, index::EvidenceKey(doc));
  }
}

std::vector<index::DocTerms> EvidenceTerms(const text::Analyzer& analyzer,
                                           const identity::StoredFragment& sf) {
  std::vector<index::DocTerms> out;
  for (size_t i = 0; i < sf.fragment.evidence.size(); ++i) {
    const DocId doc = index::DocId(sf.fno, static_cast<uint32_t>(i));
    out.push_back(Analyse(analyzer, doc, sf.fragment.evidence[i], sf.fragment));
  }
  return out;
}

}  // namespace tessera::directory
