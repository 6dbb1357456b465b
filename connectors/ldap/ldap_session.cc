#include "connectors/ldap/ldap_session.h"

#include "connectors/ldap/ldap_util.h"

namespace tessera::connect {

using ldap_internal::AttributeList;
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
  return absl::UnauthenticatedError(uri + ": " + as + " refused: " + DescribeCall(ld_, rc));
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
  AttributeList attrs(attributes);
  berval cookie{0, nullptr};
  auto free_cookie = [&] {
    if (cookie.bv_val != nullptr) ber_memfree(cookie.bv_val);
    cookie = {0, nullptr};
  };
  const std::string where = options_.uri + ": search of '" + options_.base_dn + "' with " + filter;
  while (true) {
    LDAPControl* page = nullptr;
    if (int rc = ldap_create_page_control(ld_, options_.page_size, &cookie, 0, &page);
        rc != LDAP_SUCCESS) {
      free_cookie();
      return StatusOf(rc, where + ": " + Describe(rc, nullptr));
    }
    LDAPControl* ctrls[] = {page, nullptr};
    LDAPMessage* raw = nullptr;
    timeval tv = Tv(options_.timeout_ms);
    int rc =
        ldap_search_ext_s(ld_, options_.base_dn.c_str(), ScopeOf(options_.scope), filter.c_str(),
                          attrs.get(), 0, ctrls, nullptr, &tv, LDAP_NO_LIMIT, &raw);
    ldap_control_free(page);
    Msg res(raw);
    free_cookie();
    if (raw == nullptr) return StatusOf(rc, where + ": " + DescribeCall(ld_, rc));
    for (LDAPMessage* e = ldap_first_entry(ld_, raw); e != nullptr; e = ldap_next_entry(ld_, e)) {
      absl::StatusOr<LdapEntry> entry = ToEntry(ld_, e);
      if (!entry.ok())
        return absl::DataLossError(where + ": " + std::string(entry.status().message()));
      if (absl::Status s = fn(*std::move(entry)); !s.ok()) return s;
    }
    std::string why;
    Controls ctrl_list;
    rc = ParseDone(ld_, raw, &why, &ctrl_list);
    if (rc != LDAP_SUCCESS) {
      if (rc == LDAP_SIZELIMIT_EXCEEDED)
        why += " (raise the bind identity's size limit, or lower page_size)";
      return StatusOf(rc, where + ": " + why);
    }
    LDAPControl* response = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, ctrl_list.get(), nullptr);
    if (response == nullptr) return absl::OkStatus();  // the server returned everything at once
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

}  // namespace tessera::connect
