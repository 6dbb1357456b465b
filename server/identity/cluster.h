#pragma once

// Clustering: which fragments of one connected component are one entity. A pure
// function of the fragments and rules, so incremental linking and Rebuild agree.
//
// Fragments are joined, in this order:
//  1. by merge rules (ascending id), whatever they disagree on;
//  2. by shared identifiers, identifier by identifier in key order (single-valued
//     types first, see IdType), each fragment joining the first group it can.
// A join is refused when it would put both sides of a split rule together, two
// classes of entity (person and team), or two values of a single-valued identifier
// type that neither side already holds both of; the last two are reported as
// conflicts between the final clusters.

#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "server/identity/fragment.h"
#include "server/identity/rules.h"

namespace tessera::identity {

struct ClusterItem {
  std::string_view fragkey;
  const Fragment* fragment;  // live, validated
};

struct ClusterConflict {
  size_t cluster_a = 0, cluster_b = 0;  // cluster_a < cluster_b
  size_t item_a = 0, item_b = 0;        // the fragments whose join was refused
  std::string type;                     // identifier type name, or "kind"
  std::vector<std::string> values;      // sorted
  IdType via_type = IdType::kEmail;
  std::string via_value;
};

struct Clustering {
  // Item indices, each cluster ascending; clusters ordered by their first item.
  std::vector<std::vector<size_t>> clusters;
  std::vector<size_t> cluster_of;  // per item
  std::vector<ClusterConflict> conflicts;
};

// `items` sorted by fragkey; `rules` those naming any of them.
Clustering Cluster(std::span<const ClusterItem> items, std::span<const Rule* const> rules);

}  // namespace tessera::identity
