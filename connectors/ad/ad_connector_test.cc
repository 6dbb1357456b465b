// The AD connector against a real Samba AD domain controller and a real tesserad:
// a full sync of users and groups (the AD mapping, a group of 1,600 members read in
// ranges, AD's page size under a larger page_size), incremental runs by DirSync and by
// uSNChanged (rename and move, disable and re-enable, an expiry in the past, a
// deletion, members added and removed, nothing changed), the sample organisation
// loaded into AD against the same from slapd, and clear errors.
//
// One DC serves every case (provisioning takes ~10 s); each case works in its own OU.

#define BOOST_TEST_MODULE ad_connector
#include <ldap.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "absl/strings/escaping.h"
#include "connectors/ad/samba_testing.h"
#include "connectors/common/connector_testing.h"
#include "connectors/common/record.h"
#include "connectors/ldap/ldap_admin_testing.h"
#include "connectors/ldap/slapd_testing.h"

using tessera::testing::ConnectorFixture;
using tessera::testing::SambaAdDc;
using tessera::testing::SlapdProcess;
using tessera::testing::TempDir;

namespace {

constexpr char kBase[] = "DC=lumen,DC=example";

// The DC, started once for the module.
struct DomainController {
  DomainController() : dc(tmp.Sub("dc")) { dc.Start(); }
  TempDir tmp;
  SambaAdDc dc;
};
DomainController* g_dc = nullptr;
struct DcSetup {
  DcSetup() { g_dc = new DomainController(); }
  ~DcSetup() { delete g_dc; }
};
BOOST_TEST_GLOBAL_FIXTURE(DcSetup);
SambaAdDc& Dc() { return g_dc->dc; }

// An administrator's LDAPS connection to the DC, to change the directory as an AD
// admin's tools do.
class Admin : public tessera::testing::LdapAdmin {
 public:
  Admin()
      : LdapAdmin(Dc().ldaps_uri(), SambaAdDc::kAdminDn, SambaAdDc::kAdminPassword,
                  Dc().ca_file()) {}

  void Ou(const std::string& dn) { Add(dn, {{"objectClass", {"organizationalUnit"}}}); }
  // A user who may log in without a password (the test domain allows it).
  void User(const std::string& dn, const std::string& sam, Attrs attrs) {
    attrs["objectClass"] = {"user"};
    attrs["sAMAccountName"] = {sam};
    attrs.emplace("userAccountControl", std::vector<std::string>{"544"});  // enabled, no password
    Add(dn, attrs);
  }
  void Group(const std::string& dn, const std::string& sam,
             const std::vector<std::string>& members) {
    Attrs attrs = {{"objectClass", {"group"}}, {"sAMAccountName", {sam}}};
    if (!members.empty()) attrs["member"] = members;
    Add(dn, attrs);
  }
};

// Adds the entries of `ldif` in one transaction (samba_bulk.py); fast for many.
void BulkAdd(const std::string& path) {
  const std::string script = std::string(TESSERA_SOURCE_DIR) + "/connectors/ad/samba_bulk.py";
  const std::string log = path + ".log";
  if (SlapdProcess::Run({"/usr/bin/python3", script, Dc().config(), path}, log) != 0) {
    throw std::runtime_error("samba_bulk.py failed:\n" + SlapdProcess::ReadFile(log));
  }
}

std::string AsciiLowerCopy(const std::string& s) { return tessera::connect::AsciiLower(s); }

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Today in UTC, as end_date writes it.
std::string Today() {
  const time_t now = time(nullptr);
  tm parts{};
  gmtime_r(&now, &parts);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &parts);
  return buf;
}

// tesserad, and a configuration for the AD source over one OU of the DC.
struct AdFixture : ConnectorFixture {
  std::string Config(const std::string& ou, const std::string& input = "") {
    return Write("ad.json",
                 R"({"source": {"id": "ad", "kind": "ad", "priority": 80}, "input": {"uri": ")" +
                     Dc().ldaps_uri() + R"(", "ca_file": ")" + Dc().ca_file() +
                     R"(", "bind_dn": ")" + SambaAdDc::kAdminDn + R"(", "password": ")" +
                     SambaAdDc::kAdminPassword + R"(", "base_dn": ")" + ou + "\"" + input + "}}");
  }
  std::string IdentifierOf(const std::string& identifier, const std::string& type) {
    auto p = Get(identifier);
    if (!p.ok()) return "<" + p.status().ToString() + ">";
    std::string out;
    for (const auto& i : p->identifiers()) {
      if (i.type() == type) out += (out.empty() ? "" : " ") + i.value();
    }
    return out;
  }
  // The display names at the other end of `from`'s relations of `type`, sorted.
  std::vector<std::string> Others(const std::string& from, const std::string& type) {
    std::vector<std::string> out;
    auto r = Out(from, type);
    if (!r.ok()) return {"<" + r.status().ToString() + ">"};
    for (const auto& e : r->edges()) {
      out.push_back(e.profile_id() == 0 ? "?" + e.target().value() : e.other().display_name());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(full_sync_maps_users_and_groups_and_reads_large_groups_in_ranges,
                        AdFixture) {
  Admin admin;
  const std::string ou = std::string("OU=Full,") + kBase;
  admin.Ou(ou);
  const std::string ann = "CN=Ann Martin," + ou, bob = "CN=Bob Leroy," + ou;
  admin.User(
      ann, "annm",
      {{"displayName", {"Ann Martin"}},
       {"givenName", {"Ann"}},
       {"sn", {"Martin"}},
       {"userPrincipalName", {"ann.martin@lumen.example"}},
       {"mail", {"Ann.Martin@Lumen.example"}},
       {"proxyAddresses",
        {"SMTP:Ann.Martin@Lumen.example", "smtp:amartin@old.example", "X500:/o=Lumen/cn=amartin"}},
       {"employeeID", {"E1001"}},
       {"employeeNumber", {"9999"}},
       {"telephoneNumber", {"+33 1 42 68 53 00"}},
       {"mobile", {"+33 6 12 34 56 78"}},
       {"title", {"Head of Payments"}},
       {"department", {"Payments"}},
       {"company", {"Banque Lumen"}},
       {"physicalDeliveryOfficeName", {"Paris"}}});
  admin.User(bob, "bobleroy",
             {{"givenName", {"Bob"}},
              {"sn", {"Leroy"}},
              {"employeeNumber", {"E1002"}},
              {"manager", {ann}}});
  admin.Group("CN=Payments," + ou, "payments", {ann, bob});
  // 1,600 members: more than one range (AD sends 1,500 values at a time).
  std::ostringstream ldif;
  std::vector<std::string> many;
  for (int i = 0; i < 1600; ++i) {
    const std::string dn = "CN=member" + std::to_string(i) + "," + ou;
    ldif << "dn: " << dn << "\nobjectClass: user\nsAMAccountName: member" << i
         << "\nuserAccountControl: 544\nmail: member" << i << "@lumen.example\n\n";
    many.push_back(dn);
  }
  ldif << "dn: CN=Everyone Full," << ou << "\nobjectClass: group\nsAMAccountName: everyone-full\n";
  for (const std::string& dn : many) ldif << "member: " << dn << "\n";
  BulkAdd(Write("many.ldif", ldif.str()));

  // A page size above AD's MaxPageSize (1,000): the server's pages are followed.
  const std::string config = Config(ou, R"(, "page_size": 5000)");
  auto r = Connect("--config " + config);
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(Has(r.out, "ad full sync ok: read 1604, added 1604"), r.out);  // 1,602 users, 2 groups

  BOOST_TEST(AttrOf("email:ann.martin@lumen.example", "display_name") == "Ann Martin");
  BOOST_TEST(AttrOf("email:amartin@old.example", "title") == "Head of Payments");  // an alias
  BOOST_TEST(AttrOf("employee_id:E1001", "team") == "Payments");
  BOOST_TEST(AttrOf("employee_id:E1001", "company") == "Banque Lumen");
  BOOST_TEST(AttrOf("employee_id:E1001", "location") == "Paris");
  BOOST_TEST(AttrOf("employee_id:E1001", "uid") == "annm");
  BOOST_TEST(AttrOf("phone:+33612345678", "family_name") == "Martin");
  BOOST_TEST(AttrOf("upn:ann.martin@lumen.example", "given_name") == "Ann");
  BOOST_TEST(AttrOf("employee_id:E1001", "end_date") == "");
  // No UPN: AD's implicit one; no employeeID: employeeNumber.
  BOOST_TEST(AttrOf("upn:bobleroy@lumen.example", "display_name") == "Bob Leroy");  // from cn
  BOOST_TEST(IdOf("employee_id:E1002") == IdOf("upn:bobleroy@lumen.example"));
  BOOST_TEST(IdOf("employee_id:9999") == 0u);
  // The objectGUID is an identifier, in its canonical form.
  const std::string guid = IdentifierOf("employee_id:E1001", "ad_guid");
  BOOST_TEST(guid.size() == 36u, guid);
  BOOST_TEST(IdOf("ad_guid:{" + guid + "}") == IdOf("employee_id:E1001"));
  BOOST_TEST(Fragment("ad", guid).external_id() == guid);
  // The manager by GUID; groups are teams.
  BOOST_TEST(Others("employee_id:E1002", "reports_to") == std::vector<std::string>{"Ann Martin"});
  BOOST_TEST(Others("employee_id:E1001", "member_of") == std::vector<std::string>{"Payments"});
  BOOST_TEST(Others("email:member1599@lumen.example", "member_of") ==
             std::vector<std::string>{"Everyone Full"});
  BOOST_TEST(Fragment("ad", IdentifierOf("email:member0@lumen.example", "ad_guid")).kind() ==
             "employee");

  // A member past the first range leaves: the group's whole member list was known, so
  // the incremental run sees who changed and reads them again.
  admin.DeleteValues("CN=Everyone Full," + ou, {{"member", {many[1550]}}});
  r = Connect("--config " + config + " --incremental");
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(Has(r.out, "ad incremental sync ok: read 2, added 0, updated 1, unchanged 1"),
             r.out);  // the member; the group
  BOOST_TEST(Others("email:member1550@lumen.example", "member_of").empty());
  BOOST_TEST(Others("email:member1549@lumen.example", "member_of") ==
             std::vector<std::string>{"Everyone Full"});
}

const char* const kTracking[] = {"dirsync", "usn"};

BOOST_DATA_TEST_CASE_F(AdFixture, incremental_runs_follow_renames_leavers_deletions_and_groups,
                       boost::unit_test::data::make(kTracking), tracking) {
  Admin admin;
  const std::string t = tracking;
  const std::string ou = "OU=Inc-" + t + "," + kBase;
  admin.Ou(ou);
  admin.Ou("OU=Moved," + ou);
  auto dn = [&](const std::string& cn) { return "CN=" + cn + "," + ou; };
  auto mail = [&](const std::string& who) { return "email:" + who + "-" + t + "@lumen.example"; };
  for (const char* who : {"carl", "dora", "eve", "fred"}) {
    admin.User(dn(who), std::string(who) + "-" + t,
               {{"mail", {std::string(who) + "-" + t + "@lumen.example"}}, {"displayName", {who}}});
  }
  admin.Group(dn("Team"), "team-" + t, {dn("carl")});
  const std::string config = Config(ou, R"(, "change_tracking": ")" + t + "\"");
  auto r = Connect("--config " + config);
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(Has(r.out, "ad full sync ok: read 5, added 5"), r.out);
  const uint64_t carl = IdOf(mail("carl"));
  BOOST_REQUIRE(carl != 0u);

  // Nothing changed in this OU: nothing is sent.
  r = Connect("--config " + config + " --incremental");
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(
      Has(r.out, "ad incremental sync ok: read 0, added 0, updated 0, unchanged 0, deleted 0"),
      r.out);

  // Carl is renamed and moved; Dora is disabled; Eve's account expired; Fred is
  // deleted; Dora joins the team and Carl leaves it.
  admin.Rename(dn("carl"), "CN=Carl Renamed", "OU=Moved," + ou);
  Dc().Tool({"user", "disable", "dora-" + t});
  admin.Replace(dn("eve"), {{"accountExpires", {"132249024000000000"}}});  // 2020-01-31
  Dc().Tool({"user", "delete", "fred-" + t});
  admin.AddValues(dn("Team"), {{"member", {dn("dora")}}});
  admin.DeleteValues(dn("Team"), {{"member", {"CN=Carl Renamed,OU=Moved," + ou}}});
  r = Connect("--config " + config + " --incremental");
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(Has(r.out, "deleted 1"), r.out);
  BOOST_TEST(IdOf(mail("carl")) == carl);  // same person, new DN
  BOOST_TEST(IdentifierOf(mail("carl"), "ldap_dn") ==
             "cn=carl renamed,ou=moved,ou=inc-" + t + ",dc=lumen,dc=example");
  BOOST_TEST(AttrOf(mail("dora"), "end_date") == Today());
  BOOST_TEST(AttrOf(mail("eve"), "end_date") == "2020-01-31");
  BOOST_TEST(Missing(mail("fred")));
  BOOST_TEST(Others(mail("dora"), "member_of") == std::vector<std::string>{"Team"});
  BOOST_TEST(Others(mail("carl"), "member_of").empty());

  // Dora comes back; Eve's expiry is cleared (never).
  Dc().Tool({"user", "enable", "dora-" + t});
  admin.Replace(dn("eve"), {{"accountExpires", {"9223372036854775807"}}});
  r = Connect("--config " + config + " --incremental");
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(AttrOf(mail("dora"), "end_date") == "");
  BOOST_TEST(AttrOf(mail("eve"), "end_date") == "");

  // Again nothing: nothing sent.
  r = Connect("--config " + config + " --incremental");
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(Has(r.out, "read 0, added 0, updated 0, unchanged 0, deleted 0"), r.out);

  // A full run agrees with the incremental ones: nothing to change.
  r = Connect("--config " + config);
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(Has(r.out, "read 4, added 0, updated 0, unchanged 4, deleted 0"), r.out);
}

BOOST_FIXTURE_TEST_CASE(leaver_rule_is_configurable, AdFixture) {
  Admin admin;
  const std::string ou = std::string("OU=Rule,") + kBase;
  admin.Ou(ou);
  admin.User("CN=Gil," + ou, "gil",
             {{"mail", {"gil@lumen.example"}}, {"userAccountControl", {"546"}}});
  auto r = Connect("--config " + Config(ou, R"(, "left_when": ["expired"])"));
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(AttrOf("email:gil@lumen.example", "end_date") == "");  // disabled, not a leaver
  r = Connect("--config " + Config(ou));
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(AttrOf("email:gil@lumen.example", "end_date") == Today(), r.out);
}

BOOST_FIXTURE_TEST_CASE(errors_say_what_to_do, AdFixture) {
  // A plain simple bind is refused by AD: the message says how to fix it.
  std::string config =
      Write("plain.json", R"({"source": {"id": "ad", "kind": "ad"}, "input": {"uri": ")" +
                              Dc().ldap_uri() + R"(", "bind_dn": ")" + SambaAdDc::kAdminDn +
                              R"(", "password": "x", "base_dn": ")" + kBase + R"("}})");
  auto r = Connect("--config " + config);
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(Has(r.err, "use ldaps:// or start_tls"), r.err);
  // StartTLS with the CA works.
  config = Write("starttls.json", R"({"source": {"id": "ad", "kind": "ad"}, "input": {"uri": ")" +
                                      Dc().ldap_uri() + R"(", "start_tls": true, "ca_file": ")" +
                                      Dc().ca_file() + R"(", "bind_dn": ")" + SambaAdDc::kAdminDn +
                                      R"(", "password": ")" + SambaAdDc::kAdminPassword +
                                      R"(", "base_dn": "OU=Nobody,)" + kBase + R"("}})");
  r = Connect("--config " + config + " --allow-empty");
  BOOST_TEST(Has(r.err, "OU=Nobody"), r.err);  // the base does not exist: named
  BOOST_TEST(r.exit == 1);
  // Wrong password; unknown key.
  config = Write("bad.json", R"({"source": {"id": "ad", "kind": "ad"}, "input": {"uri": ")" +
                                 Dc().ldaps_uri() + R"(", "ca_file": ")" + Dc().ca_file() +
                                 R"(", "bind_dn": ")" + SambaAdDc::kAdminDn +
                                 R"(", "password": "wrong", "base_dn": ")" + kBase + R"("}})");
  r = Connect("--config " + config);
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(Has(r.err, "refused"), r.err);
  config = Write("key.json", R"({"source": {"id": "ad", "kind": "ad"}, "input": {"uri": ")" +
                                 Dc().ldaps_uri() + R"(", "base_dn": ")" + kBase +
                                 R"(", "left_when": ["fired"]}})");
  r = Connect("--config " + config);
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(Has(r.err, "\"input.left_when\": '\"fired\"' is not \"disabled\" or \"expired\""),
             r.err);
}

// The sample organisation's LDIF as entries: DN and attributes (base64 values decoded).
using Entry = std::pair<std::string, std::map<std::string, std::vector<std::string>>>;
std::vector<Entry> ParseLdif(const std::string& text) {
  std::vector<Entry> out;
  std::istringstream in(text);
  std::string line;
  Entry e;
  auto flush = [&] {
    if (!e.first.empty()) out.push_back(std::move(e));
    e = Entry();
  };
  while (std::getline(in, line)) {
    if (line.empty()) {
      flush();
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos || line[0] == '#') continue;
    std::string name = line.substr(0, colon), value;
    if (line.compare(colon, 2, "::") == 0) {
      if (!absl::Base64Unescape(std::string(tessera::connect::Trim(line.substr(colon + 2))),
                                &value)) {
        throw std::runtime_error("bad base64 in: " + line);
      }
    } else {
      value = std::string(tessera::connect::Trim(line.substr(colon + 1)));
    }
    if (name == "dn") {
      e.first = value;
    } else {
      e.second[name].push_back(value);
    }
  }
  flush();
  return out;
}

// What a profile says that does not depend on the directory's own ids (DNs, GUIDs,
// AD's implicit UPN): names, title, team, e-mails, phones, employee id, manager's name,
// groups' names.
std::string Summary(AdFixture& f, const std::string& email) {
  auto p = f.Get("email:" + email);
  if (!p.ok()) return "<" + p.status().ToString() + ">";
  std::string out;
  for (const char* a : {"display_name", "given_name", "family_name", "title", "team", "uid"}) {
    out += std::string(a) + "=" + AdFixture::Attr(*p, a) + "\n";
  }
  std::vector<std::string> ids;
  for (const auto& i : p->identifiers()) {
    if (i.type() == "email" || i.type() == "phone" || i.type() == "employee_id") {
      ids.push_back(i.type() + ":" + i.value());
    }
  }
  std::sort(ids.begin(), ids.end());
  for (const std::string& i : ids) out += i + "\n";
  for (const std::string& m : f.Others("email:" + email, "reports_to"))
    out += "manager=" + m + "\n";
  for (std::string g : f.Others("email:" + email, "member_of")) {
    // slapd's groups are not read (an edge to "cn=cards,ou=groups,..."); AD's are teams.
    if (g.rfind("?cn=", 0) == 0) g = g.substr(4, g.find(',') - 4);
    out += "group=" + g + "\n";
  }
  return out;
}

BOOST_AUTO_TEST_CASE(sample_organisation_from_ad_equals_the_same_from_slapd) {
  const std::vector<Entry> sample = ParseLdif(
      SlapdProcess::ReadFile(std::string(TESSERA_SOURCE_DIR) + "/tests/data/sample/ldap.ldif"));
  BOOST_REQUIRE(sample.size() > 30u);
  const std::string suffix = "dc=banque-lumen,dc=example";

  // slapd's copy, under the test server's suffix.
  AdFixture from_ldap;
  std::string ldif =
      SlapdProcess::ReadFile(std::string(TESSERA_SOURCE_DIR) + "/tests/data/sample/ldap.ldif");
  for (size_t at; (at = ldif.find(suffix)) != std::string::npos;) {
    ldif.replace(at, suffix.size(), SlapdProcess::kSuffix);
  }
  ldif.replace(ldif.find("dc: banque-lumen"), 16, "dc: example");
  // Groups are added once slapd runs, so that its memberof overlay writes memberOf
  // (slapadd bypasses overlays), as an administrator adding them would.
  std::string people, groups;
  for (size_t start = 0; start < ldif.size();) {
    size_t end = ldif.find("\n\n", start);
    end = end == std::string::npos ? ldif.size() : end + 2;
    const std::string block = ldif.substr(start, end - start);
    (block.find("groupOfNames") != std::string::npos ? groups : people) += block;
    start = end;
  }
  SlapdProcess slapd(from_ldap.tmp.Sub("slapd"));
  slapd.Load(from_ldap.Write("people.ldif", people));
  slapd.Start();
  BOOST_REQUIRE(SlapdProcess::Run(
                    {"/usr/bin/ldapadd", "-x", "-H", slapd.uri(), "-D", SlapdProcess::kRootDn, "-w",
                     SlapdProcess::kRootPassword, "-f", from_ldap.Write("groups.ldif", groups)},
                    from_ldap.tmp.Sub("ldapadd.log")) == 0);
  auto r = from_ldap.Connect(
      "--config " +
      from_ldap.Write("ldap.json",
                      R"({"source": {"id": "ldap", "kind": "ldap"}, "input": {"uri": ")" +
                          slapd.uri() + R"(", "bind_dn": ")" + SlapdProcess::kRootDn +
                          R"(", "password": ")" + SlapdProcess::kRootPassword +
                          R"(", "base_dn": ")" + SlapdProcess::kSuffix + R"("}})"));
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);

  // AD's copy, made as an AD admin would: users (ou as department, uid as
  // sAMAccountName), then managers, then groups.
  Admin admin;
  const std::string ou = std::string("OU=Sample,") + kBase;
  admin.Ou(ou);
  admin.Ou("OU=People," + ou);
  admin.Ou("OU=Groups," + ou);
  std::map<std::string, std::string> ad_dn;  // sample DN -> AD DN
  for (const auto& [dn, attrs] : sample) {
    const auto cn = attrs.find("cn");
    if (cn == attrs.end()) continue;
    const bool person = dn.rfind("uid=", 0) == 0;
    ad_dn[dn] = "CN=" + cn->second.front() + ",OU=" + (person ? "People," : "Groups,") + ou;
  }
  std::vector<std::string> emails;
  for (const auto& [dn, attrs] : sample) {
    if (dn.rfind("uid=", 0) != 0) continue;
    Admin::Attrs a;
    for (const auto& [name, values] : attrs) {
      if (name == "objectClass" || name == "uid" || name == "manager") continue;
      a[name == "ou" ? "department" : name] = values;
    }
    admin.User(ad_dn[dn], attrs.at("uid").front(), a);
    emails.push_back(attrs.at("mail").front());
  }
  for (const auto& [dn, attrs] : sample) {
    if (const auto m = attrs.find("manager"); m != attrs.end()) {
      admin.Replace(ad_dn[dn], {{"manager", {ad_dn.at(m->second.front())}}});
    }
  }
  for (const auto& [dn, attrs] : sample) {
    const auto members = attrs.find("member");
    if (members == attrs.end()) continue;
    std::vector<std::string> ad_members;
    for (const std::string& m : members->second) ad_members.push_back(ad_dn.at(m));
    admin.Group(ad_dn[dn], "sample-" + attrs.at("cn").front(), ad_members);
  }
  AdFixture from_ad;
  r = from_ad.Connect("--config " + from_ad.Config(ou));
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);

  BOOST_REQUIRE(emails.size() == 30u);
  for (const std::string& email : emails) {
    const std::string want = Summary(from_ldap, AsciiLowerCopy(email));
    BOOST_TEST_INFO(email);
    BOOST_TEST(want.find('<') == std::string::npos, want);
    BOOST_TEST(Summary(from_ad, AsciiLowerCopy(email)) == want);
  }
}
