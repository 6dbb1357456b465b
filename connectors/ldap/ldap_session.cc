#include "connectors/ldap/ldap_session.h"

#include "connectors/ldap/ldap_util.h"

namespace tessera::connect {

using ldap_internal::AttributeList;
using ldap_internal::Ber;
using ldap_internal::Controls;
using ldap_internal::Describe;
using ldap_internal::DescribeCall;
using ldap_internal::Msg;
using ldap_internal::ParseDone;
using ldap_internal::ScopeOf;
using ldap_internal::StatusOf;
using ldap_internal::ToEntry;
using ldap_internal::Tv;

LdapSession::~LdapSession() { ldap_unbind_ext(ld_, nullptr, nullptr); }

absl::StatusOr<std::unique_ptr<LdapSession>> LdapSession::Open(const LdapOptions& o) {
  LDAP* ld = nullptr;
  if (int rc = ldap_initialize(&ld, o.uri.c_str()); rc != LDAP_SUCCESS || ld == nullptr) {
    return absl::InvalidArgumentError(o.uri + ": not an LDAP URI: " + Describe(rc, nullptr));
  }
  std::unique_ptr<LdapSession> session(new LdapSession(o, ld));
  if (absl::Status s = session->Bind(); !s.ok()) return s;
  return session;
}

absl::Status LdapSession::Bind() {
  const std::string& uri = options_.uri;
  int version = LDAP_VERSION3;
  ldap_set_option(ld_, LDAP_OPT_PROTOCOL_VERSION, &version);
  ldap_set_option(ld_, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  const timeval tv = Tv(options_.timeout_ms);
  ldap_set_option(ld_, LDAP_OPT_NETWORK_TIMEOUT, &tv);
  ldap_set_option(ld_, LDAP_OPT_TIMEOUT, &tv);
  if (!options_.ca_file.empty()) {
    int demand = LDAP_OPT_X_TLS_DEMAND, fresh = 0;
    if (ldap_set_option(ld_, LDAP_OPT_X_TLS_CACERTFILE, options_.ca_file.c_str()) !=
            LDAP_OPT_SUCCESS ||
        ldap_set_option(ld_, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld_, LDAP_OPT_X_TLS_NEWCTX, &fresh) != LDAP_OPT_SUCCESS) {
      return absl::InvalidArgumentError(uri + ": cannot use ca_file '" + options_.ca_file + "'");
    }
  }
  auto unreachable = [&](int rc) {
    return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT;
  };
  if (options_.start_tls) {
    if (int rc = ldap_start_tls_s(ld_, nullptr, nullptr); rc != LDAP_SUCCESS) {
      return StatusOf(rc, (unreachable(rc) ? "cannot reach the LDAP server at " + uri
                                           : uri + ": StartTLS failed") +
                              ": " + DescribeCall(ld_, rc));
    }
  }
  std::string password = options_.password;
  berval cred{password.size(), password.data()};
  const char* who = options_.bind_dn.empty() ? nullptr : options_.bind_dn.c_str();
  const int rc = ldap_sasl_bind_s(ld_, who, LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
  if (rc == LDAP_SUCCESS) return absl::OkStatus();
  if (unreachable(rc)) {
    return absl::UnavailableError("cannot reach the LDAP server at " + uri + ": " +
                                  DescribeCall(ld_, rc));
  }
  const std::string as =
      options_.bind_dn.empty() ? "anonymous bind" : "bind as '" + options_.bind_dn + "'";
  std::string why = DescribeCall(ld_, rc);
  if ((rc == LDAP_STRONG_AUTH_REQUIRED || rc == LDAP_CONFIDENTIALITY_REQUIRED) &&
      uri.rfind("ldaps://", 0) != 0 && !options_.start_tls) {
    // Active Directory refuses simple binds in the clear ("Transport encryption required").
    why += " (the server requires transport encryption: use ldaps:// or start_tls)";
  }
  return absl::UnauthenticatedError(uri + ": " + as + " refused: " + why);
}

absl::StatusOr<bool> LdapSession::SupportsSync() {
  AttributeList attrs({"supportedControl"});
  LDAPMessage* raw = nullptr;
  timeval tv = Tv(options_.timeout_ms);
  const int rc = ldap_search_ext_s(ld_, "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs.get(), 0,
                                   nullptr, nullptr, &tv, 1, &raw);
  Msg res(raw);
  if (rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT) {
    return StatusOf(rc, options_.uri + ": reading the root DSE: " + DescribeCall(ld_, rc));
  }
  if (rc != LDAP_SUCCESS) return false;
  for (LDAPMessage* e = ldap_first_entry(ld_, raw); e != nullptr; e = ldap_next_entry(ld_, e)) {
    absl::StatusOr<LdapEntry> entry = ToEntry(ld_, e);
    if (!entry.ok()) continue;
    for (const auto& [name, values] : entry->attributes) {
      if (std::find(values.begin(), values.end(), LDAP_CONTROL_SYNC) != values.end()) return true;
    }
  }
  return false;
}

absl::Status LdapSession::PagedSearch(const std::string& filter,
                                      const std::vector<std::string>& attributes,
                                      const std::function<absl::Status(LdapEntry&&)>& fn) {
  SearchSpec spec;
  spec.base = options_.base_dn;
  spec.scope = options_.scope;
  spec.filter = filter;
  spec.attributes = attributes;
  return Search(spec, fn);
}

namespace {

// A control with a BER value built by `fill`; null on failure.
template <typename Fill>
LDAPControl* MakeControl(const char* oid, bool critical, Fill fill) {
  Ber ber(ber_alloc_t(LBER_USE_DER));
  if (!ber || fill(ber.get()) == -1) return nullptr;
  berval value{};
  if (ber_flatten2(ber.get(), &value, 0) == -1) return nullptr;
  LDAPControl* c = nullptr;
  ldap_control_create(oid, critical ? 1 : 0, &value, 1, &c);
  return c;
}

// The request controls of one search, freed together.
class ControlSet {
 public:
  ~ControlSet() {
    for (LDAPControl* c : controls_) {
      if (c != nullptr) ldap_control_free(c);
    }
  }
  bool Add(LDAPControl* c) {
    if (c == nullptr) return false;
    controls_.push_back(c);
    return true;
  }
  LDAPControl** get() {
    list_ = controls_;
    list_.push_back(nullptr);
    return list_.data();
  }

 private:
  std::vector<LDAPControl*> controls_, list_;
};

// Calls `fn` with each entry of a search's answer (references are skipped).
absl::Status EachEntry(LDAP* ld, LDAPMessage* raw, const std::string& where,
                       const std::function<absl::Status(LdapEntry&&)>& fn) {
  for (LDAPMessage* e = ldap_first_entry(ld, raw); e != nullptr; e = ldap_next_entry(ld, e)) {
    absl::StatusOr<LdapEntry> entry = ToEntry(ld, e);
    if (!entry.ok())
      return absl::DataLossError(where + ": " + std::string(entry.status().message()));
    if (absl::Status s = fn(*std::move(entry)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

constexpr char kExtendedDnOid[] = "1.2.840.113556.1.4.529";
constexpr char kShowDeletedOid[] = "1.2.840.113556.1.4.417";
constexpr char kDirSyncOid[] = "1.2.840.113556.1.4.841";

// The AD controls a search asks for (not the paging one).
bool AddAdControls(const SearchSpec& spec, ControlSet* set) {
  // Extended DN in its string form: SEQUENCE { INTEGER 1 }.
  if (spec.extended_dn && !set->Add(MakeControl(kExtendedDnOid, false, [](BerElement* b) {
        return ber_printf(b, "{i}", 1);
      }))) {
    return false;
  }
  if (spec.show_deleted) {
    LDAPControl* c = nullptr;
    if (ldap_control_create(kShowDeletedOid, 1, nullptr, 0, &c) != LDAP_SUCCESS) return false;
    set->Add(c);
  }
  return true;
}

}  // namespace

absl::Status LdapSession::Search(const SearchSpec& spec,
                                 const std::function<absl::Status(LdapEntry&&)>& fn) {
  AttributeList attrs(spec.attributes);
  berval cookie{0, nullptr};
  auto free_cookie = [&] {
    if (cookie.bv_val != nullptr) ber_memfree(cookie.bv_val);
    cookie = {0, nullptr};
  };
  const std::string where = options_.uri + ": search of '" + spec.base + "' with " + spec.filter;
  while (true) {
    ControlSet ctrls;
    if (!AddAdControls(spec, &ctrls)) {
      free_cookie();
      return absl::InternalError(where + ": cannot build the request controls");
    }
    if (spec.paged) {
      LDAPControl* page = nullptr;
      if (int rc = ldap_create_page_control(ld_, options_.page_size, &cookie, 0, &page);
          rc != LDAP_SUCCESS) {
        free_cookie();
        return StatusOf(rc, where + ": " + Describe(rc, nullptr));
      }
      ctrls.Add(page);
    }
    LDAPMessage* raw = nullptr;
    timeval tv = Tv(options_.timeout_ms);
    int rc = ldap_search_ext_s(ld_, spec.base.c_str(), ScopeOf(spec.scope), spec.filter.c_str(),
                               attrs.get(), 0, ctrls.get(), nullptr, &tv, LDAP_NO_LIMIT, &raw);
    Msg res(raw);
    free_cookie();
    if (raw == nullptr) return StatusOf(rc, where + ": " + DescribeCall(ld_, rc));
    if (absl::Status s = EachEntry(ld_, raw, where, fn); !s.ok()) return s;
    std::string why;
    Controls ctrl_list;
    rc = ParseDone(ld_, raw, &why, &ctrl_list);
    if (rc != LDAP_SUCCESS) {
      if (rc == LDAP_SIZELIMIT_EXCEEDED)
        why += " (raise the bind identity's size limit, or lower page_size)";
      return StatusOf(rc, where + ": " + why);
    }
    LDAPControl* response = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, ctrl_list.get(), nullptr);
    if (!spec.paged || response == nullptr) return absl::OkStatus();  // everything at once
    ber_int_t estimate = 0;
    if (int prc = ldap_parse_pageresponse_control(ld_, response, &estimate, &cookie);
        prc != LDAP_SUCCESS) {
      return StatusOf(prc, where + ": malformed paged-results response: " + Describe(prc, nullptr));
    }
    if (cookie.bv_len == 0) {
      free_cookie();
      return absl::OkStatus();
    }
  }
}

absl::StatusOr<std::optional<LdapEntry>> LdapSession::Lookup(const SearchSpec& spec) {
  SearchSpec one = spec;
  one.scope = LdapScope::kBase;
  one.paged = false;
  std::optional<LdapEntry> found;
  absl::Status s = Search(one, [&](LdapEntry&& e) {
    found = std::move(e);
    return absl::OkStatus();
  });
  if (s.code() == absl::StatusCode::kNotFound) return std::optional<LdapEntry>();
  if (!s.ok()) return s;
  return found;
}

absl::Status LdapSession::ReadRange(const std::string& base, const std::string& attribute,
                                    int64_t from, size_t limit, bool extended_dn,
                                    std::vector<std::string>* out) {
  SearchSpec spec;
  spec.base = base;
  spec.extended_dn = extended_dn;
  while (true) {
    spec.attributes = {attribute + ";range=" + std::to_string(from) + "-*"};
    absl::StatusOr<std::optional<LdapEntry>> e = Lookup(spec);
    if (!e.ok()) return e.status();
    if (!e->has_value()) {
      return absl::NotFoundError(options_.uri + ": '" + base + "' vanished while reading its " +
                                 attribute + " values");
    }
    const size_t before = out->size();
    if (const std::vector<std::string>* vs = (*e)->Values(attribute); vs != nullptr) {
      out->insert(out->end(), vs->begin(), vs->end());
    }
    if (out->size() > limit) {
      return absl::ResourceExhaustedError(options_.uri + ": '" + base + "' has more than " +
                                          std::to_string(limit) + " " + attribute + " values");
    }
    int64_t next = -1;
    for (const auto& [name, start] : (*e)->open_ranges) {
      if (name == attribute) next = start;
    }
    // The last range ("-*"), or a server that sent nothing new: done.
    if (next < 0 || out->size() == before) return absl::OkStatus();
    from = next;
  }
}

absl::StatusOr<std::string> LdapSession::DirSync(
    const std::string& base, const std::string& filter, const std::vector<std::string>& attributes,
    const std::string& cookie, const std::function<absl::Status(LdapEntry&&)>& fn) {
  AttributeList attrs(attributes);
  std::string current = cookie;
  const std::string where = options_.uri + ": DirSync of '" + base + "'";
  while (true) {
    // SEQUENCE { flags INTEGER, maxBytes INTEGER, cookie OCTET STRING }. Flags:
    // LDAP_DIRSYNC_INCREMENTAL_VALUES (0x80000000), so that a changed group sends the
    // member values added and removed, not all of them; no LDAP_DIRSYNC_OBJECT_SECURITY:
    // the caller needs "Replicating Directory Changes" rather than per-object checks.
    constexpr ber_int_t kIncrementalValues = static_cast<ber_int_t>(0x80000000u);
    berval bv{current.size(), current.data()};
    ControlSet ctrls;
    if (!ctrls.Add(MakeControl(kDirSyncOid, true, [&](BerElement* b) {
          return ber_printf(b, "{iiO}", kIncrementalValues, 1 << 20, &bv);
        }))) {
      return absl::InternalError(where + ": cannot build the DirSync control");
    }
    LDAPMessage* raw = nullptr;
    timeval tv = Tv(options_.timeout_ms);
    int rc = ldap_search_ext_s(ld_, base.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(), attrs.get(),
                               0, ctrls.get(), nullptr, &tv, LDAP_NO_LIMIT, &raw);
    Msg res(raw);
    if (raw == nullptr) return StatusOf(rc, where + ": " + DescribeCall(ld_, rc));
    if (absl::Status s = EachEntry(ld_, raw, where, fn); !s.ok()) return s;
    std::string why;
    Controls ctrl_list;
    rc = ParseDone(ld_, raw, &why, &ctrl_list);
    if (rc != LDAP_SUCCESS) {
      if (rc == LDAP_INSUFFICIENT_ACCESS) {
        why += " (DirSync needs the \"Replicating Directory Changes\" right on the domain)";
      }
      return StatusOf(rc, where + ": " + why);
    }
    LDAPControl* response = ldap_control_find(kDirSyncOid, ctrl_list.get(), nullptr);
    if (response == nullptr)
      return absl::DataLossError(where + ": no DirSync control in the answer");
    Ber ber(ber_init(&response->ldctl_value));
    ber_int_t more = 0, unused = 0;
    berval next{};
    if (!ber || ber_scanf(ber.get(), "{iim}", &more, &unused, &next) == LBER_ERROR) {
      return absl::DataLossError(where + ": malformed DirSync response control");
    }
    current.assign(next.bv_val == nullptr ? "" : next.bv_val, next.bv_len);
    if (more == 0) return current;
  }
}

}  // namespace tessera::connect
