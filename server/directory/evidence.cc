// Directory: indexing the evidence of changed fragments (postings and evidence records),
// in the same batch as the fragment.

#include "server/directory/evidence.h"

#include "server/directory/ids.h"
#include "server/index/evidence.h"
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

index::DocTerms Analyse(const text::Analyzer& analyzer, DocId doc, const identity::Evidence& e,
                        const identity::Fragment& f) {
  const std::string body = e.title.empty() ? e.text : e.title + "\n" + e.text;
  const text::Language lang = analyzer.Pick(e.language, body);
  const int64_t day = std::max<int64_t>(0, TimeOf(e, f) / kMsPerDay);
  return index::DocTerms::From(doc, index::KindOf(e.kind), static_cast<uint32_t>(day),
                               analyzer.Terms(body, lang));
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

void IndexEvidence(store::Batch& batch, const text::Analyzer& analyzer,
                   const identity::FragmentDelta& d, CorpusCounts& corpus) {
  const identity::StoredFragment* before = d.before ? &*d.before : nullptr;
  const identity::StoredFragment* after = d.after ? &*d.after : nullptr;
  const size_t nb = before ? before->fragment.evidence.size() : 0;
  const size_t na = after ? after->fragment.evidence.size() : 0;
  for (size_t i = 0; i < std::max(nb, na); ++i) {
    const auto ordinal = static_cast<uint32_t>(i);
    const DocId doc = index::DocId((after ? after : before)->fno, ordinal);
    const identity::Evidence* eb = i < nb ? &before->fragment.evidence[i] : nullptr;
    const identity::Evidence* ea = i < na ? &after->fragment.evidence[i] : nullptr;
    if (!(eb && ea && SameContent(*eb, before->fragment, *ea, after->fragment))) {
      std::optional<index::DocTerms> tb, ta;
      if (eb) tb = Analyse(analyzer, doc, *eb, before->fragment);
      if (ea) ta = Analyse(analyzer, doc, *ea, after->fragment);
      const index::CorpusDelta delta =
          index::UpdatePostings(batch, tb ? &*tb : nullptr, ta ? &*ta : nullptr);
      corpus.docs += delta.docs;
      corpus.length += delta.length;
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
