// The directory connector (kind "ldap"): people from an LDAP server (OpenLDAP, Active
// Directory, 389 Directory Server). A full run reads every entry with a paged search;
// an incremental run asks for what changed with content synchronisation (RFC 4533
// refreshOnly) when the server offers it, else for entries whose modifyTimestamp is
// not older than the last run's newest. connectors/ldap/README.md has the details.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "connectors/common/connector.h"
#include "connectors/common/record.h"
#include "connectors/common/state.h"
#include "connectors/ldap/ldap_options.h"
#include "connectors/ldap/ldap_record.h"
#include "connectors/ldap/ldap_session.h"
#include "connectors/ldap/uuid_index.h"

namespace tessera::connect {
namespace {

// Fields a record has besides the entry's attributes (no LDAP attribute name holds
// '_', and "dn" is none).
constexpr char kDnField[] = "dn";                     // the entry's DN
constexpr char kDisplayNameField[] = "display_name";  // displayName, else the first cn
constexpr char kModifyTimestamp[] = "modifytimestamp";

Mapping LdapMapping() {
  Mapping m;
  m.kind = "employee";
  m.external_id = kDnField;
  m.attributes = {{"display_name", kDisplayNameField},
                  {"given_name", "givenname"},
                  {"family_name", "sn"},
                  {"title", "title"},
                  {"team", "ou"},
                  {"department", "department"},
                  {"location", "l"},
                  {"language", "preferredlanguage"},
                  {"uid", "uid"}};
  m.identifiers = {{"email", "mail"},
                   {"phone", "telephonenumber"},
                   {"phone", "mobile"},
                   {"employee_id", "employeenumber"},
                   {"ldap_dn", kDnField}};
  m.relations = {{"reports_to", "manager", "ldap_dn"}, {"member_of", "memberof", "ldap_dn"}};
  return m;
}

// The cursor says how to resume and for which search, so that a changed base, filter
// or mapping starts over with a full read:
//   "sync1 <generation> <search hash>\n<cookie>"   content synchronisation
//   "ts1 <search hash> <newest modifyTimestamp>"  the modifyTimestamp fallback
struct Cursor {
  enum class Mode { kNone, kSync, kTimestamp } mode = Mode::kNone;
  uint64_t generation = 0;  // of the UUID index that goes with the cookie
  std::string cookie, timestamp;
};

Cursor ParseCursor(const std::string& text, const std::string& search) {
  Cursor c;
  char hash[17] = {};
  unsigned long long gen = 0;
  const size_t nl = text.find('\n');
  if (text.rfind("sync1 ", 0) == 0 && nl != std::string::npos &&
      std::sscanf(text.substr(0, nl).c_str(), "sync1 %llu %16s", &gen, hash) == 2 &&
      hash == search) {
    c.mode = Cursor::Mode::kSync;
    c.generation = gen;
    c.cookie = text.substr(nl + 1);
  } else if (text.rfind("ts1 " + search + " ", 0) == 0) {
    c.timestamp = text.substr(5 + search.size());
    const bool ok = !c.timestamp.empty() &&
                    c.timestamp.find_first_not_of("0123456789.,Z+-") == std::string::npos;
    if (ok) c.mode = Cursor::Mode::kTimestamp;
  }
  return c;
}

class LdapConnector;

// Applies what a refresh reports to the UUID index and the sink.
class ChangeHandler final : public SyncHandler {
 public:
  ChangeHandler(const LdapConnector& connector, UuidIndex& index, Sink* sink)
      : connector_(connector), index_(index), sink_(sink) {}

  absl::Status OnEntry(Change change, std::string_view uuid, LdapEntry&& entry) override;
  absl::Status OnIdSet(bool deleted, const std::vector<std::string>& uuids) override {
    for (const std::string& u : uuids) {
      if (deleted) {
        gone_.push_back(index_.Remove(u));
      } else {
        index_.MarkPresent(u);
      }
    }
    return absl::OkStatus();
  }

  std::vector<std::string>& gone() { return gone_; }
  uint64_t changed() const { return changed_; }

 private:
  const LdapConnector& connector_;
  UuidIndex& index_;
  Sink* sink_;  // null: only fill the index (the scan before a full read)
  std::vector<std::string> gone_;
  uint64_t changed_ = 0;
};

class LdapConnector final : public Connector {
 public:
  LdapConnector(const SourceConfig& c, LdapOptions o)
      : config_(c), options_(std::move(o)), index_(c, "ldap-uuids") {
    // Attribute names match case-insensitively: a mapping field is served by the
    // attribute of the same lower-cased name, under the mapping's own spelling.
    fields_ = LdapFields(c.mapping);
    attributes_ = Requested(fields_);
    key_attributes_ = Requested({{AsciiLower(c.mapping.external_id), {}}});
    std::string search = options_.uri + "\n" + options_.base_dn + "\n" + options_.filter + "\n" +
                         std::to_string(static_cast<int>(options_.scope));
    for (const std::string& a : attributes_) search += "\n" + a;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(ContentHash(search)));
    search_hash_ = hex;
  }

  absl::StatusOr<ReadResult> Read(const ReadRequest& req, Sink& sink) override {
    absl::StatusOr<std::unique_ptr<LdapSession>> session = LdapSession::Open(options_);
    if (!session.ok()) return session.status();
    absl::StatusOr<bool> sync = (*session)->SupportsSync();
    if (!sync.ok()) return sync.status();
    const Cursor cursor = ParseCursor(req.cursor, search_hash_);
    if (req.incremental && *sync && cursor.mode == Cursor::Mode::kSync) {
      absl::StatusOr<std::optional<ReadResult>> r = SyncChanges(**session, cursor, sink);
      if (!r.ok()) return r.status();
      if (r->has_value()) return **r;
    } else if (req.incremental && !*sync && cursor.mode == Cursor::Mode::kTimestamp) {
      return ChangedSince(**session, cursor.timestamp, sink);
    } else if (req.incremental) {
      sink.Note("no usable cursor: reading every entry");
    }
    return FullRead(**session, *sync, cursor.generation, sink);
  }

  absl::StatusOr<Record> ToRecord(const LdapEntry& e) const { return LdapRecord(e, fields_); }
  std::string KeyOf(const Record& r) const {
    return std::string(Trim(r.First(config_.mapping.external_id)));
  }

  // Emits the record of entry `dn`; a malformed one is rejected with its DN.
  static absl::Status Emit(const std::string& dn, const absl::StatusOr<Record>& r, Sink& sink) {
    if (!r.ok()) {
      sink.Reject(dn, std::string(r.status().message()));
      return absl::OkStatus();
    }
    return sink.EmitRecord(*r);
  }
  void Progress(uint64_t n, const char* what, Sink& sink) const {
    if (n % static_cast<uint64_t>(options_.page_size) == 0) sink.Note(std::to_string(n) + what);
  }

 private:
  // The attribute list that serves `fields`: derived fields need their sources.
  static std::vector<std::string> Requested(
      const std::map<std::string, std::set<std::string>>& fields) {
    std::set<std::string> out;
    for (const auto& [lower, spellings] : fields) {
      if (lower == kDnField) continue;
      if (lower == kDisplayNameField) {
        out.insert({"displayname", "cn"});
      } else {
        out.insert(lower);
      }
    }
    return {out.begin(), out.end()};
  }

  // Every entry, by pages. With content synchronisation, first an attribute-less
  // initial refresh for the cookie to resume from and the UUID index.
  absl::StatusOr<ReadResult> FullRead(LdapSession& session, bool sync, uint64_t loaded,
                                      Sink& sink) {
    std::string cookie;
    if (sync) {
      index_.Clear();
      ChangeHandler scan(*this, index_, nullptr);
      absl::StatusOr<SyncOutcome> out = session.SyncRefresh("", key_attributes_, scan);
      const absl::StatusCode code = out.status().code();
      if (code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded) {
        return out.status();
      }
      // Refused for this base or this identity (no syncprov here, a size limit): the
      // full read goes on, and incremental runs use modifyTimestamp.
      if (!out.ok()) sink.Note(std::string(out.status().message()) + ": using modifyTimestamp");
      sync = out.ok() && !out->refresh_required;
      if (sync) cookie = out->cookie;
    }
    std::vector<std::string> attrs = attributes_;
    if (!sync) attrs.push_back(kModifyTimestamp);
    std::string newest;
    uint64_t n = 0;
    absl::Status s = session.PagedSearch(options_.filter, attrs, [&](LdapEntry&& e) {
      if (!sync) Newest(e, &newest);
      Progress(++n, " entries", sink);
      return Emit(e.dn, ToRecord(e), sink);
    });
    if (!s.ok()) return s;
    sink.Note(std::to_string(n) + " entries");
    if (!sync) return ReadResult{true, newest.empty() ? "" : "ts1 " + search_hash_ + " " + newest};
    return Saved(loaded, cookie, /*complete=*/true);
  }

  // What changed since `cursor`; nullopt when only a full read will do.
  absl::StatusOr<std::optional<ReadResult>> SyncChanges(LdapSession& session, const Cursor& cursor,
                                                        Sink& sink) {
    if (absl::Status s = index_.Load(cursor.generation); !s.ok()) {
      sink.Note("UUID index unusable (" + std::string(s.message()) + "): reading every entry");
      return std::optional<ReadResult>();
    }
    ChangeHandler changes(*this, index_, &sink);
    absl::StatusOr<SyncOutcome> out = session.SyncRefresh(cursor.cookie, attributes_, changes);
    if (!out.ok()) return out.status();
    if (out->refresh_required) {
      if (changes.changed() > 0) {
        return absl::FailedPreconditionError(options_.uri +
                                             ": the server cannot resume from the saved cookie; "
                                             "run a full sync (without --incremental)");
      }
      sink.Note("the server asks for a full refresh: reading every entry");
      return std::optional<ReadResult>();
    }
    std::vector<std::string>& gone = changes.gone();
    if (out->present_phase) {
      for (std::string& key : index_.RemoveUnseen()) gone.push_back(std::move(key));
    }
    for (const std::string& key : index_.WithoutLive(std::move(gone))) {
      if (absl::Status s = sink.Delete(key, key); !s.ok()) return s;
    }
    sink.Note(std::to_string(changes.changed()) + " changed entries");
    absl::StatusOr<ReadResult> r = Saved(cursor.generation, out->cookie, /*complete=*/false);
    if (!r.ok()) return r.status();
    return std::optional<ReadResult>(*std::move(r));
  }

  // Entries modified at or after `since` (no deletions: the fallback cannot see them).
  absl::StatusOr<ReadResult> ChangedSince(LdapSession& session, const std::string& since,
                                          Sink& sink) {
    std::vector<std::string> attrs = attributes_;
    attrs.push_back(kModifyTimestamp);
    const std::string filter = "(&" + options_.filter + "(modifyTimestamp>=" + since + "))";
    std::string newest = since;
    uint64_t n = 0;
    absl::Status s = session.PagedSearch(filter, attrs, [&](LdapEntry&& e) {
      Newest(e, &newest);
      Progress(++n, " changed entries", sink);
      return Emit(e.dn, ToRecord(e), sink);
    });
    if (!s.ok()) return s;
    sink.Note(std::to_string(n) + " changed entries");
    return ReadResult{false, "ts1 " + search_hash_ + " " + newest};
  }

  static void Newest(const LdapEntry& e, std::string* newest) {
    for (const auto& [name, values] : e.attributes) {
      if (name != kModifyTimestamp) continue;
      for (const std::string& v : values) {
        if (v > *newest && v.find_first_not_of("0123456789.,Z+-") == std::string::npos) *newest = v;
      }
    }
  }

  // Saves the index as a new generation and returns the cursor naming it.
  absl::StatusOr<ReadResult> Saved(uint64_t loaded, const std::string& cookie, bool complete) {
    absl::StatusOr<uint64_t> generation = index_.SaveNext(loaded);
    if (!generation.ok()) return generation.status();
    return ReadResult{complete,
                      "sync1 " + std::to_string(*generation) + " " + search_hash_ + "\n" + cookie};
  }

  const SourceConfig& config_;
  const LdapOptions options_;
  FieldSpellings fields_;                    // lower-cased field -> the mapping's spellings
  std::vector<std::string> attributes_;      // requested from the server
  std::vector<std::string> key_attributes_;  // what the record key needs
  std::string search_hash_;
  UuidIndex index_;
};

absl::Status ChangeHandler::OnEntry(Change change, std::string_view uuid, LdapEntry&& entry) {
  if (change == Change::kPresent) {
    index_.MarkPresent(uuid);
    return absl::OkStatus();
  }
  if (change == Change::kDelete) {
    gone_.push_back(index_.Remove(uuid));
    return absl::OkStatus();
  }
  absl::StatusOr<Record> r = connector_.ToRecord(entry);
  if (r.ok()) {
    std::string before = index_.Put(uuid, connector_.KeyOf(*r));
    if (!before.empty()) gone_.push_back(std::move(before));  // renamed
  } else {
    index_.MarkPresent(uuid);  // a malformed entry still exists: not gone, and its record is kept
  }
  if (sink_ == nullptr) return absl::OkStatus();
  connector_.Progress(++changed_, " changed entries", *sink_);
  return LdapConnector::Emit(entry.dn, r, *sink_);
}

absl::StatusOr<std::unique_ptr<Connector>> MakeLdap(const SourceConfig& c) {
  absl::StatusOr<LdapOptions> o = ParseLdapOptions(c);
  if (!o.ok()) return o.status();
  return std::make_unique<LdapConnector>(c, *std::move(o));
}

TESSERA_REGISTER_CONNECTOR(ldap, ConnectorKind{
                                     "ldap",
                                     "directory: people from an LDAP server, paged, with RFC 4533 "
                                     "incremental sync (input.uri, base_dn)",
                                     LdapMapping, MakeLdap});

}  // namespace

FieldSpellings LdapFields(const Mapping& m) {
  FieldSpellings fields;
  auto add = [&](const std::string& field) { fields[AsciiLower(field)].insert(field); };
  add(m.external_id);
  for (const auto& [name, field] : m.attributes) add(field);
  for (const auto& [type, field] : m.identifiers) add(field);
  for (const RelationSpec& r : m.relations) add(r.field);
  return fields;
}

absl::StatusOr<Record> LdapRecord(const LdapEntry& e, const FieldSpellings& fields) {
  Record r;
  r.locator = e.dn;
  auto values = [&](std::string_view lower) -> const std::vector<std::string>* {
    for (const auto& [name, vs] : e.attributes) {
      if (name == lower) return &vs;
    }
    return nullptr;
  };
  for (const auto& [lower, spellings] : fields) {
    std::vector<std::string> vs;
    if (lower == kDnField) {
      vs = {e.dn};
    } else if (lower == kDisplayNameField) {
      const std::vector<std::string>* names = values("displayname");
      if (names == nullptr || names->empty()) names = values("cn");
      if (names != nullptr && !names->empty()) vs = {names->front()};
    } else if (const std::vector<std::string>* found = values(lower); found != nullptr) {
      vs = *found;
    }
    if (absl::Status s = CheckUtf8Values(lower, vs); !s.ok()) return s;
    for (const std::string& s : spellings) r.fields[s] = vs;
  }
  return r;
}

}  // namespace tessera::connect
