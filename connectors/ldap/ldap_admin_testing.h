#pragma once

// An administrator's connection to a test directory (slapd, Samba AD DC), to change it
// as an admin's tools do while the connector tests watch. Errors throw, with the
// server's diagnostic message.

#include <ldap.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace tessera::testing {

class LdapAdmin {
 public:
  // Binds to `uri` as `bind_dn`; with `ca_file`, TLS certificates are checked against it.
  LdapAdmin(const std::string& uri, const std::string& bind_dn, std::string password,
            const std::string& ca_file = "") {
    Check(ldap_initialize(&ld_, uri.c_str()), "initialize " + uri);
    int version = LDAP_VERSION3;
    ldap_set_option(ld_, LDAP_OPT_PROTOCOL_VERSION, &version);
    if (!ca_file.empty()) {
      int demand = LDAP_OPT_X_TLS_DEMAND, fresh = 0;
      ldap_set_option(ld_, LDAP_OPT_X_TLS_CACERTFILE, ca_file.c_str());
      ldap_set_option(ld_, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
      ldap_set_option(ld_, LDAP_OPT_X_TLS_NEWCTX, &fresh);
    }
    berval cred{password.size(), password.data()};
    Check(
        ldap_sasl_bind_s(ld_, bind_dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr),
        "bind as " + bind_dn);
  }
  ~LdapAdmin() { ldap_unbind_ext(ld_, nullptr, nullptr); }
  LdapAdmin(const LdapAdmin&) = delete;
  LdapAdmin& operator=(const LdapAdmin&) = delete;

  using Attrs = std::map<std::string, std::vector<std::string>>;
  void Add(const std::string& dn, const Attrs& attrs) { Change(dn, attrs, LDAP_MOD_ADD, true); }
  void Replace(const std::string& dn, const Attrs& attrs) {
    Change(dn, attrs, LDAP_MOD_REPLACE, false);
  }
  void AddValues(const std::string& dn, const Attrs& attrs) {
    Change(dn, attrs, LDAP_MOD_ADD, false);
  }
  void DeleteValues(const std::string& dn, const Attrs& attrs) {
    Change(dn, attrs, LDAP_MOD_DELETE, false);
  }
  void Delete(const std::string& dn) {
    Check(ldap_delete_ext_s(ld_, dn.c_str(), nullptr, nullptr), "delete " + dn);
  }
  // New RDN `rdn`, under `parent` when given (a move).
  void Rename(const std::string& dn, const std::string& rdn, const std::string& parent = "") {
    Check(ldap_rename_s(ld_, dn.c_str(), rdn.c_str(), parent.empty() ? nullptr : parent.c_str(), 1,
                        nullptr, nullptr),
          "rename " + dn);
  }

 private:
  void Change(const std::string& dn, const Attrs& attrs, int op, bool add) {
    std::vector<LDAPMod> mods(attrs.size());
    std::vector<std::vector<char*>> values(attrs.size());
    std::vector<LDAPMod*> list;
    size_t i = 0;
    for (const auto& [name, vs] : attrs) {
      for (const std::string& v : vs) values[i].push_back(const_cast<char*>(v.c_str()));
      values[i].push_back(nullptr);
      mods[i].mod_op = op;
      mods[i].mod_type = const_cast<char*>(name.c_str());
      mods[i].mod_values = values[i].data();
      list.push_back(&mods[i++]);
    }
    list.push_back(nullptr);
    const int rc = add ? ldap_add_ext_s(ld_, dn.c_str(), list.data(), nullptr, nullptr)
                       : ldap_modify_ext_s(ld_, dn.c_str(), list.data(), nullptr, nullptr);
    Check(rc, (add ? "add " : "modify ") + dn);
  }
  void Check(int rc, const std::string& what) {
    if (rc == LDAP_SUCCESS) return;
    std::string msg = what + ": " + ldap_err2string(rc);
    char* diagnostic = nullptr;
    if (ld_ != nullptr) ldap_get_option(ld_, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diagnostic);
    if (diagnostic != nullptr) {
      if (*diagnostic != '\0') msg += std::string(" (") + diagnostic + ")";
      ldap_memfree(diagnostic);
    }
    throw std::runtime_error(msg);
  }

  LDAP* ld_ = nullptr;
};

}  // namespace tessera::testing
