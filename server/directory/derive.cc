// Directory: Ingester::Derive (ingest.h), for every write: keeping edges, relation
// references, evidence, the name index, counters and the change log in step with a
// linking result, in the same batch.

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "server/directory/changelog.h"
#include "server/directory/evidence.h"
#include "server/directory/ingest.h"
#include "server/directory/summary.h"
#include "server/identity/records.h"
#include "server/store/coding.h"

namespace tessera::directory {
namespace {

using identity::FragmentDelta;
using identity::LinkResult;
using identity::OwnerDelta;
using identity::StoredFragment;

// (from, type, to, identkey) of one fragment's edges.
using Fact = std::tuple<ProfileId, std::string, ProfileId, std::string>;

class OwnerLookup {
 public:
  OwnerLookup(const store::Reader& reader, const LinkResult& link) : reader_(reader) {
    for (const OwnerDelta& d : link.owners) before_.emplace(d.identkey, &d.before);
  }
  // Owners before the link; the batch already holds the owners after it.
  absl::StatusOr<std::vector<ProfileId>> Before(const std::string& key) const {
    if (auto it = before_.find(key); it != before_.end()) return *it->second;
    return identity::ReadOwners(reader_, key);
  }
  absl::StatusOr<std::vector<ProfileId>> After(const std::string& key) const {
    return identity::ReadOwners(reader_, key);
  }

 private:
  const store::Reader& reader_;
  std::map<std::string, const std::vector<ProfileId>*, std::less<>> before_;
};

// Keeps the open-case marks (graph::PutLoad) in step with edges, case statuses and
// hand-overs: an edge of a load relation is marked while its case is open and, once
// the case has an outcome (expertise/cases.h), only when the outcome states it.
class LoadTracker {
 public:
  LoadTracker(store::Batch& batch, const expertise::ExpertiseOptions& o) : batch_(batch), o_(o) {}

  bool Counts(std::string_view type) const {
    return std::find(o_.load_relations.begin(), o_.load_relations.end(), type) !=
           o_.load_relations.end();
  }
  expertise::CaseState StateOf(const identity::Profile& p) const {
    return expertise::CaseStateOf(p, o_);
  }
  // The state of profile `id` as the batch has it now.
  absl::StatusOr<expertise::CaseState> StateOf(ProfileId id) {
    if (auto it = state_.find(id); it != state_.end()) return it->second;
    absl::StatusOr<std::optional<identity::Profile>> p = identity::ReadProfile(batch_, id);
    if (!p.ok()) return p.status();
    return state_[id] = *p ? StateOf(**p) : expertise::CaseState();
  }
  static bool Holds(const expertise::CaseState& c, const graph::EdgeFact& e) {
    return expertise::Holds(c, e.fragkey);
  }
  absl::Status Removed(const graph::EdgeFact& e) {
    if (Counts(e.type)) graph::DeleteLoad(batch_, e);
    return absl::OkStatus();
  }
  absl::Status Added(const graph::EdgeFact& e) {
    if (!Counts(e.type)) return absl::OkStatus();
    absl::StatusOr<expertise::CaseState> c = StateOf(e.from);
    if (!c.ok()) return c.status();
    if (Holds(*c, e)) graph::PutLoad(batch_, e);
    return absl::OkStatus();
  }
  // A case opened, closed or was handed over: mark or unmark every load edge it has.
  absl::Status StateChanged(ProfileId id, const expertise::CaseState& now) {
    state_[id] = now;
    for (const std::string& type : o_.load_relations) {
      absl::StatusOr<std::vector<graph::Target>> out = graph::OutEdges(batch_, id, type);
      if (!out.ok()) return out.status();
      for (const graph::Target& t : *out) {
        const graph::EdgeFact e{id, type, t.to, t.fragkey, t.identkey};
        Holds(now, e) ? graph::PutLoad(batch_, e) : graph::DeleteLoad(batch_, e);
      }
    }
    return absl::OkStatus();
  }

 private:
  store::Batch& batch_;
  const expertise::ExpertiseOptions& o_;
  std::map<ProfileId, expertise::CaseState> state_;
};

template <typename Owners>
absl::Status FactsOf(const StoredFragment& sf, Owners owners, std::set<Fact>& facts,
                     std::set<std::pair<std::string, std::string>>& refs) {
  for (const identity::Relation& r : sf.fragment.relations) {
    std::string key = identity::IdentKey(r.target.tag, r.target.value);
    absl::StatusOr<std::vector<ProfileId>> to = owners(key);
    if (!to.ok()) return to.status();
    for (ProfileId id : *to) facts.emplace(sf.entity, r.type, id, key);
    refs.emplace(std::move(key), r.type);
  }
  return absl::OkStatus();
}

absl::Status UpdateFragmentEdges(store::Batch& batch, const FragmentDelta& d,
                                 const OwnerLookup& owners, LoadTracker& load) {
  std::set<Fact> old_facts, new_facts;
  std::set<std::pair<std::string, std::string>> old_refs, new_refs;
  if (d.before) {
    auto before = [&](const std::string& k) { return owners.Before(k); };
    if (absl::Status s = FactsOf(*d.before, before, old_facts, old_refs); !s.ok()) return s;
  }
  if (d.after) {
    auto after = [&](const std::string& k) { return owners.After(k); };
    if (absl::Status s = FactsOf(*d.after, after, new_facts, new_refs); !s.ok()) return s;
  }
  auto edge = [&](const Fact& f) {
    return graph::EdgeFact{std::get<0>(f), std::get<1>(f), std::get<2>(f), d.fragkey,
                           std::get<3>(f)};
  };
  for (const Fact& f : old_facts) {
    if (new_facts.count(f) != 0) continue;
    graph::DeleteEdge(batch, edge(f));
    if (absl::Status s = load.Removed(edge(f)); !s.ok()) return s;
  }
  for (const Fact& f : new_facts) {
    if (old_facts.count(f) != 0) continue;
    graph::PutEdge(batch, edge(f));
    if (absl::Status s = load.Added(edge(f)); !s.ok()) return s;
  }
  for (const auto& [key, type] : old_refs) {
    if (new_refs.count({key, type}) == 0) graph::DeleteRef(batch, key, d.fragkey, type);
  }
  for (const auto& [key, type] : new_refs) {
    if (old_refs.count({key, type}) == 0) graph::PutRef(batch, key, d.fragkey, type);
  }
  return absl::OkStatus();
}

// Edges of fragments that did not change but name an identifier that changed hands.
absl::Status UpdateReferringEdges(store::Batch& batch, const OwnerDelta& od,
                                  const std::set<std::string_view>& handled, LoadTracker& load) {
  absl::StatusOr<std::vector<graph::Ref>> refs = graph::RefsTo(batch, od.identkey);
  if (!refs.ok()) return refs.status();
  for (const graph::Ref& ref : *refs) {
    if (handled.count(ref.fragkey) != 0) continue;
    absl::StatusOr<std::optional<StoredFragment>> sf = identity::ReadFragment(batch, ref.fragkey);
    if (!sf.ok()) return sf.status();
    if (!*sf || (*sf)->fragment.tombstone) {
      return absl::DataLossError(
          "a relation reference names a fragment that is not stored; run Rebuild");
    }
    const ProfileId from = (*sf)->entity;
    for (ProfileId to : od.before) {
      if (std::find(od.after.begin(), od.after.end(), to) == od.after.end()) {
        const graph::EdgeFact e{from, ref.type, to, ref.fragkey, od.identkey};
        graph::DeleteEdge(batch, e);
        if (absl::Status s = load.Removed(e); !s.ok()) return s;
      }
    }
    for (ProfileId to : od.after) {
      if (std::find(od.before.begin(), od.before.end(), to) == od.before.end()) {
        const graph::EdgeFact e{from, ref.type, to, ref.fragkey, od.identkey};
        graph::PutEdge(batch, e);
        if (absl::Status s = load.Added(e); !s.ok()) return s;
      }
    }
  }
  return absl::OkStatus();
}

void Count(MetaState& st, const identity::Profile& p, int sign) {
  st.profiles += sign;
  st.profiles_by_kind[p.kind] += sign;
  if (st.profiles_by_kind[p.kind] == 0) st.profiles_by_kind.erase(p.kind);
  if (p.members.size() > 1) st.linked_profiles += sign;
}

}  // namespace

absl::Status Ingester::Derive(WriteContext& ctx, const LinkResult& link) const {
  const OwnerLookup owners(ctx.batch, link);
  LoadTracker load(ctx.batch, options_.expertise);
  CorpusCounts corpus{ctx.state.evidence_docs, ctx.state.evidence_length};
  std::set<std::string_view> handled;
  for (const FragmentDelta& d : link.fragments) {
    handled.insert(d.fragkey);
    if (absl::Status s = UpdateFragmentEdges(ctx.batch, d, owners, load); !s.ok()) return s;
    IndexEvidence(ctx.batch, analyzer_, d, corpus, ctx.analysed);
  }
  for (const OwnerDelta& od : link.owners) {
    if (absl::Status s = UpdateReferringEdges(ctx.batch, od, handled, load); !s.ok()) return s;
  }
  for (const identity::ProfileDelta& pd : link.profiles) {
    if (pd.before && pd.after) {
      const expertise::CaseState now = load.StateOf(*pd.after);
      if (!(load.StateOf(*pd.before) == now)) {
        if (absl::Status s = load.StateChanged(pd.id, now); !s.ok()) return s;
      }
    }
  }
  for (const identity::ProfileDelta& pd : link.profiles) {
    std::optional<index::NameEntry> before, after;
    if (pd.before && IsPerson(*pd.before)) before = NameEntryOf(*pd.before);
    if (pd.after && IsPerson(*pd.after)) after = NameEntryOf(*pd.after);
    index::UpdateNames(ctx.batch, before ? &*before : nullptr, after ? &*after : nullptr);
    if (pd.before) Count(ctx.state, *pd.before, -1);
    if (pd.after) Count(ctx.state, *pd.after, +1);
    if (!ctx.log_changes) continue;
    const ChangeRecord change{pd.id,
                              pd.after ? ChangeRecord::Op::kUpsert : ChangeRecord::Op::kDelete,
                              ctx.time_ms, pd.after ? pd.after->kinds : pd.before->kinds};
    ctx.batch.Put(store::Cf::kChanges, ChangeKey(++ctx.state.sequence), EncodeChange(change));
  }
  ctx.state.conflicts += link.conflicts_delta;
  ctx.state.evidence_docs = corpus.docs;
  ctx.state.evidence_length = corpus.length;
  return absl::OkStatus();
}

}  // namespace tessera::directory
