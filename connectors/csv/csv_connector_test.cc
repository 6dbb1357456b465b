// The HR CSV connector against a real tesserad: a full sync, a changed export (update,
// removal -> tombstone, a malformed row reported and skipped), an incremental run that
// sends nothing new, the run shown by `tessera admin sources`, and bad configuration.

#define BOOST_TEST_MODULE csv_connector
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <thread>

#include "connectors/common/connector_testing.h"

using tessera::testing::ConnectorFixture;

namespace {

// One of three people leaves in this test: max_delete_share lets a third go.
constexpr char kConfig[] = R"({
  "source": {"id": "hr", "kind": "csv", "priority": 90, "description": "HR export"},
  "max_delete_share": 0.5,
  "input": {"path": "people.csv"}
})";

BOOST_FIXTURE_TEST_CASE(full_then_changed_export, ConnectorFixture) {
  const std::string config = Write("hr.json", kConfig);
  // A BOM, a quoted field with a comma and a line break, a manager, a leaver.
  Write("people.csv",
        "\xEF\xBB\xBF"
        "employee_id,display_name,email,team,title,location,start_date,end_date,manager\n"
        "E1,Alice Martin,Alice.Martin@Example.com,Payments,\"Head of Payments, "
        "Paris\",Paris,2017-03-13,,\n"
        "E2,Karim Benali,karim@example.com,Cards,\"Card\nspecialist\",Paris,2016-11-07,,E1\n"
        "E3,Old Timer,old@example.com,Cards,Engineer,,2001-01-01,2020-01-31,E1\n");
  auto r = Connect("--config " + config);
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(r.out.find("read 3, added 3") != std::string::npos);
  auto alice = Get("email:alice.martin@example.com");
  BOOST_REQUIRE(alice.ok());
  BOOST_TEST(Attr(*alice, "title") == "Head of Payments, Paris");
  auto karim = Get("employee_id:E2");
  BOOST_REQUIRE(karim.ok());
  BOOST_TEST(Attr(*karim, "title") == "Card\nspecialist");
  BOOST_TEST(Attr(*Get("employee_id:E3"), "end_date") == "2020-01-31");

  // The same export again: nothing changes.
  r = Connect("--config " + config);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(r.out.find("added 0, updated 0, unchanged 3, deleted 0") != std::string::npos);

  // Alice changes team, Karim leaves the export, a bad date and a short row appear.
  Write("people.csv",
        "employee_id,display_name,email,team,title,location,start_date,end_date,manager\n"
        "E1,Alice Martin,alice.martin@example.com,Cards,Head of Cards,Paris,2017-03-13,,\n"
        "E3,Old Timer,old@example.com,Cards,Engineer,,2001-01-01,2020-01-31,E1\n"
        "E4,New Person,new@example.com,Cards,Engineer,Lyon,31/12/2026,,E1\n"
        "E5,Short Row\n"
        "E6,Sam Ok,sam@example.com,Cards,Engineer,Lyon,2026-01-05,,E1\n");
  r = Connect("--config " + config + " --dry-run");
  BOOST_TEST(r.out.find("(dry run)") != std::string::npos);
  BOOST_TEST(r.out.find("added 2, updated 1, unchanged 1, deleted 1") != std::string::npos);
  // Who would change, by external id and name; the deleted person's name comes from
  // the checkpoint.
  BOOST_TEST(r.out.find("would add    E4  New Person\n") != std::string::npos);
  BOOST_TEST(r.out.find("would add    E6  Sam Ok\n") != std::string::npos);
  BOOST_TEST(r.out.find("would update E1  Alice Martin\n") != std::string::npos);
  BOOST_TEST(r.out.find("would delete E2  Karim Benali\n") != std::string::npos);
  BOOST_TEST(r.out.find("E3") == std::string::npos);               // unchanged: not listed
  BOOST_TEST(Attr(*Get("employee_id:E1"), "team") == "Payments");  // the dry run changed nothing

  r = Connect("--config " + config);
  BOOST_TEST(r.exit == 3);  // finished, with a rejected record
  BOOST_TEST(
      r.out.find("read 6, added 2, updated 1, unchanged 1, deleted 1, rejected 1, suppressed 0") !=
      std::string::npos);
  // A date in another format loses the field, not the person.
  BOOST_TEST(
      r.err.find(
          "people.csv:4: start_date '31/12/2026' is not a YYYY-MM-DD date (input.date_format); "
          "the field is left out") != std::string::npos);
  BOOST_TEST(r.err.find("people.csv:5: has 2 fields, the header has 9") != std::string::npos);
  BOOST_TEST(Attr(*Get("employee_id:E1"), "team") == "Cards");
  BOOST_TEST(Get("employee_id:E2").status().code() == absl::StatusCode::kNotFound);
  BOOST_TEST(Get("employee_id:E6").ok());
  BOOST_REQUIRE(Get("employee_id:E4").ok());
  BOOST_TEST(Attr(*Get("employee_id:E4"), "start_date") == "");
  BOOST_TEST(Attr(*Get("employee_id:E4"), "location") == "Lyon");

  // tesserad knows how the run went.
  const tessera::v1::Source src = Source("hr");
  BOOST_TEST(src.fragments() == 4u);
  BOOST_TEST(src.last_run().state() == "partial");
  BOOST_TEST(src.last_run().rejected() == 1u);
  BOOST_TEST(src.last_run().errors_size() == 1);
  BOOST_TEST(src.last_success_unix_ms() > 0);
  auto cli = Cli("admin sources");
  BOOST_TEST(cli.exit == 0);
  BOOST_TEST(cli.out.find("partial") != std::string::npos);
  BOOST_TEST(cli.out.find("6/2/1/1/1/1/0") != std::string::npos);
  BOOST_TEST(cli.out.find("has 2 fields") != std::string::npos);

  // Fixed export, incremental: only the repaired rows travel.
  Write("people.csv",
        "employee_id,display_name,email,team,title,location,start_date,end_date,manager\n"
        "E1,Alice Martin,alice.martin@example.com,Cards,Head of Cards,Paris,2017-03-13,,\n"
        "E3,Old Timer,old@example.com,Cards,Engineer,,2001-01-01,2020-01-31,E1\n"
        "E4,New Person,new@example.com,Cards,Engineer,Lyon,2026-12-31,,E1\n"
        "E6,Sam Ok,sam@example.com,Cards,Engineer,Lyon,2026-01-05,,E1\n");
  r = Connect("--config " + config + " --incremental");
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(r.out.find("incremental sync ok: read 4, added 0, updated 1, unchanged 3") !=
             std::string::npos);
  BOOST_TEST(Attr(*Get("employee_id:E4"), "start_date") == "2026-12-31");
  BOOST_TEST(Get("employee_id:E4").ok());
  BOOST_TEST(Source("hr").last_run().state() == "ok");
}

BOOST_FIXTURE_TEST_CASE(an_empty_export_does_not_wipe_the_source, ConnectorFixture) {
  const std::string config = Write("hr.json", kConfig);
  Write("people.csv", "employee_id,display_name,email\nE1,Alice,alice@example.com\n");
  BOOST_REQUIRE(Connect("--config " + config).exit == 0);
  Write("people.csv", "employee_id,display_name,email\n");
  auto r = Connect("--config " + config);
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(r.err.find("refusing to delete") != std::string::npos);
  BOOST_TEST(Get("employee_id:E1").ok());
  BOOST_TEST(Source("hr").last_run().state() == "failed");
  r = Connect("--config " + config + " --allow-empty");
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(Get("employee_id:E1").status().code() == absl::StatusCode::kNotFound);
}

// Excel on a French Windows: Latin-1 bytes, ';' between fields, dates as dd/mm/yyyy.
const std::string kLatin1Export =
    "employee_id;display_name;email;location;start_date\n"
    "E1;H\xE9l\xE8ne Garnier;helene@example.com;Orl\xE9"
    "ans;13/03/2017\n"
    "E2;Bruno Petit;bruno@example.com;Paris;07/11/2016\n";

BOOST_FIXTURE_TEST_CASE(a_latin1_export_is_never_lost_silently, ConnectorFixture) {
  Write("people.csv", kLatin1Export);
  // As UTF-8 (the default): the Latin-1 row is rejected by line, the other applied,
  // and the counts add up.
  std::string config = Write("hr.json", R"({"source": {"id": "hr", "kind": "csv"},
    "input": {"path": "people.csv", "delimiter": ";", "date_format": "dd/mm/yyyy"}})");
  auto r = Connect("--config " + config);
  BOOST_TEST_INFO(r.out << r.err);
  BOOST_TEST(r.exit == 3);
  BOOST_TEST(
      r.out.find("sync partial: read 2, added 1, updated 0, unchanged 0, deleted 0, rejected 1, "
                 "suppressed 0") != std::string::npos);
  BOOST_TEST(r.err.find("people.csv:2: line 2: not UTF-8 (set input.encoding?)") !=
             std::string::npos);
  BOOST_TEST(Get("employee_id:E1").status().code() == absl::StatusCode::kNotFound);
  BOOST_TEST(Attr(*Get("employee_id:E2"), "start_date") == "2016-11-07");
  BOOST_TEST(Source("hr").last_run().state() == "partial");

  // With its encoding named, every row arrives, accents intact.
  config = Write("hr.json", R"({"source": {"id": "hr", "kind": "csv"},
    "input": {"path": "people.csv", "delimiter": "auto", "encoding": "latin1", "date_format": "dd/mm/yyyy"}})");
  r = Connect("--config " + config);
  BOOST_TEST_INFO(r.out << r.err);
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out.find("sync ok: read 2, added 1, updated 0, unchanged 1") != std::string::npos);
  auto helene = Get("employee_id:E1");
  BOOST_REQUIRE(helene.ok());
  BOOST_TEST(Attr(*helene, "display_name") == "H\u00e9l\u00e8ne Garnier");
  BOOST_TEST(Attr(*helene, "location") ==
             "Orl\u00e9"
             "ans");
  BOOST_TEST(Attr(*helene, "start_date") == "2017-03-13");

  // Windows-1252 has characters Latin-1 lacks (the euro sign, curly quotes).
  Write("people.csv", "employee_id,display_name,title\nE3,Zo\xE9 \x93Zed\x94 Roux,Budget \x80\n");
  config = Write("hr.json", R"({"source": {"id": "hr", "kind": "csv"}, "max_delete_share": 1,
    "input": {"path": "people.csv", "encoding": "windows-1252"}})");
  r = Connect("--config " + config);
  BOOST_TEST_INFO(r.err);
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(Attr(*Get("employee_id:E3"), "title") == "Budget \u20ac");
  BOOST_TEST(Attr(*Get("employee_id:E3"), "display_name") == "Zo\u00e9 \u201cZed\u201d Roux");

  // A UTF-8 export with a BOM is read as UTF-8 even when the config says latin1.
  Write("people.csv",
        "\xEF\xBB\xBF"
        "employee_id,display_name\nE3,Zo\xC3\xA9 Roux\n");
  config = Write("hr.json", R"({"source": {"id": "hr", "kind": "csv"}, "max_delete_share": 1,
    "input": {"path": "people.csv", "encoding": "latin1"}})");
  BOOST_REQUIRE(Connect("--config " + config).exit == 0);
  BOOST_TEST(Attr(*Get("employee_id:E3"), "display_name") == "Zo\u00e9 Roux");
}

BOOST_FIXTURE_TEST_CASE(the_delimiter_is_named_or_detected, ConnectorFixture) {
  Write("people.csv", "employee_id;display_name;email\nE1;Alice Martin;alice@example.com\n");
  // Read with ',' the header is one field: the error says which delimiter it holds.
  std::string config = Write(
      "hr.json", R"({"source": {"id": "hr", "kind": "csv"}, "input": {"path": "people.csv"}})");
  auto r = Connect("--config " + config);
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(
      r.err.find(
          "the header has one field; delimiter ';'? (set input.delimiter to \";\" or \"auto\")") !=
      std::string::npos);
  config =
      Write("hr.json", R"({"source": {"id": "hr", "kind": "csv"}, "input": {"path": "people.csv",
    "delimiter": "auto"}})");
  r = Connect("--config " + config);
  BOOST_TEST_INFO(r.err);
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(Attr(*Get("email:alice@example.com"), "display_name") == "Alice Martin");
  // Tabs, detected.
  Write("people.csv", "employee_id\tdisplay_name\nE1\tAlice Martin\nE2\t\"Bruno, Petit\"\n");
  r = Connect("--config " + config);
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(Attr(*Get("employee_id:E2"), "display_name") == "Bruno, Petit");
  // Bad settings name the key.
  for (const char* bad :
       {R"("delimiter": "|")", R"("encoding": "klingon-8")", R"("date_format": "yy.mm.dd")"}) {
    config = Write(
        "bad.json",
        std::string(R"({"source": {"id": "hr", "kind": "csv"}, "input": {"path": "people.csv", )") +
            bad + "}}");
    r = Connect("--config " + config);
    BOOST_TEST(r.exit == 2);
    const std::string key = std::string(bad).substr(1, std::string(bad).find('"', 1) - 1);
    BOOST_TEST(r.err.find("\"input." + key + "\"") != std::string::npos, r.err);
  }
}

BOOST_FIXTURE_TEST_CASE(a_truncated_export_needs_allow_deletes, ConnectorFixture) {
  std::string csv = "employee_id,display_name\n";
  for (int i = 0; i < 10; ++i)
    csv += "E" + std::to_string(i) + ",Person " + std::to_string(i) + "\n";
  Write("people.csv", csv);
  const std::string config = Write(
      "hr.json", R"({"source": {"id": "hr", "kind": "csv"}, "input": {"path": "people.csv"}})");
  BOOST_REQUIRE(Connect("--config " + config).exit == 0);
  // Two leave: 20%, within the default max_delete_share.
  csv = "employee_id,display_name\n";
  for (int i = 0; i < 8; ++i)
    csv += "E" + std::to_string(i) + ",Person " + std::to_string(i) + "\n";
  Write("people.csv", csv);
  auto r = Connect("--config " + config);
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out.find("deleted 2") != std::string::npos);
  // The export is cut after three rows: five of eight would go. Refused, nothing deleted.
  Write("people.csv", "employee_id,display_name\nE0,Person 0\nE1,Person 1\nE2,Person 2\n");
  r = Connect("--config " + config);
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(r.err.find("this run would delete 5 of the 8 records synced before (62% > 20%") !=
                 std::string::npos,
             r.err);
  BOOST_TEST(r.err.find("--allow-deletes") != std::string::npos);
  BOOST_TEST(Source("hr").fragments() == 8u);
  BOOST_TEST(Source("hr").last_run().state() == "failed");
  r = Connect("--config " + config + " --allow-deletes");
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(Source("hr").fragments() == 3u);
}

// `tessera admin source --priority` sets the priority; a later sync keeps it and says
// that its configuration proposes another.
BOOST_FIXTURE_TEST_CASE(the_registry_owns_the_priority, ConnectorFixture) {
  Write("people.csv", "employee_id,display_name\nE1,Alice\n");
  const std::string config =
      Write("hr.json", R"({"source": {"id": "rh-paie", "kind": "csv", "priority": 85},
    "input": {"path": "people.csv"}})");
  BOOST_REQUIRE(Connect("--config " + config).exit == 0);
  BOOST_TEST(Source("rh-paie").priority() == 85);  // proposed at first registration
  auto cli = Cli("admin source rh-paie --priority 95");
  BOOST_TEST_INFO(cli.err);
  BOOST_REQUIRE(cli.exit == 0);
  auto r = Connect("--config " + config);
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(Source("rh-paie").priority() == 95);
  BOOST_TEST(r.err.find("priority 85 in " + config +
                        ", 95 in tesserad's registry: the registry's is kept") != std::string::npos,
             r.err);
}

BOOST_FIXTURE_TEST_CASE(clear_errors, ConnectorFixture) {
  // A column the mapping names is missing from the export: the whole run stops.
  const std::string config = Write("hr.json", R"({
    "source": {"id": "hr", "kind": "csv"},
    "input": {"path": "people.csv"},
    "mapping": {"attributes": {"cost_centre": "cc"}}
  })");
  Write("people.csv", "employee_id,display_name\nE1,Alice\n");
  auto r = Connect("--config " + config);
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(r.err.find("people.csv's header has no field 'cc'") != std::string::npos);

  const std::string missing =
      Write("m.json", R"({"source": {"id": "hr", "kind": "csv"}, "input": {"path": "nope.csv"}})");
  r = Connect("--config " + missing);
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(r.err.find("nope.csv: no such file") != std::string::npos);

  const std::string no_path =
      Write("p.json", R"({"source": {"id": "hr", "kind": "csv"}, "input": {}})");
  r = Connect("--config " + no_path);
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(r.err.find("input.path") != std::string::npos);

  Write("people.csv", "employee_id,display_name\nE1,Alice\n");
  const std::string ok = Write(
      "ok.json", R"({"source": {"id": "hr", "kind": "csv"}, "input": {"path": "people.csv"}})");
  r = Connect("--config " + ok, "127.0.0.1:1");
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(r.err.find("cannot reach tesserad at 127.0.0.1:1") != std::string::npos);
}

}  // namespace

namespace {

// tesserad stops answering in the middle of a sync (SIGSTOP): batches time out and are
// sent again once it answers, and nothing is lost or applied twice. When it stays away
// longer than the retries, the run fails, keeps what was acknowledged, and the next
// run finishes the job.
BOOST_FIXTURE_TEST_CASE(retries_and_resumes, ConnectorFixture) {
  std::string csv = "employee_id,display_name,email\n";
  constexpr int kRows = 3000;
  for (int i = 0; i < kRows; ++i) {
    csv += "E" + std::to_string(i) + ",Person " + std::to_string(i) + ",p" + std::to_string(i) +
           "@example.com\n";
  }
  Write("people.csv", csv);
  const std::string config =
      Write("hr.json", R"({"source": {"id": "hr", "kind": "csv"}, "batch_size": 50,
    "input": {"path": "people.csv"}})");
  // A short pause: the retries (250 ms, 500 ms, ...) ride it out.
  const std::string out = tmp.Sub("bg.out");
  const std::string cmd = std::string(TESSERA_CONNECT_PATH) +
                          " --quiet --timeout-ms 300 --server " + address() + " --config " +
                          config + " >" + out + " 2>&1";
  std::thread connector([&] { BOOST_TEST(std::system(cmd.c_str()) == 0); });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  kill(server().pid(), SIGSTOP);
  std::this_thread::sleep_for(std::chrono::milliseconds(900));
  kill(server().pid(), SIGCONT);
  connector.join();
  const std::string summary = Read(out);
  BOOST_TEST_INFO(summary);
  BOOST_TEST(summary.find("ok: read 3000") != std::string::npos);
  BOOST_TEST(Source("hr").fragments() == static_cast<uint64_t>(kRows));
  BOOST_TEST(Get("employee_id:E2999").ok());

  // A long outage: the run fails part-way and says so; the next one completes.
  // Enough new rows that the sync is still running when tesserad stops.
  constexpr int kMore = 30000;
  for (int i = 0; i < kMore; ++i)
    csv += "F" + std::to_string(i) + ",Other " + std::to_string(i) + ",\n";
  Write("people.csv", csv);
  // Stop tesserad once the run has applied some of the new rows, however slow the machine.
  std::thread stopper([&] {
    for (int i = 0; i < 4000 && Source("hr").fragments() <= static_cast<uint64_t>(kRows); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    kill(server().pid(), SIGSTOP);
  });
  auto r = Connect("--timeout-ms 200 --config " + config);
  stopper.join();
  kill(server().pid(), SIGCONT);
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(r.err.find("cannot reach tesserad") != std::string::npos);
  r = Connect("--config " + config);
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(Source("hr").fragments() == static_cast<uint64_t>(kRows + kMore));
  BOOST_TEST(Source("hr").last_run().state() == "ok");
  // What the failed run had acknowledged comes back unchanged, the rest is added: every
  // record exactly once. The batches in doubt come back "updated" (same content under a
  // newer version): applied, but their answers lost to the outage. Each attempt of the
  // two batches in flight may be one, since tesserad, once resumed, can still apply a
  // call its client gave up on: at most (1 + 4 retries) x 2 batches of 50.
  const tessera::v1::SyncRun run = Source("hr").last_run();
  BOOST_TEST(run.added() + run.unchanged() + run.updated() == static_cast<uint64_t>(kRows + kMore));
  // The failed run had applied some new rows before tesserad stopped: they come back
  // unchanged if their answer arrived in time, updated if it was lost to the stop.
  BOOST_TEST(run.unchanged() + run.updated() > static_cast<uint64_t>(kRows));
  BOOST_TEST(run.unchanged() >= static_cast<uint64_t>(kRows));
  BOOST_TEST(run.updated() <= 5 * 2 * 50u);
}

}  // namespace
