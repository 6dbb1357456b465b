#include "server/graph/edges.h"

#include <memory>
#include <unordered_set>

#include "server/store/coding.h"
#include "server/store/store.h"

namespace tessera::graph {
namespace {

// u64be from · u8 direction · u8 type length · type
std::string EdgePrefix(uint64_t from, Direction dir, std::string_view type) {
  std::string key;
  store::PutFixed64BE(key, from);
  key.push_back(static_cast<char>(dir));
  if (!type.empty()) {
    key.push_back(static_cast<char>(type.size()));
    key.append(type);
  }
  return key;
}

// EdgePrefix · u64be to · fragkey
std::string EdgeKey(uint64_t from, Direction dir, std::string_view type, uint64_t to,
                    std::string_view fragkey) {
  std::string key = EdgePrefix(from, dir, type);
  store::PutFixed64BE(key, to);
  key.append(fragkey);
  return key;
}

struct ParsedEdge {
  Direction dir;
  std::string_view type;
  uint64_t to;
  std::string_view fragkey;
  size_t group_size;  // bytes up to and including `to`
};

bool ParseEdgeKey(std::string_view key, ParsedEdge* e) {
  if (key.size() < 10) return false;
  e->dir = static_cast<Direction>(static_cast<uint8_t>(key[8]));
  const size_t len = static_cast<uint8_t>(key[9]);
  if (key.size() < 10 + len + 8) return false;
  e->type = key.substr(10, len);
  e->to = store::DecodeFixed64BE(key.data() + 10 + len);
  e->group_size = 10 + len + 8;
  e->fragkey = key.substr(e->group_size);
  return true;
}

// identkey · u16be fragkey length · fragkey · type
std::string RefKey(std::string_view identkey, std::string_view fragkey, std::string_view type) {
  std::string key(identkey);
  key.push_back(static_cast<char>(fragkey.size() >> 8));
  key.push_back(static_cast<char>(fragkey.size() & 0xff));
  key.append(fragkey);
  key.append(type);
  return key;
}

// Scans one direction from `start`, appending whole groups until `limit` groups.
// Returns the key to resume at, or empty when the direction is exhausted.
absl::StatusOr<std::string> ScanDirection(const store::Reader& reader, std::string_view prefix,
                                          std::string_view start, size_t limit,
                                          std::vector<Neighbor>& out) {
  std::unique_ptr<store::Iterator> it = reader.NewIterator(store::Cf::kEdges);
  for (it->Seek(start); it->Valid() && store::HasPrefix(it->key(), prefix); it->Next()) {
    ParsedEdge e;
    if (!ParseEdgeKey(it->key(), &e)) return absl::DataLossError("corrupt edge key");
    const bool same_group = !out.empty() && out.back().dir == e.dir && out.back().type == e.type &&
                            out.back().other == e.to;
    if (!same_group) {
      if (out.size() >= limit) return std::string(it->key().substr(0, e.group_size));
      out.push_back({e.dir, std::string(e.type), e.to, std::string(it->value()), {}});
    }
    out.back().fragkeys.emplace_back(e.fragkey);
  }
  if (absl::Status s = it->status(); !s.ok()) return s;
  return std::string();
}

}  // namespace

void PutEdge(store::Batch& batch, const EdgeFact& e) {
  batch.Put(store::Cf::kEdges, EdgeKey(e.from, Direction::kOut, e.type, e.to, e.fragkey),
            e.identkey);
  batch.Put(store::Cf::kEdges, EdgeKey(e.to, Direction::kIn, e.type, e.from, e.fragkey),
            e.identkey);
}

void DeleteEdge(store::Batch& batch, const EdgeFact& e) {
  batch.Delete(store::Cf::kEdges, EdgeKey(e.from, Direction::kOut, e.type, e.to, e.fragkey));
  batch.Delete(store::Cf::kEdges, EdgeKey(e.to, Direction::kIn, e.type, e.from, e.fragkey));
}

void PutLoad(store::Batch& batch, const EdgeFact& e) {
  batch.Put(store::Cf::kEdges, EdgeKey(e.to, Direction::kLoad, e.type, e.from, e.fragkey), {});
}

void DeleteLoad(store::Batch& batch, const EdgeFact& e) {
  batch.Delete(store::Cf::kEdges, EdgeKey(e.to, Direction::kLoad, e.type, e.from, e.fragkey));
}

absl::StatusOr<size_t> OpenCases(const store::Reader& reader, uint64_t person) {
  const std::string prefix = EdgePrefix(person, Direction::kLoad, {});
  std::unique_ptr<store::Iterator> it = reader.NewIterator(store::Cf::kEdges);
  // Keys run by relation type, then case: a case held through two relations (assigned
  // to and resolved by the same person) appears twice, not next to itself, so the
  // count is over distinct case ids.
  std::unordered_set<uint64_t> cases;
  for (it->Seek(prefix); it->Valid() && store::HasPrefix(it->key(), prefix); it->Next()) {
    ParsedEdge e;
    if (!ParseEdgeKey(it->key(), &e)) return absl::DataLossError("corrupt load key");
    cases.insert(e.to);
  }
  if (absl::Status s = it->status(); !s.ok()) return s;
  return cases.size();
}

namespace {

absl::StatusOr<std::vector<Target>> Edges(store::Iterator& it, uint64_t id, Direction dir,
                                          std::string_view type) {
  const std::string prefix = EdgePrefix(id, dir, type);
  std::vector<Target> out;
  for (it.Seek(prefix); it.Valid() && store::HasPrefix(it.key(), prefix); it.Next()) {
    ParsedEdge e;
    if (!ParseEdgeKey(it.key(), &e)) return absl::DataLossError("corrupt edge key");
    out.push_back({e.to, std::string(e.fragkey), std::string(it.value())});
  }
  if (absl::Status s = it.status(); !s.ok()) return s;
  return out;
}

}  // namespace

absl::StatusOr<std::vector<Target>> OutEdges(const store::Reader& reader, uint64_t from,
                                             std::string_view type) {
  return EdgeReader(reader).Out(from, type);
}

absl::StatusOr<std::vector<Target>> InEdges(const store::Reader& reader, uint64_t to,
                                            std::string_view type) {
  return EdgeReader(reader).In(to, type);
}

EdgeReader::EdgeReader(const store::Reader& reader) : it_(reader.NewIterator(store::Cf::kEdges)) {}
EdgeReader::~EdgeReader() = default;

absl::StatusOr<std::vector<Target>> EdgeReader::Out(uint64_t from, std::string_view type) {
  return Edges(*it_, from, Direction::kOut, type);
}

absl::StatusOr<std::vector<Target>> EdgeReader::In(uint64_t to, std::string_view type) {
  return Edges(*it_, to, Direction::kIn, type);
}

void PutRef(store::Batch& batch, std::string_view identkey, std::string_view fragkey,
            std::string_view type) {
  batch.Put(store::Cf::kRefs, RefKey(identkey, fragkey, type), {});
}

void DeleteRef(store::Batch& batch, std::string_view identkey, std::string_view fragkey,
               std::string_view type) {
  batch.Delete(store::Cf::kRefs, RefKey(identkey, fragkey, type));
}

absl::StatusOr<std::vector<Ref>> RefsTo(const store::Reader& reader, std::string_view identkey) {
  std::vector<Ref> refs;
  std::unique_ptr<store::Iterator> it = reader.NewIterator(store::Cf::kRefs);
  for (it->Seek(identkey); it->Valid() && store::HasPrefix(it->key(), identkey); it->Next()) {
    std::string_view rest = it->key().substr(identkey.size());
    if (rest.size() < 2) return absl::DataLossError("corrupt relation reference");
    const size_t len = (static_cast<uint8_t>(rest[0]) << 8) | static_cast<uint8_t>(rest[1]);
    if (rest.size() < 2 + len) return absl::DataLossError("corrupt relation reference");
    refs.push_back({std::string(rest.substr(2, len)), std::string(rest.substr(2 + len))});
  }
  if (absl::Status s = it->status(); !s.ok()) return s;
  return refs;
}

absl::StatusOr<NeighborPage> Neighbors(const store::Reader& reader, const NeighborQuery& q) {
  std::string resume;
  if (!q.page_token.empty()) {
    std::string base;
    store::PutFixed64BE(base, q.id);
    if (!store::HexDecode(q.page_token, &resume) || !store::HasPrefix(resume, base)) {
      return absl::InvalidArgumentError("page_token is not from a Neighbors call on this profile");
    }
  }
  NeighborPage page;
  for (Direction dir : {Direction::kOut, Direction::kIn}) {
    if (q.direction && *q.direction != dir) continue;
    const std::string prefix = EdgePrefix(q.id, dir, q.type);
    if (!resume.empty() && resume > prefix && !store::HasPrefix(resume, prefix)) continue;
    const std::string start = (!resume.empty() && resume > prefix) ? resume : prefix;
    absl::StatusOr<std::string> next =
        ScanDirection(reader, prefix, start, q.limit, page.neighbors);
    if (!next.ok()) return next.status();
    if (!next->empty()) {
      // Resume at the first group not returned.
      page.next_page_token = store::HexEncode(*next);
      return page;
    }
  }
  return page;
}

}  // namespace tessera::graph
