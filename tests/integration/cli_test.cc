#define BOOST_TEST_MODULE cli
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>
#include <string>

#include "nlohmann/json.hpp"
#include "tests/integration/tesserad_process.h"
#include "tests/unit/temp_dir.h"

// Runs the tessera binary the way a person would, against a real tesserad.

using namespace tessera;

using testing::ReadFile;

namespace {

struct Result {
  int exit = -1;
  std::string out, err;
};

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The command an error message suggests, between backquotes.
std::string SuggestedCommand(const std::string& message) {
  const size_t a = message.find('`'), b = a == std::string::npos ? a : message.find('`', a + 1);
  return b == std::string::npos ? "" : message.substr(a + 1, b - a - 1);
}

struct CliFixture {
  CliFixture() : server(tmp.path()) { server.Start(); }

  Result Run(const std::string& args, const std::string& server_address = "") {
    const std::string out = tmp.Sub("out"), err = tmp.Sub("err");
    const std::string cmd = std::string(TESSERA_CLI_PATH) + " --server " +
                            (server_address.empty() ? server.address() : server_address) + " " +
                            args + " >" + out + " 2>" + err;
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(out), ReadFile(err)};
  }

  std::string Write(const std::string& name, const std::string& content) {
    std::ofstream(tmp.Sub(name)) << content;
    return tmp.Sub(name);
  }

  void RegisterSources() {
    for (const char* s : {"hr --kind csv --priority 90", "ldap --kind ldap --priority 80"}) {
      BOOST_REQUIRE(Run(std::string("admin source ") + s).exit == 0);
    }
  }

  testing::TempDir tmp;
  testing::TesseradProcess server;
};

const char kFragments[] =
    R"({"source":"hr","external_id":"E1","version":1,"kind":"employee","attributes":{"display_name":"Élodie Durand","team":"Cards"},"identifiers":["employee_id:e1","email:Elodie.Durand@Bank.example"]})"
    "\n"
    R"({"source":"ldap","external_id":"uid=edurand","version":1,"kind":"employee","attributes":{"title":"Engineer"},"identifiers":["email:elodie.durand@bank.example","twitter:@EloD"]})"
    "\n\n"
    R"({"source":"hr","external_id":"E2","version":1,"kind":"employee","identifiers":["phone:12ab"]})"
    "\n"
    R"({"source":"hr","external_id":"E3","version":1,"kind":"employee","attributes":{"display_name":"Marc Petit"},"identifiers":["employee_id:E3"],"relations":[{"type":"reports_to","target":"employee_id:E1"}]})"
    "\n"
    R"({"source":"hr","external_id":"E4","version":"one"})"
    "\n";

}  // namespace

BOOST_FIXTURE_TEST_SUITE(Cli, CliFixture)

BOOST_AUTO_TEST_CASE(every_command_has_help) {
  for (const char* cmd : {"",
                          "ingest",
                          "get",
                          "search",
                          "neighbors",
                          "health",
                          "admin",
                          "admin stats",
                          "admin sources",
                          "admin source",
                          "admin conflicts",
                          "admin fragment",
                          "admin merge",
                          "admin split",
                          "admin rules",
                          "admin rule-delete",
                          "admin backup",
                          "admin rebuild",
                          "admin compact",
                          "experts",
                          "outcome"}) {
    Result r = Run(std::string(cmd) + " --help");
    BOOST_TEST(r.exit == 0, cmd);
    BOOST_TEST(r.out.find("Usage:") != std::string::npos, cmd);
  }
  Result bad = Run("get");  // missing argument
  BOOST_TEST(bad.exit == 2);
}

BOOST_AUTO_TEST_CASE(ingest_reports_counts_and_rejected_lines) {
  RegisterSources();
  const std::string file = Write("org.jsonl", kFragments);
  Result r = Run("ingest --batch-size 2 " + file);
  BOOST_TEST(r.exit == 1);  // two lines were rejected
  BOOST_TEST(r.out.find("added 3, updated 0, unchanged 0, stale 0, deleted 0, rejected 2") == 0,
             r.out);
  BOOST_TEST(
      r.err.find(file +
                 ":4: rejected: identifiers[0]: 'phone' value '12ab' is not a phone number") !=
          std::string::npos,
      r.err);
  BOOST_TEST(
      r.err.find(file + ":6: rejected: version: expected a positive integer") != std::string::npos,
      r.err);
  r = Run("--json ingest " + file);
  nlohmann::json j = nlohmann::json::parse(r.out);
  BOOST_TEST(j["unchanged"].get<int>() == 3);
}

BOOST_AUTO_TEST_CASE(get_search_neighbors_print_and_json) {
  RegisterSources();
  Run("ingest " + Write("org.jsonl", kFragments));
  Result r = Run("get twitter:@elod --provenance");
  BOOST_TEST(r.exit == 0, r.err);
  BOOST_TEST(r.out.find("Élodie Durand") != std::string::npos);
  BOOST_TEST(r.out.find("as \"Elodie.Durand@Bank.example\"") != std::string::npos, r.out);
  r = Run("--json get employee_id:E1");
  nlohmann::json j = nlohmann::json::parse(r.out);
  BOOST_TEST(j["display_name"].get<std::string>() == "Élodie Durand");
  BOOST_TEST(j["fragments"].size() == 2u);
  r = Run("search elo");
  BOOST_TEST(r.out.find("Élodie Durand") != std::string::npos);
  r = Run("neighbors email:elodie.durand@bank.example --direction in");
  BOOST_TEST(r.out.find("Marc Petit") != std::string::npos, r.out);
  r = Run("admin stats");
  BOOST_TEST(r.out.find("profiles ") != std::string::npos);
}

// An identifier shared by two profiles that disagree (two employee ids) is a conflict;
// the error suggests a merge command that works as printed.
BOOST_AUTO_TEST_CASE(the_suggested_merge_works_as_printed) {
  RegisterSources();
  const std::string conflict = Write(
      "c.jsonl",
      R"({"source":"hr","external_id":"E1","version":1,"kind":"employee","attributes":{"display_name":"Bruno Petit"},"identifiers":["employee_id:E1","email:bruno@bank.example"]})"
      "\n"
      R"({"source":"ldap","external_id":"uid=bruno","version":1,"kind":"employee","identifiers":["employee_id:E7","email:bruno@bank.example"]})"
      "\n");
  BOOST_REQUIRE(Run("ingest " + conflict).exit == 0);
  Result r = Run("get email:bruno@bank.example");
  BOOST_TEST(r.exit == 1);
  const std::string merge = SuggestedCommand(r.err);
  BOOST_TEST(merge.rfind("tessera admin merge ", 0) == 0, r.err);
  r = Run(merge.substr(std::string("tessera ").size()));
  BOOST_TEST(r.exit == 0, r.err);
  r = Run("get email:bruno@bank.example");
  BOOST_TEST(r.exit == 0, r.err);
  BOOST_TEST(r.out.find("Bruno Petit") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(failures_are_one_line_and_non_zero) {
  Result r = Run("get email:nobody@bank.example");
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(r.err ==
             "tessera: NOT_FOUND: no profile has identifier 'email:nobody@bank.example'\n");
  r = Run("get not-an-identifier");
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(r.err.find("neither a profile id nor an identifier") != std::string::npos);
  r = Run("ingest " + Write("x.jsonl", kFragments));  // sources not registered
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(r.err.find("FAILED_PRECONDITION") != std::string::npos);
  // The suggested command works as printed (with its placeholders filled in).
  std::string suggested = SuggestedCommand(r.err);
  BOOST_TEST(suggested == "tessera admin source hr --kind KIND --priority N");
  suggested.replace(suggested.find("KIND"), 4, "csv");
  suggested.replace(suggested.find(" N"), 2, " 90");
  Result registered = Run(suggested.substr(std::string("tessera ").size()));
  BOOST_TEST(registered.exit == 0, registered.err);
  r = Run("admin stats", "127.0.0.1:1");
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(r.err.find("tessera: UNAVAILABLE: cannot reach tesserad at 127.0.0.1:1") == 0, r.err);
}

BOOST_AUTO_TEST_CASE(admin_backup_rebuild_and_conflicts) {
  RegisterSources();
  Run("ingest " + Write("org.jsonl", kFragments));
  Result r = Run("admin rebuild");
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out.find("derived state unchanged") != std::string::npos, r.out);
  r = Run("admin backup " + Quote(tmp.Sub("bk")));
  BOOST_TEST(r.exit == 0, r.err);
  BOOST_TEST(r.out.find("backup at " + tmp.Sub("bk")) == 0, r.out);
  r = Run("admin conflicts");
  BOOST_TEST(r.out == "no conflicts\n");
  r = Run("admin fragment hr E1");
  BOOST_TEST(r.out.find("employee_id:E1") != std::string::npos, r.out);
  r = Run("admin sources");
  BOOST_TEST(r.out.find("hr      csv   90") != std::string::npos, r.out);
}

// `tessera ingest --bulk` ends the bulk load before it returns: the cases' evidence is
// searchable at once, and the derived state is what a rebuild makes of the fragments.
BOOST_AUTO_TEST_CASE(bulk_ingest_is_searchable_when_it_returns) {
  RegisterSources();
  BOOST_REQUIRE(Run("admin source helpdesk --kind helpdesk --priority 50").exit == 0);
  std::string lines = kFragments;
  for (int i = 0; i < 12; ++i) {
    lines +=
        R"({"source":"helpdesk","external_id":"K)" + std::to_string(i) +
        R"(","version":1,"kind":"case","relations":[{"type":"resolved_by","target":"employee_id:E3"}],"evidence":[{"kind":"case","role":"resolved_by","text":"mortgage transfer )" +
        std::to_string(i) + R"( blocked","language":"en","time":"2026-11-0)" +
        std::to_string(1 + i % 9) + R"(T10:00:00Z"}]})" + "\n";
  }
  const std::string file = Write("bulk.jsonl", lines);
  Result r = Run("ingest --bulk --batch-size 3 " + file);
  BOOST_TEST(r.exit == 1, r.err);  // the two bad lines of kFragments
  BOOST_TEST(r.out.find("added 15,") == 0, r.out);
  BOOST_TEST(r.out.find("bulk load: ") != std::string::npos, r.out);
  BOOST_TEST(r.out.find(" postings keys in 1 SST files") != std::string::npos, r.out);
  r = Run("--json experts 'mortgage transfer'");
  BOOST_REQUIRE_MESSAGE(r.exit == 0, r.err);
  const nlohmann::json j = nlohmann::json::parse(r.out);
  BOOST_REQUIRE_MESSAGE(!j["experts"].empty(), r.out);
  BOOST_TEST(j["experts"][0]["person"]["display_name"].get<std::string>() == "Marc Petit", r.out);
  r = Run("admin rebuild");
  BOOST_TEST(r.out.find("derived state unchanged") != std::string::npos, r.out);
  // A second bulk load over that index merges into it.
  r = Run("--json ingest --bulk " + file);
  const nlohmann::json again = nlohmann::json::parse(r.out);
  BOOST_TEST(again["unchanged"].get<int>() == 15, r.out);
  BOOST_TEST(again["bulk"]["sst_files"].get<int>() == 0, r.out);  // nothing new to index
}

BOOST_AUTO_TEST_SUITE_END()
