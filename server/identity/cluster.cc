#include "server/identity/cluster.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <tuple>

namespace tessera::identity {
namespace {

// What a union-find root knows about its group.
struct Group {
  EntityClass cls = EntityClass::kPerson;
  std::map<IdType, std::set<std::string>> singles;  // single-valued identifier values
  std::set<std::pair<uint64_t, int>> sides;         // (split rule, side)
};

enum class Refusal { kNone, kSplit, kKind, kType };

class UnionFind {
 public:
  explicit UnionFind(size_t n) : parent_(n), groups_(n) {
    std::iota(parent_.begin(), parent_.end(), 0);
  }
  size_t Find(size_t i) {
    while (parent_[i] != i) i = parent_[i] = parent_[parent_[i]];
    return i;
  }
  Group& group(size_t root) { return groups_[root]; }

  // Joins the groups of roots `a` and `b` (kept in `a`) unless a rule forbids it.
  Refusal Join(size_t a, size_t b, bool check_types, IdType* clash) {
    if (a == b) return Refusal::kNone;
    if (Refusal r = Check(groups_[a], groups_[b], check_types, clash); r != Refusal::kNone) {
      return r;
    }
    Group& ga = groups_[a];
    Group& gb = groups_[b];
    for (auto& [type, values] : gb.singles) ga.singles[type].insert(values.begin(), values.end());
    ga.sides.insert(gb.sides.begin(), gb.sides.end());
    gb = Group();
    parent_[b] = a;
    return Refusal::kNone;
  }

 private:
  static Refusal Check(const Group& a, const Group& b, bool check_types, IdType* clash) {
    for (const auto& [rule, side] : a.sides) {
      if (b.sides.count({rule, 1 - side}) != 0) return Refusal::kSplit;
    }
    if (a.cls != b.cls) return Refusal::kKind;
    if (!check_types) return Refusal::kNone;
    for (const auto& [type, va] : a.singles) {
      auto it = b.singles.find(type);
      if (it == b.singles.end()) continue;
      const auto& vb = it->second;
      if (!std::includes(va.begin(), va.end(), vb.begin(), vb.end()) &&
          !std::includes(vb.begin(), vb.end(), va.begin(), va.end())) {
        *clash = type;
        return Refusal::kType;
      }
    }
    return Refusal::kNone;
  }

  std::vector<size_t> parent_;
  std::vector<Group> groups_;
};

struct Clash {
  size_t a, b;
  Refusal why;
  IdType type;
  IdType via_type;
  std::string_view via_value;
};

size_t IndexOf(std::span<const ClusterItem> items, std::string_view fragkey) {
  auto it = std::lower_bound(
      items.begin(), items.end(), fragkey,
      [](const ClusterItem& item, std::string_view k) { return item.fragkey < k; });
  return (it != items.end() && it->fragkey == fragkey) ? static_cast<size_t>(it - items.begin())
                                                       : items.size();
}

void Seed(std::span<const ClusterItem> items, std::span<const Rule* const> rules, UnionFind& uf) {
  for (size_t i = 0; i < items.size(); ++i) {
    Group& g = uf.group(i);
    ClassOfKind(items[i].fragment->kind, &g.cls);
    for (const Identifier& id : items[i].fragment->identifiers) {
      if (IsSingleValued(id.tag)) g.singles[id.tag].insert(id.value);
    }
  }
  for (const Rule* rule : rules) {
    if (rule->type != Rule::Type::kSplit) continue;
    for (int side = 0; side < 2; ++side) {
      for (const auto& key : side == 0 ? rule->fragkeys : rule->apart) {
        if (size_t i = IndexOf(items, key); i < items.size())
          uf.group(i).sides.insert({rule->id, side});
      }
    }
  }
}

void JoinByRules(std::span<const ClusterItem> items, std::span<const Rule* const> rules,
                 UnionFind& uf) {
  for (const Rule* rule : rules) {
    if (rule->type != Rule::Type::kMerge) continue;
    size_t first = items.size();
    for (const auto& key : rule->fragkeys) {
      const size_t i = IndexOf(items, key);
      if (i == items.size()) continue;  // not live
      if (first == items.size()) {
        first = i;
        continue;
      }
      IdType unused;
      uf.Join(uf.Find(first), uf.Find(i), /*check_types=*/false, &unused);
    }
  }
}

std::vector<Clash> JoinByIdentifiers(std::span<const ClusterItem> items, UnionFind& uf) {
  std::map<std::pair<IdType, std::string_view>, std::vector<size_t>> by_id;
  for (size_t i = 0; i < items.size(); ++i) {
    for (const Identifier& id : items[i].fragment->identifiers)
      by_id[{id.tag, id.value}].push_back(i);
  }
  std::vector<Clash> clashes;
  for (const auto& [id, holders] : by_id) {
    std::vector<size_t> reps;  // one item per distinct group sharing this identifier
    for (size_t item : holders) {
      bool joined = false;
      for (size_t rep : reps) {
        const size_t ra = uf.Find(rep);
        const size_t rb = uf.Find(item);
        IdType clash_type = IdType::kEmail;
        const Refusal r = uf.Join(ra, rb, /*check_types=*/true, &clash_type);
        if (r == Refusal::kNone) {
          joined = true;
          break;
        }
        if (r != Refusal::kSplit)
          clashes.push_back({rep, item, r, clash_type, id.first, id.second});
      }
      if (!joined) reps.push_back(item);
    }
  }
  return clashes;
}

}  // namespace

Clustering Cluster(std::span<const ClusterItem> items, std::span<const Rule* const> rules) {
  UnionFind uf(items.size());
  Seed(items, rules, uf);
  JoinByRules(items, rules, uf);
  const std::vector<Clash> clashes = JoinByIdentifiers(items, uf);

  Clustering out;
  out.cluster_of.resize(items.size());
  std::map<size_t, size_t> cluster_of_root;
  for (size_t i = 0; i < items.size(); ++i) {
    const size_t root = uf.Find(i);
    auto [it, added] = cluster_of_root.emplace(root, out.clusters.size());
    if (added) out.clusters.emplace_back();
    out.clusters[it->second].push_back(i);
    out.cluster_of[i] = it->second;
  }

  std::set<std::tuple<size_t, size_t, std::string>> seen;
  for (const Clash& c : clashes) {
    size_t ca = out.cluster_of[c.a], cb = out.cluster_of[c.b];
    if (ca == cb) continue;
    size_t ia = c.a, ib = c.b;
    if (ca > cb) std::swap(ca, cb), std::swap(ia, ib);
    ClusterConflict conflict{ca, cb, ia, ib, {}, {}, c.via_type, std::string(c.via_value)};
    if (c.why == Refusal::kKind) {
      conflict.type = "kind";
      conflict.values = {items[ia].fragment->kind, items[ib].fragment->kind};
    } else {
      conflict.type = std::string(IdTypeName(c.type));
      std::set<std::string> values;
      for (size_t root : {uf.Find(ia), uf.Find(ib)}) {
        const auto& v = uf.group(root).singles[c.type];
        values.insert(v.begin(), v.end());
      }
      conflict.values.assign(values.begin(), values.end());
    }
    std::sort(conflict.values.begin(), conflict.values.end());
    conflict.values.erase(std::unique(conflict.values.begin(), conflict.values.end()),
                          conflict.values.end());
    if (seen.emplace(ca, cb, conflict.type).second) out.conflicts.push_back(std::move(conflict));
  }
  return out;
}

}  // namespace tessera::identity
