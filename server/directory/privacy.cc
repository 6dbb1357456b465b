// Directory: the right to erasure (Erasure, privacy.h), in phases: resolve the
// person, collect their records and those naming them, drop the rules naming any,
// unlink and delete the records, erase side rows, suppress, audit and commit; then
// relink the rules' other records and drop the postings the removal emptied.

#include "server/directory/privacy.h"

#include <algorithm>
#include <map>
#include <set>

#include "server/directory/audit.h"
#include "server/directory/evidence.h"
#include "server/directory/ingest.h"
#include "server/directory/reads.h"
#include "server/directory/suppression.h"
#include "server/graph/edges.h"
#include "server/identity/records.h"
#include "server/store/coding.h"

namespace tessera::directory {
namespace {

// Forgets a suppression key the erasure made unless the erasure commits.
struct KeyGuard {
  Suppressions& suppressions;
  bool made = false;
  bool committed = false;
  ~KeyGuard() {
    if (made && !committed) suppressions.ForgetKey();
  }
};

}  // namespace

void Erasure::SetSideEraser(SideEraser eraser) {
  absl::MutexLock l(&side_mu_);
  side_eraser_ = std::move(eraser);
}

// Erase, phase by phase. All but the last two write into one batch, committed once
// with the audit entry; the last two are repairs a rebuild would also make.
absl::StatusOr<EraseResult> Erasure::Erase(const ProfileRef& who, AuditEntry audit) {
  WritePath::Writer w(write_);
  std::unique_ptr<store::Batch> batch = write_.store().NewBatch();
  EraseResult result;
  absl::StatusOr<identity::Profile> person = ResolvePerson(*batch, who, &result.profile);
  if (!person.ok()) return person.status();
  KeyGuard key_guard{suppressions_};
  absl::StatusOr<std::shared_ptr<const KeyedHash>> hasher =
      suppressions_.EnsureKey(*batch, &key_guard.made);
  if (!hasher.ok()) return hasher.status();
  Plan plan;
  if (absl::Status s = CollectOwn(*batch, *person, plan); !s.ok()) return s;
  result.fragments = plan.doomed.size();
  if (absl::Status s = CollectRelated(*batch, plan, result); !s.ok()) return s;
  DropRules(w.rules(), *batch, plan);
  if (absl::Status s = Unlink(w, *batch, plan, audit.time_ms); !s.ok()) return s;
  if (absl::Status s = EraseSideRows(*batch, plan, result); !s.ok()) return s;
  Suppress(**hasher, *batch, plan, result);
  if (absl::Status s = AuditAndCommit(w, *batch, plan, audit, result); !s.ok()) return s;
  key_guard.committed = true;
  suppressions_.Add(plan.hashes);
  result.audit_sequence = audit.sequence;
  // The other records of the dropped rules, linked now as if the rules never were.
  if (!plan.relink_after.empty()) {
    if (absl::Status s = ingester_.RelinkFragments(w, plan.relink_after, true, audit.time_ms);
        !s.ok()) {
      return Prefixed(
          s, "erased, but relinking the records of its removed rules failed (run admin rebuild): ");
    }
  }
  if (absl::Status s = DropEmptiedPostings(plan); !s.ok()) return s;
  return result;
}

// Resolve: the profile `who` names, as the caller may see it; people only.
absl::StatusOr<identity::Profile> Erasure::ResolvePerson(const store::Reader& reader,
                                                         const ProfileRef& who,
                                                         ProfileId* id) const {
  absl::StatusOr<identity::Profile> person = reads_.ReadVisible(reader, who, id);
  if (!person.ok()) return person.status();
  if (!identity::IsPersonKind(person->kind)) {
    return absl::FailedPreconditionError(
        "profile " + std::to_string(*id) + " is a " + person->kind +
        ", not a person; erasure is for people (employees, customers, contacts)");
  }
  return person;
}

// Collect, first: the person's live fragments and the identifiers in them that name
// the person (not their team or cases).
absl::Status Erasure::CollectOwn(const store::Reader& reader, const identity::Profile& person,
                                 Plan& plan) const {
  for (const identity::Member& m : person.members) {
    absl::StatusOr<std::optional<identity::StoredFragment>> f =
        identity::ReadFragment(reader, m.fragkey);
    if (!f.ok()) return f.status();
    if (!*f || (*f)->fragment.tombstone) continue;
    for (const identity::Identifier& id : (*f)->fragment.identifiers) {
      if (NamesThePerson(id.tag)) plan.identkeys.insert(identity::IdentKey(id.tag, id.value));
    }
    plan.doomed.emplace(m.fragkey, **std::move(f));
  }
  return absl::OkStatus();
}

// Collect, then: the live fragments naming one of those identifiers by an
// erase_related_relations relation (the cases they raised: their words).
absl::Status Erasure::CollectRelated(const store::Reader& reader, Plan& plan,
                                     EraseResult& result) const {
  const std::vector<std::string>& related = options_.erase_related_relations;
  for (const std::string& identkey : plan.identkeys) {
    absl::StatusOr<std::vector<graph::Ref>> refs = graph::RefsTo(reader, identkey);
    if (!refs.ok()) return refs.status();
    for (const graph::Ref& ref : *refs) {
      if (plan.doomed.count(ref.fragkey) != 0 ||
          std::find(related.begin(), related.end(), ref.type) == related.end()) {
        continue;
      }
      absl::StatusOr<std::optional<identity::StoredFragment>> f =
          identity::ReadFragment(reader, ref.fragkey);
      if (!f.ok()) return f.status();
      if (!*f || (*f)->fragment.tombstone) continue;
      plan.doomed.emplace(ref.fragkey, **std::move(f));
      ++result.related;
    }
  }
  return absl::OkStatus();
}

// Rules: merge and split rules naming any doomed record go too (they name records by
// source and external id); the other records they named are relinked after commit.
void Erasure::DropRules(const identity::RuleSet& rules, store::Batch& batch, Plan& plan) const {
  plan.kept_rules = rules;
  for (const auto& [key, sf] : plan.doomed) {
    for (const identity::Rule* r : rules.RulesOf(key)) plan.dropped_rules.insert(r->id);
  }
  for (uint64_t id : plan.dropped_rules) {
    const identity::Rule* r = rules.Find(id);
    for (const std::vector<std::string>* side : {&r->fragkeys, &r->apart}) {
      for (const std::string& k : *side) {
        if (plan.doomed.count(k) == 0) plan.relink_after.push_back(k);
      }
    }
    plan.kept_rules.Remove(id);
    batch.Delete(store::Cf::kRules, identity::RuleKey(id));
  }
}

// Delete rows: relink the doomed records as if deleted (so the profile, index
// entries, edges, evidence and change log follow), then delete the records
// themselves rather than keep tombstones, and count them gone.
absl::Status Erasure::Unlink(WritePath::Writer& w, store::Batch& batch, const Plan& plan,
                             int64_t time_ms) const {
  std::vector<identity::Change> changes;
  for (const auto& [key, sf] : plan.doomed) {
    identity::Change c{key, sf, {}, true};
    identity::Fragment& t = c.after.fragment;
    t.source = sf.fragment.source;
    t.external_id = sf.fragment.external_id;
    t.version = sf.fragment.version;
    t.tombstone = true;
    c.after.fno = sf.fno;
    c.after.entity = sf.entity;
    c.after.origin = sf.origin;
    changes.push_back(std::move(c));
  }
  MetaState& state = w.state();
  WriteContext ctx{batch, state, w.sources(), plan.kept_rules, time_ms, /*log_changes=*/true};
  if (absl::StatusOr<identity::LinkResult> link = ingester_.Relink(ctx, changes); !link.ok())
    return link.status();
  for (const auto& [key, sf] : plan.doomed) {
    batch.Delete(store::Cf::kFragments, key);
    uint32_t num = 0;
    std::string_view external_id;
    if (identity::ParseFragmentKey(key, &num, &external_id)) {
      --state.live_fragments;
      if (--state.live_by_source[num] == 0) state.live_by_source.erase(num);
    }
  }
  return absl::OkStatus();
}

// Side rows: whoever keeps rows about the records (SCIM) forgets them in the same
// batch.
absl::Status Erasure::EraseSideRows(store::Batch& batch, const Plan& plan, EraseResult& result) {
  absl::MutexLock l(&side_mu_);
  if (!side_eraser_) return absl::OkStatus();
  std::vector<FragmentName> names;
  for (const auto& [key, sf] : plan.doomed)
    names.push_back({sf.fragment.source, sf.fragment.external_id});
  absl::StatusOr<std::vector<SideWrite>> side = side_eraser_(write_.store().Latest(), names);
  if (!side.ok()) return Prefixed(side.status(), "erasing the provisioning rows: ");
  AddSideWrites(batch, *side);
  result.side_rows = side->size();
  return absl::OkStatus();
}

// Suppress: the keyed hash of every doomed record and of every identifier of the
// person, refused at ingest from now on.
void Erasure::Suppress(const KeyedHash& hasher, store::Batch& batch, Plan& plan,
                       EraseResult& result) const {
  for (const auto& [key, sf] : plan.doomed) {
    plan.hashes.insert(SuppressionHash(hasher, 'f', sf.fragment.source, sf.fragment.external_id));
  }
  for (const std::string& identkey : plan.identkeys)
    plan.hashes.insert(SuppressionHash(hasher, 'i', identkey, ""));
  for (const std::string& h : plan.hashes) {
    batch.Put(store::Cf::kSuppressed, h, "");
    result.suppressed.push_back(store::HexEncode(h));
  }
}

// Audit and commit: the audit entry says what went (by counts and hashes, no personal
// data) and commits in the audit writer's place, so its sequence stays in commit order.
absl::Status Erasure::AuditAndCommit(WritePath::Writer& w, store::Batch& batch, const Plan& plan,
                                     AuditEntry& audit, EraseResult& result) {
  audit.profiles = {result.profile};
  audit.detail = "erased profile " + std::to_string(result.profile) + ": " +
                 std::to_string(result.fragments) + " fragments, " +
                 std::to_string(result.related) + " related, " +
                 std::to_string(plan.dropped_rules.size()) + " rules, " +
                 std::to_string(result.side_rows) + " provisioning rows; suppressed";
  for (const std::string& h : result.suppressed) audit.detail += " " + h;
  const identity::RuleSet* rules = plan.dropped_rules.empty() ? nullptr : &plan.kept_rules;
  return audit_.CommitWith(batch, std::span<AuditEntry>(&audit, 1),
                           [&] { return w.Commit(batch, rules); });
}

// Derived data: their words must not linger as keys of emptied postings (blind merges
// leave empty blocks and zero frequencies). Nothing else writes meanwhile (write lock,
// drained); a crash here leaves only empty entries.
absl::Status Erasure::DropEmptiedPostings(const Plan& plan) const {
  std::vector<index::DocTerms> removed;
  for (const auto& [key, sf] : plan.doomed) {
    for (index::DocTerms& d : EvidenceTerms(analyzer_, sf)) removed.push_back(std::move(d));
  }
  if (removed.empty()) return absl::OkStatus();
  std::unique_ptr<store::Batch> cleanup = write_.store().NewBatch();
  std::unique_ptr<store::Snapshot> snap = write_.store().GetSnapshot();
  absl::StatusOr<size_t> dropped = index::DropEmptyPostings(*snap, *cleanup, removed);
  absl::Status cleaned = dropped.status();
  if (cleaned.ok() && *dropped > 0) cleaned = write_.store().Write(*cleanup);
  if (!cleaned.ok()) {
    return Prefixed(cleaned,
                    "erased, but removing the emptied index entries of their words failed (run "
                    "admin rebuild): ");
  }
  return absl::OkStatus();
}

}  // namespace tessera::directory
