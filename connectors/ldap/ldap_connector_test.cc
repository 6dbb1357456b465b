// The LDAP connector against a real slapd and a real tesserad: a full sync (mapping,
// manager and group relations), incremental runs through RFC 4533 content
// synchronisation (a change, an addition, a deletion, a rename; with the present phase
// and with a session log), a full run after a deletion, small pages, a malformed entry,
// the modifyTimestamp fallback on a server without syncprov, and clear errors (bad
// password, unreachable server, unknown key).

#define BOOST_TEST_MODULE ldap_connector
#include <ldap.h>

#include <boost/test/unit_test.hpp>
#include <map>

#include "connectors/common/connector_testing.h"
#include "connectors/ldap/ldap_admin_testing.h"
#include "connectors/ldap/slapd_testing.h"

using tessera::testing::ConnectorFixture;
using tessera::testing::SlapdOptions;
using tessera::testing::SlapdProcess;

namespace {

constexpr char kPeople[] = "ou=People,dc=example,dc=test";

std::string Dn(const std::string& uid) { return "uid=" + uid + "," + kPeople; }

std::string Person(const std::string& uid, const std::string& given, const std::string& family,
                   const std::string& extra) {
  return "dn: " + Dn(uid) + "\nobjectClass: inetOrgPerson\nuid: " + uid + "\ncn: " + given + " " +
         family + "\nsn: " + family + "\ngivenName: " + given + "\nmail: " + uid +
         "@example.test\n" + extra + "\n\n";
}

// Six people: Alice heads Payments; Karim (no displayName) and Claire report to her,
// Claire's manager written with another spelling of the same DN.
const std::string kLdif =
    "dn: dc=example,dc=test\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: "
    "Example\n\n"
    "dn: ou=People,dc=example,dc=test\nobjectClass: organizationalUnit\nou: People\n\n"
    "dn: ou=Groups,dc=example,dc=test\nobjectClass: organizationalUnit\nou: Groups\n\n" +
    Person("amartin", "Alice", "Martin",
           "displayName: Alice Martin\nmail: Alice.Martin@Example.test\ntelephoneNumber: +33 1 42 "
           "68 53 00\ntitle: Head of Payments\nou: Payments\n"
           "employeeNumber: E1001\nroomNumber: 4.12") +
    Person("kbenali", "Karim", "Benali",
           "mobile: 06 12 34 56 78\ntitle: Card specialist\nemployeeNumber: E1002\nmanager: " +
               Dn("amartin")) +
    Person("cdupont", "Claire", "Dupont",
           "employeeNumber: E1003\nmanager: UID=amartin, OU=people,DC=example,DC=test") +
    Person("dleroy", "David", "Leroy", "employeeNumber: E1004") +
    Person("emoreau", "Emma", "Moreau", "employeeNumber: E1005") +
    Person("fgarcia", "Farid", "Garcia", "employeeNumber: E1006");

// An administrator's connection to the test server, to change the directory.
struct Directory : tessera::testing::LdapAdmin {
  explicit Directory(const std::string& uri)
      : LdapAdmin(uri, SlapdProcess::kRootDn, SlapdProcess::kRootPassword) {}
};

// tesserad, and slapd loaded with kLdif.
struct LdapFixture : ConnectorFixture {
  explicit LdapFixture(SlapdOptions options = {}) : slapd(tmp.Sub("slapd"), options) {
    slapd.Load(Write("people.ldif", kLdif));
    slapd.Start();
  }

  // A source configuration; `input` and `rest` are extra JSON members.
  std::string Config(const std::string& input = "", const std::string& rest = "",
                     const std::string& credentials = R"("password": "secret")") {
    const std::string head =
        R"({"source": {"id": "ldap", "kind": "ldap", "priority": 80}, "input": {"uri": ")";
    return Write("ldap.json", head + slapd.uri() + R"(", "bind_dn": ")" + SlapdProcess::kRootDn +
                                  R"(", )" + credentials + R"(, "base_dn": "dc=example,dc=test")" +
                                  input + "}" + rest + "}");
  }
  // The targets of `from`'s outgoing relations of `type` ("ldap_dn:..." each).
  std::vector<std::string> Targets(const std::string& from, const std::string& type) {
    std::vector<std::string> out;
    auto r = Out(from, type);
    if (!r.ok()) return {"<" + r.status().ToString() + ">"};
    for (const auto& e : r->edges()) {
      out.push_back(e.target().type() + ":" + e.target().value() + "#" +
                    std::to_string(e.profile_id()));
    }
    return out;
  }

  SlapdProcess slapd;
};

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

BOOST_FIXTURE_TEST_CASE(full_then_incremental_sync_follows_the_directory, LdapFixture) {
  Directory dir(slapd.uri());
  dir.Add("cn=Payments,ou=Groups,dc=example,dc=test", {{"objectClass", {"groupOfNames"}},
                                                       {"cn", {"Payments"}},
                                                       {"member", {Dn("amartin"), Dn("kbenali")}}});
  const std::string config = Config();

  auto r = Connect("--config " + config);
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(Has(r.out, "ldap full sync ok: read 6, added 6"), r.out);
  BOOST_TEST(AttrOf("email:alice.martin@example.test", "display_name") == "Alice Martin");
  BOOST_TEST(AttrOf("email:amartin@example.test", "title") == "Head of Payments");
  BOOST_TEST(AttrOf("employee_id:E1001", "team") == "Payments");
  BOOST_TEST(AttrOf("employee_id:E1001", "uid") == "amartin");
  BOOST_TEST(AttrOf("phone:+33142685300", "family_name") == "Martin");
  BOOST_TEST(AttrOf("employee_id:E1002", "display_name") == "Karim Benali");  // from cn
  BOOST_TEST(AttrOf("phone:+33612345678", "given_name") == "Karim");
  const uint64_t alice = IdOf("employee_id:E1001");
  BOOST_TEST(alice != 0u);
  BOOST_TEST(IdOf("ldap_dn:" + Dn("amartin")) == alice);
  // Managers (one written UID=amartin, OU=people,...) and groups become edges.
  const std::string to_alice =
      "ldap_dn:uid=amartin,ou=people,dc=example,dc=test#" + std::to_string(alice);
  BOOST_TEST(Targets("employee_id:E1002", "reports_to") == std::vector<std::string>{to_alice});
  BOOST_TEST(Targets("employee_id:E1003", "reports_to") == std::vector<std::string>{to_alice});
  const auto groups = Targets("employee_id:E1001", "member_of");
  BOOST_REQUIRE(groups.size() == 1u);
  BOOST_TEST(Has(groups[0], "ldap_dn:cn=payments,ou=groups,dc=example,dc=test#"), groups[0]);

  // Nothing changed: an incremental run sends nothing.
  r = Connect("--config " + config + " --incremental");
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(
      Has(r.out, "ldap incremental sync ok: read 0, added 0, updated 0, unchanged 0, deleted 0"),
      r.out);

  // A change, an addition, a deletion.
  dir.Replace(Dn("amartin"), {{"title", {"Head of Cards"}}});
  dir.Add(Dn("gnew"), {{"objectClass", {"inetOrgPerson"}},
                       {"uid", {"gnew"}},
                       {"cn", {"Gina New"}},
                       {"sn", {"New"}},
                       {"mail", {"gina.new@example.test"}},
                       {"employeeNumber", {"E1007"}},
                       {"manager", {Dn("amartin")}}});
  dir.Delete(Dn("dleroy"));
  r = Connect("--config " + config + " --incremental");
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(
      Has(r.out, "ldap incremental sync ok: read 3, added 1, updated 1, unchanged 0, deleted 1"),
      r.out);
  BOOST_TEST(AttrOf("employee_id:E1001", "title") == "Head of Cards");
  BOOST_TEST(AttrOf("email:gina.new@example.test", "display_name") == "Gina New");
  BOOST_TEST(Targets("employee_id:E1007", "reports_to") == std::vector<std::string>{to_alice});
  BOOST_TEST(Missing("employee_id:E1004"));
  BOOST_TEST(Missing("email:dleroy@example.test"));
  BOOST_TEST(Source("ldap").last_run().mode() == "incremental");

  // A rename: the record under the old DN goes, the one under the new DN comes.
  dir.Rename(Dn("emoreau"), "uid=emoreau2");
  r = Connect("--config " + config + " --incremental");
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(Has(r.out, "read 2, added 1, updated 0, unchanged 0, deleted 1"), r.out);
  BOOST_TEST(IdOf("ldap_dn:" + Dn("emoreau2")) == IdOf("employee_id:E1005"));
  BOOST_TEST(Missing("ldap_dn:" + Dn("emoreau")));

  // A full run after a deletion tombstones what is gone, and incremental runs go on from it.
  dir.Delete(Dn("cdupont"));
  r = Connect("--config " + config);
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(Has(r.out, "ldap full sync ok: read 6, added 0, updated 0, unchanged 5, deleted 1"),
             r.out);
  BOOST_TEST(Missing("employee_id:E1003"));
  dir.Replace(Dn("kbenali"), {{"title", {"Card lead"}}});
  dir.Delete(Dn("fgarcia"));
  r = Connect("--config " + config + " --incremental");
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(Has(r.out, "read 2, added 0, updated 1, unchanged 0, deleted 1"), r.out);
  BOOST_TEST(AttrOf("employee_id:E1002", "title") == "Card lead");
  BOOST_TEST(Missing("employee_id:E1006"));
  BOOST_TEST(Source("ldap").fragments() == 4u);

  // A lost UUID index: the incremental run reads everything again, deleting nothing wrongly.
  for (const auto& f : std::filesystem::directory_iterator(tmp.path())) {
    if (f.path().filename().string().rfind("ldap.ldap-uuids.", 0) == 0)
      std::filesystem::remove(f.path());
  }
  r = Connect("--config " + config + " --incremental");
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(Has(r.out, "read 4, added 0, updated 0, unchanged 4, deleted 0"), r.out);
}

BOOST_FIXTURE_TEST_CASE(small_pages_still_read_every_entry, LdapFixture) {
  // Mapping fields match attribute names whatever their case; the password is in a file.
  Write("ldap.password", std::string(SlapdProcess::kRootPassword) + "\n");
  const std::string input =
      R"j(, "page_size": 2, "filter": "(objectClass=person)", "scope": "sub")j";
  const std::string credentials = R"("password_file": "ldap.password")";
  std::string config = Config(
      input,
      R"(, "mapping": {"attributes": {"office": "RoomNumber", "display_name": "display_name"}})",
      credentials);
  auto r = Connect("--config " + config);
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(Has(r.out, "read 6, added 6"), r.out);
  for (const char* id : {"E1001", "E1002", "E1003", "E1004", "E1005", "E1006"}) {
    BOOST_TEST(IdOf(std::string("employee_id:") + id) != 0u, id);
  }
  BOOST_TEST(AttrOf("employee_id:E1001", "office") == "4.12");
  BOOST_TEST(AttrOf("employee_id:E1001", "title") == "");  // the mapping replaced the attributes

  // A changed mapping invalidates the cursor: the incremental run reads every entry.
  config = Config(input, R"(, "mapping": {"attributes": {"title": "title"}})", credentials);
  r = Connect("--config " + config + " --incremental");
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(Has(r.out, "read 6, added 0, updated 6, unchanged 0, deleted 0"), r.out);
  BOOST_TEST(AttrOf("employee_id:E1001", "title") == "Head of Payments");
  r = Connect("--config " + config + " --incremental");
  BOOST_TEST(Has(r.out, "read 0, added 0, updated 0, unchanged 0, deleted 0"), r.out);
}

BOOST_FIXTURE_TEST_CASE(a_malformed_entry_is_rejected_and_the_rest_synced, LdapFixture) {
  Directory(slapd.uri())
      .Add(Dn("hbad"), {{"objectClass", {"inetOrgPerson"}},
                        {"uid", {"hbad"}},
                        {"cn", {"Hugo Bad"}},
                        {"sn", {"Bad"}},
                        {"telephoneNumber", {"call the front desk"}}});
  auto r = Connect("--config " + Config());
  BOOST_TEST_MESSAGE(r.err);
  BOOST_TEST(r.exit == 3);  // finished, with a rejected record
  BOOST_TEST(Has(r.out, "read 7, added 6"), r.out);
  BOOST_TEST(Has(r.err, Dn("hbad") + ": "), r.err);
  BOOST_TEST(IdOf("employee_id:E1006") != 0u);
  BOOST_TEST(Source("ldap").last_run().state() == "partial");
}

struct NoSyncprovFixture : LdapFixture {
  NoSyncprovFixture() : LdapFixture(SlapdOptions{.syncprov = false, .memberof = false}) {}
};

BOOST_FIXTURE_TEST_CASE(without_syncprov_incremental_runs_use_modify_timestamp, NoSyncprovFixture) {
  const std::string config = Config();
  auto r = Connect("--config " + config);
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(Has(r.out, "read 6, added 6"), r.out);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // modifyTimestamp counts seconds
  Directory dir(slapd.uri());
  dir.Replace(Dn("kbenali"), {{"title", {"Card lead"}}});
  dir.Delete(Dn("dleroy"));
  r = Connect("--config " + config + " --incremental");
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  // The change (and, unchanged, what was modified in the last run's newest second); the
  // deletion cannot be seen.
  BOOST_TEST(Has(r.out, "added 0, updated 1, unchanged "), r.out);
  BOOST_TEST(Has(r.out, "deleted 0"), r.out);
  BOOST_TEST(AttrOf("employee_id:E1002", "title") == "Card lead");
  BOOST_TEST(!Missing("employee_id:E1004"));
  r = Connect("--config " + config);  // a full run does
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(Has(r.out, "deleted 1"), r.out);
  BOOST_TEST(Missing("employee_id:E1004"));
}

struct SessionLogFixture : LdapFixture {
  SessionLogFixture() : LdapFixture(SlapdOptions{.memberof = false, .sessionlog = 100}) {}
};

BOOST_FIXTURE_TEST_CASE(with_a_session_log_deletions_come_by_uuid, SessionLogFixture) {
  // The server answers from its log: changed entries, and the UUIDs of deleted ones.
  const std::string config = Config();
  auto r = Connect("--config " + config);
  BOOST_REQUIRE(r.exit == 0);
  Directory dir(slapd.uri());
  dir.Delete(Dn("dleroy"));
  dir.Rename(Dn("emoreau"), "uid=emoreau2");
  dir.Replace(Dn("amartin"), {{"title", {"Head of Cards"}}});
  r = Connect("--config " + config + " --incremental");
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(Has(r.out, "read 4, added 1, updated 1, unchanged 0, deleted 2"), r.out);
  BOOST_TEST(Missing("employee_id:E1004"));
  BOOST_TEST(Missing("ldap_dn:" + Dn("emoreau")));
  BOOST_TEST(IdOf("ldap_dn:" + Dn("emoreau2")) == IdOf("employee_id:E1005"));
  BOOST_TEST(AttrOf("employee_id:E1001", "title") == "Head of Cards");
  BOOST_TEST(Source("ldap").fragments() == 5u);
}

BOOST_FIXTURE_TEST_CASE(clear_errors, LdapFixture) {
  auto r = Connect("--config " + Config("", "", R"("password": "wrong")"));
  BOOST_TEST_MESSAGE(r.err);
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(
      Has(r.err, slapd.uri() +
                     ": bind as 'cn=admin,dc=example,dc=test' refused: Invalid credentials (49)"),
      r.err);
  BOOST_TEST(Source("ldap").last_run().state() == "failed");

  const std::string down = Write("down.json", R"({"source": {"id": "ldap", "kind": "ldap"},
    "input": {"uri": "ldap://127.0.0.1:1", "base_dn": "dc=example,dc=test", "timeout_ms": 2000}})");
  r = Connect("--config " + down);
  BOOST_TEST_MESSAGE(r.err);
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(Has(r.err, "cannot reach the LDAP server at ldap://127.0.0.1:1"), r.err);

  const std::string typo = Write("typo.json", R"({"source": {"id": "ldap", "kind": "ldap"},
    "input": {"uri": "ldap://127.0.0.1:1", "base_dn": "dc=example,dc=test", "pasword": "x"}})");
  r = Connect("--config " + typo);
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(Has(r.err, "\"input.pasword\": unknown key"), r.err);

  const std::string no_base = Write("nobase.json", R"({"source": {"id": "ldap", "kind": "ldap"},
    "input": {"uri": "ldap://127.0.0.1:1"}})");
  r = Connect("--config " + no_base);
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(Has(r.err, "\"input.base_dn\": is required"), r.err);

  const std::string nowhere = Write("nowhere.json", R"({"source": {"id": "ldap", "kind": "ldap"},
    "input": {"uri": ")" + slapd.uri() + R"(", "base_dn": "ou=Nowhere,dc=example,dc=test"}})");
  r = Connect("--config " + nowhere);
  BOOST_TEST_MESSAGE(r.err);
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(Has(r.err, "ou=Nowhere,dc=example,dc=test"), r.err);
}

}  // namespace
