// The CRM connector against a real tesserad: customers from CSV and JSON lines, their
// identifiers written differently linking them to one profile, the account manager
// first in FindExperts for that customer, and a customer removed from the export.

#define BOOST_TEST_MODULE crm_connector
#include <boost/test/unit_test.hpp>

#include "connectors/common/connector_testing.h"
#include "tessera/v1/expertise.pb.h"

using tessera::testing::ConnectorFixture;

namespace {

BOOST_FIXTURE_TEST_CASE(customers_and_account_managers, ConnectorFixture) {
  Write("people.csv",
        "employee_id,display_name,email,team\n"
        "E1,Lea Fontaine,lea@bank.example,Payments\n"
        "E2,Marc Petit,marc@bank.example,Private banking\n");
  BOOST_REQUIRE(Connect("--config " + Write("hr.json", R"({"source": {"id": "hr", "kind": "csv"},
    "input": {"path": "people.csv"}})"))
                    .exit == 0);
  Write(
      "helpdesk.jsonl",
      R"({"case_id": "c1", "title": "Virement SEPA rejeté", "body": "Virement rejeté, compte clôturé.", "resolved_by": ["lea@bank.example"], "closed_at": "2026-01-12T09:14:00Z"})"
      "\n");
  BOOST_REQUIRE(
      Connect("--config " + Write("hd.json", R"({"source": {"id": "helpdesk", "kind": "helpdesk"},
    "input": {"path": "helpdesk.jsonl"}})"))
          .exit == 0);

  Write("customers.csv",
        "customer_id,display_name,email,phone,twitter,segment,account_manager\n"
        "C-1,Julie Blanc,Julie.Blanc@Mail.example,06 12 34 56 "
        "78,@JulieBlanc,premier,marc@bank.example\n"
        "C-2,Paul Roy,paul@mail.example,not a phone,,retail,\n"
        "C-3,Ines Caron,ines@mail.example,,,retail,\n");
  const std::string crm =
      Write("crm.json", R"({"source": {"id": "crm", "kind": "crm", "priority": 70},
    "input": {"path": "customers.csv"}})");
  auto r = Connect("--config " + crm);
  BOOST_TEST_INFO(r.err);
  BOOST_TEST(r.exit == 3);  // C-2's phone is rejected by tesserad; the rest goes in
  BOOST_TEST(r.err.find("customers.csv:3") != std::string::npos);
  BOOST_TEST(r.err.find("phone") != std::string::npos);
  auto julie = Get("twitter:julieblanc");
  BOOST_REQUIRE(julie.ok());
  BOOST_TEST(julie->display_name() == "Julie Blanc");
  BOOST_TEST(Get("phone:+33612345678").ok());
  BOOST_TEST(Get("customer_id:C-2").status().code() == absl::StatusCode::kNotFound);

  // Julie's own account manager comes first, apart: someone to inform, since Lea, not
  // he, has the matching evidence.
  tessera::v1::FindExpertsRequest req;
  req.set_text("mon virement SEPA a été rejeté");
  req.mutable_customer()->set_type("twitter");
  req.mutable_customer()->set_value("@JulieBlanc");
  absl::StatusOr<tessera::v1::FindExpertsResponse> ex = client().FindExperts(req);
  BOOST_REQUIRE_MESSAGE(ex.ok(), std::string(ex.status().message()));
  BOOST_REQUIRE(ex->inform_size() == 1);
  BOOST_TEST(ex->inform(0).person().display_name() == "Marc Petit");
  BOOST_REQUIRE(ex->experts_size() >= 1);
  BOOST_TEST(ex->experts(0).person().display_name() == "Lea Fontaine");

  // The same customers as JSON lines, C-3 gone, C-2 fixed: JSON arrays give several values.
  Write(
      "customers.jsonl",
      R"({"customer_id": "C-1", "display_name": "Julie Blanc", "email": ["julie.blanc@mail.example", "jb@work.example"], "twitter": "@JulieBlanc", "account_manager": "marc@bank.example"})"
      "\n"
      R"({"customer_id": "C-2", "display_name": "Paul Roy", "phone": "+33 6 98 76 54 32"})"
      "\n");
  const std::string crm2 =
      Write("crm.json", R"({"source": {"id": "crm", "kind": "crm", "priority": 70},
    "max_delete_share": 0.5, "input": {"path": "customers.jsonl"}})");
  r = Connect("--config " + crm2);
  BOOST_TEST_INFO(r.err);
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out.find("added 1, updated 1, unchanged 0, deleted 1") != std::string::npos);
  BOOST_TEST(Get("email:jb@work.example").ok());
  BOOST_TEST(Get("customer_id:C-3").status().code() == absl::StatusCode::kNotFound);
  BOOST_TEST(Get("phone:+33698765432").ok());
}

// A CRM export from Excel on a French Windows: Windows-1252 and ';'.
BOOST_FIXTURE_TEST_CASE(a_windows_1252_semicolon_export, ConnectorFixture) {
  Write("customers.csv",
        "customer_id;display_name;email;city\nC-7;Ren\xE9"
        "e L\xE9ger;renee@mail.example;N\xEEmes\n");
  std::string config = Write("crm.json", R"({"source": {"id": "crm", "kind": "crm"},
    "input": {"path": "customers.csv", "delimiter": "auto"}})");
  auto r = Connect("--config " + config);
  BOOST_TEST(r.exit == 3);  // as UTF-8, the row is rejected, by line
  BOOST_TEST(
      r.err.find("customers.csv:2: line 2: not UTF-8 (set input.encoding?)") != std::string::npos,
      r.err);
  config = Write("crm.json", R"({"source": {"id": "crm", "kind": "crm"},
    "input": {"path": "customers.csv", "delimiter": ";", "encoding": "windows-1252"}})");
  r = Connect("--config " + config);
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  absl::StatusOr<tessera::v1::Profile> c = Get("customer_id:C-7");
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(c->display_name() == "Ren\u00e9e L\u00e9ger");
  BOOST_TEST(Attr(*c, "city") == "N\u00eemes");
}

}  // namespace
