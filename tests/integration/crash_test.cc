#define BOOST_TEST_MODULE crash
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "client/lib/client.h"
#include "tests/integration/tesserad_process.h"
#include "tests/integration/test_fragments.h"
#include "tests/unit/temp_dir.h"

// Kills tesserad with SIGKILL at random moments while a writer ingests, then restarts
// it and checks that every acknowledged fragment is there (at its acknowledged version
// or newer) and that Rebuild changes nothing. TESSERA_CRASH_ROUNDS sets the number of
// kills (default 25). A second test kills it in the middle of bulk loads, whose
// postings live only in the process until the load finishes.

using namespace tessera;

namespace {

int Rounds() {
  const char* env = std::getenv("TESSERA_CRASH_ROUNDS");
  return env != nullptr ? std::max(1, std::atoi(env)) : 25;
}

// Fragment i of the whole run: people share e-mails in threes and report to an
// earlier person, so linking, merging and edges are all under way when the kill lands.
v1::Fragment Person(uint64_t i, uint64_t version) {
  v1::Fragment f =
      testing::Employee(i % 2 == 0 ? "hr" : "ldap", "p" + std::to_string(i), version,
                        "Person " + std::to_string(i) + " v" + std::to_string(version),
                        "p" + std::to_string(i / 3) + "@crash.example", "E" + std::to_string(i / 3),
                        i > 3 ? "E" + std::to_string(i / 7) : "");
  f.set_updated_at_unix_ms(1'700'000'000'000 + static_cast<int64_t>(i));
  return f;
}

struct Acked {
  std::mutex mu;
  std::map<uint64_t, uint64_t> version;  // fragment index -> acknowledged version
};

// Ingests batches until the server goes away; records what was acknowledged. Writer
// `w` of `writers` takes the new fragment numbers first + w, first + w + writers, ...
// Two writers keep tesserad's pipeline full: one batch applied while another is written.
void Writer(const std::string& address, uint64_t first, int w, int writers, std::mt19937_64 rng,
            Acked& acked, std::atomic<bool>& stop) {
  client::Client c(client::ClientOptions{address, 5000});
  uint64_t next = first + w;
  while (!stop.load()) {
    v1::IngestBatch batch;
    std::vector<std::pair<uint64_t, uint64_t>> sent;
    for (int k = 0; k < 50; ++k) {
      // Mostly new people, some updates of earlier ones (new version).
      uint64_t i = next;
      uint64_t v = 1;
      if (next > 10 && rng() % 4 == 0) {
        i = rng() % next / writers * writers + w;  // only this writer's fragments
        std::lock_guard<std::mutex> l(acked.mu);
        auto it = acked.version.find(i);
        if (it == acked.version.end()) continue;
        v = it->second + 1 + rng() % 2;
      } else {
        next += writers;
      }
      *batch.add_fragments() = Person(i, v);
      sent.emplace_back(i, v);
    }
    if (!testing::IngestBatch(c, batch).ok()) return;  // killed: this batch is not acknowledged
    std::lock_guard<std::mutex> l(acked.mu);
    for (auto [i, v] : sent) acked.version[i] = std::max(acked.version[i], v);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(acknowledged_writes_survive_sigkill) {
  testing::TempDir tmp;
  testing::TesseradProcess server(tmp.path());
  server.Start();
  {
    client::Client c(client::ClientOptions{server.address(), 5000});
    for (const char* id : {"hr", "ldap"}) {
      v1::Source s;
      s.set_id(id);
      s.set_kind("test");
      s.set_priority(50);
      BOOST_REQUIRE(c.PutSource(s).ok());
    }
  }
  const uint64_t seed = 20261124;
  std::mt19937_64 rng(seed);
  BOOST_TEST_MESSAGE("seed " << seed);
  Acked acked;
  int kills = 0, rebuilds = 0;
  uint64_t first = 0;
  size_t checked = 0;
  for (int round = 0; round < Rounds(); ++round) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    writers.reserve(2);
    for (int w = 0; w < 2; ++w) {
      writers.emplace_back(Writer, server.address(), first, w, 2, std::mt19937_64(rng()),
                           std::ref(acked), std::ref(stop));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 400));
    BOOST_REQUIRE(server.Kill() == 128 + SIGKILL);
    ++kills;
    stop = true;
    for (auto& t : writers) t.join();
    server.Start();

    // Every fragment acknowledged since the last check, and a sample of older ones;
    // every fifth round and the last, all of them and a Rebuild.
    const bool full = round % 5 == 4 || round + 1 == Rounds();
    std::lock_guard<std::mutex> l(acked.mu);
    std::vector<std::pair<uint64_t, uint64_t>> check;
    for (const auto& [i, v] : acked.version) {
      if (full || i >= first || rng() % 100 == 0) check.emplace_back(i, v);
    }
    client::Client c(client::ClientOptions{server.address(), 10'000});
    size_t missing = 0;
    for (const auto& [i, v] : check) {
      v1::FragmentRef ref;
      ref.set_source(i % 2 == 0 ? "hr" : "ldap");
      ref.set_external_id("p" + std::to_string(i));
      absl::StatusOr<v1::GetFragmentResponse> got = c.GetFragment(ref);
      if (!got.ok() || got->fragment().version() < v || got->profile_id() == 0) ++missing;
    }
    checked += check.size();
    BOOST_TEST(missing == 0u, "round " << round << ": " << missing << " of " << check.size()
                                       << " acknowledged fragments missing or older");
    if (full) {
      absl::StatusOr<v1::RebuildResponse> rebuilt = c.Rebuild();
      BOOST_REQUIRE_MESSAGE(rebuilt.ok(), rebuilt.status());
      BOOST_TEST(rebuilt->identical(), "round " << round << ": rebuild changed the derived state");
      ++rebuilds;
    }
    first = acked.version.empty() ? 0 : acked.version.rbegin()->first + 1;
  }
  BOOST_TEST_MESSAGE(kills << " kills, " << acked.version.size() << " acknowledged fragments, "
                           << checked << " checks, " << rebuilds << " rebuilds, all identical");
  BOOST_TEST(kills >= std::min(20, Rounds()));
  BOOST_TEST(rebuilds >= 1);
  BOOST_TEST(acked.version.size() > 100u);
}

BOOST_AUTO_TEST_CASE(a_bulk_load_killed_part_way_is_rebuilt_at_start) {
  testing::TempDir tmp;
  testing::TesseradProcess server(tmp.path());
  server.Start();
  {
    client::Client c(client::ClientOptions{server.address(), 5000});
    for (const char* id : {"hr", "ldap", "helpdesk"}) {
      v1::Source s;
      s.set_id(id);
      s.set_kind("test");
      s.set_priority(50);
      BOOST_REQUIRE(c.PutSource(s).ok());
    }
    v1::IngestBatch people;
    for (uint64_t p = 0; p < 30; ++p) *people.add_fragments() = Person(p * 3, 1);
    BOOST_REQUIRE(testing::IngestBatch(c, people).ok());
  }
  uint64_t next = 0, acked_cases = 0;
  const int rounds = std::min(Rounds(), 4);
  for (int round = 0; round < rounds; ++round) {
    std::atomic<uint64_t> acked_batches{0}, acked{next};
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      client::Client c(client::ClientOptions{server.address(), 5000});
      for (uint64_t first = next; !stop.load(); first += 40) {
        v1::IngestBatch batch;
        batch.set_bulk(true);
        for (uint64_t i = first; i < first + 40; ++i)
          *batch.add_fragments() = testing::SmallCase(i, 30);
        if (!testing::IngestBatch(c, batch).ok()) return;  // killed
        acked = first + 40;
        ++acked_batches;
      }
    });
    // Kill once a few bulk batches are acknowledged: the load is under way, unfinished.
    while (acked_batches.load() < 3 + static_cast<uint64_t>(round)) std::this_thread::yield();
    BOOST_REQUIRE(server.Kill() == 128 + SIGKILL);
    stop = true;
    writer.join();
    next = acked.load();
    acked_cases = next;
    server.Start();
    // The log is appended to at every start: one notice per kill so far.
    const std::string log = testing::ReadFile(tmp.Sub("tesserad.log"));
    int rebuilds = 0;
    for (size_t at = log.find("a bulk load did not finish"); at != std::string::npos;
         at = log.find("a bulk load did not finish", at + 1)) {
      ++rebuilds;
    }
    BOOST_TEST(rebuilds == round + 1, "round " << round << ": no rebuild at start");
    client::Client c(client::ClientOptions{server.address(), 10'000});
    // Every acknowledged case is there and its words find its resolver.
    size_t missing = 0;
    for (uint64_t i = 0; i < acked_cases; ++i) {
      v1::FragmentRef ref;
      ref.set_source("helpdesk");
      ref.set_external_id("c" + std::to_string(i));
      if (!c.GetFragment(ref).ok()) ++missing;
    }
    BOOST_TEST(missing == 0u, "round " << round << ": " << missing << " cases missing");
    v1::FindExpertsRequest q;
    q.set_text("mortgage pension");
    q.set_as_of_unix_ms(1'700'000'000'000);
    absl::StatusOr<v1::FindExpertsResponse> found = c.FindExperts(q);
    BOOST_REQUIRE_MESSAGE(found.ok(), found.status());
    BOOST_TEST(found->experts_size() > 0, "round " << round);
    absl::StatusOr<v1::RebuildResponse> rebuilt = c.Rebuild();
    BOOST_REQUIRE_MESSAGE(rebuilt.ok(), rebuilt.status());
    BOOST_TEST(rebuilt->identical(), "round " << round << ": the postings were incomplete");
  }
  BOOST_TEST(acked_cases >= 120u);
}
