// The Active Directory connector (kind "ad"): people and groups from an AD domain
// controller, with objectGUID as the stable key, AD's leaver states, and incremental
// runs by DirSync or by uSNChanged that see deletions. It speaks LDAP through the
// LDAP connector's session (connectors/ldap); connectors/ad/README.md has the details.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "connectors/ad/ad_record.h"
#include "connectors/ad/ad_values.h"
#include "connectors/common/connector.h"
#include "connectors/common/record.h"
#include "connectors/common/state.h"
#include "connectors/ldap/ldap_options.h"
#include "connectors/ldap/ldap_session.h"
#include "connectors/ldap/uuid_index.h"
#include "nlohmann/json.hpp"

namespace tessera::connect {
namespace {

using nlohmann::json;

// Record fields derived from several AD attributes (no AD attribute holds '_').
constexpr char kGuidField[] = "objectguid";           // canonical string form
constexpr char kDnField[] = "dn";                     // plain DN
constexpr char kDisplayNameField[] = "display_name";  // displayName, else cn
constexpr char kUpnField[] = "upn";                   // UPN, else sAMAccountName@domain
constexpr char kEmailsField[] = "email_addresses";    // mail, then proxyAddresses SMTP
constexpr char kEmployeeIdField[] = "employee_id";    // employeeID, else employeeNumber
constexpr char kEndDateField[] = "end_date";          // the leaver rule
constexpr char kManagerField[] = "manager_guid";      // manager's objectGUID
constexpr char kMemberOfField[] = "member_of_guids";  // memberOf's objectGUIDs

// What changes are discovered with: users and groups, whatever the configured filters
// (a deleted object keeps its objectClass but loses objectCategory).
constexpr char kChangeFilter[] = "(|(objectClass=user)(objectClass=group))";
constexpr int64_t kRangeStep = 1500;  // AD's MaxValRange

Mapping AdMapping() {
  Mapping m;
  m.kind = "employee";
  m.external_id = kGuidField;
  m.attributes = {{"display_name", kDisplayNameField},
                  {"given_name", "givenname"},
                  {"family_name", "sn"},
                  {"title", "title"},
                  {"team", "department"},
                  {"department", "department"},
                  {"company", "company"},
                  {"location", "physicaldeliveryofficename"},
                  {"language", "preferredlanguage"},
                  {"uid", "samaccountname"},
                  {"end_date", kEndDateField}};
  m.identifiers = {{"ad_guid", kGuidField},      {"upn", kUpnField},
                   {"email", kEmailsField},      {"employee_id", kEmployeeIdField},
                   {"phone", "telephonenumber"}, {"phone", "mobile"},
                   {"ldap_dn", kDnField}};
  m.relations = {{"reports_to", kManagerField, "ad_guid"},
                 {"member_of", kMemberOfField, "ad_guid"}};
  return m;
}

enum class Tracking { kAuto, kDirSync, kUsn };

struct AdOptions {
  LdapOptions ldap;
  bool groups = true;
  // Built-in groups (Domain Users, Administrators...) are system objects, not teams.
  std::string group_filter = "(&(objectClass=group)(!(isCriticalSystemObject=TRUE)))";
  Tracking tracking = Tracking::kAuto;
  ad::LeaverRule leavers;
  size_t max_group_members = 1000000;
};

const std::vector<std::string> kAdKeys = {"groups", "group_filter", "change_tracking", "left_when",
                                          "max_group_members"};

absl::Status BadKey(const std::string& key, const std::string& why) {
  return absl::InvalidArgumentError("\"input." + key + "\": " + why);
}

absl::StatusOr<AdOptions> ParseAdOptions(const SourceConfig& config) {
  AdOptions o;
  LdapOptions defaults;
  // People, without Administrator, Guest and krbtgt (system objects).
  defaults.filter = "(&(objectCategory=person)(objectClass=user)(!(isCriticalSystemObject=TRUE)))";
  defaults.page_size = 1000;
  absl::StatusOr<LdapOptions> ldap = ParseLdapOptions(config, defaults, kAdKeys);
  if (!ldap.ok()) return ldap.status();
  o.ldap = *std::move(ldap);
  const json in = json::parse(config.input_json, nullptr, /*allow_exceptions=*/false);
  for (const auto& [key, v] : in.items()) {
    if (key == "groups") {
      if (!v.is_boolean()) return BadKey(key, "must be true or false");
      o.groups = v.get<bool>();
    } else if (key == "group_filter") {
      if (!v.is_string() || v.get<std::string>().size() < 2 ||
          v.get<std::string>().front() != '(' || v.get<std::string>().back() != ')') {
        return BadKey(key, "must be an RFC 4515 filter in parentheses");
      }
      o.group_filter = v.get<std::string>();
    } else if (key == "change_tracking") {
      const std::string t = v.is_string() ? v.get<std::string>() : "";
      if (t == "auto") {
        o.tracking = Tracking::kAuto;
      } else if (t == "dirsync") {
        o.tracking = Tracking::kDirSync;
      } else if (t == "usn") {
        o.tracking = Tracking::kUsn;
      } else {
        return BadKey(key, "must be \"auto\", \"dirsync\" or \"usn\"");
      }
    } else if (key == "left_when") {
      if (!v.is_array()) return BadKey(key, "must be a list of \"disabled\" and \"expired\"");
      o.leavers = {false, false};
      for (const json& item : v) {
        const std::string s = item.is_string() ? item.get<std::string>() : "";
        if (s == "disabled") {
          o.leavers.disabled = true;
        } else if (s == "expired") {
          o.leavers.expired = true;
        } else {
          return BadKey(key, "'" + item.dump() + "' is not \"disabled\" or \"expired\"");
        }
      }
    } else if (key == "max_group_members") {
      if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 10000000) {
        return BadKey(key, "must be an integer in 1..10000000");
      }
      o.max_group_members = v.get<size_t>();
    }
  }
  return o;
}

// The cursor says how to resume, for which search, and which group-member index goes
// with it:
//   "ad1 <generation> <search hash> dirsync <cookie in hex>"
//   "ad1 <generation> <search hash> usn <DC invocationId> <highestCommittedUSN>"
struct Cursor {
  bool valid = false;
  uint64_t generation = 0;
  bool dirsync = false;
  std::string cookie;         // DirSync, bytes
  std::string invocation_id;  // USN: the DC the watermark belongs to
  int64_t usn = 0;
};

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::optional<std::string> Unhex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    unsigned v = 0;
    if (std::sscanf(std::string(hex.substr(i, 2)).c_str(), "%2x", &v) != 1) return std::nullopt;
    out.push_back(static_cast<char>(v));
  }
  return out;
}

Cursor ParseCursor(const std::string& text, const std::string& search) {
  Cursor c;
  std::vector<std::string> words;
  for (size_t start = 0; start < text.size();) {
    size_t space = text.find(' ', start);
    if (space == std::string::npos) space = text.size();
    words.push_back(text.substr(start, space - start));
    start = space + 1;
  }
  if (words.size() < 4 || words[0] != "ad1" || words[2] != search) return c;
  c.generation = std::strtoull(words[1].c_str(), nullptr, 10);
  if (words[3] == "dirsync" && words.size() == 5) {
    std::optional<std::string> cookie = Unhex(words[4]);
    if (!cookie.has_value()) return c;
    c.dirsync = true;
    c.cookie = *cookie;
    c.valid = true;
  } else if (words[3] == "usn" && words.size() == 6) {
    c.invocation_id = words[4];
    c.usn = std::strtoll(words[5].c_str(), nullptr, 10);
    c.valid = c.usn > 0;
  }
  return c;
}

class AdConnector final : public Connector {
 public:
  AdConnector(const SourceConfig& c, AdOptions o)
      : options_(std::move(o)), group_index_(c, "ad-groups") {
    fields_ = ad::UserFields(c.mapping);
    user_attributes_ = Requested(fields_);
    std::string search = options_.ldap.uri + "\n" + options_.ldap.base_dn + "\n" +
                         options_.ldap.filter + "\n" + options_.group_filter + "\n" +
                         (options_.groups ? "g" : "-") + (options_.leavers.disabled ? "d" : "-") +
                         (options_.leavers.expired ? "e" : "-");
    for (const std::string& a : user_attributes_) search += "\n" + a;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(ContentHash(search)));
    search_hash_ = hex;
  }

  absl::StatusOr<ReadResult> Read(const ReadRequest& req, Sink& sink) override {
    absl::StatusOr<std::unique_ptr<LdapSession>> opened = LdapSession::Open(options_.ldap);
    if (!opened.ok()) return opened.status();
    LdapSession& session = **opened;
    absl::StatusOr<Dse> dse = ReadDse(session);
    if (!dse.ok()) return dse.status();
    const Cursor cursor = ParseCursor(req.cursor, search_hash_);
    if (req.incremental && cursor.valid) {
      absl::StatusOr<std::optional<ReadResult>> r = Changes(session, *dse, cursor, sink);
      if (!r.ok()) return r.status();
      if (r->has_value()) return **r;
    } else if (req.incremental) {
      sink.Note("no usable cursor: reading every entry");
    }
    return FullRead(session, *dse, cursor.generation, sink);
  }

 private:
  // What the root DSE and the DC's NTDS Settings say.
  struct Dse {
    std::string naming_context;  // defaultNamingContext: where DirSync and tombstones are
    bool dirsync = false;        // the DC offers DirSync
    int64_t usn = 0;             // highestCommittedUSN now
    std::string invocation_id;   // of this DC's database
  };

  // The AD attributes that serve `fields`.
  static std::vector<std::string> Requested(
      const std::map<std::string, std::set<std::string>>& fields) {
    std::set<std::string> out = {"objectguid"};
    for (const auto& [lower, spellings] : fields) {
      if (lower == kDnField) continue;
      if (lower == kDisplayNameField) {
        out.insert({"displayname", "cn"});
      } else if (lower == kUpnField) {
        out.insert({"userprincipalname", "samaccountname"});
      } else if (lower == kEmailsField) {
        out.insert({"mail", "proxyaddresses"});
      } else if (lower == kEmployeeIdField) {
        out.insert({"employeeid", "employeenumber"});
      } else if (lower == kEndDateField) {
        out.insert({"useraccountcontrol", "accountexpires", "whenchanged"});
      } else if (lower == kManagerField) {
        out.insert("manager");
      } else if (lower == kMemberOfField) {
        out.insert("memberof");
      } else {
        out.insert(lower);
      }
    }
    return {out.begin(), out.end()};
  }

  absl::StatusOr<Dse> ReadDse(LdapSession& session) const {
    SearchSpec root;
    root.attributes = {"defaultNamingContext", "supportedControl", "highestCommittedUSN",
                       "dsServiceName"};
    absl::StatusOr<std::optional<LdapEntry>> e = session.Lookup(root);
    if (!e.ok()) return e.status();
    if (!e->has_value()) {
      return absl::FailedPreconditionError(options_.ldap.uri + ": the root DSE cannot be read");
    }
    Dse d;
    auto first = [&](const char* name) {
      const std::vector<std::string>* vs = (*e)->Values(name);
      return vs == nullptr || vs->empty() ? std::string() : vs->front();
    };
    d.naming_context = first("defaultnamingcontext");
    const std::string usn = first("highestcommittedusn");
    if (d.naming_context.empty() || usn.empty()) {
      return absl::FailedPreconditionError(
          options_.ldap.uri +
          ": not an Active Directory domain controller (the root DSE has no "
          "defaultNamingContext or highestCommittedUSN); use kind \"ldap\"");
    }
    d.usn = std::strtoll(usn.c_str(), nullptr, 10);
    if (const std::vector<std::string>* controls = (*e)->Values("supportedcontrol")) {
      d.dirsync = std::find(controls->begin(), controls->end(), "1.2.840.113556.1.4.841") !=
                  controls->end();
    }
    SearchSpec ntds;
    ntds.base = first("dsservicename");
    ntds.attributes = {"invocationId"};
    absl::StatusOr<std::optional<LdapEntry>> settings = session.Lookup(ntds);
    if (settings.ok() && settings->has_value()) {
      if (const std::vector<std::string>* id = (*settings)->Values("invocationid");
          id != nullptr && !id->empty()) {
        d.invocation_id = ad::GuidString(id->front()).value_or("");
      }
    }
    return d;
  }

  // The ranged attributes of `e` read to the end.
  absl::Status Complete(LdapSession& session, const std::string& guid, LdapEntry& e) const {
    for (const auto& [name, from] : e.open_ranges) {
      for (auto& [attr, values] : e.attributes) {
        if (attr != name) continue;
        if (absl::Status s = session.ReadRange("<GUID=" + guid + ">", name, from,
                                               options_.max_group_members, true, &values);
            !s.ok()) {
          return s;
        }
      }
    }
    e.open_ranges.clear();
    return absl::OkStatus();
  }

  absl::StatusOr<Record> ToRecord(const LdapEntry& e, const FieldSpellings& fields) const {
    return ad::EntryRecord(e, fields, options_.leavers);
  }

  // The objectGUIDs of a group's members, sorted.
  static std::vector<std::string> MembersOf(const LdapEntry& e) {
    std::vector<std::string> out;
    if (const std::vector<std::string>* vs = e.Values("member")) {
      for (const std::string& v : *vs) {
        std::string g = ad::ParseExtendedDn(v).guid;
        if (!g.empty()) out.push_back(std::move(g));
      }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }
  static std::string Join(const std::vector<std::string>& guids) {
    std::string out;
    for (const std::string& g : guids) {
      if (!out.empty()) out.push_back(' ');
      out += g;
    }
    return out;
  }
  static std::vector<std::string> Split(const std::string& joined) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < joined.size()) {
      size_t space = joined.find(' ', start);
      if (space == std::string::npos) space = joined.size();
      if (space > start) out.push_back(joined.substr(start, space - start));
      start = space + 1;
    }
    return out;
  }

  SearchSpec UserSearch(std::string base, LdapScope scope) const {
    SearchSpec s;
    s.base = std::move(base);
    s.scope = scope;
    s.filter = options_.ldap.filter;
    s.attributes = user_attributes_;
    s.extended_dn = true;
    return s;
  }
  SearchSpec GroupSearch(std::string base, LdapScope scope) const {
    SearchSpec s;
    s.base = std::move(base);
    s.scope = scope;
    s.filter = options_.group_filter;
    s.attributes = {"objectguid",  "cn",
                    "displayname", "description",
                    "mail",        "proxyaddresses",
                    "memberof",    "member;range=0-" + std::to_string(kRangeStep - 1)};
    s.extended_dn = true;
    return s;
  }

  // The objectGUID of an entry in string form, "" when it has none.
  static std::string GuidOf(const LdapEntry& e) {
    const std::vector<std::string>* raw = e.Values("objectguid");
    if (raw == nullptr || raw->empty()) return "";
    return ad::GuidString(raw->front()).value_or("");
  }

  // Emits a user entry; a malformed one is rejected with its DN.
  absl::Status EmitUser(LdapSession& session, LdapEntry&& e, Sink& sink) {
    const std::string dn = ad::ParseExtendedDn(e.dn).dn;
    const std::string guid = GuidOf(e);
    if (!guid.empty()) {
      if (absl::Status s = Complete(session, guid, e); !s.ok()) {
        if (s.code() != absl::StatusCode::kResourceExhausted) return s;
        sink.Reject(dn, std::string(s.message()));
        return absl::OkStatus();
      }
    }
    absl::StatusOr<Record> r = ToRecord(e, fields_);
    if (!r.ok()) {
      sink.Reject(dn, std::string(r.status().message()));
      return absl::OkStatus();
    }
    emitted_.insert(guid);
    return sink.EmitRecord(*r);
  }

  // Emits a group entry as a team and returns its members (nullopt: rejected).
  absl::StatusOr<std::optional<std::vector<std::string>>> EmitGroup(LdapSession& session,
                                                                    LdapEntry&& e, Sink& sink) {
    const std::string dn = ad::ParseExtendedDn(e.dn).dn;
    if (const std::string guid = GuidOf(e); !guid.empty()) {
      if (absl::Status s = Complete(session, guid, e); !s.ok()) {
        if (s.code() != absl::StatusCode::kResourceExhausted) return s;
        sink.Reject(dn, std::string(s.message()) + " (raise input.max_group_members)");
        return std::optional<std::vector<std::string>>();
      }
    }
    absl::StatusOr<Record> r = ToRecord(e, ad::GroupFields());
    if (!r.ok()) {
      sink.Reject(dn, std::string(r.status().message()));
      return std::optional<std::vector<std::string>>();
    }
    std::vector<std::string> warnings;
    absl::StatusOr<v1::Fragment> f = MapRecord(group_mapping_, *r, &warnings);
    for (const std::string& w : warnings) sink.Warn(dn, w);
    if (!f.ok()) {
      sink.Reject(dn, std::string(f.status().message()));
      return std::optional<std::vector<std::string>>();
    }
    if (absl::Status s = sink.Emit(*std::move(f), dn); !s.ok()) return s;
    return std::optional<std::vector<std::string>>(MembersOf(e));
  }

  // Every user, then every group (their members into the index).
  absl::StatusOr<ReadResult> FullRead(LdapSession& session, const Dse& dse, uint64_t loaded,
                                      Sink& sink) {
    // Where the next incremental run starts, taken before the read so that changes made
    // during it are read again next time.
    Cursor next;
    next.usn = dse.usn;
    next.invocation_id = dse.invocation_id;
    if (options_.tracking != Tracking::kUsn && dse.dirsync) {
      uint64_t n = 0;
      absl::StatusOr<std::string> cookie =
          session.DirSync(dse.naming_context, kChangeFilter, {"objectGUID"}, "", [&](LdapEntry&&) {
            if (++n % 10000 == 0) sink.Note(std::to_string(n) + " objects scanned");
            return absl::OkStatus();
          });
      if (cookie.ok()) {
        next.dirsync = true;
        next.cookie = *cookie;
      } else if (options_.tracking == Tracking::kDirSync ||
                 (cookie.status().code() != absl::StatusCode::kPermissionDenied &&
                  cookie.status().code() != absl::StatusCode::kUnimplemented)) {
        return cookie.status();
      } else {
        sink.Note(std::string(cookie.status().message()) + ": incremental runs use uSNChanged");
      }
    } else if (options_.tracking == Tracking::kDirSync) {
      return absl::FailedPreconditionError(options_.ldap.uri +
                                           ": the server does not offer DirSync "
                                           "(input.change_tracking is \"dirsync\")");
    }
    group_index_.Clear();
    emitted_.clear();
    uint64_t n = 0;
    absl::Status s =
        session.Search(UserSearch(options_.ldap.base_dn, options_.ldap.scope), [&](LdapEntry&& e) {
          Progress(++n, " users", sink);
          return EmitUser(session, std::move(e), sink);
        });
    if (!s.ok()) return s;
    sink.Note(std::to_string(n) + " users");
    if (options_.groups) {
      uint64_t g = 0;
      s = session.Search(GroupSearch(options_.ldap.base_dn, options_.ldap.scope),
                         [&](LdapEntry&& e) -> absl::Status {
                           const std::vector<std::string>* raw = e.Values("objectguid");
                           const std::string bytes =
                               raw == nullptr || raw->empty() ? "" : raw->front();
                           absl::StatusOr<std::optional<std::vector<std::string>>> members =
                               EmitGroup(session, std::move(e), sink);
                           if (!members.ok()) return members.status();
                           if (members->has_value()) group_index_.Put(bytes, Join(**members));
                           Progress(++g, " groups", sink);
                           return absl::OkStatus();
                         });
      if (!s.ok()) return s;
      sink.Note(std::to_string(g) + " groups");
    }
    return Saved(loaded, next, /*complete=*/true);
  }

  // What changed since `cursor`; nullopt when only a full read will do.
  absl::StatusOr<std::optional<ReadResult>> Changes(LdapSession& session, const Dse& dse,
                                                    const Cursor& cursor, Sink& sink) {
    if (absl::Status s = group_index_.Load(cursor.generation); !s.ok()) {
      sink.Note("group index unusable (" + std::string(s.message()) + "): reading every entry");
      return std::optional<ReadResult>();
    }
    Cursor next = cursor;
    std::set<std::string> changed, deleted;  // objectGUIDs, string form
    auto collect = [&](LdapEntry&& e) {
      const std::vector<std::string>* raw = e.Values("objectguid");
      if (raw == nullptr || raw->empty()) return absl::OkStatus();
      const std::optional<std::string> guid = ad::GuidString(raw->front());
      if (!guid.has_value()) return absl::OkStatus();
      const std::vector<std::string>* gone = e.Values("isdeleted");
      const bool is_deleted =
          gone != nullptr && !gone->empty() && AsciiLower(gone->front()) == "true";
      (is_deleted ? deleted : changed).insert(*guid);
      return absl::OkStatus();
    };
    if (cursor.dirsync) {
      // DirSync reports an object when one of the requested attributes changed: ask for
      // every attribute a record is made of, and for the name, which a rename or a move
      // changes.
      std::vector<std::string> watched = user_attributes_;
      watched.insert(watched.end(), {"isDeleted", "name", "member", "description", "displayName"});
      absl::StatusOr<std::string> cookie =
          session.DirSync(dse.naming_context, kChangeFilter, watched, cursor.cookie, collect);
      if (!cookie.ok()) {
        if (cookie.status().code() == absl::StatusCode::kUnavailable ||
            cookie.status().code() == absl::StatusCode::kDeadlineExceeded) {
          return cookie.status();
        }
        sink.Warn(options_.ldap.uri, "DirSync cannot resume from the saved cookie (" +
                                         std::string(cookie.status().message()) +
                                         "): reading every entry");
        return std::optional<ReadResult>();
      }
      next.cookie = *cookie;
    } else {
      if (cursor.invocation_id != dse.invocation_id || dse.usn < cursor.usn) {
        sink.Warn(options_.ldap.uri,
                  "the uSNChanged watermark belongs to another domain controller (invocationId " +
                      cursor.invocation_id + ", this one is " + dse.invocation_id +
                      "): reading every entry");
        return std::optional<ReadResult>();
      }
      const std::string since = "(uSNChanged>=" + std::to_string(cursor.usn + 1) + ")";
      SearchSpec live;
      live.base = dse.naming_context;
      live.filter = std::string("(&") + kChangeFilter + since + ")";
      live.attributes = {"objectGUID"};
      if (absl::Status s = session.Search(live, collect); !s.ok()) return s;
      SearchSpec tombstones = live;
      tombstones.filter = "(&(isDeleted=TRUE)" + since + ")";
      tombstones.attributes = {"objectGUID", "isDeleted"};
      tombstones.show_deleted = true;
      if (absl::Status s = session.Search(tombstones, collect); !s.ok()) return s;
      next.usn = dse.usn;
    }
    emitted_.clear();
    std::set<std::string> affected;  // users whose memberOf changed with a group
    auto forget_group = [&](const std::string& guid) {
      const std::string bytes = *ad::GuidBytes(guid);
      for (std::string& m : Split(group_index_.Remove(bytes))) affected.insert(std::move(m));
    };
    uint64_t applied = 0;
    for (const std::string& guid : deleted) {
      if (absl::Status s = sink.Delete(guid, guid); !s.ok()) return s;
      forget_group(guid);
      ++applied;
    }
    for (const std::string& guid : changed) {
      if (deleted.count(guid) > 0) continue;
      absl::StatusOr<bool> found = Reread(session, guid, sink, &affected);
      if (!found.ok()) return found.status();
      if (!*found) {
        // No longer a user or group in scope (moved out of base_dn, filtered out).
        if (absl::Status s = sink.Delete(guid, guid); !s.ok()) return s;
        forget_group(guid);
      }
      Progress(++applied, " changed objects", sink);
    }
    uint64_t members = 0;
    for (const std::string& guid : affected) {
      if (emitted_.count(guid) > 0 || changed.count(guid) > 0 || deleted.count(guid) > 0) continue;
      absl::StatusOr<std::optional<LdapEntry>> e =
          session.Lookup(UserSearch("<GUID=" + guid + ">", LdapScope::kBase));
      if (!e.ok()) return e.status();
      if (!e->has_value() ||
          !ad::DnWithin(ad::ParseExtendedDn((*e)->dn).dn, options_.ldap.base_dn)) {
        continue;
      }
      if (absl::Status s = EmitUser(session, **std::move(e), sink); !s.ok()) return s;
      ++members;
    }
    sink.Note(std::to_string(changed.size()) + " changed, " + std::to_string(deleted.size()) +
              " deleted, " + std::to_string(members) + " members re-read");
    absl::StatusOr<ReadResult> r = Saved(cursor.generation, next, /*complete=*/false);
    if (!r.ok()) return r.status();
    return std::optional<ReadResult>(*std::move(r));
  }

  // Reads the object `guid` again and emits it if it is a user or group in scope;
  // false when it is neither. A group's member changes add to `affected`.
  absl::StatusOr<bool> Reread(LdapSession& session, const std::string& guid, Sink& sink,
                              std::set<std::string>* affected) {
    const std::string base = "<GUID=" + guid + ">";
    absl::StatusOr<std::optional<LdapEntry>> user =
        session.Lookup(UserSearch(base, LdapScope::kBase));
    if (!user.ok()) return user.status();
    if (user->has_value()) {
      if (!ad::DnWithin(ad::ParseExtendedDn((*user)->dn).dn, options_.ldap.base_dn)) return false;
      if (absl::Status s = EmitUser(session, **std::move(user), sink); !s.ok()) return s;
      return true;
    }
    if (!options_.groups) return false;
    absl::StatusOr<std::optional<LdapEntry>> group =
        session.Lookup(GroupSearch(base, LdapScope::kBase));
    if (!group.ok()) return group.status();
    if (!group->has_value() ||
        !ad::DnWithin(ad::ParseExtendedDn((*group)->dn).dn, options_.ldap.base_dn)) {
      return false;
    }
    absl::StatusOr<std::optional<std::vector<std::string>>> members =
        EmitGroup(session, **std::move(group), sink);
    if (!members.ok()) return members.status();
    if (!members->has_value()) return true;  // rejected: kept as it was
    const std::string bytes = *ad::GuidBytes(guid);
    const std::vector<std::string> before = Split(group_index_.Remove(bytes));
    group_index_.Put(bytes, Join(**members));
    // Members added or removed: their memberOf changed without AD touching them.
    std::set_symmetric_difference(before.begin(), before.end(), (*members)->begin(),
                                  (*members)->end(), std::inserter(*affected, affected->end()));
    return true;
  }

  void Progress(uint64_t n, const char* what, Sink& sink) const {
    if (n % static_cast<uint64_t>(options_.ldap.page_size) == 0) {
      sink.Note(std::to_string(n) + what);
    }
  }

  // Saves the group index as a new generation and returns the cursor naming it.
  absl::StatusOr<ReadResult> Saved(uint64_t loaded, const Cursor& next, bool complete) {
    absl::StatusOr<uint64_t> generation = group_index_.SaveNext(loaded);
    if (!generation.ok()) return generation.status();
    std::string cursor = "ad1 " + std::to_string(*generation) + " " + search_hash_;
    if (next.dirsync) {
      cursor += " dirsync " + Hex(next.cookie);
    } else {
      cursor += " usn " + (next.invocation_id.empty() ? "-" : next.invocation_id) + " " +
                std::to_string(next.usn);
    }
    return ReadResult{complete, cursor};
  }

  const AdOptions options_;
  const Mapping group_mapping_ = ad::GroupMapping();
  FieldSpellings fields_;  // lower-cased field -> spellings
  std::vector<std::string> user_attributes_;
  std::string search_hash_;
  UuidIndex group_index_;          // group objectGUID -> its members' objectGUIDs
  std::set<std::string> emitted_;  // users emitted in this run
};

absl::StatusOr<std::unique_ptr<Connector>> MakeAd(const SourceConfig& c) {
  absl::StatusOr<AdOptions> o = ParseAdOptions(c);
  if (!o.ok()) return o.status();
  return std::make_unique<AdConnector>(c, *std::move(o));
}

TESSERA_REGISTER_CONNECTOR(ad, ConnectorKind{
                                   "ad",
                                   "directory: people and groups from Active Directory, keyed by "
                                   "objectGUID, incremental by DirSync or uSNChanged with "
                                   "deletions (input.uri, base_dn)",
                                   AdMapping, MakeAd});

}  // namespace

namespace ad {

FieldSpellings UserFields(const Mapping& m) {
  FieldSpellings fields;
  auto add = [&](const std::string& field) { fields[AsciiLower(field)].insert(field); };
  add(m.external_id);
  add(kGuidField);
  for (const auto& [name, field] : m.attributes) add(field);
  for (const auto& [type, field] : m.identifiers) add(field);
  for (const RelationSpec& r : m.relations) add(r.field);
  return fields;
}

const FieldSpellings& GroupFields() {
  static const FieldSpellings kGroupFields = {
      {kGuidField, {kGuidField}},       {kDisplayNameField, {kDisplayNameField}},
      {"description", {"description"}}, {kEmailsField, {kEmailsField}},
      {kDnField, {kDnField}},           {kMemberOfField, {kMemberOfField}}};
  return kGroupFields;
}

Mapping GroupMapping() {
  Mapping m;
  m.kind = "team";
  m.external_id = kGuidField;
  m.attributes = {{"display_name", kDisplayNameField}, {"description", "description"}};
  m.identifiers = {{"ad_guid", kGuidField}, {"email", kEmailsField}, {"ldap_dn", kDnField}};
  m.relations = {{"member_of", kMemberOfField, "ad_guid"}};
  return m;
}

absl::StatusOr<Record> EntryRecord(const LdapEntry& e, const FieldSpellings& fields,
                                   const LeaverRule& leavers) {
  Record r;
  const ad::ExtendedDn self = ad::ParseExtendedDn(e.dn);
  r.locator = self.dn;
  const std::vector<std::string>* guid_bytes = e.Values("objectguid");
  std::optional<std::string> guid;
  if (guid_bytes != nullptr && !guid_bytes->empty()) guid = ad::GuidString(guid_bytes->front());
  if (!guid.has_value()) return absl::InvalidArgumentError("no objectGUID");
  auto first = [&](const char* name) {
    const std::vector<std::string>* vs = e.Values(name);
    return vs == nullptr || vs->empty() ? std::string() : vs->front();
  };
  auto guids_of = [&](const char* name) {
    std::vector<std::string> out;
    if (const std::vector<std::string>* vs = e.Values(name)) {
      for (const std::string& v : *vs) {
        std::string g = ad::ParseExtendedDn(v).guid;
        if (!g.empty()) out.push_back(std::move(g));
      }
    }
    return out;
  };
  for (const auto& [lower, spellings] : fields) {
    std::vector<std::string> vs;
    if (lower == kGuidField) {
      vs = {*guid};
    } else if (lower == kDnField) {
      vs = {self.dn};
    } else if (lower == kDisplayNameField) {
      std::string name = first("displayname");
      if (name.empty()) name = first("cn");
      if (!name.empty()) vs = {name};
    } else if (lower == kUpnField) {
      std::string upn = first("userprincipalname");
      const std::string sam = first("samaccountname");
      if (upn.empty() && !sam.empty()) upn = sam + "@" + ad::DnsDomainOf(self.dn);
      if (!upn.empty()) vs = {upn};
    } else if (lower == kEmailsField) {
      std::set<std::string> seen;
      std::vector<std::string> all;
      if (const std::vector<std::string>* mail = e.Values("mail")) all = *mail;
      if (const std::vector<std::string>* proxies = e.Values("proxyaddresses")) {
        for (std::string& a : ad::SmtpAddresses(*proxies)) all.push_back(std::move(a));
      }
      for (std::string& a : all) {
        if (seen.insert(AsciiLower(a)).second) vs.push_back(std::move(a));
      }
    } else if (lower == kEmployeeIdField) {
      std::string id = first("employeeid");
      if (id.empty()) id = first("employeenumber");
      if (!id.empty()) vs = {id};
    } else if (lower == kEndDateField) {
      std::string end = ad::EndDate(leavers, first("useraccountcontrol"), first("accountexpires"),
                                    first("whenchanged"));
      if (!end.empty()) vs = {end};
    } else if (lower == kManagerField) {
      vs = guids_of("manager");
    } else if (lower == kMemberOfField) {
      vs = guids_of("memberof");
    } else if (const std::vector<std::string>* found = e.Values(lower); found != nullptr) {
      vs = *found;
    }
    if (absl::Status s = CheckUtf8Values(lower, vs); !s.ok()) return s;
    for (const std::string& s : spellings) r.fields[s] = vs;
  }
  r.fields[kGuidField] = {*guid};
  return r;
}

}  // namespace ad
}  // namespace tessera::connect
