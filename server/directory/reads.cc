// Directory: ReadPath (reads.h): profile reads, people search, graph walks and
// fragments, each on one snapshot or the latest state.

#include "server/directory/reads.h"

#include <set>

#include "server/directory/summary.h"
#include "server/graph/edges.h"
#include "server/identity/records.h"
#include "server/text/text.h"

namespace tessera::directory {

using identity::IdType;

FragmentName ReadPath::NameOf(std::string_view fragkey) const {
  uint32_t num = 0;
  std::string_view external_id;
  if (!identity::ParseFragmentKey(fragkey, &num, &external_id)) return {};
  const std::shared_ptr<const identity::SourceRegistry> sources = write_.sources();
  const identity::Source* src = sources->FindNum(num);
  return {src != nullptr ? src->id : "#" + std::to_string(num), std::string(external_id)};
}

std::vector<FragmentName> ReadPath::NamesOf(const std::vector<std::string>& fragkeys) const {
  std::vector<FragmentName> out;
  out.reserve(fragkeys.size());
  for (const auto& k : fragkeys) out.push_back(NameOf(k));
  return out;
}

absl::StatusOr<ProfileId> ReadPath::Resolve(const store::Reader& reader, const ProfileRef& ref,
                                            std::string* absent) const {
  if (ref.id_type.empty()) {
    if (ref.id == 0) return absl::InvalidArgumentError("give a profile id or an identifier");
    if (absent != nullptr) *absent = "no profile " + std::to_string(ref.id);
    return ref.id;
  }
  std::optional<IdType> type = identity::ParseIdType(ref.id_type);
  if (!type) {
    return absl::InvalidArgumentError("unknown identifier type '" + ref.id_type +
                                      "' (known: " + std::string(identity::IdTypeList()) + ")");
  }
  absl::StatusOr<std::string> value = identity::Normalise(*type, ref.id_value, options_.normalise);
  if (!value.ok()) {
    return absl::InvalidArgumentError("identifier '" + ref.id_type + "' value " +
                                      std::string(value.status().message()));
  }
  const std::string text = identity::IdentText(*type, *value);
  // whatsapp:+33... and phone:+33... name the same number.
  absl::StatusOr<std::vector<ProfileId>> owners = identity::ReadOwnersOf(reader, *type, *value);
  if (!owners.ok()) return owners.status();
  if (absent != nullptr) *absent = "no profile has identifier '" + text + "'";
  if (owners->empty()) return absl::NotFoundError("no profile has identifier '" + text + "'");
  if (owners->size() > 1) {
    std::string ids;
    for (ProfileId id : *owners) ids += (ids.empty() ? "" : " ") + std::to_string(id);
    // The suggested command is printed exactly as the CLI takes it.
    return absl::FailedPreconditionError(
        "identifier '" + text + "' names " + std::to_string(owners->size()) + " profiles (" + ids +
        ") that conflict or were split apart; look one up by id, or merge them with "
        "`tessera admin merge " +
        ids + "`");
  }
  return owners->front();
}

absl::StatusOr<std::vector<ConflictView>> ReadPath::ConflictsOf(const store::Reader& reader,
                                                                ProfileId id) const {
  absl::StatusOr<std::vector<identity::Conflict>> conflicts = identity::ReadConflicts(reader, id);
  if (!conflicts.ok()) return conflicts.status();
  std::vector<ConflictView> out;
  for (auto& c : *conflicts) {
    std::vector<FragmentName> names = NamesOf(c.fragkeys);
    out.push_back({std::move(c), std::move(names)});
  }
  return out;
}

absl::StatusOr<ProfileView> ReadPath::GetProfile(const ProfileRef& ref) const {
  // The common case is two point reads; a snapshot costs more than both (it takes
  // RocksDB's mutex). Read the latest state, and only if a write slipped between the
  // two reads (the identifier's profile just merged away), read again on a snapshot.
  absl::StatusOr<ProfileView> view = GetProfileFrom(write_.store().Latest(), ref);
  if (view.ok() || view.status().code() != absl::StatusCode::kNotFound || ref.id_type.empty())
    return view;
  std::unique_ptr<store::Snapshot> snap = write_.store().GetSnapshot();
  return GetProfileFrom(*snap, ref);
}

absl::StatusOr<identity::Profile> ReadPath::ReadVisible(const store::Reader& reader,
                                                        const ProfileRef& ref,
                                                        ProfileId* id) const {
  std::string absent;
  absl::StatusOr<ProfileId> resolved = Resolve(reader, ref, &absent);
  if (!resolved.ok()) return resolved.status();
  *id = *resolved;
  absl::StatusOr<std::optional<identity::Profile>> p = identity::ReadProfile(reader, *id);
  if (!p.ok()) return p.status();
  if (!*p) return absl::NotFoundError("no profile " + std::to_string(*id));
  if (ref.visible && !ref.visible(*id, (*p)->kinds)) return absl::NotFoundError(absent);
  if (ref.may_look_up && !ref.id_type.empty() && !ref.may_look_up(ref.id_type, (*p)->kinds)) {
    return absl::NotFoundError(absent);
  }
  return **std::move(p);
}

absl::StatusOr<ProfileView> ReadPath::GetProfileFrom(const store::Reader& reader,
                                                     const ProfileRef& ref) const {
  ProfileId id = 0;
  absl::StatusOr<identity::Profile> p = ReadVisible(reader, ref, &id);
  if (!p.ok()) return p.status();
  ProfileView view{*std::move(p), {}};
  if (!view.profile.peers.empty()) {
    absl::StatusOr<std::vector<ConflictView>> conflicts = ConflictsOf(reader, id);
    if (!conflicts.ok()) return conflicts.status();
    view.conflicts = *std::move(conflicts);
  }
  return view;
}

absl::StatusOr<index::NamePage> ReadPath::SearchPeople(index::NameQuery q) const {
  const identity::Limits& limits = options_.limits;
  if (q.prefix.empty() || q.prefix.size() > limits.max_prefix_bytes) {
    return absl::InvalidArgumentError("prefix must be 1 to " +
                                      std::to_string(limits.max_prefix_bytes) + " bytes, got " +
                                      std::to_string(q.prefix.size()));
  }
  if (!text::IsValidUtf8(q.prefix)) return absl::InvalidArgumentError("prefix is not valid UTF-8");
  if (q.page_size == 0) q.page_size = 50;
  if (q.page_size > limits.max_page_size) {
    return absl::InvalidArgumentError("page_size " + std::to_string(q.page_size) +
                                      " is over the limit of " +
                                      std::to_string(limits.max_page_size));
  }
  for (const std::string& k : q.kinds) {
    if (!identity::IsPersonKind(k)) {
      return absl::InvalidArgumentError("kind '" + k +
                                        "' is not a person kind (employee, customer, contact)");
    }
  }
  q.max_scan = options_.search_max_scan;
  std::unique_ptr<store::Snapshot> snap = write_.store().GetSnapshot();
  return index::SearchNames(*snap, q);
}

absl::StatusOr<NeighborsView> ReadPath::Neighbors(const NeighborsQuery& q) const {
  const size_t limit = q.limit == 0 ? 100 : q.limit;
  if (limit > options_.limits.max_neighbors) {
    return absl::InvalidArgumentError("limit " + std::to_string(limit) + " is over the limit of " +
                                      std::to_string(options_.limits.max_neighbors));
  }
  if (q.type.size() > 48) return absl::InvalidArgumentError("type is longer than 48 bytes");
  std::unique_ptr<store::Snapshot> snap = write_.store().GetSnapshot();
  ProfileId start = 0;
  absl::StatusOr<identity::Profile> self = ReadVisible(*snap, q.start, &start);
  if (!self.ok()) return self.status();

  absl::StatusOr<graph::NeighborPage> page =
      graph::Neighbors(*snap, {start, q.type, q.direction, limit, q.page_token});
  if (!page.ok()) return page.status();
  NeighborsView view{start, self->kinds, {}, page->next_page_token};
  for (graph::Neighbor& n : page->neighbors) {
    NeighborView v{n.dir, n.type, n.other, IdType::kEmail, {}, std::nullopt, NamesOf(n.fragkeys)};
    std::string_view value;
    if (identity::ParseIdentKey(n.identkey, &v.target_type, &value)) v.target_value = value;
    absl::StatusOr<std::optional<identity::Profile>> other = identity::ReadProfile(*snap, n.other);
    if (!other.ok()) return other.status();
    if (q.start.visible && (!*other || !q.start.visible(n.other, (*other)->kinds))) continue;
    if (*other) v.summary = expertise::SummaryOf(**other);
    view.edges.push_back(std::move(v));
  }
  if (!view.next_page_token.empty() || (q.direction && *q.direction != graph::Direction::kOut)) {
    return view;
  }
  // Last page: add relations whose target no profile carries yet (not for a filtered
  // caller: the target's kind is unknown).
  if (q.start.visible) return view;
  for (const identity::Member& m : self->members) {
    absl::StatusOr<std::optional<identity::StoredFragment>> sf =
        identity::ReadFragment(*snap, m.fragkey);
    if (!sf.ok()) return sf.status();
    if (!*sf) continue;
    for (const identity::Relation& r : (*sf)->fragment.relations) {
      if (!q.type.empty() && r.type != q.type) continue;
      absl::StatusOr<std::vector<ProfileId>> owners =
          identity::ReadOwners(*snap, identity::IdentKey(r.target.tag, r.target.value));
      if (!owners.ok()) return owners.status();
      if (!owners->empty()) continue;
      view.edges.push_back({graph::Direction::kOut,
                            r.type,
                            0,
                            r.target.tag,
                            r.target.value,
                            std::nullopt,
                            {{m.source, m.external_id}}});
    }
  }
  return view;
}

absl::StatusOr<FragmentView> ReadPath::GetFragment(const FragmentName& name) const {
  const std::shared_ptr<const identity::SourceRegistry> sources = write_.sources();
  const identity::Source* src = sources->Find(name.source);
  if (src == nullptr) return absl::NotFoundError("no source '" + name.source + "'");
  const uint32_t num = src->num;
  std::unique_ptr<store::Snapshot> snap = write_.store().GetSnapshot();
  absl::StatusOr<std::optional<identity::StoredFragment>> sf =
      identity::ReadFragment(*snap, identity::FragmentKey(num, name.external_id));
  if (!sf.ok()) return sf.status();
  if (!*sf) {
    return absl::NotFoundError("no fragment '" + name.external_id + "' from source '" +
                               name.source + "'");
  }
  const bool deleted = (*sf)->fragment.tombstone;
  return FragmentView{**std::move(sf), deleted};
}

absl::StatusOr<bool> ReadPath::Linked(ProfileId a, ProfileId b,
                                      const std::vector<std::string>& relations) const {
  graph::EdgeReader edges(write_.store().Latest());
  for (const std::string& rel : relations) {
    for (const bool out : {true, false}) {
      absl::StatusOr<std::vector<graph::Target>> targets =
          out ? edges.Out(a, rel) : edges.In(a, rel);
      if (!targets.ok()) return targets.status();
      for (const graph::Target& t : *targets) {
        if (t.to == b) return true;
      }
    }
  }
  return false;
}

}  // namespace tessera::directory
