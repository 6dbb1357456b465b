#include "server/identity/linker.h"

#include <algorithm>
#include <deque>
#include <set>

#include "server/identity/cluster.h"
#include "server/identity/records.h"
#include "server/identity/rules.h"
#include "server/identity/source.h"
#include "server/store/store.h"

namespace tessera::identity {
namespace {

struct Item {
  StoredFragment sf;
  uint64_t hint = 0;     // the profile it belonged to
  uint64_t origin = 0;   // the profile it was first linked to
  bool changed = false;  // one of the caller's changes
};

// One Apply call: gathers the component, re-clusters it and writes the result.
class Relink {
 public:
  Relink(store::Batch& batch, const SourceRegistry& sources, const RuleSet& rules,
         const Limits& limits, IdCounters& ids)
      : batch_(batch), sources_(sources), rules_(rules), limits_(limits), ids_(ids) {}

  absl::StatusOr<LinkResult> Run(std::span<const Change> changes) {
    if (absl::Status s = Seed(changes); !s.ok()) return s;
    if (absl::Status s = Gather(); !s.ok()) return s;
    Clusterise();
    if (absl::Status s = AssignIds(); !s.ok()) return s;
    if (absl::Status s = WriteOwners(); !s.ok()) return s;
    WriteFragments(changes);
    if (absl::Status s = WriteProfiles(); !s.ok()) return s;
    if (absl::Status s = WriteConflicts(); !s.ok()) return s;
    return std::move(result_);
  }

 private:
  absl::Status Seed(std::span<const Change> changes) {
    for (const Change& c : changes) {
      overridden_.insert(c.fragkey);
      const bool was_live = c.before && !c.before->fragment.tombstone;
      if (was_live) {
        Enqueue(c.before->entity);
        for (std::string& key : IdentKeysOf(c.before->fragment))
          old_identkeys_.insert(std::move(key));
      }
      if (!c.after.fragment.tombstone) {
        Item& item = items_[c.fragkey];
        item.sf = c.after;
        item.hint = c.after.entity != 0 ? c.after.entity : (was_live ? c.before->entity : 0);
        item.origin = c.after.origin;
        item.changed = true;
        for (const std::string& key : IdentKeysOf(c.after.fragment)) {
          absl::StatusOr<const std::vector<uint64_t>*> owners = Owners(key);
          if (!owners.ok()) return owners.status();
          for (uint64_t id : **owners) Enqueue(id);
        }
      }
      if (absl::Status s = EnqueueRulePeers(c.fragkey); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // The owners of an identifier before this relink, read once.
  absl::StatusOr<const std::vector<uint64_t>*> Owners(const std::string& key) {
    auto it = owners_before_.find(key);
    if (it == owners_before_.end()) {
      absl::StatusOr<std::vector<uint64_t>> read = ReadOwners(batch_, key);
      if (!read.ok()) return read.status();
      it = owners_before_.emplace(key, *std::move(read)).first;
    }
    return &it->second;
  }

  void Enqueue(uint64_t id) {
    if (id != 0 && seen_.insert(id).second) queue_.push_back(id);
  }

  absl::Status EnqueueRulePeers(const std::string& fragkey) {
    for (const Rule* rule : rules_.RulesOf(fragkey)) {
      for (const auto* side : {&rule->fragkeys, &rule->apart}) {
        for (const std::string& other : *side) {
          if (other == fragkey || overridden_.count(other) != 0 || items_.count(other) != 0)
            continue;
          absl::StatusOr<std::optional<StoredFragment>> f = ReadFragment(batch_, other);
          if (!f.ok()) return f.status();
          if (*f && !(*f)->fragment.tombstone) Enqueue((*f)->entity);
        }
      }
    }
    return absl::OkStatus();
  }

  // Loads every profile reachable from the seeds and the fragments they hold.
  absl::Status Gather() {
    while (!queue_.empty()) {
      const uint64_t id = queue_.front();
      queue_.pop_front();
      std::string encoded;
      absl::StatusOr<bool> found = batch_.Get(store::Cf::kProfiles, ProfileKey(id), &encoded);
      if (!found.ok()) return found.status();
      if (!*found) continue;  // a hint to a profile not written yet (Rebuild)
      std::optional<Profile> p(std::in_place);
      if (absl::Status s = DecodeProfile(encoded, &*p); !s.ok()) {
        return absl::DataLossError("profile " + std::to_string(id) + ": " +
                                   std::string(s.message()));
      }
      for (const Member& m : p->members) {
        if (overridden_.count(m.fragkey) != 0 || items_.count(m.fragkey) != 0) continue;
        absl::StatusOr<std::optional<StoredFragment>> f = ReadFragment(batch_, m.fragkey);
        if (!f.ok()) return f.status();
        if (!*f || (*f)->fragment.tombstone) {
          return absl::DataLossError("profile " + std::to_string(id) +
                                     " names a fragment that is not stored; run Rebuild");
        }
        Item& item = items_[m.fragkey];
        item.sf = **std::move(f);
        item.hint = id;
        item.origin = item.sf.origin;
        if (absl::Status s = EnqueueRulePeers(m.fragkey); !s.ok()) return s;
      }
      for (uint64_t peer : p->peers) Enqueue(peer);
      old_profiles_.emplace(id, *std::move(p));
      old_encoded_.emplace(id, std::move(encoded));
      if (items_.size() > limits_.max_profile_fragments) return TooLarge();
    }
    return absl::OkStatus();
  }

  absl::Status TooLarge() const {
    return absl::InvalidArgumentError(
        "linking would join more than " + std::to_string(limits_.max_profile_fragments) +
        " fragments into one profile; an identifier is probably shared by unrelated records "
        "(a shared mailbox or switchboard number): drop it from the source mapping");
  }

  void Clusterise() {
    for (auto& [key, item] : items_) {
      keys_.push_back(&key);
      cluster_items_.push_back({key, &item.sf.fragment});
    }
    std::set<const Rule*> rules;
    for (const auto& [key, item] : items_) {
      for (const Rule* r : rules_.RulesOf(key)) rules.insert(r);
    }
    std::vector<const Rule*> ordered(rules.begin(), rules.end());
    std::sort(ordered.begin(), ordered.end(),
              [](const Rule* a, const Rule* b) { return a->id < b->id; });
    clustering_ = Cluster(cluster_items_, ordered);
  }

  // Ids stay stable: a cluster keeps the id most of its fragments had, and a cluster
  // split off by an undone merge gets back the id its fragments were first linked to.
  //  1. A cluster holding fragments first linked to its majority id keeps that id.
  //  2. Any other cluster keeps its majority id if no cluster of step 1 took it,
  //  3. else takes the id most of its fragments were first linked to,
  //  4. else a new id.
  // Ties go to the smallest id; everything depends on the fragments only, so Rebuild
  // gives the same ids.
  absl::Status AssignIds() {
    const size_t n = clustering_.clusters.size();
    std::vector<std::map<uint64_t, size_t>> hints(n), origins(n);
    for (size_t c = 0; c < n; ++c) {
      for (size_t i : clustering_.clusters[c]) {
        const Item& item = items_[*keys_[i]];
        if (item.hint != 0) ++hints[c][item.hint];
        if (item.origin != 0) ++origins[c][item.origin];
      }
    }
    cluster_ids_.assign(n, 0);
    std::set<uint64_t> taken;
    for (int step = 1; step <= 3; ++step) {
      for (size_t c = 0; c < n; ++c) {
        if (cluster_ids_[c] != 0) continue;
        absl::StatusOr<uint64_t> id = Majority(step == 3 ? origins[c] : hints[c], taken);
        if (!id.ok()) return id.status();
        if (*id == 0 || (step == 1 && origins[c].count(*id) == 0)) continue;
        cluster_ids_[c] = *id;
        taken.insert(*id);
      }
    }
    for (uint64_t& id : cluster_ids_) {
      if (id == 0) id = ids_.next_profile++;
    }
    return absl::OkStatus();
  }

  // The id with the most votes among those free and not `taken` (0 if none).
  absl::StatusOr<uint64_t> Majority(const std::map<uint64_t, size_t>& votes,
                                    const std::set<uint64_t>& taken) {
    uint64_t chosen = 0;
    size_t best = 0;
    for (const auto& [id, n] : votes) {  // ascending id: ties keep the smallest
      if (n <= best || taken.count(id) != 0) continue;
      absl::StatusOr<bool> free = IdIsFree(id);
      if (!free.ok()) return free.status();
      if (*free) chosen = id, best = n;
    }
    return chosen;
  }

  // An id may be reused when it belonged to this component or to no profile at all.
  absl::StatusOr<bool> IdIsFree(uint64_t id) {
    if (old_profiles_.count(id) != 0) return true;
    absl::StatusOr<std::optional<Profile>> p = ReadProfile(batch_, id);
    if (!p.ok()) return p.status();
    return !p->has_value();
  }

  static std::vector<std::string> IdentKeysOf(const Fragment& f) {
    std::vector<std::string> keys;
    for (const Identifier& id : f.identifiers) keys.push_back(IdentKey(id.tag, id.value));
    return keys;
  }

  absl::Status WriteOwners() {
    std::map<std::string, std::set<uint64_t>> owners;
    for (size_t c = 0; c < clustering_.clusters.size(); ++c) {
      for (size_t i : clustering_.clusters[c]) {
        for (const std::string& key : IdentKeysOf(*cluster_items_[i].fragment)) {
          owners[key].insert(cluster_ids_[c]);
        }
      }
    }
    for (const std::string& key : old_identkeys_) owners.try_emplace(key);
    for (const auto& [id, p] : old_profiles_) {
      for (const ProfileIdentifier& pid : p.identifiers)
        owners.try_emplace(IdentKey(pid.type, pid.value));
    }
    for (const auto& [key, set] : owners) {
      std::vector<uint64_t> after(set.begin(), set.end());
      absl::StatusOr<const std::vector<uint64_t>*> before = Owners(key);
      if (!before.ok()) return before.status();
      for (uint64_t id : after) {
        for (uint64_t other : after) {
          if (other != id) peers_[id].insert(other);
        }
      }
      if (**before == after) continue;
      if (after.empty()) {
        batch_.Delete(store::Cf::kIdent, key);
      } else {
        batch_.Put(store::Cf::kIdent, key, EncodeOwners(after));
      }
      result_.owners.push_back({key, **before, std::move(after)});
    }
    return absl::OkStatus();
  }

  void WriteFragments(std::span<const Change> changes) {
    std::map<std::string, uint64_t> new_entity;
    for (size_t c = 0; c < clustering_.clusters.size(); ++c) {
      for (size_t i : clustering_.clusters[c]) new_entity[*keys_[i]] = cluster_ids_[c];
    }
    for (const Change& c : changes) {
      StoredFragment after = c.after;
      after.entity = c.after.fragment.tombstone ? 0 : new_entity.at(c.fragkey);
      if (after.origin == 0) after.origin = after.entity;
      result_.profile_of[c.fragkey] = after.entity;
      const bool was_live = c.before && !c.before->fragment.tombstone;
      if (c.write || after.entity != c.after.entity) {
        batch_.Put(store::Cf::kFragments, c.fragkey, EncodeFragment(after));
      }
      FragmentDelta delta{c.fragkey, was_live ? c.before : std::nullopt, std::nullopt};
      if (!after.fragment.tombstone) delta.after = std::move(after);
      result_.fragments.push_back(std::move(delta));
    }
    for (auto& [key, item] : items_) {
      if (item.changed) continue;
      const uint64_t entity = new_entity.at(key);
      if (entity == item.sf.entity) continue;
      FragmentDelta delta{key, item.sf, item.sf};
      delta.after->entity = entity;
      batch_.Put(store::Cf::kFragments, key, EncodeFragment(*delta.after));
      result_.fragments.push_back(std::move(delta));
    }
  }

  absl::Status WriteProfiles() {
    std::set<uint64_t> live;
    for (size_t c = 0; c < clustering_.clusters.size(); ++c) {
      const uint64_t id = cluster_ids_[c];
      live.insert(id);
      std::vector<std::pair<std::string, const StoredFragment*>> members;
      for (size_t i : clustering_.clusters[c])
        members.emplace_back(*keys_[i], &items_[*keys_[i]].sf);
      Profile p = Materialise(id, members, sources_);
      const auto& peers = peers_[id];
      p.peers.assign(peers.begin(), peers.end());
      std::string encoded = EncodeProfile(p);
      auto old = old_profiles_.find(id);
      if (old != old_profiles_.end() && old_encoded_[id] == encoded) continue;
      batch_.Put(store::Cf::kProfiles, ProfileKey(id), encoded);
      ProfileDelta delta{id, std::nullopt, std::move(p)};
      if (old != old_profiles_.end()) delta.before = old->second;
      result_.profiles.push_back(std::move(delta));
    }
    for (const auto& [id, p] : old_profiles_) {
      if (live.count(id) != 0) continue;
      batch_.Delete(store::Cf::kProfiles, ProfileKey(id));
      result_.profiles.push_back({id, p, std::nullopt});
    }
    return absl::OkStatus();
  }

  Conflict MakeConflict(const ClusterConflict& cc) const {
    Conflict c;
    c.type = cc.type;
    c.values = cc.values;
    c.via_type = cc.via_type;
    c.via_value = cc.via_value;
    c.profiles = {cluster_ids_[cc.cluster_a], cluster_ids_[cc.cluster_b]};
    std::sort(c.profiles.begin(), c.profiles.end());
    c.fragkeys = {*keys_[cc.item_a], *keys_[cc.item_b]};
    std::sort(c.fragkeys.begin(), c.fragkeys.end());
    return c;
  }

  // Conflicts are stored under each profile involved; counted under the first.
  absl::Status WriteConflicts() {
    std::map<std::string, std::string> before, after;
    for (const auto& [id, p] : old_profiles_) {
      if (p.peers.empty()) continue;  // no shared identifier, no conflict
      absl::StatusOr<std::vector<Conflict>> old = ReadConflicts(batch_, id);
      if (!old.ok()) return old.status();
      for (uint32_t n = 0; n < old->size(); ++n) {
        before[ConflictKey(id, n)] = EncodeConflict((*old)[n]);
        if ((*old)[n].profiles.front() == id) --result_.conflicts_delta;
      }
    }
    std::map<uint64_t, uint32_t> next;
    for (const ClusterConflict& cc : clustering_.conflicts) {
      const Conflict c = MakeConflict(cc);
      for (uint64_t id : c.profiles) after[ConflictKey(id, next[id]++)] = EncodeConflict(c);
      ++result_.conflicts_delta;
    }
    for (const auto& [key, value] : after) {
      auto it = before.find(key);
      if (it == before.end() || it->second != value) batch_.Put(store::Cf::kConflicts, key, value);
    }
    for (const auto& [key, value] : before) {
      if (after.count(key) == 0) batch_.Delete(store::Cf::kConflicts, key);
    }
    return absl::OkStatus();
  }

  store::Batch& batch_;
  const SourceRegistry& sources_;
  const RuleSet& rules_;
  const Limits& limits_;
  IdCounters& ids_;

  std::set<std::string> overridden_;
  std::set<std::string> old_identkeys_;
  std::set<uint64_t> seen_;
  std::deque<uint64_t> queue_;
  std::map<std::string, Item> items_;
  std::map<uint64_t, Profile> old_profiles_;
  std::map<uint64_t, std::string> old_encoded_;
  std::map<std::string, std::vector<uint64_t>> owners_before_;
  std::vector<const std::string*> keys_;
  std::vector<ClusterItem> cluster_items_;
  Clustering clustering_;
  std::vector<uint64_t> cluster_ids_;
  std::map<uint64_t, std::set<uint64_t>> peers_;
  LinkResult result_;
};

}  // namespace

absl::StatusOr<LinkResult> Linker::Apply(store::Batch& batch, std::span<const Change> changes,
                                         IdCounters& ids) const {
  return Relink(batch, sources_, rules_, limits_, ids).Run(changes);
}

}  // namespace tessera::identity
