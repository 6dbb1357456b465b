#pragma once

// Private to connectors/ldap: what ldap_session.cc and ldap_sync.cc share over
// OpenLDAP's <ldap.h> (kept out of ldap_session.h).

#include <ldap.h>
#include <sys/time.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/common/record.h"
#include "connectors/ldap/ldap_session.h"

namespace tessera::connect::ldap_internal {

inline timeval Tv(int64_t ms) {
  return {static_cast<time_t>(ms / 1000), static_cast<suseconds_t>(ms % 1000 * 1000)};
}

inline int ScopeOf(LdapScope s) {
  switch (s) {
    case LdapScope::kBase:
      return LDAP_SCOPE_BASE;
    case LdapScope::kOne:
      return LDAP_SCOPE_ONELEVEL;
    case LdapScope::kSub:
      return LDAP_SCOPE_SUBTREE;
  }
  return LDAP_SCOPE_SUBTREE;
}

// "Invalid credentials (49): <the server's diagnostic message>".
inline std::string Describe(int rc, const char* diagnostic) {
  std::string s = std::string(ldap_err2string(rc)) + " (" + std::to_string(rc) + ")";
  if (diagnostic != nullptr && *diagnostic != '\0') s += ": " + std::string(diagnostic);
  return s;
}

// The error of a call that returned `rc`, with the session's diagnostic message.
inline std::string DescribeCall(LDAP* ld, int rc) {
  char* diagnostic = nullptr;
  ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diagnostic);
  std::string s = Describe(rc, diagnostic);
  if (diagnostic != nullptr) ldap_memfree(diagnostic);
  return s;
}

[[nodiscard]] inline absl::Status StatusOf(int rc, const std::string& message) {
  switch (rc) {
    case LDAP_SERVER_DOWN:
    case LDAP_CONNECT_ERROR:
    case LDAP_UNAVAILABLE:
    case LDAP_BUSY:
      return absl::UnavailableError(message);
    case LDAP_TIMEOUT:
    case LDAP_TIMELIMIT_EXCEEDED:
      return absl::DeadlineExceededError(message);
    case LDAP_UNAVAILABLE_CRITICAL_EXTENSION:
      return absl::UnimplementedError(message);
    case LDAP_INVALID_CREDENTIALS:
    case LDAP_INAPPROPRIATE_AUTH:
    case LDAP_STRONG_AUTH_REQUIRED:
      return absl::UnauthenticatedError(message);
    case LDAP_INSUFFICIENT_ACCESS:
      return absl::PermissionDeniedError(message);
    case LDAP_NO_SUCH_OBJECT:
      return absl::NotFoundError(message);
    default:
      return absl::FailedPreconditionError(message);
  }
}

// Frees what libldap allocated, whichever way a function returns.
struct MsgFree {
  void operator()(LDAPMessage* m) const { ldap_msgfree(m); }
};
using Msg = std::unique_ptr<LDAPMessage, MsgFree>;
struct BerFree {
  void operator()(BerElement* b) const { ber_free(b, 1); }
};
using Ber = std::unique_ptr<BerElement, BerFree>;
struct ControlsFree {
  void operator()(LDAPControl** c) const { ldap_controls_free(c); }
};
using Controls = std::unique_ptr<LDAPControl*, ControlsFree>;

// A NULL-terminated attribute list for libldap; {"1.1"} asks for none.
class AttributeList {
 public:
  explicit AttributeList(const std::vector<std::string>& names) : names_(names) {
    if (names_.empty()) names_.emplace_back(LDAP_NO_ATTRS);
    for (std::string& n : names_) ptrs_.push_back(n.data());
    ptrs_.push_back(nullptr);
  }
  char** get() { return ptrs_.data(); }

 private:
  std::vector<std::string> names_;
  std::vector<char*> ptrs_;
};

inline absl::StatusOr<LdapEntry> ToEntry(LDAP* ld, LDAPMessage* e) {
  LdapEntry out;
  char* dn = ldap_get_dn(ld, e);
  if (dn == nullptr) return absl::DataLossError("an entry without a DN");
  out.dn = dn;
  ldap_memfree(dn);
  BerElement* ber = nullptr;
  for (char* a = ldap_first_attribute(ld, e, &ber); a != nullptr;
       a = ldap_next_attribute(ld, e, ber)) {
    std::string name = AsciiLower(a);
    const size_t semicolon = name.find(';');
    if (semicolon != std::string::npos) {
      // "member;range=0-1499": more values follow from 1500; "member;range=1500-*" is the end.
      const size_t r = name.find(";range=", semicolon);
      const size_t dash = r == std::string::npos ? r : name.find('-', r);
      if (dash != std::string::npos && name.compare(dash + 1, 1, "*") != 0) {
        const int64_t last = std::strtoll(name.c_str() + dash + 1, nullptr, 10);
        out.open_ranges.emplace_back(name.substr(0, semicolon), last + 1);
      }
      name.resize(semicolon);
    }
    berval** values = ldap_get_values_len(ld, e, a);
    ldap_memfree(a);
    auto it = std::find_if(out.attributes.begin(), out.attributes.end(),
                           [&](const auto& p) { return p.first == name; });
    if (it == out.attributes.end()) {
      out.attributes.emplace_back(std::move(name), std::vector<std::string>());
      it = out.attributes.end() - 1;
    }
    for (berval** v = values; v != nullptr && *v != nullptr; ++v) {
      it->second.emplace_back((*v)->bv_val, (*v)->bv_len);
    }
    if (values != nullptr) ldap_value_free_len(values);
  }
  if (ber != nullptr) ber_free(ber, 0);
  return out;
}

// A searchResultDone: its code and diagnostic, and its controls in `*controls`.
inline int ParseDone(LDAP* ld, LDAPMessage* msg, std::string* why, Controls* controls) {
  int err = LDAP_OTHER;
  char* diagnostic = nullptr;
  LDAPControl** ctrls = nullptr;
  const int rc = ldap_parse_result(ld, msg, &err, nullptr, &diagnostic, nullptr, &ctrls, 0);
  if (rc != LDAP_SUCCESS) err = rc;
  *why = Describe(err, diagnostic);
  if (diagnostic != nullptr) ldap_memfree(diagnostic);
  controls->reset(ctrls);
  return err;
}

}  // namespace tessera::connect::ldap_internal
