#define BOOST_TEST_MODULE privacy
#include <sys/wait.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "client/lib/client.h"
#include "client/lib/text_formats.h"
#include "server/access/access.h"
#include "tests/integration/tesserad_process.h"
#include "tests/unit/temp_dir.h"

// The audit log and the right to erasure, end to end: tesserad with authentication,
// the sample CRM and helpdesk loaded by the real connectors, `tessera admin erase`,
// a re-sync from scratch, and `tessera admin audit`.

using namespace tessera;

using testing::ReadFile;

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

const char* const kRoles[] = {"reader", "agent", "connector", "admin", "auditor"};

struct PrivacyServer {
  PrivacyServer() {
    std::string tokens;
    for (const char* role : kRoles) {
      const std::string token = std::string("token-of-") + role + "-0123456789";
      std::ofstream(tmp.Sub(std::string(role) + ".token")) << token << "\n";
      tokens +=
          std::string(tokens.empty() ? "" : ", ") + R"({"principal": ")" + role +
          R"(-1", "sha256": ")" + access::Sha256Hex(token) + R"(", "roles": [")" + role + R"("])" +
          (std::string(role) == "connector" ? R"(, "sources": ["crm", "helpdesk", "social", "hr"]})"
                                            : "}");
    }
    // A reader who is an account manager: sees their own customers.
    std::ofstream(tmp.Sub("am.token")) << "token-of-am-0123456789\n";
    tokens += R"(, {"principal": "am-1", "sha256": ")" +
              access::Sha256Hex("token-of-am-0123456789") +
              R"(", "roles": ["reader"], "person": "employee_id:E1029"})";
    std::ofstream(tmp.Sub("principals.json")) << R"({"tokens": [)" << tokens << "]}";
    Configure("");
    server.Start();
  }

  // Writes tesserad's configuration: authentication plus `security` fields.
  void Configure(const std::string& security) {
    std::ofstream(tmp.Sub("tesserad.json"))
        << R"({"security": {"principals": ")" << tmp.Sub("principals.json") << "\"" << security
        << "}}";
  }

  client::Client As(const std::string& role) const {
    client::ClientOptions o;
    o.server = server.address();
    o.timeout_ms = 20'000;
    o.token = std::string("token-of-") + role + "-0123456789";
    return client::Client(o);
  }

  // Runs a command line; its stdout and stderr land in tmp/out and tmp/err.
  int Run(const std::string& cmd) const {
    const int status = std::system((cmd + " >" + tmp.Sub("out") + " 2>" + tmp.Sub("err")).c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string Cli(const std::string& role) const {
    return std::string(TESSERA_CLI_PATH) + " --server " + server.address() + " --token-file " +
           tmp.Sub(role + ".token");
  }
  // A connector run of the sample source `id` (crm or helpdesk) with its own state.
  int Connect(const std::string& id, const std::string& input, const std::string& state) const {
    const std::string config = tmp.Sub(id + "-" + state + ".json");
    std::ofstream(config) << R"({"source": {"id": ")" << id << R"(", "kind": ")" << id
                          << R"(", "priority": 50},)"
                          << R"( "state_dir": ")" << tmp.Sub(state) << R"(", "input": {"path": ")"
                          << std::string(TESSERA_SOURCE_DIR) + "/tests/data/sample/" + input
                          << R"("}})";
    return Run(std::string(TESSERA_CONNECT_PATH) + " --quiet --server " + server.address() +
               " --token-file " + tmp.Sub("connector.token") + " --config " + config);
  }

  absl::StatusOr<v1::Profile> Get(const client::Client& c, const std::string& name) const {
    v1::GetProfileRequest req;
    *req.mutable_identifier() = *client::ParseIdentifier(name);
    return c.GetProfile(req);
  }

  std::vector<v1::AuditEntry> Audit() const {
    const client::Client auditor = As("auditor");
    std::vector<v1::AuditEntry> out;
    v1::ReadAuditRequest req;
    req.set_page_size(7);  // several pages
    for (;;) {
      absl::StatusOr<v1::ReadAuditResponse> r = auditor.ReadAudit(req);
      BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
      out.insert(out.end(), r->entries().begin(), r->entries().end());
      if (r->next_after_sequence() == 0) return out;
      req.set_after_sequence(r->next_after_sequence());
    }
  }

  testing::TempDir tmp;
  testing::TesseradProcess server{tmp.path(), {"--config", tmp.Sub("tesserad.json")}};
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(Privacy, PrivacyServer)

BOOST_AUTO_TEST_CASE(erasure_survives_a_resync_and_the_audit_keeps_no_personal_data) {
  BOOST_REQUIRE_MESSAGE(Connect("crm", "crm.csv", "state1") == 0, ReadFile(tmp.Sub("err")));
  BOOST_REQUIRE_MESSAGE(Connect("helpdesk", "cases.jsonl", "state1") == 0,
                        ReadFile(tmp.Sub("err")));
  const client::Client agent = As("agent");
  const client::Client admin = As("admin");
  absl::StatusOr<v1::Profile> nicolas = Get(agent, "customer_id:C-20005");
  BOOST_REQUIRE_MESSAGE(nicolas.ok(), nicolas.status());
  BOOST_TEST(nicolas->display_name() == "Nicolas Fabre");
  BOOST_REQUIRE(Get(agent, "case:HD-5001").ok());  // a case he raised
  const uint64_t live_before = admin.Stats()->live_fragments();

  // Refused without --yes; then erased, by the CLI as an operator would.
  BOOST_TEST(Run(Cli("admin") +
                 " admin erase email:n.fabre@fabre-conseil.example --reason GDPR-2026-118") == 2);
  BOOST_TEST(Get(agent, "customer_id:C-20005").ok());
  BOOST_TEST(Run(Cli("reader") +
                 " admin erase email:n.fabre@fabre-conseil.example --reason x --yes") == 1);
  BOOST_REQUIRE_MESSAGE(
      Run(Cli("admin") +
          " --json admin erase email:n.fabre@fabre-conseil.example --reason GDPR-2026-118 --yes") ==
          0,
      ReadFile(tmp.Sub("err")));
  const std::string erased = ReadFile(tmp.Sub("out"));
  BOOST_TEST(
      erased.find("\"profile_id\": \"" + std::to_string(nicolas->id()) + "\"") != std::string::npos,
      erased);

  auto gone = [&](const char* why) {
    BOOST_TEST_CONTEXT(why) {
      for (const char* name : {"customer_id:C-20005", "email:n.fabre@fabre-conseil.example",
                               "phone:07 81 22 43 65", "case:HD-5001"}) {
        BOOST_TEST(Get(agent, name).status().code() == absl::StatusCode::kNotFound, name);
      }
      v1::SearchPeopleRequest search;
      search.set_prefix("nicolas fabre");
      BOOST_TEST(agent.SearchPeople(search)->people_size() == 0);
      search.set_prefix("fabre");
      BOOST_TEST(agent.SearchPeople(search)->people_size() == 5);  // the other Fabres stay
      v1::FragmentRef ref;
      ref.set_source("crm");
      ref.set_external_id("C-20005");
      BOOST_TEST(admin.GetFragment(ref).status().code() == absl::StatusCode::kNotFound);
      // His case's words are no longer evidence for anyone.
      v1::FindExpertsRequest q;
      q.set_text("virement SEPA rejeté compte clôturé motif AC04");
      absl::StatusOr<v1::FindExpertsResponse> experts = agent.FindExperts(q);
      BOOST_REQUIRE_MESSAGE(experts.ok(), experts.status());
      for (const v1::Expert& e : experts->experts()) {
        for (const v1::EvidenceHit& hit : e.evidence())
          BOOST_TEST(hit.fragment().external_id() != "HD-5001");
      }
    }
  };
  gone("after the erasure");
  const uint64_t live_after = admin.Stats()->live_fragments();
  BOOST_TEST(live_after < live_before - 1);  // his CRM record and the cases he raised

  // A connector re-deployed with fresh state sends every record again: his are
  // answered "suppressed", the others "unchanged".
  BOOST_REQUIRE_MESSAGE(Connect("crm", "crm.csv", "state2") == 0, ReadFile(tmp.Sub("err")));
  // Reported as suppressed, not as unchanged: his CRM record.
  BOOST_TEST(ReadFile(tmp.Sub("out")).find(", suppressed 1 in ") != std::string::npos,
             ReadFile(tmp.Sub("out")));
  BOOST_REQUIRE_MESSAGE(Connect("helpdesk", "cases.jsonl", "state2") == 0,
                        ReadFile(tmp.Sub("err")));
  BOOST_TEST(ReadFile(tmp.Sub("out")).find(", suppressed 0 in ") == std::string::npos,
             ReadFile(tmp.Sub("out")));
  // And other sources: a new case he raises, a social profile with his e-mail.
  std::ofstream(tmp.Sub("new.jsonl"))
      << R"({"source":"helpdesk","external_id":"HD-9001","version":1,"kind":"case","attributes":{"title":"Nouvelle demande"},"relations":[{"type":"raised_by","target":"customer_id:C-20005"}]})"
      << "\n"
      << R"({"source":"social","external_id":"fb-1","version":1,"kind":"customer","identifiers":["email:N.Fabre@fabre-conseil.example"]})"
      << "\n";
  v1::Source social;
  social.set_id("social");
  social.set_kind("social");
  BOOST_REQUIRE(admin.PutSource(social).ok());
  BOOST_REQUIRE_MESSAGE(Run(Cli("connector") + " --json ingest " + tmp.Sub("new.jsonl")) == 0,
                        ReadFile(tmp.Sub("err")));
  BOOST_TEST(ReadFile(tmp.Sub("out")).find("\"suppressed\": 2") != std::string::npos,
             ReadFile(tmp.Sub("out")));
  gone("after re-syncs");
  BOOST_TEST(admin.Stats()->live_fragments() == live_after);

  // ... and after a restart.
  BOOST_REQUIRE_EQUAL(server.Stop(), 0);
  server.Start();
  BOOST_REQUIRE_MESSAGE(Connect("crm", "crm.csv", "state3") == 0, ReadFile(tmp.Sub("err")));
  {
    const client::Client agent2 = As("agent");
    BOOST_TEST(Get(agent2, "customer_id:C-20005").status().code() == absl::StatusCode::kNotFound);
    BOOST_TEST(Get(agent2, "customer_id:C-20001").ok());  // everyone else is still there
  }

  // The audit: the erasure with its reason and hashes, and nothing that names him.
  std::vector<v1::AuditEntry> audit = Audit();
  std::string all;
  bool erase_seen = false, read_seen = false;
  for (const v1::AuditEntry& e : audit) {
    all += e.DebugString();
    if (e.method() == "Admin.Erase" && e.outcome() == "OK") {
      erase_seen = true;
      BOOST_TEST(e.principal() == "admin-1");
      BOOST_TEST(e.reason() == "GDPR-2026-118");
      BOOST_TEST(e.detail().find("suppressed") != std::string::npos);
      BOOST_TEST(e.peer().find("127.0.0.1") != std::string::npos);
    }
    if (e.method() == "Directory.GetProfile" && e.principal() == "agent-1" &&
        e.profile_ids_size() == 1 && e.profile_ids(0) == nicolas->id()) {
      read_seen = true;  // the agent's read of his profile, before the erasure
    }
  }
  BOOST_TEST(erase_seen);
  BOOST_TEST(read_seen);
  for (const char* personal :
       {"fabre", "c-20005", "nicolas", "0781224365", "+33781224365", "07 81 22 43 65"}) {
    BOOST_TEST(Lower(all).find(personal) == std::string::npos, personal);
  }
  // Refused for want of a role, and recorded as such.
  BOOST_TEST(std::any_of(audit.begin(), audit.end(), [](const v1::AuditEntry& e) {
    return e.method() == "Admin.Erase" && e.outcome() == "PERMISSION_DENIED" &&
           e.principal() == "reader-1";
  }));
}

BOOST_AUTO_TEST_CASE(audit_records_customer_reads_admin_calls_and_refusals_with_the_reason) {
  BOOST_REQUIRE_MESSAGE(Connect("crm", "crm.csv", "state") == 0, ReadFile(tmp.Sub("err")));
  const size_t start = Audit().size();
  // An agent reads a customer, giving a reason; a reader reads an employee-free search.
  BOOST_REQUIRE_MESSAGE(Run(Cli("agent") + " --reason 'ticket 42' get customer_id:C-20001") == 0,
                        ReadFile(tmp.Sub("err")));
  v1::SearchPeopleRequest search;
  search.set_prefix("julie");
  BOOST_TEST(As("reader").SearchPeople(search)->people_size() ==
             0);  // customers are not for readers
  BOOST_TEST(As("agent").SearchPeople(search)->people_size() == 1);
  // A customer's history is a read of the customer: audited; hidden from readers.
  BOOST_REQUIRE_MESSAGE(Run(Cli("agent") + " history customer_id:C-20001") == 0,
                        ReadFile(tmp.Sub("err")));
  BOOST_TEST(Run(Cli("reader") + " history customer_id:C-20001") == 1);
  BOOST_TEST(ReadFile(tmp.Sub("err")).find("NOT_FOUND") != std::string::npos,
             ReadFile(tmp.Sub("err")));
  BOOST_TEST(Run(Cli("reader") + " admin stats") == 1);
  BOOST_TEST(Run(Cli("admin") + " admin stats") == 0);
  BOOST_TEST(Run(Cli("admin") + " admin audit") == 1);  // the audit is for auditors
  BOOST_TEST(
      Run(Cli("agent") + " --reason '" + std::string(600, 'x') + "' get customer_id:C-20001") == 1);
  BOOST_TEST(ReadFile(tmp.Sub("err")).find("over 512 bytes") != std::string::npos,
             ReadFile(tmp.Sub("err")));

  std::vector<v1::AuditEntry> audit = Audit();
  audit.erase(audit.begin(), audit.begin() + static_cast<long>(start));
  std::vector<std::string> seen;
  for (const v1::AuditEntry& e : audit) {
    if (e.method() == "Admin.ReadAudit" && e.principal() == "auditor-1")
      continue;  // this test reading it
    seen.push_back(e.principal() + " " + e.method() + " " + e.outcome());
  }
  const std::vector<std::string> expected = {
      "agent-1 Directory.GetProfile OK",
      "agent-1 Directory.SearchPeople OK",
      "agent-1 Directory.CustomerHistory OK",
      "reader-1 Admin.Stats PERMISSION_DENIED",
      "admin-1 Admin.Stats OK",
      "admin-1 Admin.ReadAudit PERMISSION_DENIED",
  };
  BOOST_TEST(seen == expected, boost::test_tools::per_element());
  audit.erase(std::remove_if(audit.begin(), audit.end(),
                             [](const v1::AuditEntry& e) { return e.principal() == "auditor-1"; }),
              audit.end());
  BOOST_REQUIRE(!audit.empty());
  BOOST_TEST(audit[0].reason() == "ticket 42");
  BOOST_TEST(audit[0].profile_ids_size() == 1);
  for (size_t i = 1; i < audit.size(); ++i)
    BOOST_TEST(audit[i].sequence() > audit[i - 1].sequence());

  // The CLI exports JSON Lines, one entry per line, and resumes with --after.
  BOOST_REQUIRE_MESSAGE(
      Run(Cli("auditor") + " admin audit --after " + std::to_string(audit[0].sequence() - 1)) == 0,
      ReadFile(tmp.Sub("err")));
  std::istringstream lines(ReadFile(tmp.Sub("out")));
  std::string first;
  std::getline(lines, first);
  BOOST_TEST(first.find("\"method\":\"Directory.GetProfile\"") != std::string::npos, first);
  BOOST_TEST(first.find("\"reason\":\"ticket 42\"") != std::string::npos, first);
}

// Visibility rules on each read path: kinds by role, a customer seen by their own
// account manager, sensitive fields redacted, and FindExperts evidence from hidden cases.
BOOST_AUTO_TEST_CASE(visibility_rules_on_every_read_path) {
  BOOST_REQUIRE_MESSAGE(Connect("crm", "crm.csv", "state") == 0, ReadFile(tmp.Sub("err")));
  BOOST_REQUIRE_MESSAGE(Connect("helpdesk", "cases.jsonl", "state") == 0, ReadFile(tmp.Sub("err")));
  v1::Source hr;
  hr.set_id("hr");
  hr.set_kind("csv");
  BOOST_REQUIRE(As("admin").PutSource(hr).ok());
  std::ofstream(tmp.Sub("hr.jsonl"))
      << R"({"source":"hr","external_id":"E1029","version":1,"kind":"employee","attributes":{"display_name":"Marc Conseil","team":"Premier","personal_phone":"06 00 00 00 01"},"identifiers":["employee_id:E1029","email:marc@banque-lumen.example","twitter:@marc_perso"]})"
      << "\n";
  BOOST_REQUIRE_MESSAGE(Run(Cli("connector") + " ingest " + tmp.Sub("hr.jsonl")) == 0,
                        ReadFile(tmp.Sub("err")));
  const client::Client reader = As("reader"), agent = As("agent");
  client::ClientOptions o = agent.options();
  o.token = "token-of-am-0123456789";
  const client::Client am(o);

  auto fields = [](const v1::Profile& p) {
    std::set<std::string> out;
    for (const auto& a : p.attributes()) out.insert(a.name());
    for (const auto& i : p.identifiers()) out.insert(i.type());
    return out;
  };
  // Sensitive fields of an employee: withheld from a reader, shown to an agent.
  absl::StatusOr<v1::Profile> marc_r = Get(reader, "employee_id:E1029");
  absl::StatusOr<v1::Profile> marc_a = Get(agent, "employee_id:E1029");
  BOOST_REQUIRE(marc_r.ok() && marc_a.ok());
  BOOST_TEST(fields(*marc_a).count("personal_phone") == 1u);
  BOOST_TEST(fields(*marc_a).count("twitter") == 1u);
  BOOST_TEST(fields(*marc_r).count("personal_phone") == 0u);
  BOOST_TEST(fields(*marc_r).count("twitter") == 0u);
  BOOST_TEST(fields(*marc_r).count("email") == 1u);  // a work e-mail is not sensitive
  BOOST_TEST((std::vector<std::string>(marc_r->redacted().begin(), marc_r->redacted().end()) ==
              std::vector<std::string>{"personal_phone", "twitter"}));
  BOOST_TEST(marc_a->redacted_size() == 0);
  // The CLI's text output says they are withheld, not absent.
  BOOST_REQUIRE_MESSAGE(Run(Cli("reader") + " get employee_id:E1029") == 0,
                        ReadFile(tmp.Sub("err")));
  BOOST_TEST(ReadFile(tmp.Sub("out")).find("Withheld from you: personal_phone, twitter") !=
                 std::string::npos,
             ReadFile(tmp.Sub("out")));
  // Nor can a reader find him by the handle withheld from it: that reads as absent.
  BOOST_TEST(Get(agent, "twitter:@marc_perso").ok());
  BOOST_TEST(std::string(Get(reader, "twitter:@marc_perso").status().message()) ==
             "no profile has identifier 'twitter:marc_perso'");

  // Camille (C-20002) is managed by Marc: his reader token sees her, without her
  // phone and e-mail; another customer stays absent, for him and for other readers.
  absl::StatusOr<v1::Profile> camille = Get(am, "customer_id:C-20002");
  BOOST_REQUIRE_MESSAGE(camille.ok(), camille.status());
  BOOST_TEST(camille->display_name() == "Camille Roussel");
  BOOST_TEST(fields(*camille).count("customer_id") == 1u);
  BOOST_TEST(fields(*camille).count("phone") == 0u);
  BOOST_TEST(fields(*camille).count("email") == 0u);
  BOOST_TEST(fields(*Get(agent, "customer_id:C-20002")).count("phone") == 1u);
  BOOST_TEST(Get(am, "customer_id:C-20001").status().code() == absl::StatusCode::kNotFound);
  BOOST_TEST(std::string(Get(am, "customer_id:C-20001").status().message()) ==
             "no profile has identifier 'customer_id:C-20001'");
  BOOST_TEST(Get(reader, "customer_id:C-20002").status().code() == absl::StatusCode::kNotFound);

  // Search finds his own customers for him, not other customers, not for other readers.
  auto found = [](const client::Client& c, const char* prefix) {
    v1::SearchPeopleRequest s;
    s.set_prefix(prefix);
    s.add_kinds("customer");
    std::set<std::string> names;
    absl::StatusOr<v1::SearchPeopleResponse> r = c.SearchPeople(s);
    BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
    for (const v1::ProfileSummary& p : r->people()) names.insert(p.display_name());
    return names;
  };
  BOOST_TEST(found(am, "camille").count("Camille Roussel") == 1u);
  BOOST_TEST(found(am, "julie").empty());
  BOOST_TEST(found(reader, "camille").empty());
  BOOST_TEST(found(agent, "julie").count("Julie Blanc") == 1u);

  // Neighbors: Marc's customers are edges for him, not for another reader.
  v1::NeighborsRequest walk;
  *walk.mutable_identifier() = *client::ParseIdentifier("employee_id:E1029");
  walk.set_type("account_manager");
  absl::StatusOr<v1::NeighborsResponse> his = am.Neighbors(walk);
  absl::StatusOr<v1::NeighborsResponse> theirs = reader.Neighbors(walk);
  BOOST_REQUIRE(his.ok() && theirs.ok());
  BOOST_TEST(his->edges_size() >= 2);
  BOOST_TEST(theirs->edges_size() == 0);
  for (const v1::Edge& e : his->edges())
    BOOST_TEST(e.other().email().empty());  // redacted in summaries too

  // Watch: Camille's changes reach Marc's feed; other customers' do not.
  std::unique_ptr<grpc::ClientContext> ctx = am.NewContext(false);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::WatchRequest wr;
  wr.set_include_profiles(true);
  wr.set_progress_interval_ms(100);
  auto stream = am.directory().Watch(ctx.get(), wr);
  const uint64_t end = As("admin").Stats()->sequence();
  std::set<std::string> customers_seen;
  v1::ChangeEvent ev;
  while (stream->Read(&ev)) {
    if (ev.has_profile() && ev.profile().kind() == "customer") {
      customers_seen.insert(ev.profile().display_name());
      BOOST_TEST(fields(ev.profile()).count("phone") == 0u);
    }
    if (ev.sequence() >= end) break;
  }
  ctx->TryCancel();
  stream->Finish();
  BOOST_TEST(customers_seen.count("Camille Roussel") == 1u);
  BOOST_TEST(customers_seen.count("Julie Blanc") == 0u);

  // FindExperts: with the defaults an agent's explanations cite cases; with agents
  // limited to people and teams, the same query cites none and the experts remain.
  v1::FindExpertsRequest q;
  q.set_text("carte bloquée à l'étranger paiement refusé");
  auto case_hits = [&](const client::Client& c, size_t* experts) {
    absl::StatusOr<v1::FindExpertsResponse> r = c.FindExperts(q);
    BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
    *experts = r->experts_size();
    size_t n = 0;
    for (const v1::Expert& e : r->experts()) {
      for (const v1::EvidenceHit& h : e.evidence()) n += h.kind() == "case" ? 1 : 0;
    }
    return n;
  };
  size_t experts_before = 0, experts_after = 0;
  BOOST_TEST(case_hits(agent, &experts_before) > 0u);
  BOOST_REQUIRE_EQUAL(server.Stop(), 0);
  Configure(R"(, "visible_kinds": {"agent": ["employee", "team", "customer"]})");
  server.Start();
  client::ClientOptions o2 = agent.options();
  o2.server = server.address();
  BOOST_TEST(case_hits(client::Client(o2), &experts_after) == 0u);
  BOOST_TEST(experts_after == experts_before);
}

BOOST_AUTO_TEST_SUITE_END()
