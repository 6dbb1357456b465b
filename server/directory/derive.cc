// Directory: keeping edges, relation references, evidence, the name index, counters
// and the change log in step with a linking result, in the same batch.

#include <map>
#include <set>
#include <tuple>

#include "server/directory/changelog.h"
#include "server/directory/directory_impl.h"
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
using Fact = std::tuple<uint64_t, std::string, uint64_t, std::string>;

class OwnerLookup {
 public:
  OwnerLookup(const store::Reader& reader, const LinkResult& link) : reader_(reader) {
    for (const OwnerDelta& d : link.owners) before_.emplace(d.identkey, &d.before);
  }
  // Owners before the link; the batch already holds the owners after it.
  absl::StatusOr<std::vector<uint64_t>> Before(const std::string& key) const {
    if (auto it = before_.find(key); it != before_.end()) return *it->second;
    return identity::ReadOwners(reader_, key);
  }
  absl::StatusOr<std::vector<uint64_t>> After(const std::string& key) const {
    return identity::ReadOwners(reader_, key);
  }

 private:
  const store::Reader& reader_;
  std::map<std::string, const std::vector<uint64_t>*, std::less<>> before_;
};

template <typename Owners>
absl::Status FactsOf(const StoredFragment& sf, Owners owners, std::set<Fact>& facts,
                     std::set<std::pair<std::string, std::string>>& refs) {
  for (const identity::Relation& r : sf.fragment.relations) {
    std::string key = identity::IdentKey(r.target.tag, r.target.value);
    absl::StatusOr<std::vector<uint64_t>> to = owners(key);
    if (!to.ok()) return to.status();
    for (uint64_t id : *to) facts.emplace(sf.entity, r.type, id, key);
    refs.emplace(std::move(key), r.type);
  }
  return absl::OkStatus();
}

absl::Status UpdateFragmentEdges(store::Batch& batch, const FragmentDelta& d,
                                 const OwnerLookup& owners) {
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
    return graph::EdgeFact{std::get<0>(f), std::get<1>(f), std::get<2>(f), d.fragkey, std::get<3>(f)};
  };
  for (const Fact& f : old_facts) {
    if (new_facts.count(f) == 0) graph::DeleteEdge(batch, edge(f));
  }
  for (const Fact& f : new_facts) {
    if (old_facts.count(f) == 0) graph::PutEdge(batch, edge(f));
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
                                  const std::set<std::string_view>& handled) {
  absl::StatusOr<std::vector<graph::Ref>> refs = graph::RefsTo(batch, od.identkey);
  if (!refs.ok()) return refs.status();
  for (const graph::Ref& ref : *refs) {
    if (handled.count(ref.fragkey) != 0) continue;
    absl::StatusOr<std::optional<StoredFragment>> sf = identity::ReadFragment(batch, ref.fragkey);
    if (!sf.ok()) return sf.status();
    if (!*sf || (*sf)->fragment.tombstone) {
      return absl::DataLossError("a relation reference names a fragment that is not stored; run Rebuild");
    }
    const uint64_t from = (*sf)->entity;
    for (uint64_t to : od.before) {
      if (std::find(od.after.begin(), od.after.end(), to) == od.after.end()) {
        graph::DeleteEdge(batch, {from, ref.type, to, ref.fragkey, od.identkey});
      }
    }
    for (uint64_t to : od.after) {
      if (std::find(od.before.begin(), od.before.end(), to) == od.before.end()) {
        graph::PutEdge(batch, {from, ref.type, to, ref.fragkey, od.identkey});
      }
    }
  }
  return absl::OkStatus();
}

// Evidence records: u64be fragment number · u8 ordinal -> owner profile and the item.
std::map<std::string, std::string> EvidenceOf(const StoredFragment& sf) {
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < sf.fragment.evidence.size(); ++i) {
    const identity::Evidence& e = sf.fragment.evidence[i];
    std::string key;
    store::PutFixed64BE(key, sf.fno);
    key.push_back(static_cast<char>(i));
    std::string value;
    store::PutVarint64(value, sf.entity);
    for (const std::string* f : {&e.kind, &e.role, &e.title, &e.text, &e.language}) {
      store::PutLengthPrefixed(value, *f);
    }
    store::PutVarsint64(value, e.time_ms);
    out.emplace(std::move(key), std::move(value));
  }
  return out;
}

void UpdateEvidence(store::Batch& batch, const FragmentDelta& d) {
  const auto before = d.before ? EvidenceOf(*d.before) : std::map<std::string, std::string>();
  const auto after = d.after ? EvidenceOf(*d.after) : std::map<std::string, std::string>();
  for (const auto& [key, value] : after) {
    auto it = before.find(key);
    if (it == before.end() || it->second != value) batch.Put(store::Cf::kEvidence, key, value);
  }
  for (const auto& [key, value] : before) {
    if (after.count(key) == 0) batch.Delete(store::Cf::kEvidence, key);
  }
}

void Count(MetaState& st, const identity::Profile& p, int sign) {
  st.profiles += sign;
  st.profiles_by_kind[p.kind] += sign;
  if (st.profiles_by_kind[p.kind] == 0) st.profiles_by_kind.erase(p.kind);
  if (p.members.size() > 1) st.linked_profiles += sign;
}

}  // namespace

absl::Status DirectoryImpl::Derive(WriteContext& ctx, const LinkResult& link) {
  const OwnerLookup owners(ctx.batch, link);
  std::set<std::string_view> handled;
  for (const FragmentDelta& d : link.fragments) {
    handled.insert(d.fragkey);
    if (absl::Status s = UpdateFragmentEdges(ctx.batch, d, owners); !s.ok()) return s;
    UpdateEvidence(ctx.batch, d);
  }
  for (const OwnerDelta& od : link.owners) {
    if (absl::Status s = UpdateReferringEdges(ctx.batch, od, handled); !s.ok()) return s;
  }
  for (const identity::ProfileDelta& pd : link.profiles) {
    std::optional<index::NameEntry> before, after;
    if (pd.before && IsPerson(*pd.before)) before = NameEntryOf(*pd.before);
    if (pd.after && IsPerson(*pd.after)) after = NameEntryOf(*pd.after);
    index::UpdateNames(ctx.batch, before ? &*before : nullptr, after ? &*after : nullptr);
    if (pd.before) Count(ctx.state, *pd.before, -1);
    if (pd.after) Count(ctx.state, *pd.after, +1);
    if (!ctx.log_changes) continue;
    const ChangeRecord change{pd.id, pd.after ? ChangeRecord::Op::kUpsert : ChangeRecord::Op::kDelete,
                              ctx.time_ms};
    ctx.batch.Put(store::Cf::kChanges, ChangeKey(++ctx.state.sequence), EncodeChange(change));
  }
  ctx.state.conflicts += link.conflicts_delta;
  return absl::OkStatus();
}

}  // namespace tessera::directory
