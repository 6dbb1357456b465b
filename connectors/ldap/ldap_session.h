#pragma once

// A connection to an LDAP server through OpenLDAP's libldap: connect and bind, the
// root DSE, paged searches (RFC 2696), refreshOnly content synchronisation (RFC 4533),
// and Active Directory's controls (extended DN, show deleted, DirSync) and ranged
// attribute retrieval. <ldap.h> stays in the .cc. Every error names the server's URI.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/ldap/ldap_options.h"

struct ldap;  // <ldap.h>'s LDAP

namespace tessera::connect {

// An entry as the server sent it. Attribute names are lower-cased and their options
// (";lang-fr", ";binary", ";range=0-1499") dropped, the values of "cn" and
// "cn;lang-fr" together.
struct LdapEntry {
  std::string dn;
  std::vector<std::pair<std::string, std::vector<std::string>>> attributes;
  // Attributes the server sent only part of (Active Directory's ranged retrieval,
  // "member;range=0-1499"): the name and the index of the first value not yet sent.
  std::vector<std::pair<std::string, int64_t>> open_ranges;

  // The values of `lower`, null when absent.
  const std::vector<std::string>* Values(std::string_view lower) const {
    for (const auto& [name, vs] : attributes) {
      if (name == lower) return &vs;
    }
    return nullptr;
  }
};

// One search beyond the configured one (Active Directory's needs).
struct SearchSpec {
  std::string base;  // "" = the root DSE; "<GUID=...>" names an AD object
  LdapScope scope = LdapScope::kSub;
  std::string filter = "(objectClass=*)";
  std::vector<std::string> attributes;
  bool paged = true;          // RFC 2696, options.page_size a page
  bool extended_dn = false;   // AD: DNs as "<GUID=...>;<SID=...>;CN=..." (1.2.840.113556.1.4.529)
  bool show_deleted = false;  // AD: tombstones too (1.2.840.113556.1.4.417)
};

// What a refreshOnly search reports (RFC 4533 section 3.4). An error returned by a
// method abandons the search and is SyncRefresh's answer.
class SyncHandler {
 public:
  enum class Change { kPresent, kAdd, kModify, kDelete };

  virtual ~SyncHandler() = default;
  // An entry and its sync state. kAdd and kModify carry the requested attributes;
  // kPresent and kDelete only the DN. `uuid` is the entry's 16-byte entryUUID.
  [[nodiscard]] virtual absl::Status OnEntry(Change change, std::string_view uuid,
                                             LdapEntry&& entry) = 0;
  // A syncIdSet: the UUIDs of entries still present (`deleted` false) or deleted.
  [[nodiscard]] virtual absl::Status OnIdSet(bool deleted,
                                             const std::vector<std::string>& uuids) = 0;
};

struct SyncOutcome {
  // The server cannot resume from the cookie (e-syncRefreshRequired): read everything.
  bool refresh_required = false;
  // The server used the present phase: an entry the client knew that was neither
  // reported present nor changed is gone.
  bool present_phase = false;
  std::string cookie;  // where the next refresh resumes
};

// One bound connection. Thread-compatible.
class LdapSession {
 public:
  // Connects, optionally starts TLS, and binds (simple bind, or anonymous without a
  // bind DN). UNAVAILABLE when the server cannot be reached, UNAUTHENTICATED when the
  // bind is refused.
  static absl::StatusOr<std::unique_ptr<LdapSession>> Open(const LdapOptions& options);
  ~LdapSession();
  LdapSession(const LdapSession&) = delete;
  LdapSession& operator=(const LdapSession&) = delete;

  // Whether the root DSE lists the Content Synchronization control (the server runs
  // syncprov or equivalent). False when the root DSE cannot be read.
  absl::StatusOr<bool> SupportsSync();

  // Searches the configured base and scope with `filter`, page_size entries per
  // request, and calls `fn` with each entry as its page arrives. An `fn` error stops
  // the search and is returned.
  [[nodiscard]] absl::Status PagedSearch(const std::string& filter,
                                         const std::vector<std::string>& attributes,
                                         const std::function<absl::Status(LdapEntry&&)>& fn);
  // The same for any base, scope and controls. A base that does not exist is
  // NOT_FOUND. Search references (AD's referrals to other partitions) are skipped.
  [[nodiscard]] absl::Status Search(const SearchSpec& spec,
                                    const std::function<absl::Status(LdapEntry&&)>& fn);
  // The entry at `base` (scope base) if it matches `filter`; nullopt when it does not
  // or does not exist.
  absl::StatusOr<std::optional<LdapEntry>> Lookup(const SearchSpec& spec);
  // The rest of a ranged attribute of the entry at `base`: asks for
  // "<attribute>;range=<from>-*" until the server says it sent the last value, and
  // appends the values to `out`. At most `limit` values in all (RESOURCE_EXHAUSTED).
  [[nodiscard]] absl::Status ReadRange(const std::string& base, const std::string& attribute,
                                       int64_t from, size_t limit, bool extended_dn,
                                       std::vector<std::string>* out);

  // Active Directory's DirSync (1.2.840.113556.1.4.841) from `cookie` ("" = every
  // object) over the naming context `base`: calls `fn` with each object one of whose
  // `attributes` changed (those changed values; objectGUID always, isDeleted for a
  // deletion) and returns the cookie to resume from. PERMISSION_DENIED when the bind
  // identity lacks "Replicating Directory Changes".
  absl::StatusOr<std::string> DirSync(const std::string& base, const std::string& filter,
                                      const std::vector<std::string>& attributes,
                                      const std::string& cookie,
                                      const std::function<absl::Status(LdapEntry&&)>& fn);

  // A refreshOnly content synchronisation of the configured base, scope and filter
  // from `cookie` ("" = the initial content: every entry, as kAdd). UNIMPLEMENTED when
  // the server does not offer it for this base.
  absl::StatusOr<SyncOutcome> SyncRefresh(const std::string& cookie,
                                          const std::vector<std::string>& attributes,
                                          SyncHandler& handler);

 private:
  LdapSession(const LdapOptions& options, ::ldap* ld) : options_(options), ld_(ld) {}
  [[nodiscard]] absl::Status Bind();

  const LdapOptions options_;
  ::ldap* ld_;
};

}  // namespace tessera::connect
