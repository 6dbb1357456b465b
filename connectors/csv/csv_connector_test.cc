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

constexpr char kConfig[] = R"({
  "source": {"id": "hr", "kind": "csv", "priority": 90, "description": "HR export"},
  "input": {"path": "people.csv"}
})";

BOOST_FIXTURE_TEST_CASE(full_then_changed_export, ConnectorFixture) {
  const std::string config = Write("hr.json", kConfig);
  // A BOM, a quoted field with a comma and a line break, a manager, a leaver.
  Write("people.csv",
        "\xEF\xBB\xBF" "employee_id,display_name,email,team,title,location,start_date,end_date,manager\n"
        "E1,Alice Martin,Alice.Martin@Example.com,Payments,\"Head of Payments, Paris\",Paris,2017-03-13,,\n"
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
  BOOST_TEST(r.out.find("added 1, updated 1, unchanged 1, deleted 1") != std::string::npos);
  BOOST_TEST(Attr(*Get("employee_id:E1"), "team") == "Payments");  // the dry run changed nothing

  r = Connect("--config " + config);
  BOOST_TEST(r.exit == 3);  // finished, with rejected records
  BOOST_TEST(r.out.find("added 1, updated 1, unchanged 1, deleted 1, rejected 2") != std::string::npos);
  BOOST_TEST(r.err.find("people.csv:4: start_date '31/12/2026' is not YYYY-MM-DD") != std::string::npos);
  BOOST_TEST(r.err.find("people.csv:5: has 2 fields, the header has 9") != std::string::npos);
  BOOST_TEST(Attr(*Get("employee_id:E1"), "team") == "Cards");
  BOOST_TEST(Get("employee_id:E2").status().code() == absl::StatusCode::kNotFound);
  BOOST_TEST(Get("employee_id:E6").ok());
  BOOST_TEST(Get("employee_id:E4").status().code() == absl::StatusCode::kNotFound);

  // tesserad knows how the run went.
  const tessera::v1::Source src = Source("hr");
  BOOST_TEST(src.fragments() == 3u);
  BOOST_TEST(src.last_run().state() == "partial");
  BOOST_TEST(src.last_run().rejected() == 2u);
  BOOST_TEST(src.last_run().errors_size() == 2);
  BOOST_TEST(src.last_success_unix_ms() > 0);
  auto cli = Cli("admin sources");
  BOOST_TEST(cli.exit == 0);
  BOOST_TEST(cli.out.find("partial") != std::string::npos);
  BOOST_TEST(cli.out.find("5/1/1/1/1/2") != std::string::npos);
  BOOST_TEST(cli.out.find("start_date '31/12/2026'") != std::string::npos);

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
  BOOST_TEST(r.out.find("incremental sync ok: read 4, added 1, updated 0, unchanged 3") != std::string::npos);
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

  const std::string missing = Write("m.json", R"({"source": {"id": "hr", "kind": "csv"}, "input": {"path": "nope.csv"}})");
  r = Connect("--config " + missing);
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(r.err.find("nope.csv: no such file") != std::string::npos);

  const std::string no_path = Write("p.json", R"({"source": {"id": "hr", "kind": "csv"}, "input": {}})");
  r = Connect("--config " + no_path);
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(r.err.find("input.path") != std::string::npos);

  Write("people.csv", "employee_id,display_name\nE1,Alice\n");
  const std::string ok = Write("ok.json", R"({"source": {"id": "hr", "kind": "csv"}, "input": {"path": "people.csv"}})");
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
    csv += "E" + std::to_string(i) + ",Person " + std::to_string(i) + ",p" + std::to_string(i) + "@example.com\n";
  }
  Write("people.csv", csv);
  const std::string config = Write("hr.json", R"({"source": {"id": "hr", "kind": "csv"}, "batch_size": 50,
    "input": {"path": "people.csv"}})");
  // A short pause: the retries (250 ms, 500 ms, ...) ride it out.
  const std::string out = tmp.Sub("bg.out");
  const std::string cmd = std::string(TESSERA_CONNECT_PATH) + " --quiet --timeout-ms 300 --server " + address() +
                          " --config " + config + " >" + out + " 2>&1";
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
  for (int i = 0; i < kMore; ++i) csv += "F" + std::to_string(i) + ",Other " + std::to_string(i) + ",\n";
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
  BOOST_TEST(run.unchanged() > static_cast<uint64_t>(kRows));  // the failed run had applied some
  BOOST_TEST(run.updated() <= 5 * 2 * 50u);
}

}  // namespace
