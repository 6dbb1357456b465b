#pragma once

// Typed edges between profiles, stored once per direction so either end can be
// walked, and the relation references ("refs") they are derived from: which
// fragments' relations name an identifier, so an edge appears as soon as a profile
// claims that identifier. Plain keys and ids: this module knows nothing of linking.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tessera::store {
class Batch;
class Iterator;
class Reader;
}  // namespace tessera::store

namespace tessera::graph {

// Disk values: do not change. kLoad entries are not edges: they mark the open cases a
// person holds (person · kLoad · type · case · fragment), counted by OpenCases.
enum class Direction : uint8_t { kOut = 0, kIn = 1, kLoad = 2 };

// One relation of one fragment, resolved to profiles: `from` (the fragment's profile)
// --type--> `to` (a profile owning `identkey`).
struct EdgeFact {
  uint64_t from = 0;
  std::string type;
  uint64_t to = 0;
  std::string fragkey;   // the fragment stating it
  std::string identkey;  // the identifier the relation names
};

// Writes or deletes both directions of an edge.
void PutEdge(store::Batch& batch, const EdgeFact& e);
void DeleteEdge(store::Batch& batch, const EdgeFact& e);

// Marks, or unmarks, the open case `e.from` as held by `e.to` through relation `e.type`.
void PutLoad(store::Batch& batch, const EdgeFact& e);
void DeleteLoad(store::Batch& batch, const EdgeFact& e);
// The number of distinct open cases `person` holds.
absl::StatusOr<size_t> OpenCases(const store::Reader& reader, uint64_t person);

// The profiles `from` points to with relation `type` (OUT edges), with the fragments
// stating each, in id order.
struct Target {
  uint64_t to = 0;
  std::string fragkey;
  std::string identkey;
};
absl::StatusOr<std::vector<Target>> OutEdges(const store::Reader& reader, uint64_t from,
                                             std::string_view type);
// The profiles pointing to `to` with relation `type` (IN edges); Target::to is the source.
absl::StatusOr<std::vector<Target>> InEdges(const store::Reader& reader, uint64_t to,
                                            std::string_view type);

// The same lookups through one iterator, for callers making many (creating an
// iterator costs more than a seek). Thread-compatible; `reader` outlives it.
class EdgeReader {
 public:
  explicit EdgeReader(const store::Reader& reader);
  ~EdgeReader();
  absl::StatusOr<std::vector<Target>> Out(uint64_t from, std::string_view type);
  absl::StatusOr<std::vector<Target>> In(uint64_t to, std::string_view type);

 private:
  std::unique_ptr<store::Iterator> it_;
};

// Records that fragment `fragkey` has relation `type` to identifier `identkey`.
void PutRef(store::Batch& batch, std::string_view identkey, std::string_view fragkey,
            std::string_view type);
void DeleteRef(store::Batch& batch, std::string_view identkey, std::string_view fragkey,
               std::string_view type);

struct Ref {
  std::string fragkey;
  std::string type;
};
// The relations naming `identkey`, in key order.
absl::StatusOr<std::vector<Ref>> RefsTo(const store::Reader& reader, std::string_view identkey);

// Edges of one profile, grouped by (direction, type, other end).
struct Neighbor {
  Direction dir = Direction::kOut;
  std::string type;
  uint64_t other = 0;
  std::string identkey;
  std::vector<std::string> fragkeys;  // the fragments stating it
};

struct NeighborQuery {
  uint64_t id = 0;
  std::string type;                    // empty: all
  std::optional<Direction> direction;  // nullopt: both
  size_t limit = 100;
  std::string page_token;  // from a previous page
};

struct NeighborPage {
  std::vector<Neighbor> neighbors;
  std::string next_page_token;  // empty at the end
};

// INVALID_ARGUMENT for a page token that is not one of this query's.
absl::StatusOr<NeighborPage> Neighbors(const store::Reader& reader, const NeighborQuery& q);

}  // namespace tessera::graph
