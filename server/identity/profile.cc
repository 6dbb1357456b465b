#include "server/identity/profile.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <tuple>

#include "server/identity/source.h"
#include "server/store/coding.h"

namespace tessera::identity {
namespace {

constexpr uint8_t kProfileVersion = 1;
constexpr uint8_t kConflictVersion = 1;

std::string DisplayName(const Profile& p) {
  for (std::string_view name : {"display_name", "name", "cn"}) {
    if (const std::string* v = p.Attr(name)) return *v;
  }
  const std::string* given = p.Attr("given_name");
  const std::string* family = p.Attr("family_name");
  if (given != nullptr && family != nullptr) return *given + " " + *family;
  if (given != nullptr) return *given;
  if (family != nullptr) return *family;
  if (const std::string* title = p.Attr("title");
      title != nullptr && p.kinds.size() == 1 && !IsPersonKind(p.kind)) {
    return *title;
  }
  if (const std::string* email = p.FirstIdentifier(IdType::kEmail)) return *email;
  return p.members.empty() ? std::string() : p.members.front().external_id;
}

}  // namespace

const std::string* Profile::Attr(std::string_view name) const {
  auto it =
      std::lower_bound(attributes.begin(), attributes.end(), name,
                       [](const ProfileAttribute& a, std::string_view n) { return a.name < n; });
  if (it == attributes.end() || it->name != name || it->values.empty()) return nullptr;
  return &it->values.front().value;
}

const std::string* Profile::FirstIdentifier(IdType type) const {
  for (const auto& id : identifiers) {
    if (id.type == type) return &id.value;
  }
  return nullptr;
}

Profile Materialise(uint64_t id,
                    std::span<const std::pair<std::string, const StoredFragment*>> fragments,
                    const SourceRegistry& sources) {
  auto priority = [&](const StoredFragment* f) {
    const Source* s = sources.Find(f->fragment.source);
    return s == nullptr ? 0 : s->priority;
  };
  std::vector<size_t> order(fragments.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Fragment& fa = fragments[a].second->fragment;
    const Fragment& fb = fragments[b].second->fragment;
    const int pa = priority(fragments[a].second);
    const int pb = priority(fragments[b].second);
    return std::tie(pb, fb.updated_at_ms, fa.source, fa.external_id) <
           std::tie(pa, fa.updated_at_ms, fb.source, fb.external_id);
  });

  Profile p;
  p.id = id;
  std::map<std::string, std::vector<SourcedValue>> attrs;
  std::map<std::pair<IdType, std::string>, std::vector<SourcedValue>> idents;
  std::set<std::string> kinds;
  for (size_t i : order) {
    const auto& [key, sf] = fragments[i];
    const Fragment& f = sf->fragment;
    const auto member = static_cast<uint32_t>(p.members.size());
    p.members.push_back({key, f.source, f.external_id, f.version, f.updated_at_ms, f.kind});
    kinds.insert(f.kind);
    p.updated_at_ms = std::max(p.updated_at_ms, f.updated_at_ms);
    for (const Attribute& a : f.attributes) attrs[a.name].push_back({a.value, member, {}});
    for (const Identifier& ident : f.identifiers) {
      idents[{ident.tag, ident.value}].push_back({{}, member, ident.raw});
    }
  }
  for (auto& [name, values] : attrs) p.attributes.push_back({name, std::move(values)});
  for (auto& [k, prov] : idents) p.identifiers.push_back({k.first, k.second, std::move(prov)});
  p.kinds.assign(kinds.begin(), kinds.end());
  if (!p.members.empty()) p.kind = p.members.front().kind;
  p.display_name = DisplayName(p);
  return p;
}

std::string EncodeProfile(const Profile& p) {
  std::string out;
  out.push_back(static_cast<char>(kProfileVersion));
  store::PutVarint64(out, p.id);
  store::PutLengthPrefixed(out, p.kind);
  store::PutVarint64(out, p.kinds.size());
  for (const auto& k : p.kinds) store::PutLengthPrefixed(out, k);
  store::PutLengthPrefixed(out, p.display_name);
  store::PutVarsint64(out, p.updated_at_ms);
  store::PutVarint64(out, p.members.size());
  for (const Member& m : p.members) {
    store::PutLengthPrefixed(out, m.fragkey);
    store::PutLengthPrefixed(out, m.source);
    store::PutLengthPrefixed(out, m.external_id);
    store::PutVarint64(out, m.version);
    store::PutVarsint64(out, m.time_ms);
    store::PutLengthPrefixed(out, m.kind);
  }
  store::PutVarint64(out, p.attributes.size());
  for (const ProfileAttribute& a : p.attributes) {
    store::PutLengthPrefixed(out, a.name);
    store::PutVarint64(out, a.values.size());
    for (const SourcedValue& v : a.values) {
      store::PutLengthPrefixed(out, v.value);
      store::PutVarint64(out, v.member);
    }
  }
  store::PutVarint64(out, p.identifiers.size());
  for (const ProfileIdentifier& id : p.identifiers) {
    out.push_back(static_cast<char>(id.type));
    store::PutLengthPrefixed(out, id.value);
    store::PutVarint64(out, id.provenance.size());
    for (const SourcedValue& v : id.provenance) {
      store::PutVarint64(out, v.member);
      store::PutLengthPrefixed(out, v.raw);
    }
  }
  store::PutVarint64(out, p.peers.size());
  for (uint64_t peer : p.peers) store::PutVarint64(out, peer);
  return out;
}

absl::Status DecodeProfile(std::string_view data, Profile* p) {
  store::Decoder d(data);
  if (d.Byte() != kProfileVersion) return absl::DataLossError("corrupt profile record");
  *p = Profile();
  p->id = d.Varint64();
  p->kind = std::string(d.LengthPrefixed());
  p->kinds.resize(d.Count());
  for (auto& k : p->kinds) k = std::string(d.LengthPrefixed());
  p->display_name = std::string(d.LengthPrefixed());
  p->updated_at_ms = d.Varsint64();
  p->members.resize(d.Count());
  for (Member& m : p->members) {
    m.fragkey = std::string(d.LengthPrefixed());
    m.source = std::string(d.LengthPrefixed());
    m.external_id = std::string(d.LengthPrefixed());
    m.version = d.Varint64();
    m.time_ms = d.Varsint64();
    m.kind = std::string(d.LengthPrefixed());
  }
  p->attributes.resize(d.Count());
  for (ProfileAttribute& a : p->attributes) {
    a.name = std::string(d.LengthPrefixed());
    a.values.resize(d.Count());
    for (SourcedValue& v : a.values) {
      v.value = std::string(d.LengthPrefixed());
      v.member = d.Varint32();
    }
  }
  p->identifiers.resize(d.Count());
  for (ProfileIdentifier& id : p->identifiers) {
    const uint8_t tag = d.Byte();
    if (tag < 1 || tag > kMaxIdTag) return absl::DataLossError("corrupt profile record");
    id.type = static_cast<IdType>(tag);
    id.value = std::string(d.LengthPrefixed());
    id.provenance.resize(d.Count());
    for (SourcedValue& v : id.provenance) {
      v.member = d.Varint32();
      v.raw = std::string(d.LengthPrefixed());
    }
  }
  p->peers.resize(d.Count());
  for (uint64_t& peer : p->peers) peer = d.Varint64();
  if (!d.ok() || !d.done()) return absl::DataLossError("corrupt profile record");
  return absl::OkStatus();
}

std::string EncodeConflict(const Conflict& c) {
  std::string out;
  out.push_back(static_cast<char>(kConflictVersion));
  store::PutLengthPrefixed(out, c.type);
  store::PutVarint64(out, c.values.size());
  for (const auto& v : c.values) store::PutLengthPrefixed(out, v);
  out.push_back(static_cast<char>(c.via_type));
  store::PutLengthPrefixed(out, c.via_value);
  store::PutVarint64(out, c.profiles.size());
  for (uint64_t id : c.profiles) store::PutVarint64(out, id);
  store::PutVarint64(out, c.fragkeys.size());
  for (const auto& k : c.fragkeys) store::PutLengthPrefixed(out, k);
  return out;
}

absl::Status DecodeConflict(std::string_view data, Conflict* c) {
  store::Decoder d(data);
  if (d.Byte() != kConflictVersion) return absl::DataLossError("corrupt conflict record");
  *c = Conflict();
  c->type = std::string(d.LengthPrefixed());
  c->values.resize(d.Count());
  for (auto& v : c->values) v = std::string(d.LengthPrefixed());
  const uint8_t tag = d.Byte();
  if (tag < 1 || tag > kMaxIdTag) return absl::DataLossError("corrupt conflict record");
  c->via_type = static_cast<IdType>(tag);
  c->via_value = std::string(d.LengthPrefixed());
  c->profiles.resize(d.Count());
  for (uint64_t& id : c->profiles) id = d.Varint64();
  c->fragkeys.resize(d.Count());
  for (auto& k : c->fragkeys) k = std::string(d.LengthPrefixed());
  if (!d.ok() || !d.done()) return absl::DataLossError("corrupt conflict record");
  return absl::OkStatus();
}

}  // namespace tessera::identity
