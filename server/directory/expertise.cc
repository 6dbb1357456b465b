// Directory: FindExperts and RecordOutcome.

#include "server/directory/directory_impl.h"
#include "server/identity/records.h"
#include "server/index/postings.h"
#include "server/text/text.h"

namespace tessera::directory {

absl::StatusOr<expertise::Ranking> DirectoryImpl::FindExperts(const expertise::Query& query) const {
  expertise::Corpus corpus;
  {
    absl::ReaderMutexLock r(&state_mu_);
    corpus.docs = static_cast<uint64_t>(std::max<int64_t>(0, state_.evidence_docs));
    corpus.length = static_cast<uint64_t>(std::max<int64_t>(0, state_.evidence_length));
    corpus.max_doc = index::DocId(state_.next_fno, 0);
  }
  std::unique_ptr<store::Snapshot> snap = store_->GetSnapshot();
  const expertise::Ranker ranker(options_.expertise, analyzer_, options_.normalise);
  return ranker.Find(*snap, corpus, query);
}

absl::StatusOr<OutcomeResult> DirectoryImpl::RecordOutcome(const CaseOutcome& o) {
  const std::string status = text::Fold(o.status);
  if (status != "open" && status != "closed") {
    return absl::InvalidArgumentError("status '" + o.status + "' is neither open nor closed");
  }
  OutcomeResult result;
  std::string case_text;
  identity::Fragment f;
  {
    // Both must exist: an outcome for nobody, or for no case, is a mistake to report.
    std::unique_ptr<store::Snapshot> snap = store_->GetSnapshot();
    absl::StatusOr<uint64_t> c = Resolve(*snap, {0, o.case_type, o.case_value});
    if (!c.ok()) return Prefixed(c.status(), "case: ");
    absl::StatusOr<uint64_t> p = Resolve(*snap, {0, o.person_type, o.person_value});
    if (!p.ok()) return Prefixed(p.status(), "handled_by: ");
    result = {*c, *p};
    case_text = o.case_type + ":" + identity::Normalise(*identity::ParseIdType(o.case_type), o.case_value,
                                                         options_.normalise).value();
  }
  bool registered = false;
  for (const SourceInfo& s : ListSources()) registered |= s.source.id == kOutcomeSource;
  if (!registered) {
    // Highest priority: what the person who closed a case says about it wins.
    absl::StatusOr<SourceInfo> s = PutSource({kOutcomeSource, "outcome", 1000, "Expertise.RecordOutcome", 0}, false);
    if (!s.ok()) return s.status();
  }
  uint64_t version = static_cast<uint64_t>(std::max<int64_t>(1, o.time_ms));
  if (absl::StatusOr<FragmentView> old = GetFragment({kOutcomeSource, case_text}); old.ok()) {
    version = std::max(version, old->stored.fragment.version + 1);
  }
  f.source = kOutcomeSource;
  f.external_id = case_text;
  f.version = version;
  f.kind = "case";
  f.updated_at_ms = o.time_ms;
  f.attributes = {{"status", status}};
  f.identifiers = {{o.case_type, o.case_value}};
  f.relations = {{"resolved_by", {o.person_type, o.person_value}}};
  absl::StatusOr<BatchResult> r = Ingest({f}, o.time_ms);
  if (!r.ok()) return r.status();
  return result;
}

}  // namespace tessera::directory
