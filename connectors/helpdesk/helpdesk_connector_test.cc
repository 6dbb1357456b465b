// The helpdesk connector against a real tesserad: cases in the expertise-numpy format
// (plus status and customer) become evidence, load and raised_by edges; a case that
// changes hands moves its evidence; a case gone from the export stops counting.

#define BOOST_TEST_MODULE helpdesk_connector
#include <boost/test/unit_test.hpp>

#include "connectors/common/connector_testing.h"
#include "tessera/v1/expertise.pb.h"

using tessera::testing::ConnectorFixture;

namespace {

constexpr char kHrConfig[] =
    R"({"source": {"id": "hr", "kind": "csv", "priority": 90}, "input": {"path": "people.csv"}})";
constexpr char kCasesConfig[] =
    R"({"source": {"id": "helpdesk", "kind": "helpdesk", "priority": 50},
  "max_delete_share": 0.5, "input": {"path": "cases.jsonl"}})";
constexpr char kPeople[] =
    "employee_id,display_name,email,team,title,location,start_date,end_date\n"
    "E1,Lea Fontaine,lea@bank.example,Payments,Advisor,Paris,2019-01-01,\n"
    "E2,Marc Petit,marc@bank.example,Cards,Advisor,Lyon,2019-01-01,\n"
    "E3,Nora Diallo,nora@bank.example,Cards,Advisor,Lyon,2019-01-01,\n";

std::vector<std::string> Ranked(const ConnectorFixture& f, const std::string& text) {
  tessera::v1::FindExpertsRequest req;
  req.set_text(text);
  req.set_as_of_unix_ms(1798761600000);  // 2027-01-01
  absl::StatusOr<tessera::v1::FindExpertsResponse> r = f.client().FindExperts(req);
  BOOST_REQUIRE_MESSAGE(r.ok(), std::string(r.status().message()));
  std::vector<std::string> names;
  for (const auto& e : r->experts()) names.push_back(e.person().display_name());
  return names;
}

uint32_t OpenCases(const ConnectorFixture& f, const std::string& text, const std::string& name) {
  tessera::v1::FindExpertsRequest req;
  req.set_text(text);
  req.set_as_of_unix_ms(1798761600000);
  absl::StatusOr<tessera::v1::FindExpertsResponse> r = f.client().FindExperts(req);
  BOOST_REQUIRE(r.ok());
  for (const auto& e : r->experts()) {
    if (e.person().display_name() == name) return e.open_cases();
  }
  return 999;
}

BOOST_FIXTURE_TEST_CASE(cases_feed_expertise_load_and_relationships, ConnectorFixture) {
  Write("people.csv", kPeople);
  const std::string hr = Write("hr.json", kHrConfig), cases = Write("helpdesk.json", kCasesConfig);
  BOOST_REQUIRE(Connect("--config " + hr).exit == 0);
  Write("customers.csv", "customer_id,display_name\nC-1,Julie Blanc\n");
  BOOST_REQUIRE(Connect("--config " + Write("crm.json", R"({"source": {"id": "crm", "kind": "crm"},
    "input": {"path": "customers.csv"}})"))
                    .exit == 0);
  // The expertise-numpy line format as is, then the optional fields.
  Write(
      "cases.jsonl",
      R"({"case_id": "c1", "title": "SEPA transfer rejected by the beneficiary bank", "body": "Transfer returned with reason AC04, account closed; refunded and re-sent.", "resolved_by": ["lea@bank.example"], "closed_at": "2026-01-12T09:14:00Z", "paths": ["a/b.py"]})"
      "\n"
      R"({"case_id": "c2", "title": "Carte bloquée après trois codes faux", "body": "Le client a saisi trois fois un mauvais code ; carte débloquée en agence.", "resolved_by": ["marc@bank.example"], "closed_at": "2026-02-01T10:00:00Z", "customer": "customer_id:C-1"})"
      "\n"
      R"({"case_id": "c3", "title": "Carte bloquée à l'étranger", "body": "Paiement refusé, carte bloquée par la détection de fraude.", "status": "open", "assigned_to": "employee_id:E3", "opened_at": "2026-11-20T08:00:00Z", "customer": ["customer_id:C-1"]})"
      "\n"
      R"({"case_id": "c5", "title": "Plafond de carte", "body": "Plafond de paiement relevé pour la carte.", "resolved_by": ["nora@bank.example"], "closed_at": "2026-03-01T10:00:00Z"})"
      "\n"
      "this is not json\n"
      R"({"case_id": "c4", "title": "x", "closed_at": "yesterday"})"
      "\n");
  auto r = Connect("--config " + cases);
  BOOST_TEST_INFO(r.err);
  BOOST_TEST(r.exit == 3);
  BOOST_TEST(r.out.find("read 6, added 4") != std::string::npos);
  BOOST_TEST(r.err.find("cases.jsonl:5: not valid JSON") != std::string::npos);
  BOOST_TEST(r.err.find("cases.jsonl:6: closed_at 'yesterday'") != std::string::npos);

  std::vector<std::string> top = Ranked(*this, "my SEPA transfer was rejected");
  BOOST_REQUIRE(!top.empty());
  BOOST_TEST(top[0] == "Lea Fontaine");
  top = Ranked(*this, "ma carte est bloquée");
  BOOST_REQUIRE(!top.empty());
  BOOST_TEST(top[0] == "Marc Petit");
  BOOST_TEST(OpenCases(*this, "carte bloquée", "Nora Diallo") == 1u);  // the open case is her load
  // The customer raised two cases.
  tessera::v1::NeighborsRequest nreq;
  nreq.mutable_identifier()->set_type("customer_id");
  nreq.mutable_identifier()->set_value("C-1");
  nreq.set_type("raised_by");
  absl::StatusOr<tessera::v1::NeighborsResponse> n = client().Neighbors(nreq);
  BOOST_REQUIRE_MESSAGE(n.ok(), std::string(n.status().message()));
  BOOST_TEST(n->edges_size() == 2);

  // c1 changes hands, c3 is closed, c2 disappears from the export.
  Write(
      "cases.jsonl",
      R"({"case_id": "c5", "title": "Plafond de carte", "body": "Plafond de paiement relevé pour la carte.", "resolved_by": ["nora@bank.example"], "closed_at": "2026-03-01T10:00:00Z"})"
      "\n"
      R"({"case_id": "c1", "title": "SEPA transfer rejected by the beneficiary bank", "body": "Transfer returned with reason AC04, account closed; refunded and re-sent.", "resolved_by": ["nora@bank.example"], "closed_at": "2026-01-12T09:14:00Z"})"
      "\n"
      R"({"case_id": "c3", "title": "Carte bloquée à l'étranger", "body": "Paiement refusé, carte bloquée par la détection de fraude.", "status": "closed", "resolved_by": "employee_id:E3", "closed_at": "2026-11-21T08:00:00Z", "customer": ["customer_id:C-1"]})"
      "\n");
  r = Connect("--config " + cases);
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(r.out.find("added 0, updated 2, unchanged 1, deleted 1") != std::string::npos);
  top = Ranked(*this, "my SEPA transfer was rejected");
  BOOST_REQUIRE(!top.empty());
  BOOST_TEST(top[0] == "Nora Diallo");
  BOOST_TEST((std::find(top.begin(), top.end(), "Lea Fontaine") == top.end()));
  top = Ranked(*this, "carte bloquée code faux");
  BOOST_TEST((std::find(top.begin(), top.end(), "Marc Petit") == top.end()));  // c2 is gone
  BOOST_TEST(OpenCases(*this, "carte bloquée", "Nora Diallo") == 0u);
  BOOST_TEST(Get("case:c2").status().code() == absl::StatusCode::kNotFound);

  // Nothing changed: an incremental run sends nothing.
  r = Connect("--config " + cases + " --incremental");
  BOOST_TEST(r.out.find("read 3, added 0, updated 0, unchanged 3, deleted 0, rejected 0") !=
             std::string::npos);
}

}  // namespace
