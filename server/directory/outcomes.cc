// Directory: RecordOutcome (outcomes.h): hand-overs, resolutions and their withdrawal.

#include "server/directory/outcomes.h"

#include <algorithm>
#include <set>

#include "server/directory/admin.h"
#include "server/directory/ingest.h"
#include "server/directory/reads.h"
#include "server/directory/write_path.h"
#include "server/expertise/cases.h"
#include "server/expertise/people.h"
#include "server/graph/edges.h"
#include "server/identity/mentions.h"
#include "server/identity/records.h"
#include "server/text/text.h"

namespace tessera::directory {

absl::StatusOr<std::vector<index::PersonSummary>> Outcomes::Holders(const store::Reader& reader,
                                                                    ProfileId case_id) const {
  std::vector<index::PersonSummary> out;
  absl::StatusOr<std::optional<identity::Profile>> c = identity::ReadProfile(reader, case_id);
  if (!c.ok()) return c.status();
  if (!*c) return out;
  const expertise::CaseState state = expertise::CaseStateOf(**c, options_.expertise);
  std::set<ProfileId> ids;
  for (const std::string& rel : options_.expertise.load_relations) {
    absl::StatusOr<std::vector<graph::Target>> edges = graph::OutEdges(reader, case_id, rel);
    if (!edges.ok()) return edges.status();
    for (const graph::Target& t : *edges) {
      if (expertise::Holds(state, t.fragkey)) ids.insert(t.to);
    }
  }
  for (ProfileId id : ids) {
    absl::StatusOr<std::optional<identity::Profile>> p = identity::ReadProfile(reader, id);
    if (!p.ok()) return p.status();
    if (*p) out.push_back(expertise::SummaryOf(**p));
  }
  return out;
}

absl::Status Outcomes::EnsureSource(const char* id, const char* kind, int32_t priority,
                                    const char* what) {
  for (const SourceInfo& s : admin_.ListSources()) {
    if (s.source.id == id) return absl::OkStatus();
  }
  return admin_.PutSource({id, kind, priority, what, 0}, false).status();
}

// A case the directory does not have yet (a fresh tweet), made from the customer's
// message: source kHandoverSource, the message as its text, raised by the customer.
absl::Status Outcomes::CreateCase(const CaseOutcome& o, const std::string& case_value) {
  if (absl::Status s =
          EnsureSource(kHandoverSource, "handover", 900, "cases created by hand-overs");
      !s.ok()) {
    return s;
  }
  identity::Fragment f;
  f.source = kHandoverSource;
  f.external_id = case_value;
  f.version = static_cast<uint64_t>(std::max<int64_t>(1, o.time_ms));
  f.kind = "case";
  f.updated_at_ms = o.time_ms;
  const std::string title = text::Excerpt(o.text, 80);  // its first words
  f.attributes = {{"title", title}, {"status", "open"}};
  if (!o.channel.empty()) f.attributes.push_back({"channel", o.channel});
  f.identifiers = {{o.case_type, o.case_value}};
  if (!o.customer_value.empty()) {
    std::string type = o.customer_type, value = o.customer_value;
    if (type.empty()) {
      // A bare value, as FindExperts takes it.
      std::vector<std::pair<identity::IdType, std::string>> guesses =
          identity::GuessIdentifiers(value, o.channel, options_.normalise);
      if (guesses.empty())
        return absl::InvalidArgumentError("customer '" + value + "' is not an identifier");
      type = std::string(identity::IdTypeName(guesses.front().first));
      value = guesses.front().second;
    }
    f.relations.push_back({"raised_by", {type, value}});
  }
  f.evidence.push_back({"case", "resolved_by", title, o.text, "", o.time_ms});
  absl::StatusOr<BatchResult> r = ingester_.Ingest({f}, o.time_ms);
  return r.status();
}

absl::StatusOr<OutcomeResult> Outcomes::Withdraw(const CaseOutcome& o) {
  OutcomeResult result;
  std::unique_ptr<store::Snapshot> snap = store_.GetSnapshot();
  absl::StatusOr<ProfileId> p = reads_.Resolve(*snap, {0, o.person_type, o.person_value});
  if (!p.ok()) return Prefixed(p.status(), "handled_by: ");
  absl::StatusOr<ProfileId> c = reads_.Resolve(*snap, {0, o.case_type, o.case_value});
  if (!c.ok()) return Prefixed(c.status(), "case: ");
  const std::string case_value =
      identity::Normalise(*identity::ParseIdType(o.case_type), o.case_value, options_.normalise)
          .value();
  const std::string case_text = o.case_type + ":" + case_value;
  absl::StatusOr<FragmentView> outcome = reads_.GetFragment({kOutcomeSource, case_text});
  const auto open_with = [&](const FragmentView& v) {
    const identity::Fragment& f = v.stored.fragment;
    if (v.deleted || f.tombstone || f.relations.size() != 1 || f.relations[0].type != "assigned_to")
      return false;
    absl::StatusOr<ProfileId> holder =
        reads_.Resolve(*snap, {0, f.relations[0].target.type, f.relations[0].target.value});
    return holder.ok() && *holder == *p;
  };
  if (!outcome.ok() || !open_with(*outcome)) {
    return absl::FailedPreconditionError("case " + case_text + " is not open with " +
                                         o.person_type + ":" + o.person_value +
                                         ": there is no hand-over to withdraw");
  }
  absl::StatusOr<std::optional<identity::Profile>> pp = identity::ReadProfile(*snap, *p);
  if (!pp.ok()) return pp.status();
  if (*pp) result.person = expertise::SummaryOf(**pp);
  result.person_profile = *p;
  result.case_profile = *c;
  absl::StatusOr<std::optional<identity::Profile>> cp = identity::ReadProfile(*snap, *c);
  if (!cp.ok()) return cp.status();
  if (*cp) {
    const std::string* title = (*cp)->Attr("title");
    result.case_title = title != nullptr ? *title : (*cp)->display_name;
  }
  // The outcome record goes; so does a case made from the message by that hand-over.
  const auto tombstone = [&](const FragmentView& v) {
    identity::Fragment t;
    t.source = v.stored.fragment.source;
    t.external_id = v.stored.fragment.external_id;
    t.version = v.stored.fragment.version + 1;
    t.kind = v.stored.fragment.kind;
    t.tombstone = true;
    return t;
  };
  std::vector<identity::Fragment> gone = {tombstone(*outcome)};
  if (absl::StatusOr<FragmentView> made = reads_.GetFragment({kHandoverSource, case_value});
      made.ok() && !made->deleted) {
    gone.push_back(tombstone(*made));
  }
  absl::StatusOr<BatchResult> r = ingester_.Ingest(std::move(gone), o.time_ms);
  if (!r.ok()) return r.status();
  return result;
}

absl::StatusOr<OutcomeResult> Outcomes::Record(const CaseOutcome& o) {
  const std::string status = text::Fold(o.status);
  if (status == "withdrawn") return Withdraw(o);
  if (status != "open" && status != "closed") {
    return absl::InvalidArgumentError("status '" + o.status +
                                      "' is neither open, closed nor withdrawn");
  }
  if (o.text.size() > options_.limits.max_evidence_text_bytes) {
    return absl::InvalidArgumentError(
        "text is over " + std::to_string(options_.limits.max_evidence_text_bytes) + " bytes");
  }
  OutcomeResult result;
  std::string case_text, case_value;
  std::vector<index::PersonSummary> before;
  bool create = false;
  {
    // The person must exist, and the case too unless its message is given to create it.
    std::unique_ptr<store::Snapshot> snap = store_.GetSnapshot();
    absl::StatusOr<ProfileId> p = reads_.Resolve(*snap, {0, o.person_type, o.person_value});
    if (!p.ok()) return Prefixed(p.status(), "handled_by: ");
    absl::StatusOr<ProfileId> c = reads_.Resolve(*snap, {0, o.case_type, o.case_value});
    if (!c.ok() && c.status().code() == absl::StatusCode::kNotFound && o.text.empty()) {
      return absl::NotFoundError(
          "case: " + std::string(c.status().message()) +
          "; give the customer's message (tessera outcome --text) to create it");
    }
    if (!c.ok() && c.status().code() != absl::StatusCode::kNotFound)
      return Prefixed(c.status(), "case: ");
    create = !c.ok();
    case_value =
        identity::Normalise(*identity::ParseIdType(o.case_type), o.case_value, options_.normalise)
            .value();
    case_text = o.case_type + ":" + case_value;
    if (!create) {
      absl::StatusOr<std::vector<index::PersonSummary>> h = Holders(*snap, *c);
      if (!h.ok()) return h.status();
      before = *std::move(h);
    }
  }
  if (create) {
    if (absl::Status s = CreateCase(o, case_value); !s.ok())
      return Prefixed(s, "creating the case: ");
  }
  // Highest priority: what the person who handles a case says about it wins.
  if (absl::Status s = EnsureSource(kOutcomeSource, "outcome", 1000, "Expertise.RecordOutcome");
      !s.ok())
    return s;
  uint64_t version = static_cast<uint64_t>(std::max<int64_t>(1, o.time_ms));
  if (absl::StatusOr<FragmentView> old = reads_.GetFragment({kOutcomeSource, case_text});
      old.ok()) {
    version = std::max(version, old->stored.fragment.version + 1);
  }
  identity::Fragment f;
  f.source = kOutcomeSource;
  f.external_id = case_text;
  f.version = version;
  f.kind = "case";
  f.updated_at_ms = o.time_ms;
  f.attributes = {{"status", status}};
  f.identifiers = {{o.case_type, o.case_value}};
  // Open: they hold it now (load). Closed: they resolved it (evidence).
  f.relations = {
      {status == "open" ? "assigned_to" : "resolved_by", {o.person_type, o.person_value}}};
  absl::StatusOr<BatchResult> r = ingester_.Ingest({f}, o.time_ms);
  if (!r.ok()) return r.status();

  std::unique_ptr<store::Snapshot> snap = store_.GetSnapshot();
  absl::StatusOr<ProfileId> c = reads_.Resolve(*snap, {0, o.case_type, o.case_value});
  if (!c.ok()) return Prefixed(c.status(), "case: ");
  absl::StatusOr<ProfileId> p = reads_.Resolve(*snap, {0, o.person_type, o.person_value});
  if (!p.ok()) return Prefixed(p.status(), "handled_by: ");
  result.case_profile = *c;
  result.person_profile = *p;
  result.created = create;
  absl::StatusOr<std::optional<identity::Profile>> cp = identity::ReadProfile(*snap, *c);
  if (!cp.ok()) return cp.status();
  if (*cp) {
    const std::string* title = (*cp)->Attr("title");
    result.case_title = title != nullptr ? *title : (*cp)->display_name;
  }
  absl::StatusOr<std::optional<identity::Profile>> pp = identity::ReadProfile(*snap, *p);
  if (!pp.ok()) return pp.status();
  if (*pp) result.person = expertise::SummaryOf(**pp);
  absl::StatusOr<std::vector<index::PersonSummary>> after = Holders(*snap, *c);
  if (!after.ok()) return after.status();
  for (index::PersonSummary& h : before) {
    const bool still =
        std::any_of(after->begin(), after->end(), [&](const auto& a) { return a.id == h.id; });
    if (!still) result.previous_holders.push_back(std::move(h));
  }
  return result;
}

}  // namespace tessera::directory
