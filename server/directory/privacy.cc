// Directory: the right to erasure (Erasure, privacy.h).

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

void Erasure::SetSideEraser(SideEraser eraser) {
  absl::MutexLock l(&side_mu_);
  side_eraser_ = std::move(eraser);
}

absl::StatusOr<EraseResult> Erasure::Erase(const ProfileRef& who, AuditEntry audit) {
  WritePath::Writer w(write_);
  const identity::RuleSet* rules = &w.rules();
  std::unique_ptr<store::Batch> batch = write_.store().NewBatch();
  EraseResult result;
  absl::StatusOr<identity::Profile> person = reads_.ReadVisible(*batch, who, &result.profile);
  if (!person.ok()) return person.status();
  if (!identity::IsPersonKind(person->kind)) {
    return absl::FailedPreconditionError(
        "profile " + std::to_string(result.profile) + " is a " + person->kind +
        ", not a person; erasure is for people (employees, customers, contacts)");
  }
  // A key made here is forgotten again unless the erasure commits.
  struct KeyGuard {
    Suppressions& suppressions;
    bool made = false;
    bool committed = false;
    ~KeyGuard() {
      if (made && !committed) suppressions.ForgetKey();
    }
  } key_guard{suppressions_};
  absl::StatusOr<std::shared_ptr<const KeyedHash>> hasher =
      suppressions_.EnsureKey(*batch, &key_guard.made);
  if (!hasher.ok()) return hasher.status();

  // The person's fragments and the identifiers they carry, then the fragments that
  // name them by a related relation (the cases they raised).
  std::map<std::string, identity::StoredFragment> doomed;
  std::set<std::string> identkeys;
  for (const identity::Member& m : person->members) {
    absl::StatusOr<std::optional<identity::StoredFragment>> f =
        identity::ReadFragment(*batch, m.fragkey);
    if (!f.ok()) return f.status();
    if (!*f || (*f)->fragment.tombstone) continue;
    for (const identity::Identifier& id : (*f)->fragment.identifiers) {
      if (NamesThePerson(id.tag)) identkeys.insert(identity::IdentKey(id.tag, id.value));
    }
    doomed.emplace(m.fragkey, **std::move(f));
  }
  result.fragments = doomed.size();
  const std::vector<std::string>& related = options_.erase_related_relations;
  for (const std::string& identkey : identkeys) {
    absl::StatusOr<std::vector<graph::Ref>> refs = graph::RefsTo(*batch, identkey);
    if (!refs.ok()) return refs.status();
    for (const graph::Ref& ref : *refs) {
      if (doomed.count(ref.fragkey) != 0 ||
          std::find(related.begin(), related.end(), ref.type) == related.end()) {
        continue;
      }
      absl::StatusOr<std::optional<identity::StoredFragment>> f =
          identity::ReadFragment(*batch, ref.fragkey);
      if (!f.ok()) return f.status();
      if (!*f || (*f)->fragment.tombstone) continue;
      doomed.emplace(ref.fragkey, **std::move(f));
      ++result.related;
    }
  }

  // Merge and split rules naming any of them go too (they name the records by source
  // and external id); the other records those rules named are relinked afterwards.
  identity::RuleSet kept_rules = *rules;
  std::set<uint64_t> dropped_rules;
  for (const auto& [key, sf] : doomed) {
    for (const identity::Rule* r : rules->RulesOf(key)) dropped_rules.insert(r->id);
  }
  std::vector<std::string> relink_after;
  for (uint64_t id : dropped_rules) {
    const identity::Rule* r = rules->Find(id);
    for (const std::vector<std::string>* side : {&r->fragkeys, &r->apart}) {
      for (const std::string& k : *side) {
        if (doomed.count(k) == 0) relink_after.push_back(k);
      }
    }
    kept_rules.Remove(id);
    batch->Delete(store::Cf::kRules, identity::RuleKey(id));
  }

  // Unlink them as if deleted (profile, index entries, edges, evidence, change log),
  // then drop the records themselves rather than keep tombstones.
  std::vector<identity::Change> changes;
  for (const auto& [key, sf] : doomed) {
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
  WriteContext ctx{*batch, state, w.sources(), kept_rules, audit.time_ms, /*log_changes=*/true};
  if (absl::StatusOr<identity::LinkResult> link = ingester_.Relink(ctx, changes); !link.ok())
    return link.status();
  std::set<std::string> hashes;
  for (const auto& [key, sf] : doomed) {
    batch->Delete(store::Cf::kFragments, key);
    uint32_t num = 0;
    std::string_view external_id;
    if (identity::ParseFragmentKey(key, &num, &external_id)) {
      --state.live_fragments;
      if (--state.live_by_source[num] == 0) state.live_by_source.erase(num);
    }
    hashes.insert(SuppressionHash(**hasher, 'f', sf.fragment.source, sf.fragment.external_id));
  }
  for (const std::string& identkey : identkeys)
    hashes.insert(SuppressionHash(**hasher, 'i', identkey, ""));
  {
    absl::MutexLock l(&side_mu_);
    if (side_eraser_) {
      std::vector<FragmentName> names;
      for (const auto& [key, sf] : doomed)
        names.push_back({sf.fragment.source, sf.fragment.external_id});
      absl::StatusOr<std::vector<SideWrite>> side = side_eraser_(write_.store().Latest(), names);
      if (!side.ok()) return Prefixed(side.status(), "erasing the provisioning rows: ");
      AddSideWrites(*batch, *side);
      result.side_rows = side->size();
    }
  }
  for (const std::string& h : hashes) {
    batch->Put(store::Cf::kSuppressed, h, "");
    result.suppressed.push_back(store::HexEncode(h));
  }

  audit.profiles = {result.profile};
  audit.detail = "erased profile " + std::to_string(result.profile) + ": " +
                 std::to_string(result.fragments) + " fragments, " +
                 std::to_string(result.related) + " related, " +
                 std::to_string(dropped_rules.size()) + " rules, " +
                 std::to_string(result.side_rows) + " provisioning rows; suppressed";
  for (const std::string& h : result.suppressed) audit.detail += " " + h;
  // In the audit writer's place, so the sequence stays in commit order.
  if (absl::Status s = audit_.CommitWith(
          *batch, audit,
          [&] { return w.Commit(*batch, dropped_rules.empty() ? nullptr : &kept_rules); });
      !s.ok()) {
    return s;
  }
  key_guard.committed = true;
  suppressions_.Add(hashes);
  result.audit_sequence = audit.sequence;
  if (!relink_after.empty()) {
    if (absl::Status s = ingester_.RelinkFragments(w, relink_after, true, audit.time_ms); !s.ok()) {
      return Prefixed(
          s, "erased, but relinking the records of its removed rules failed (run admin rebuild): ");
    }
  }
  // Their words must not linger as keys of emptied postings. Nothing else writes
  // meanwhile (write_mu_, drained); a crash here leaves only empty entries.
  std::vector<index::DocTerms> removed;
  for (const auto& [key, sf] : doomed) {
    for (index::DocTerms& d : EvidenceTerms(analyzer_, sf)) removed.push_back(std::move(d));
  }
  if (!removed.empty()) {
    std::unique_ptr<store::Batch> cleanup = write_.store().NewBatch();
    std::unique_ptr<store::Snapshot> snap = write_.store().GetSnapshot();
    absl::StatusOr<size_t> dropped = index::DropEmptyPostings(*snap, *cleanup, removed);
    absl::Status cleaned = dropped.status();
    if (cleaned.ok() && *dropped > 0) cleaned = write_.store().Write(*cleanup);
    if (!cleaned.ok()) {
      return Prefixed(
          cleaned,
          "erased, but removing the emptied index entries of their words failed (run admin "
          "rebuild): ");
    }
  }
  return result;
}

}  // namespace tessera::directory
