// SCIM resources in the store, and the fragments made from them.
//
// Keys in store::Cf::kScim (T is 'U' for users, 'G' for groups; 0 is a NUL byte):
//   r SOURCE 0 T 0 ID              -> record: {"v","fv","c","m","fm","in","r"} (JSON)
//   n SOURCE 0 T 0 lower(NAME)     -> ID       userName / group displayName, unique
//   x SOURCE 0 T 0 EXTERNALID 0 ID -> ""       externalId (not unique)
//   e SOURCE 0 lower(EMAIL) 0 ID   -> ""       users' emails[].value
//   m SOURCE 0 GROUP 0 USER        -> ""       members of a group
//   b SOURCE 0 USER 0 GROUP        -> ""       groups of a user
//   o SOURCE 0 T 0 u64be(PLACE)    -> ID, or "" for a deleted resource's place
//   p SOURCE 0 T 0 ID              -> u64be(PLACE)
//   h SOURCE 0 T 0 u64be(MS) u64be(PLACE) -> ""  places freed at MS, to reclaim
//   k SOURCE 0 T                   -> places in use (live + recently deleted), decimal
//   s SOURCE                       -> the source's last version, decimal
// A record's "v" is its SCIM version (ETag W/"v"), "fv" the version of its fragment:
// both come from the source's one counter; "v" moves when the resource changes, "fv"
// when its fragment does (a user's groups are in its fragment, not its resource).
// "c"/"m" are created/lastModified (ms), "fm" the fragment's updated_at (ms; "m" when
// absent), "in" when active turned false (ms, 0: active).
//
// Paging: an unfiltered list walks places in creation order, and totalResults counts
// places. Offset paging skips a resource when one before it is deleted between two
// pages (Keycloak loses users so). So while a walk is in progress (an unfiltered list
// of that source and type in the last ScimOptions::walk_idle_ms), a deleted resource
// leaves its place empty: pages may hold fewer than `count`, nobody is skipped. With
// no walk in progress, deletions free their places at once and writes reclaim the
// places left empty.
//
// Fragments (BRIEF.md §5.1): a user is a fragment of the source's kind, external id =
// SCIM id, with identifiers scim_id "<source>/<id>", userName as `upn` (or `email`),
// each e-mail, phone numbers that parse, employeeNumber as employee_id; attributes
// given_name, family_name, display_name, title, language, department, organization,
// division, cost_center, location, scim_external_id, and end_date while inactive;
// relations reports_to (the manager's scim_id) and member_of (each group's scim_id).
// A group is a `team` fragment with display_name and its scim_id.

#include "server/scim/service.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <set>

#include "absl/strings/cord.h"
#include "server/identity/identifier.h"
#include "server/metrics/metrics.h"
#include "server/scim/filter.h"
#include "server/store/coding.h"
#include "spdlog/spdlog.h"

namespace tessera::scim {

struct Record {
  uint64_t version = 0, fversion = 0;
  int64_t created = 0, modified = 0, inactive_since = 0;
  // The fragment's updated_at: `modified` when the resource itself last changed. A
  // group's membership moves `modified` (its lastModified) but not its fragment.
  int64_t fmodified = 0;
  Json resource;
};

namespace {

using identity::Fragment;

char Tag(Resource r) { return r == Resource::kUser ? 'U' : 'G'; }
const char* TypeName(Resource r) { return r == Resource::kUser ? "User" : "Group"; }
const char* Endpoint(Resource r) { return r == Resource::kUser ? "/Users/" : "/Groups/"; }

std::string K(char kind, std::string_view source, std::initializer_list<std::string_view> parts) {
  std::string key(1, kind);
  key.append(source);
  for (std::string_view p : parts) {
    key.push_back('\0');
    key.append(p);
  }
  return key;
}
std::string T(Resource r) { return std::string(1, Tag(r)); }
std::string Be64(uint64_t v) {
  std::string out;
  store::PutFixed64BE(out, v);
  return out;
}

std::string RecordKey(std::string_view src, Resource r, std::string_view id) {
  return K('r', src, {T(r), id});
}
std::string NameKey(std::string_view src, Resource r, std::string_view name) {
  return K('n', src, {T(r), AsciiLower(name)});
}
std::string ExternalKey(std::string_view src, Resource r, std::string_view ext,
                        std::string_view id) {
  return K('x', src, {T(r), ext, id});
}
std::string EmailKey(std::string_view src, std::string_view email, std::string_view id) {
  return K('e', src, {AsciiLower(email), id});
}
std::string MemberKey(std::string_view src, std::string_view gid, std::string_view uid) {
  return K('m', src, {gid, uid});
}
std::string BelongsKey(std::string_view src, std::string_view uid, std::string_view gid) {
  return K('b', src, {uid, gid});
}
std::string PlaceKey(std::string_view src, Resource r, uint64_t place) {
  return K('o', src, {T(r), Be64(place)});
}
std::string PlaceOfKey(std::string_view src, Resource r, std::string_view id) {
  return K('p', src, {T(r), id});
}
std::string FreedKey(std::string_view src, Resource r, int64_t ms, uint64_t place) {
  return K('h', src, {T(r), Be64(static_cast<uint64_t>(ms)) + Be64(place)});
}
std::string CountKey(std::string_view src, Resource r) { return K('k', src, {T(r)}); }
std::string SeqKey(std::string_view src) { return K('s', src, {}); }

std::string EncodeRecord(const Record& r) {
  Json j = {{"v", r.version},    {"fv", r.fversion},       {"c", r.created}, {"m", r.modified},
            {"fm", r.fmodified}, {"in", r.inactive_since}, {"r", r.resource}};
  return j.dump();
}

absl::Status DecodeRecord(std::string_view data, Record* r) {
  const Json j = Json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("r") || !j["v"].is_number_unsigned()) {
    return absl::DataLossError("corrupt SCIM record");
  }
  r->version = j["v"].get<uint64_t>();
  r->fversion = j["fv"].get<uint64_t>();
  r->fmodified =
      j.contains("fm") ? j["fm"].get<int64_t>() : j["m"].get<int64_t>();  // older records: "m"
  r->created = j["c"].get<int64_t>();
  r->modified = j["m"].get<int64_t>();
  r->inactive_since = j["in"].get<int64_t>();
  r->resource = j["r"];
  return absl::OkStatus();
}

std::string IsoTime(int64_t ms) {
  const auto tp = std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
  const auto day = std::chrono::floor<std::chrono::days>(tp);
  const std::chrono::year_month_day ymd(day);
  const std::chrono::hh_mm_ss hms(std::chrono::duration_cast<std::chrono::milliseconds>(tp - day));
  char buf[40];
  snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
           static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
           static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
           static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  return buf;
}

std::string Etag(uint64_t version) { return "W/\"" + std::to_string(version) + "\""; }

std::string NewId() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }());
  const uint64_t a = rng(), b = rng();
  char buf[40];
  // RFC 9562 version 4 (random) UUID.
  snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
           static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
           static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
           static_cast<unsigned long long>(b & 0xffffffffffffull));
  return buf;
}

const Json* Field(const Json& object, std::string_view name) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(std::string(name));
  return it == object.end() ? nullptr : &*it;
}

std::string Str(const Json& object, std::string_view name) {
  const Json* v = Field(object, name);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

std::string NameOf(const Json& resource, Resource r) {
  return Str(resource, r == Resource::kUser ? "userName" : "displayName");
}

std::vector<std::string> Emails(const Json& resource) {
  std::vector<std::string> out;
  if (const Json* list = Field(resource, "emails"); list != nullptr && list->is_array()) {
    for (const Json& e : *list) {
      if (std::string v = Str(e, "value"); !v.empty()) out.push_back(v);
    }
  }
  return out;
}

// Keys under `prefix`, the part after it.
std::vector<std::string> Suffixes(const store::Reader& reader, const std::string& prefix,
                                  size_t limit = SIZE_MAX) {
  std::vector<std::string> out;
  std::unique_ptr<store::Iterator> it = reader.NewIterator(store::Cf::kScim);
  for (it->Seek(prefix); it->Valid() && store::HasPrefix(it->key(), prefix) && out.size() < limit;
       it->Next()) {
    out.emplace_back(it->key().substr(prefix.size()));
  }
  return out;
}

absl::Status NotFound(Resource r, std::string_view id) {
  return ScimError(absl::StatusCode::kNotFound, "",
                   std::string(TypeName(r)) + " '" + std::string(id) + "' not found");
}

absl::Status CheckIfMatch(std::string_view if_match, uint64_t version) {
  if (if_match.empty() || if_match == "*") return absl::OkStatus();
  std::string_view v = if_match;
  if (v.substr(0, 2) == "W/") v.remove_prefix(2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v == std::to_string(version)) return absl::OkStatus();
  return ScimError(
      absl::StatusCode::kFailedPrecondition, "",
      "If-Match " + std::string(if_match) + " does not match the current version " + Etag(version));
}

int HttpStatus(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
      return 409;
    case absl::StatusCode::kFailedPrecondition:
      return 412;
    case absl::StatusCode::kResourceExhausted:
      return 413;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

// The top-level attribute names of a comma-separated list (`name.givenName` -> name).
std::set<std::string> TopNames(std::string_view list) {
  std::set<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string_view::npos) end = list.size();
    std::string_view item = list.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.size() > 4 && SameName(item.substr(0, 4), "urn:")) {
      const size_t colon = item.rfind(':');
      item = item.substr(colon + 1);
    }
    item = item.substr(0, item.find('.'));
    if (!item.empty()) out.insert(AsciiLower(item));
    start = end + 1;
  }
  return out;
}

}  // namespace

// The pending rows of one write, read through to the latest committed state.
class Service::Write {
 public:
  Write(Service& s, std::string_view source, std::string kind)
      : s_(s), reader_(s.dir_.SideReader()), source_(source), kind_(std::move(kind)) {}

  absl::StatusOr<std::optional<std::string>> Get(const std::string& key) const {
    if (auto it = pending_.find(key); it != pending_.end()) return it->second;
    std::string value;
    absl::StatusOr<bool> found = reader_.Get(store::Cf::kScim, key, &value);
    if (!found.ok()) return found.status();
    if (!*found) return std::optional<std::string>();
    return std::optional<std::string>(std::move(value));
  }
  void Put(const std::string& key, std::string value) { pending_[key] = std::move(value); }
  void Delete(const std::string& key) { pending_[key] = std::nullopt; }

  absl::StatusOr<std::optional<Record>> Load(Resource r, std::string_view id) const {
    absl::StatusOr<std::optional<std::string>> v = Get(RecordKey(source_, r, id));
    if (!v.ok()) return v.status();
    if (!*v) return std::optional<Record>();
    Record rec;
    if (absl::Status st = DecodeRecord(**v, &rec); !st.ok()) return st;
    return std::optional<Record>(std::move(rec));
  }

  absl::StatusOr<uint64_t> NextVersion() {
    if (seq_ == 0) {
      absl::StatusOr<std::optional<std::string>> v = Get(SeqKey(source_));
      if (!v.ok()) return v.status();
      seq_ = *v ? std::stoull(**v) : 0;
      ++seq_;
      Put(SeqKey(source_), std::to_string(seq_));
    }
    return seq_;
  }

  // The groups of `uid`, committed ones changed by this write's membership edits.
  std::vector<std::string> GroupsOf(std::string_view uid) const {
    std::set<std::string> groups;
    for (std::string& g : Suffixes(reader_, K('b', source_, {uid, ""})))
      groups.insert(std::move(g));
    if (auto it = group_edits_.find(std::string(uid)); it != group_edits_.end()) {
      for (const auto& [gid, member] : it->second) {
        if (member) {
          groups.insert(gid);
        } else {
          groups.erase(gid);
        }
      }
    }
    return {groups.begin(), groups.end()};
  }

  void SetMember(std::string_view gid, std::string_view uid, bool member) {
    if (member) {
      Put(MemberKey(source_, gid, uid), "");
      Put(BelongsKey(source_, uid, gid), "");
    } else {
      Delete(MemberKey(source_, gid, uid));
      Delete(BelongsKey(source_, uid, gid));
    }
    group_edits_[std::string(uid)][std::string(gid)] = member;
  }

  // Indexes of a resource's name, externalId and e-mails: removes those of `before`,
  // adds those of `after` (either may be null).
  void Index(Resource r, std::string_view id, const Json* before, const Json* after) {
    const auto keys = [&](const Json* res) {
      std::set<std::string> out;
      if (res == nullptr) return out;
      if (std::string ext = Str(*res, "externalId"); !ext.empty())
        out.insert(ExternalKey(source_, r, ext, id));
      if (r == Resource::kUser) {
        for (const std::string& e : Emails(*res)) out.insert(EmailKey(source_, e, id));
      }
      return out;
    };
    const std::set<std::string> old_keys = keys(before), new_keys = keys(after);
    for (const std::string& k : old_keys) {
      if (new_keys.count(k) == 0) Delete(k);
    }
    for (const std::string& k : new_keys) {
      if (old_keys.count(k) == 0) Put(k, "");
    }
    const std::string old_name = before != nullptr ? NameOf(*before, r) : "";
    const std::string new_name = after != nullptr ? NameOf(*after, r) : "";
    if (AsciiLower(old_name) != AsciiLower(new_name)) {
      if (!old_name.empty()) Delete(NameKey(source_, r, old_name));
      if (!new_name.empty()) Put(NameKey(source_, r, new_name), std::string(id));
    }
  }

  // 409 uniqueness when another resource holds `name`.
  absl::Status CheckUnique(Resource r, std::string_view name, std::string_view self) const {
    absl::StatusOr<std::optional<std::string>> holder = Get(NameKey(source_, r, name));
    if (!holder.ok()) return holder.status();
    if (*holder && **holder != self) {
      return ScimError(absl::StatusCode::kAlreadyExists, "uniqueness",
                       std::string(r == Resource::kUser ? "userName '" : "displayName '") +
                           std::string(name) + "' is already taken in this source (by id " +
                           **holder + ")");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Places(Resource r) const {
    absl::StatusOr<std::optional<std::string>> v = Get(CountKey(source_, r));
    if (!v.ok()) return v.status();
    return *v ? std::stoull(**v) : 0;
  }

  absl::Status TakePlace(Resource r, std::string_view id) {
    absl::StatusOr<uint64_t> places = Places(r);
    if (!places.ok()) return places.status();
    // Places are numbered from the source's version counter, so they only grow.
    absl::StatusOr<uint64_t> place = NextVersion();
    if (!place.ok()) return place.status();
    Put(PlaceKey(source_, r, *place), std::string(id));
    Put(PlaceOfKey(source_, r, id), Be64(*place));
    Put(CountKey(source_, r), std::to_string(*places + 1));
    return absl::OkStatus();
  }

  absl::Status FreePlace(Resource r, std::string_view id, int64_t now) {
    absl::StatusOr<std::optional<std::string>> place = Get(PlaceOfKey(source_, r, id));
    if (!place.ok()) return place.status();
    if (!*place || (*place)->size() != 8) return absl::OkStatus();
    const uint64_t p = store::DecodeFixed64BE((*place)->data());
    Delete(PlaceOfKey(source_, r, id));
    if (s_.WalkActive(source_ + T(r), now)) {
      Put(PlaceKey(source_, r, p), "");  // kept empty until the walk ends
      Put(FreedKey(source_, r, now, p), "");
      return absl::OkStatus();
    }
    Delete(PlaceKey(source_, r, p));
    absl::StatusOr<uint64_t> places = Places(r);
    if (!places.ok()) return places.status();
    Put(CountKey(source_, r), std::to_string(*places - std::min<uint64_t>(*places, 1)));
    return absl::OkStatus();
  }

  // With no walk in progress, frees up to 64 places deletions left empty.
  absl::Status Reclaim(Resource r, int64_t now) {
    if (s_.WalkActive(source_ + T(r), now)) return absl::OkStatus();
    const std::string prefix = K('h', source_, {T(r), ""});
    std::unique_ptr<store::Iterator> it = reader_.NewIterator(store::Cf::kScim);
    uint64_t reclaimed = 0;
    for (it->Seek(prefix); it->Valid() && store::HasPrefix(it->key(), prefix) && reclaimed < 64;
         it->Next()) {
      const std::string_view rest = it->key().substr(prefix.size());
      if (rest.size() != 16) continue;
      Delete(std::string(it->key()));
      Delete(PlaceKey(source_, r, store::DecodeFixed64BE(rest.data() + 8)));
      ++reclaimed;
    }
    if (absl::Status st = it->status(); !st.ok()) return st;
    if (reclaimed == 0) return absl::OkStatus();
    absl::StatusOr<uint64_t> places = Places(r);
    if (!places.ok()) return places.status();
    Put(CountKey(source_, r), std::to_string(*places - std::min(*places, reclaimed)));
    return absl::OkStatus();
  }

  absl::StatusOr<Fragment> Derive(Resource r, std::string_view id, const Record& rec) const {
    return s_.DeriveFragment(source_, kind_, r, id, rec,
                             r == Resource::kUser ? GroupsOf(id) : std::vector<std::string>{});
  }

  void AddFragment(Fragment f) { fragments_.push_back(std::move(f)); }

  Fragment Tombstone(Resource r, std::string_view id, uint64_t version) const {
    Fragment f;
    f.source = source_;
    f.external_id = std::string(id);
    f.version = version;
    f.kind = r == Resource::kUser ? kind_ : "team";
    f.tombstone = true;
    return f;
  }

  absl::Status Commit(int64_t now) {
    absl::StatusOr<directory::BatchResult> r =
        s_.dir_.IngestWith(std::move(fragments_), now, TakeRows());
    if (r.ok()) return absl::OkStatus();
    if (r.status().GetPayload(directory::kSuppressedPayload)) {
      return ScimError(
          absl::StatusCode::kPermissionDenied, "",
          "this person was erased from Tessera at their request (right to erasure); Tessera "
          "refuses their "
          "records. Unassign them from the Tessera application in your identity provider");
    }
    if (r.status().code() == absl::StatusCode::kInvalidArgument) {
      return ScimError(absl::StatusCode::kInvalidArgument, "invalidValue",
                       std::string(r.status().message()));
    }
    return r.status();
  }

  // A deleted user leaves its groups: their versions move, their fragments do not
  // change (a group's members are not in its fragment).
  absl::Status LeaveGroups(std::string_view uid, uint64_t version, int64_t now) {
    for (const std::string& gid : Suffixes(reader_, K('b', source_, {uid, ""}))) {
      SetMember(gid, uid, false);
      absl::StatusOr<std::optional<Record>> group = Load(Resource::kGroup, gid);
      if (!group.ok()) return group.status();
      if (!*group) continue;
      (*group)->version = version;
      (*group)->modified = now;
      Put(RecordKey(source_, Resource::kGroup, gid), EncodeRecord(**group));
    }
    return absl::OkStatus();
  }

  // The rows this write would commit, for a caller committing them itself.
  std::vector<directory::SideWrite> TakeRows() {
    std::vector<directory::SideWrite> side;
    side.reserve(pending_.size());
    for (auto& [k, v] : pending_) side.push_back({k, std::move(v)});
    pending_.clear();
    return side;
  }

  const std::string& source() const { return source_; }

 private:
  Service& s_;
  const store::Reader& reader_;
  std::string source_, kind_;
  std::map<std::string, std::optional<std::string>> pending_;
  std::map<std::string, std::map<std::string, bool>> group_edits_;  // user -> group -> member?
  std::vector<Fragment> fragments_;
  uint64_t seq_ = 0;
};

Service::Service(directory::Directory& dir, ScimOptions options, std::function<int64_t()> now_ms)
    : dir_(dir), options_(std::move(options)), now_ms_(std::move(now_ms)) {}

absl::StatusOr<std::vector<directory::SideWrite>> Service::Forget(
    const std::vector<directory::FragmentName>& erased) {
  std::map<std::string, std::vector<std::string>> by_source;
  for (const directory::FragmentName& n : erased) by_source[n.source].push_back(n.external_id);
  const int64_t now = now_ms_();
  std::vector<directory::SideWrite> rows;
  for (const auto& [source, ids] : by_source) {
    Write w(*this, source, "");
    for (const std::string& id : ids) {
      absl::StatusOr<std::optional<Record>> rec = w.Load(Resource::kUser, id);
      if (!rec.ok()) return rec.status();
      if (!*rec) continue;  // not made by SCIM
      absl::StatusOr<uint64_t> version = w.NextVersion();
      if (!version.ok()) return version.status();
      w.Index(Resource::kUser, id, &(*rec)->resource, nullptr);
      if (absl::Status s = w.FreePlace(Resource::kUser, id, now); !s.ok()) return s;
      w.Delete(RecordKey(source, Resource::kUser, id));
      if (absl::Status s = w.LeaveGroups(id, *version, now); !s.ok()) return s;
    }
    for (directory::SideWrite& row : w.TakeRows()) rows.push_back(std::move(row));
  }
  return rows;
}

bool Service::WalkActive(const std::string& key, int64_t now) const {
  absl::MutexLock l(&walks_mu_);
  auto it = last_walk_ms_.find(key);
  return it != last_walk_ms_.end() && now - it->second < options_.walk_idle_ms;
}

void Service::NoteWalk(const std::string& key, int64_t now) const {
  absl::MutexLock l(&walks_mu_);
  last_walk_ms_[key] = now;
}

absl::Mutex& Service::SourceLock(std::string_view source) const {
  absl::MutexLock l(&locks_mu_);
  auto it = locks_.find(source);
  if (it == locks_.end())
    it = locks_.emplace(std::string(source), std::make_unique<absl::Mutex>()).first;
  return *it->second;
}

absl::Status Service::CheckSource(std::string_view source, std::string* kind) const {
  if (dir_.HasSource(source)) {
    *kind = options_.user_kind;
    return absl::OkStatus();
  }
  return ScimError(absl::StatusCode::kPermissionDenied, "",
                   "source '" + std::string(source) +
                       "' is not registered in Tessera; an administrator registers it with "
                       "`tessera admin source " +
                       std::string(source) + " --kind scim --priority N`");
}

absl::StatusOr<Fragment> Service::DeriveFragment(const std::string& source, const std::string& kind,
                                                 Resource r, std::string_view id, const Record& rec,
                                                 const std::vector<std::string>& groups) const {
  Fragment f;
  f.source = source;
  f.external_id = std::string(id);
  f.version = rec.fversion;
  f.updated_at_ms = rec.fmodified;
  const Json& res = rec.resource;
  const auto attr = [&f](const char* name, std::string value) {
    if (!value.empty()) f.attributes.push_back({name, std::move(value)});
  };
  const auto ident = [&f](const char* type, std::string value) {
    identity::Identifier i;
    i.type = type;
    i.value = std::move(value);
    f.identifiers.push_back(std::move(i));
  };
  const auto scim_id = [&source](std::string_view rid) {
    identity::Identifier i;
    i.type = "scim_id";
    i.value = source + "/" + std::string(rid);
    return i;
  };
  f.identifiers.push_back(scim_id(id));
  attr("scim_external_id", Str(res, "externalId"));
  if (r == Resource::kGroup) {
    f.kind = "team";
    attr("display_name", Str(res, "displayName"));
    return f;
  }
  f.kind = kind;
  identity::NormaliseOptions normalise;
  normalise.default_region = options_.default_region;
  const std::string user_name = Str(res, "userName");
  if (options_.user_name_identifier != "none") {
    const identity::IdType type = options_.user_name_identifier == "email"
                                      ? identity::IdType::kEmail
                                      : identity::IdType::kUpn;
    // Okta's userName need not look like an address: then it names no one.
    if (identity::Normalise(type, user_name, normalise).ok())
      ident(options_.user_name_identifier.c_str(), user_name);
  }
  const std::vector<std::string> emails = Emails(res);
  for (size_t i = 0; i < emails.size(); ++i) {
    if (!identity::Normalise(identity::IdType::kEmail, emails[i], normalise).ok()) {
      return ScimError(
          absl::StatusCode::kInvalidArgument, "invalidValue",
          "emails[" + std::to_string(i) + "].value '" + emails[i] + "' is not an e-mail address");
    }
    ident("email", emails[i]);
  }
  if (const Json* phones = Field(res, "phoneNumbers"); phones != nullptr && phones->is_array()) {
    for (const Json& p : *phones) {
      // Kept as sent in the resource; an identifier only when it is a phone number.
      const std::string v = Str(p, "value");
      if (identity::Normalise(identity::IdType::kPhone, v, normalise).ok()) ident("phone", v);
    }
  }
  const Json* name = Field(res, "name");
  if (name != nullptr) {
    attr("given_name", Str(*name, "givenName"));
    attr("family_name", Str(*name, "familyName"));
  }
  std::string display = Str(res, "displayName");
  if (display.empty() && name != nullptr) display = Str(*name, "formatted");
  attr("display_name", display);
  attr("title", Str(res, "title"));
  attr("language", Str(res, "preferredLanguage"));
  if (const Json* addresses = Field(res, "addresses");
      addresses != nullptr && addresses->is_array()) {
    const Json* chosen = nullptr;
    for (const Json& a : *addresses) {
      if (chosen == nullptr || Str(a, "type") == "work") chosen = &a;
    }
    if (chosen != nullptr) {
      std::string where = Str(*chosen, "locality");
      if (const std::string c = Str(*chosen, "country"); !c.empty())
        where += where.empty() ? c : ", " + c;
      attr("location", where);
    }
  }
  if (const Json* ext = Field(res, kEnterpriseSchema); ext != nullptr) {
    attr("department", Str(*ext, "department"));
    attr("organization", Str(*ext, "organization"));
    attr("division", Str(*ext, "division"));
    attr("cost_center", Str(*ext, "costCenter"));
    if (const std::string number = Str(*ext, "employeeNumber");
        identity::Normalise(identity::IdType::kEmployeeId, number, normalise).ok()) {
      ident("employee_id", number);
    }
    if (const Json* manager = Field(*ext, "manager"); manager != nullptr) {
      if (const std::string m = Str(*manager, "value"); !m.empty())
        f.relations.push_back({"reports_to", scim_id(m)});
    }
  }
  if (rec.inactive_since > 0) {
    // A deactivated account: the person left on that day (Tessera's end_date).
    attr("end_date", IsoTime(rec.inactive_since).substr(0, 10));
  }
  for (const std::string& g : groups) f.relations.push_back({"member_of", scim_id(g)});
  return f;
}

Json Service::Render(std::string_view source, Resource r, std::string_view id, const Record& rec,
                     std::string_view base, bool with_members) const {
  Json out = Json::object();
  Json schemas = Json::array({r == Resource::kUser ? kUserSchema : kGroupSchema});
  if (rec.resource.contains(kEnterpriseSchema)) schemas.push_back(kEnterpriseSchema);
  out["schemas"] = std::move(schemas);
  out["id"] = id;
  for (auto it = rec.resource.begin(); it != rec.resource.end(); ++it) out[it.key()] = it.value();
  if (r == Resource::kUser && !out.contains("active")) out["active"] = true;
  const store::Reader& reader = dir_.SideReader();
  if (r == Resource::kUser) {
    Json groups = Json::array();
    for (const std::string& gid : Suffixes(reader, K('b', source, {id, ""}))) {
      Json g = {{"value", gid}, {"$ref", std::string(base) + "/Groups/" + gid}, {"type", "direct"}};
      std::string value;
      Record group;
      if (absl::StatusOr<bool> found =
              reader.Get(store::Cf::kScim, RecordKey(source, Resource::kGroup, gid), &value);
          found.ok() && *found && DecodeRecord(value, &group).ok()) {
        g["display"] = Str(group.resource, "displayName");
      }
      groups.push_back(std::move(g));
    }
    if (!groups.empty()) out["groups"] = std::move(groups);
  } else if (with_members) {
    Json members = Json::array();
    for (const std::string& uid : Suffixes(reader, K('m', source, {id, ""}))) {
      members.push_back(
          {{"value", uid}, {"$ref", std::string(base) + "/Users/" + uid}, {"type", "User"}});
    }
    if (!members.empty()) out["members"] = std::move(members);
  }
  out["meta"] = {{"resourceType", TypeName(r)},
                 {"created", IsoTime(rec.created)},
                 {"lastModified", IsoTime(rec.modified)},
                 {"location", std::string(base) + Endpoint(r) + std::string(id)},
                 {"version", Etag(rec.version)}};
  return out;
}

namespace {

absl::StatusOr<Json> ParseBody(std::string_view body) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return ScimError(absl::StatusCode::kInvalidArgument, "invalidSyntax",
                     "the body is not valid JSON");
  }
  return j;
}

Reply Answer(int status, const Json& body, uint64_t version = 0) {
  Reply r;
  r.status = status;
  r.body = body.dump();
  if (version != 0) r.etag = Etag(version);
  return r;
}

// Whether `active` is false in a canonical user.
bool Inactive(const Json& resource) {
  const Json* a = Field(resource, "active");
  return a != nullptr && a->is_boolean() && !a->get<bool>();
}

// Equal JSON values, whatever the order of their keys.
bool SameJson(const Json& a, const Json& b) {
  return a == b || nlohmann::json::parse(a.dump()) == nlohmann::json::parse(b.dump());
}

// The identifier or relation target as the fragment gave it, before normalisation.
std::string Original(const identity::Identifier& i) { return i.raw.empty() ? i.value : i.raw; }

// Whether a fragment derived again equals the stored (validated) one.
bool SameFragment(const Fragment& derived, const Fragment& stored) {
  if (derived.kind != stored.kind || derived.version != stored.version ||
      derived.tombstone != stored.tombstone || derived.updated_at_ms != stored.updated_at_ms ||
      derived.attributes.size() != stored.attributes.size() ||
      derived.identifiers.size() != stored.identifiers.size() ||
      derived.relations.size() != stored.relations.size()) {
    return false;
  }
  for (size_t i = 0; i < derived.attributes.size(); ++i) {
    if (derived.attributes[i].name != stored.attributes[i].name ||
        derived.attributes[i].value != stored.attributes[i].value) {
      return false;
    }
  }
  for (size_t i = 0; i < derived.identifiers.size(); ++i) {
    if (derived.identifiers[i].type != stored.identifiers[i].type ||
        Original(derived.identifiers[i]) != Original(stored.identifiers[i])) {
      return false;
    }
  }
  for (size_t i = 0; i < derived.relations.size(); ++i) {
    const identity::Relation &a = derived.relations[i], &b = stored.relations[i];
    if (a.type != b.type || a.target.type != b.target.type ||
        Original(a.target) != Original(b.target))
      return false;
  }
  return true;
}

}  // namespace

Reply Service::ErrorReply(const absl::Status& s) {
  Reply r;
  r.status = HttpStatus(s);
  Json body = {{"schemas", {kErrorSchema}}, {"status", std::to_string(r.status)}};
  if (const std::string type = ScimTypeOf(s); !type.empty()) body["scimType"] = type;
  body["detail"] = std::string(s.message());
  r.body = body.dump();
  r.outcome = s;
  return r;
}

Reply Service::Create(std::string_view source, Resource r, std::string_view body,
                      std::string_view base) {
  std::string kind;
  if (absl::Status s = CheckSource(source, &kind); !s.ok()) return ErrorReply(s);
  absl::StatusOr<Json> parsed = ParseBody(body);
  if (!parsed.ok()) return ErrorReply(parsed.status());
  absl::StatusOr<Canonical> c = Canonicalise(*parsed, r, options_.limits);
  if (!c.ok()) return ErrorReply(c.status());
  absl::MutexLock lock(&SourceLock(source));
  Write w(*this, source, kind);
  const int64_t now = now_ms_();
  const std::string id = NewId();  // a client's "id" is ignored (BRIEF §5.2 pitfall 1)
  if (absl::Status s = w.CheckUnique(r, NameOf(c->resource, r), id); !s.ok()) return ErrorReply(s);
  absl::StatusOr<uint64_t> version = w.NextVersion();
  if (!version.ok()) return ErrorReply(version.status());
  Record rec;
  rec.version = rec.fversion = *version;
  rec.created = rec.modified = rec.fmodified = now;
  rec.inactive_since = r == Resource::kUser && Inactive(c->resource) ? now : 0;
  rec.resource = std::move(c->resource);
  w.Index(r, id, nullptr, &rec.resource);
  if (absl::Status s = w.TakePlace(r, id); !s.ok()) return ErrorReply(s);
  if (absl::Status s = w.Reclaim(r, now); !s.ok()) return ErrorReply(s);
  if (c->members) {
    for (const std::string& uid : *c->members) {
      absl::StatusOr<std::optional<Record>> user = w.Load(Resource::kUser, uid);
      if (!user.ok()) return ErrorReply(user.status());
      if (!*user) {
        return ErrorReply(ScimError(absl::StatusCode::kInvalidArgument, "invalidValue",
                                    "members: no user '" + uid + "' in this source"));
      }
      w.SetMember(id, uid, true);
      (*user)->fversion = *version;
      absl::StatusOr<Fragment> uf = w.Derive(Resource::kUser, uid, **user);
      if (!uf.ok()) return ErrorReply(uf.status());
      w.AddFragment(*std::move(uf));
      w.Put(RecordKey(source, Resource::kUser, uid), EncodeRecord(**user));
    }
  }
  absl::StatusOr<Fragment> f = w.Derive(r, id, rec);
  if (!f.ok()) return ErrorReply(f.status());
  w.AddFragment(*std::move(f));
  w.Put(RecordKey(source, r, id), EncodeRecord(rec));
  if (absl::Status s = w.Commit(now); !s.ok()) return ErrorReply(s);
  Reply reply = Answer(201, Render(source, r, id, rec, base, true), rec.version);
  reply.location = std::string(base) + Endpoint(r) + id;
  return reply;
}

namespace {

// Keeps or drops top-level attributes as `attributes` / `excludedAttributes` ask;
// id, schemas and meta stay (RFC 7644 §3.9: always returned).
void Project(const ListQuery& q, Json& resource) {
  if (!q.attributes.empty()) {
    const std::set<std::string> keep = TopNames(q.attributes);
    for (auto it = resource.begin(); it != resource.end();) {
      const std::string key = AsciiLower(it.key());
      const bool always = key == "id" || key == "schemas" || key == "meta";
      it = always || keep.count(key) != 0 || (key.rfind("urn:", 0) == 0) ? std::next(it)
                                                                         : resource.erase(it);
    }
  }
  if (!q.excluded_attributes.empty()) {
    const std::set<std::string> drop = TopNames(q.excluded_attributes);
    for (auto it = resource.begin(); it != resource.end();) {
      const std::string key = AsciiLower(it.key());
      const bool always = key == "id" || key == "schemas" || key == "meta";
      it = !always && drop.count(key) != 0 ? resource.erase(it) : std::next(it);
    }
  }
}

bool WantsMembers(const ListQuery& q) {
  if (!q.attributes.empty() && TopNames(q.attributes).count("members") == 0) return false;
  return TopNames(q.excluded_attributes).count("members") == 0;
}

}  // namespace

Reply Service::Get(std::string_view source, Resource r, std::string_view id,
                   const ListQuery& projection, std::string_view base) const {
  std::string kind;
  if (absl::Status s = CheckSource(source, &kind); !s.ok()) return ErrorReply(s);
  std::string value;
  absl::StatusOr<bool> found =
      dir_.SideReader().Get(store::Cf::kScim, RecordKey(source, r, id), &value);
  if (!found.ok()) return ErrorReply(found.status());
  if (!*found) return ErrorReply(NotFound(r, id));
  Record rec;
  if (absl::Status s = DecodeRecord(value, &rec); !s.ok()) return ErrorReply(s);
  Json out = Render(source, r, id, rec, base, WantsMembers(projection));
  Project(projection, out);
  return Answer(200, out, rec.version);
}

namespace {

// A user's record and fragment after its resource changed from `before`.
void Touch(Record& rec, const Json& before, int64_t now, uint64_t version, Resource r) {
  rec.version = rec.fversion = version;
  rec.modified = rec.fmodified = now;
  if (r == Resource::kUser) {
    if (!Inactive(rec.resource)) {
      rec.inactive_since = 0;
    } else if (!Inactive(before) || rec.inactive_since == 0) {
      rec.inactive_since = now;
    }
  }
}

}  // namespace

// Shared end of PUT and PATCH: `after` replaces the stored resource (when it differs)
// and `members` are applied (groups).
Reply Service::Update(Write& w, Resource r, std::string_view id, Record rec, Json after,
                      const MemberOps& members, std::string_view base, bool group_no_content) {
  const std::string& source = w.source();
  const int64_t now = now_ms_();
  // The member changes that change something.
  std::map<std::string, bool> delta;
  if (r == Resource::kGroup) {
    std::set<std::string> current;
    if (members.clear) {
      for (std::string& uid : Suffixes(dir_.SideReader(), K('m', source, {id, ""})))
        current.insert(std::move(uid));
    }
    std::map<std::string, bool> wanted;
    for (const auto& [uid, member] : members.changes) wanted[uid] = member;
    if (members.clear) {
      for (const std::string& uid : current) {
        if (wanted.count(uid) == 0) wanted[uid] = false;
      }
      if (members.replaced && std::any_of(current.begin(), current.end(),
                                          [&](const std::string& u) { return !wanted[u]; })) {
        // BRIEF Q14: an identity provider said to send partial lists here. RFC
        // semantics apply; each occurrence is counted and logged.
        metrics::Global().AddScimPartialReplace();
        spdlog::info("scim: source '{}' group '{}': replace members dropped members it had", source,
                     id);
      }
    }
    for (const auto& [uid, member] : wanted) {
      bool is_member = false;
      if (members.clear) {
        is_member = current.count(uid) != 0;
      } else {
        absl::StatusOr<std::optional<std::string>> row = w.Get(MemberKey(source, id, uid));
        if (!row.ok()) return ErrorReply(row.status());
        is_member = row->has_value();
      }
      if (is_member != member) delta[uid] = member;
    }
  }
  const bool resource_changed = !SameJson(after, rec.resource);
  if (!resource_changed && delta.empty()) {
    // A no-op (Okta's rename before every membership change, Entra's periodic
    // active=true): neither the version nor lastModified moves.
    if (group_no_content) {
      Reply reply;
      reply.status = 204;
      reply.etag = Etag(rec.version);
      return reply;
    }
    return Answer(200, Render(source, r, id, rec, base, true), rec.version);
  }
  if (r == Resource::kUser && resource_changed) {
    if (absl::Status s = w.CheckUnique(r, NameOf(after, r), id); !s.ok()) return ErrorReply(s);
  }
  if (r == Resource::kGroup && resource_changed &&
      AsciiLower(NameOf(after, r)) != AsciiLower(NameOf(rec.resource, r))) {
    if (absl::Status s = w.CheckUnique(r, NameOf(after, r), id); !s.ok()) return ErrorReply(s);
  }
  absl::StatusOr<uint64_t> version = w.NextVersion();
  if (!version.ok()) return ErrorReply(version.status());
  w.Index(r, id, &rec.resource, &after);
  const Json before = std::move(rec.resource);
  rec.resource = std::move(after);
  const uint64_t fversion = rec.fversion;
  const int64_t fmodified = rec.fmodified;
  Touch(rec, before, now, *version, r);
  if (r == Resource::kGroup && !resource_changed) {  // only members changed
    rec.fversion = fversion;
    rec.fmodified = fmodified;
  }
  for (const auto& [uid, member] : delta) {
    absl::StatusOr<std::optional<Record>> user = w.Load(Resource::kUser, uid);
    if (!user.ok()) return ErrorReply(user.status());
    if (!*user) {
      if (!member) {
        w.SetMember(id, uid, false);  // a stale row: drop it
        continue;
      }
      return ErrorReply(ScimError(absl::StatusCode::kInvalidArgument, "invalidValue",
                                  "members: no user '" + uid + "' in this source"));
    }
    w.SetMember(id, uid, member);
    if (member && w.GroupsOf(uid).size() > 256) {
      return ErrorReply(ScimError(
          absl::StatusCode::kInvalidArgument, "invalidValue",
          "user '" + uid + "' would be in more than 256 groups of this source, Tessera's limit"));
    }
    (*user)->fversion = *version;
    absl::StatusOr<Fragment> uf = w.Derive(Resource::kUser, uid, **user);
    if (!uf.ok()) return ErrorReply(uf.status());
    w.AddFragment(*std::move(uf));
    w.Put(RecordKey(source, Resource::kUser, uid), EncodeRecord(**user));
  }
  if (rec.fversion == *version) {
    absl::StatusOr<Fragment> f = w.Derive(r, id, rec);
    if (!f.ok()) return ErrorReply(f.status());
    w.AddFragment(*std::move(f));
  }
  w.Put(RecordKey(source, r, id), EncodeRecord(rec));
  if (absl::Status s = w.Reclaim(r, now); !s.ok()) return ErrorReply(s);
  if (absl::Status s = w.Commit(now); !s.ok()) return ErrorReply(s);
  if (group_no_content) {
    Reply reply;
    reply.status = 204;
    reply.etag = Etag(rec.version);
    return reply;
  }
  return Answer(200, Render(source, r, id, rec, base, true), rec.version);
}

Reply Service::Replace(std::string_view source, Resource r, std::string_view id,
                       std::string_view body, std::string_view if_match, std::string_view base) {
  std::string kind;
  if (absl::Status s = CheckSource(source, &kind); !s.ok()) return ErrorReply(s);
  absl::StatusOr<Json> parsed = ParseBody(body);
  if (!parsed.ok()) return ErrorReply(parsed.status());
  absl::StatusOr<Canonical> c = Canonicalise(*parsed, r, options_.limits);
  if (!c.ok()) return ErrorReply(c.status());
  absl::MutexLock lock(&SourceLock(source));
  Write w(*this, source, kind);
  absl::StatusOr<std::optional<Record>> rec = w.Load(r, id);
  if (!rec.ok()) return ErrorReply(rec.status());
  if (!*rec) return ErrorReply(NotFound(r, id));
  if (absl::Status s = CheckIfMatch(if_match, (*rec)->version); !s.ok()) return ErrorReply(s);
  MemberOps members;
  if (c->members) {
    // A PUT with members replaces the list; without, the members stay (a PUT that
    // forgot them must not empty a group).
    members.clear = true;
    for (const std::string& uid : *c->members) members.changes.emplace_back(uid, true);
  }
  return Update(w, r, id, **std::move(rec), std::move(c->resource), members, base,
                /*group_no_content=*/false);
}

Reply Service::Patch(std::string_view source, Resource r, std::string_view id,
                     std::string_view body, std::string_view if_match, std::string_view base) {
  std::string kind;
  if (absl::Status s = CheckSource(source, &kind); !s.ok()) return ErrorReply(s);
  absl::StatusOr<Json> parsed = ParseBody(body);
  if (!parsed.ok()) return ErrorReply(parsed.status());
  absl::MutexLock lock(&SourceLock(source));
  Write w(*this, source, kind);
  absl::StatusOr<std::optional<Record>> rec = w.Load(r, id);
  if (!rec.ok()) return ErrorReply(rec.status());
  if (!*rec) return ErrorReply(NotFound(r, id));
  if (absl::Status s = CheckIfMatch(if_match, (*rec)->version); !s.ok()) return ErrorReply(s);
  Json after = (*rec)->resource;
  MemberOps members;
  if (absl::Status s = scim::Patch(*parsed, r, options_.limits, after, members); !s.ok())
    return ErrorReply(s);
  // Group PATCH answers 204: echoing thousands of members helps no one (Entra's advice).
  return Update(w, r, id, **std::move(rec), std::move(after), members, base,
                /*group_no_content=*/r == Resource::kGroup);
}

Reply Service::Delete(std::string_view source, Resource r, std::string_view id,
                      std::string_view if_match) {
  std::string kind;
  if (absl::Status s = CheckSource(source, &kind); !s.ok()) return ErrorReply(s);
  absl::MutexLock lock(&SourceLock(source));
  Write w(*this, source, kind);
  absl::StatusOr<std::optional<Record>> rec = w.Load(r, id);
  if (!rec.ok()) return ErrorReply(rec.status());
  if (!*rec) return ErrorReply(NotFound(r, id));
  if (absl::Status s = CheckIfMatch(if_match, (*rec)->version); !s.ok()) return ErrorReply(s);
  const int64_t now = now_ms_();
  absl::StatusOr<uint64_t> version = w.NextVersion();
  if (!version.ok()) return ErrorReply(version.status());
  w.Index(r, id, &(*rec)->resource, nullptr);
  if (absl::Status s = w.FreePlace(r, id, now); !s.ok()) return ErrorReply(s);
  w.Delete(RecordKey(source, r, id));
  const store::Reader& reader = dir_.SideReader();
  if (r == Resource::kUser) {
    if (absl::Status s = w.LeaveGroups(id, *version, now); !s.ok()) return ErrorReply(s);
  } else {
    // Its members lose the group: their fragments drop the member_of relation.
    for (const std::string& uid : Suffixes(reader, K('m', source, {id, ""}))) {
      w.SetMember(id, uid, false);
      absl::StatusOr<std::optional<Record>> user = w.Load(Resource::kUser, uid);
      if (!user.ok()) return ErrorReply(user.status());
      if (!*user) continue;
      (*user)->fversion = *version;
      absl::StatusOr<Fragment> uf = w.Derive(Resource::kUser, uid, **user);
      if (!uf.ok()) return ErrorReply(uf.status());
      w.AddFragment(*std::move(uf));
      w.Put(RecordKey(source, Resource::kUser, uid), EncodeRecord(**user));
    }
  }
  w.AddFragment(w.Tombstone(r, id, *version));
  if (absl::Status s = w.Commit(now); !s.ok()) return ErrorReply(s);
  Reply reply;
  reply.status = 204;
  return reply;
}

Reply Service::List(std::string_view source, Resource r, const ListQuery& q,
                    std::string_view base) const {
  std::string kind;
  if (absl::Status s = CheckSource(source, &kind); !s.ok()) return ErrorReply(s);
  const int64_t start = std::max<int64_t>(1, q.start_index);
  const auto count = static_cast<size_t>(
      std::clamp<int64_t>(q.count.value_or(static_cast<int64_t>(options_.max_results)), 0,
                          static_cast<int64_t>(options_.max_results)));
  const store::Reader& reader = dir_.SideReader();
  const bool with_members = WantsMembers(q);
  Json resources = Json::array();
  uint64_t total = 0;
  const auto load = [&](std::string_view id, Record* rec) -> absl::StatusOr<bool> {
    std::string value;
    absl::StatusOr<bool> found = reader.Get(store::Cf::kScim, RecordKey(source, r, id), &value);
    if (!found.ok() || !*found) return found;
    if (absl::Status s = DecodeRecord(value, rec); !s.ok()) return s;
    return true;
  };
  if (q.filter) {
    absl::StatusOr<std::unique_ptr<Filter>> f = ParseFilter(*q.filter);
    if (!f.ok()) {
      return ErrorReply(ScimError(absl::StatusCode::kInvalidArgument, "invalidFilter",
                                  std::string(f.status().message())));
    }
    const std::optional<IndexedEq> eq = FindIndexedEq(**f, r);
    if (!eq) {
      return ErrorReply(
          ScimError(absl::StatusCode::kInvalidArgument, "invalidFilter",
                    std::string("this filter would scan the whole source; Tessera answers filters "
                                "holding an `eq` on ") +
                        (r == Resource::kUser ? "id, userName, externalId or emails.value"
                                              : "id, displayName, externalId or members.value") +
                        ", alone or and-ed with other conditions"));
    }
    std::vector<std::string> ids;
    if (eq->attr == "id") {
      ids.push_back(eq->value);
    } else if (eq->attr == "username" || eq->attr == "displayname") {
      std::string holder;
      absl::StatusOr<bool> found =
          reader.Get(store::Cf::kScim, NameKey(source, r, eq->value), &holder);
      if (!found.ok()) return ErrorReply(found.status());
      if (*found) ids.push_back(holder);
    } else if (eq->attr == "externalid") {
      ids = Suffixes(reader, K('x', source, {T(r), eq->value, ""}), 10000);
    } else if (eq->attr == "emails.value") {
      ids = Suffixes(reader, K('e', source, {AsciiLower(eq->value), ""}), 10000);
    } else if (eq->attr == "members.value") {
      ids = Suffixes(reader, K('b', source, {eq->value, ""}), 10000);
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (const std::string& id : ids) {
      Record rec;
      absl::StatusOr<bool> found = load(id, &rec);
      if (!found.ok()) return ErrorReply(found.status());
      if (!*found) continue;
      // Rendered whole for the filter (members.value), then projected.
      Json out = Render(source, r, id, rec, base, /*with_members=*/true);
      if (!Matches(**f, out, r)) continue;
      ++total;
      if (total >= static_cast<uint64_t>(start) && resources.size() < count) {
        Project(q, out);
        if (!with_members) out.erase("members");
        resources.push_back(std::move(out));
      }
    }
  } else {
    // Noted before reading: a deletion from now on keeps its place for this walk.
    NoteWalk(std::string(source) + T(r), now_ms_());
    {
      // A write that decided before the note (freeing a place outright) ends first.
      absl::MutexLock barrier(&SourceLock(source));
    }
    std::string places;
    absl::StatusOr<bool> found = reader.Get(store::Cf::kScim, CountKey(source, r), &places);
    if (!found.ok()) return ErrorReply(found.status());
    total = *found ? std::stoull(places) : 0;
    const std::string prefix = K('o', source, {T(r), ""});
    std::unique_ptr<store::Iterator> it = reader.NewIterator(store::Cf::kScim);
    int64_t place = 0;
    for (it->Seek(prefix); it->Valid() && store::HasPrefix(it->key(), prefix); it->Next()) {
      if (++place < start) continue;
      if (place >= start + static_cast<int64_t>(count)) break;
      if (it->value().empty()) continue;  // a deleted resource's place
      const std::string id(it->value());
      Record rec;
      absl::StatusOr<bool> loaded = load(id, &rec);
      if (!loaded.ok()) return ErrorReply(loaded.status());
      if (!*loaded) continue;
      Json out = Render(source, r, id, rec, base, with_members);
      Project(q, out);
      resources.push_back(std::move(out));
    }
    if (absl::Status s = it->status(); !s.ok()) return ErrorReply(s);
  }
  Json body = {{"schemas", {kListSchema}},
               {"totalResults", total},
               {"itemsPerPage", resources.size()},
               {"startIndex", start}};
  if (!resources.empty())
    body["Resources"] = std::move(resources);
  else
    body["Resources"] = Json::array();
  return Answer(200, body);
}

absl::StatusOr<RederiveResult> Service::Rederive() {
  RederiveResult result;
  for (const directory::SourceInfo& info : dir_.ListSources()) {
    const std::string& source = info.source.id;
    absl::MutexLock lock(&SourceLock(source));
    for (Resource r : {Resource::kUser, Resource::kGroup}) {
      const std::string prefix = K('r', source, {T(r), ""});
      std::unique_ptr<store::Iterator> it = dir_.SideReader().NewIterator(store::Cf::kScim);
      for (it->Seek(prefix); it->Valid() && store::HasPrefix(it->key(), prefix); it->Next()) {
        const std::string id(it->key().substr(prefix.size()));
        Record rec;
        if (absl::Status s = DecodeRecord(it->value(), &rec); !s.ok()) return s;
        ++result.resources;
        Write w(*this, source, options_.user_kind);
        absl::StatusOr<Fragment> derived = w.Derive(r, id, rec);
        if (!derived.ok()) return derived.status();
        absl::StatusOr<directory::FragmentView> stored = dir_.GetFragment({source, id});
        if (stored.ok() && !stored->deleted && SameFragment(*derived, stored->stored.fragment)) {
          ++result.identical;
          continue;
        }
        absl::StatusOr<uint64_t> version = w.NextVersion();
        if (!version.ok()) return version.status();
        rec.fversion = *version;
        derived->version = *version;
        w.AddFragment(*std::move(derived));
        w.Put(RecordKey(source, r, id), EncodeRecord(rec));
        if (absl::Status s = w.Commit(now_ms_()); !s.ok()) return s;
        ++result.rewritten;
      }
      if (absl::Status s = it->status(); !s.ok()) return s;
    }
  }
  return result;
}

}  // namespace tessera::scim
