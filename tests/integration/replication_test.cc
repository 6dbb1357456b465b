#define BOOST_TEST_MODULE replication
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <random>
#include <string>
#include <thread>

#include "client/lib/client.h"
#include "nats/nats.h"
#include "tests/integration/nats_cluster.h"
#include "tests/integration/tesserad_process.h"
#include "tests/integration/test_fragments.h"
#include "tests/unit/temp_dir.h"

// Replicas (server/replica) against a real 3-node nats-server JetStream cluster and
// real tesserads on loopback: writes through one replica are read from the others
// with min_position; digests agree; a replica killed mid-ingest catches up; a gap
// stops a replica; NATS down refuses writes and keeps reads; erasure replicates; a
// fourth replica bootstraps from a backup. TESSERA_REPLICA_KILLS sets the kill rounds
// (default 10).

using namespace tessera;
namespace fs = std::filesystem;

namespace {

constexpr int kStaff = 20000;
// Longer than a write may take at the server: publish_timeout + apply_wait (Connect).
constexpr int kClientDeadlineMs = 90'000;

int KillRounds() {
  const char* env = std::getenv("TESSERA_REPLICA_KILLS");
  return env != nullptr ? std::max(1, std::atoi(env)) : 10;
}

v1::Fragment Person(uint64_t i, uint64_t version) {
  v1::Fragment f =
      testing::Employee("hr", "p" + std::to_string(i), version,
                        "Person " + std::to_string(i) + " v" + std::to_string(version),
                        "p" + std::to_string(i) + "@replica.example", "E" + std::to_string(i),
                        i > 3 ? "E" + std::to_string(i / 4) : "");
  f.set_updated_at_unix_ms(1'700'000'000'000 + static_cast<int64_t>(i));
  return f;
}

std::unique_ptr<grpc::ClientContext> AtLeast(const client::Client& c, uint64_t position) {
  std::unique_ptr<grpc::ClientContext> ctx = c.NewContext();
  ctx->AddMetadata("tessera-min-position", std::to_string(position));
  return ctx;
}

absl::StatusOr<v1::Profile> GetAtLeast(const client::Client& c, const std::string& email,
                                       uint64_t position) {
  v1::GetProfileRequest req;
  req.mutable_identifier()->set_type("email");
  req.mutable_identifier()->set_value(email);
  v1::Profile p;
  grpc::Status s = c.directory().GetProfile(AtLeast(c, position).get(), req, &p);
  if (!s.ok()) return client::FromGrpc(s);
  return p;
}

// The ranked people's ids of FindExperts("card blocked abroad"), after `position`.
absl::StatusOr<std::vector<uint64_t>> Experts(const client::Client& c, uint64_t position) {
  v1::FindExpertsRequest req;
  req.set_text("my card is blocked abroad, can you help");
  req.set_as_of_unix_ms(1'700'000'000'000);
  req.set_limit(10);
  v1::FindExpertsResponse resp;
  grpc::Status s = c.expertise().FindExperts(AtLeast(c, position).get(), req, &resp);
  if (!s.ok()) return client::FromGrpc(s);
  std::vector<uint64_t> ids;
  for (const auto& e : resp.experts()) ids.push_back(e.person().id());
  return ids;
}

std::string Digest(const client::Client& c) {
  absl::StatusOr<v1::RebuildResponse> r = c.Rebuild();
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
  BOOST_TEST(r->identical(), "a rebuild changed the derived data");
  return r->digest_after();
}

v1::ReplicaState Replica(const client::Client& c) {
  absl::StatusOr<v1::StatsResponse> st = c.Stats();
  BOOST_REQUIRE_MESSAGE(st.ok(), st.status());
  return st->replica();
}

// Three NATS servers and `n` tesserad replicas on loopback, sharing a suppression key.
struct Cluster {
  testing::TempDir tmp;
  testing::NatsCluster nats;
  std::vector<std::unique_ptr<testing::TesseradProcess>> nodes;
  std::vector<std::unique_ptr<client::Client>> clients;

  explicit Cluster(int n)
      : nats((fs::create_directories(tmp.path() + "/nats"), tmp.path() + "/nats"), 3) {
    nats.StartAll();
    std::ofstream(tmp.path() + "/key") << "replicas-share-this-suppression-key\n";
    std::ofstream(tmp.path() + "/tesserad.json")
        << R"({"security": {"suppression_key_file": ")" << tmp.path()
        << R"(/key"}, "replication": {"max_read_lag": 0}})";
    for (int i = 0; i < n; ++i) Add();
  }

  // Starts replica i (new: a fresh folder) and connects a client.
  size_t Add() {
    const size_t i = nodes.size();
    const std::string dir = tmp.path() + "/r" + std::to_string(i);
    fs::create_directories(dir);
    nodes.push_back(std::make_unique<testing::TesseradProcess>(
        dir, std::vector<std::string>{"--config", tmp.path() + "/tesserad.json", "--replication",
                                      nats.Urls(), "--node", "r" + std::to_string(i)}));
    nodes.back()->Start();
    clients.push_back(nullptr);
    Connect(i);
    return i;
  }
  // A write may take the server's own limits to answer: publish_timeout (20 s) to get
  // the log's acknowledgement through an election, then apply_wait (60 s) to apply it
  // here. The client waits longer than both, so a slow write fails with the server's
  // own message (which says what it waited for) rather than a client deadline.
  void Connect(size_t i) {
    clients[i] = std::make_unique<client::Client>(
        client::ClientOptions{nodes[i]->address(), kClientDeadlineMs});
  }
  void Restart(size_t i) {
    nodes[i]->Start();
    Connect(i);
  }
  const client::Client& c(size_t i) const { return *clients[i]; }
  // The end of every replica's and NATS server's log, for a failure message. Read only
  // when streamed: Boost.Test streams an assertion's message only when it fails.
  struct LogTails {
    const Cluster* cluster;
    friend std::ostream& operator<<(std::ostream& os, const LogTails& t) {
      const auto tail = [&os](const std::string& name, const std::string& log) {
        os << "\n--- " << name << " (the last 3,000 bytes of its log) ---\n"
           << log.substr(log.size() > 3000 ? log.size() - 3000 : 0);
      };
      for (size_t i = 0; i < t.cluster->nodes.size(); ++i)
        tail("replica r" + std::to_string(i), t.cluster->nodes[i]->Log());
      for (size_t i = 0; i < t.cluster->nats.size(); ++i)
        tail("nats-server n" + std::to_string(i), testing::ReadFile(t.cluster->nats.Log(i)));
      return os;
    }
  };
  LogTails Logs() const { return LogTails{this}; }

  void Sources(size_t via) {
    for (const char* id : {"hr", "helpdesk"}) {
      v1::Source s;
      s.set_id(id);
      s.set_kind("test");
      s.set_priority(50);
      absl::StatusOr<v1::Source> r = c(via).PutSource(s);
      BOOST_REQUIRE_MESSAGE(r.ok(), r.status() << Logs());
    }
  }
  // People 0..people-1 and `cases` cases through replica `via`; the last position.
  uint64_t Organisation(size_t via, uint64_t people, uint64_t cases) {
    Sources(via);
    v1::IngestBatch batch;
    for (uint64_t p = 0; p < people; ++p) *batch.add_fragments() = Person(p, 1);
    absl::StatusOr<uint64_t> pos = testing::IngestBatch(c(via), batch);
    BOOST_REQUIRE_MESSAGE(pos.ok(), pos.status() << Logs());
    batch.Clear();
    for (uint64_t k = 0; k < cases; ++k) *batch.add_fragments() = testing::SmallCase(k, people);
    pos = testing::IngestBatch(c(via), batch);
    BOOST_REQUIRE_MESSAGE(pos.ok(), pos.status() << Logs());
    return *pos;
  }
};

// Calls js on a connection to the cluster; for the test hooks (purge, leader).
struct JetStream {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  explicit JetStream(const std::string& urls) {
    BOOST_REQUIRE(natsConnection_ConnectTo(&nc, urls.c_str()) == NATS_OK);
    BOOST_REQUIRE(natsConnection_JetStream(&js, nc, nullptr) == NATS_OK);
  }
  ~JetStream() {
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
  }
  // Drops every message of the stream before `keep_from`.
  void PurgeBefore(uint64_t keep_from) {
    jsOptions o;
    jsOptions_Init(&o);
    o.Stream.Purge.Sequence = keep_from;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    BOOST_REQUIRE(js_PurgeStream(js, "tessera", &o, &jerr) == NATS_OK);
  }
  // Deletes the stream and makes it again, empty, as an operator might.
  void RecreateStream() {
    jsErrCode jerr = static_cast<jsErrCode>(0);
    BOOST_REQUIRE(js_DeleteStream(js, "tessera", nullptr, &jerr) == NATS_OK);
    const char* subjects[] = {"tessera.>"};
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = "tessera";
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = 3;
    jsStreamInfo* si = nullptr;
    BOOST_REQUIRE(js_AddStream(&si, js, &cfg, nullptr, &jerr) == NATS_OK);
    jsStreamInfo_Destroy(si);
  }
  // Appends `data` to the stream, as a writer that is not Tessera's would.
  void Publish(const std::string& data) {
    jsErrCode jerr = static_cast<jsErrCode>(0);
    BOOST_REQUIRE(js_Publish(nullptr, js, "tessera.foreign", data.data(),
                             static_cast<int>(data.size()), nullptr, &jerr) == NATS_OK);
  }
  // The stream leader's server name ("n1").
  std::string Leader() {
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    BOOST_REQUIRE(js_GetStreamInfo(&si, js, "tessera", nullptr, &jerr) == NATS_OK);
    std::string leader =
        si->Cluster != nullptr && si->Cluster->Leader != nullptr ? si->Cluster->Leader : "";
    jsStreamInfo_Destroy(si);
    return leader;
  }
};

// Retries `f` (returning absl::StatusOr or Status) until OK or `seconds` pass.
template <typename F>
auto Eventually(F f, int seconds) {
  auto r = f();
  for (int i = 0; i < seconds * 10 && !r.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    r = f();
  }
  return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(three_replicas_serve_what_one_was_sent) {
  Cluster cl(3);
  const uint64_t pos = cl.Organisation(0, 40, 300);
  BOOST_TEST(pos > 0u);
  for (size_t i = 1; i < 3; ++i) {
    absl::StatusOr<v1::Profile> p = GetAtLeast(cl.c(i), "p7@replica.example", pos);
    BOOST_REQUIRE_MESSAGE(p.ok(), "replica " << i << ": " << p.status());
    BOOST_TEST(p->id() > 0u);
  }
  absl::StatusOr<std::vector<uint64_t>> a = Experts(cl.c(0), pos);
  BOOST_REQUIRE_MESSAGE(a.ok(), a.status());
  BOOST_TEST(a->size() >= 3u);
  for (size_t i = 1; i < 3; ++i) {
    absl::StatusOr<std::vector<uint64_t>> b = Experts(cl.c(i), pos);
    BOOST_REQUIRE_MESSAGE(b.ok(), b.status());
    BOOST_TEST(*b == *a, "replica " << i << " ranks otherwise");
  }
  // Positions and digests agree once every replica is at the same position.
  const std::string d0 = Digest(cl.c(0));
  for (size_t i = 1; i < 3; ++i) {
    BOOST_REQUIRE(GetAtLeast(cl.c(i), "p1@replica.example", Replica(cl.c(0)).position()).ok());
    BOOST_TEST(Digest(cl.c(i)) == d0, "replica " << i << "'s digest differs");
    // (Admin calls are audited, and audit records go through the log too: positions
    // move on as the test asks.)
    BOOST_TEST(Replica(cl.c(i)).position() > pos);
  }
  // Change-log sequences (what Watch serves) mean the same on every replica.
  absl::StatusOr<v1::StatsResponse> s0 = cl.c(0).Stats();
  BOOST_REQUIRE(s0.ok());
  for (size_t i = 1; i < 3; ++i) {
    absl::StatusOr<v1::StatsResponse> si = cl.c(i).Stats();
    BOOST_REQUIRE(si.ok());
    BOOST_TEST(si->sequence() == s0->sequence(), "replica " << i << "'s change sequence differs");
    BOOST_TEST(si->profiles() == s0->profiles());
  }
  // A position no replica has reached yet is refused, naming what it reached.
  v1::GetProfileRequest req;
  req.mutable_identifier()->set_type("email");
  req.mutable_identifier()->set_value("p1@replica.example");
  v1::Profile p;
  std::unique_ptr<grpc::ClientContext> ctx = AtLeast(cl.c(1), pos + 1000);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Status far = cl.c(1).directory().GetProfile(ctx.get(), req, &p);
  BOOST_TEST(static_cast<int>(far.error_code()) ==
             static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  BOOST_TEST(far.error_message().find("has applied") != std::string::npos, far.error_message());
  const v1::ReplicaState st = Replica(cl.c(2));
  BOOST_TEST(st.replicated());
  BOOST_TEST(st.node() == "r2");
  BOOST_TEST(st.stopped().empty());
}

BOOST_AUTO_TEST_CASE(a_batch_over_the_largest_message_goes_in_parts) {
  Cluster cl(2);
  cl.Organisation(0, 10, 0);
  // ~1.6 MiB of case text: over nats-server's default max_payload of 1 MiB.
  v1::IngestBatch batch;
  for (uint64_t k = 0; k < 400; ++k) {
    v1::Fragment f = testing::SmallCase(k, 10);
    f.mutable_evidence(0)->set_text(std::string(4000, 'a' + static_cast<char>(k % 26)) + " card");
    *batch.add_fragments() = f;
  }
  // An invalid fragment refuses the whole batch, naming it, before anything is sent.
  v1::IngestBatch bad = batch;
  bad.mutable_fragments(321)->mutable_relations(0)->mutable_target()->set_type("email");
  bad.mutable_fragments(321)->mutable_relations(0)->mutable_target()->set_value("not an e-mail");
  absl::StatusOr<uint64_t> refused = testing::IngestBatch(cl.c(0), bad);
  BOOST_TEST(refused.status().code() == absl::StatusCode::kInvalidArgument, refused.status());
  BOOST_TEST(std::string(refused.status().message()).find("fragment 321") != std::string::npos,
             refused.status());
  v1::FragmentRef ref;
  ref.set_source("helpdesk");
  ref.set_external_id("c0");
  BOOST_TEST(!cl.c(0).GetFragment(ref).ok(), "part of a refused batch was applied");
  absl::StatusOr<uint64_t> pos = testing::IngestBatch(cl.c(0), batch);
  BOOST_REQUIRE_MESSAGE(pos.ok(), pos.status());
  for (uint64_t k : {0, 199, 399}) {
    ref.set_external_id("c" + std::to_string(k));
    std::unique_ptr<grpc::ClientContext> ctx = AtLeast(cl.c(1), *pos);
    v1::GetFragmentResponse resp;
    grpc::Status s = cl.c(1).admin().GetFragment(ctx.get(), ref, &resp);
    BOOST_TEST(s.ok(), "case " << k << ": " << s.error_message());
  }
}

BOOST_AUTO_TEST_CASE(a_replica_killed_during_ingest_catches_up) {
  Cluster cl(3);
  cl.Organisation(0, 20, 50);
  std::mt19937_64 rng(20261207);
  std::mutex mu;
  std::map<uint64_t, uint64_t> acked;  // person -> version acknowledged
  uint64_t last_position = 0;
  int kills = 0;
  uint64_t next = 1000;
  for (int round = 0; round < KillRounds(); ++round) {
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      while (!stop.load()) {
        v1::IngestBatch batch;
        std::vector<uint64_t> sent;
        for (int k = 0; k < 20; ++k) {
          sent.push_back(next++);
          *batch.add_fragments() = Person(sent.back(), 1);
        }
        absl::StatusOr<uint64_t> pos = testing::IngestBatch(cl.c(0), batch);
        if (!pos.ok()) continue;  // not acknowledged: it may or may not be applied
        std::lock_guard<std::mutex> l(mu);
        for (uint64_t i : sent) acked[i] = 1;
        last_position = std::max(last_position, *pos);
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 600));
    const size_t victim = 1 + rng() % 2;
    BOOST_REQUIRE(cl.nodes[victim]->Kill() == 128 + SIGKILL);
    ++kills;
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 300));
    stop = true;
    writer.join();
    cl.Restart(victim);
    // It catches up to every acknowledged write, and has each of them.
    std::lock_guard<std::mutex> l(mu);
    size_t missing = 0;
    for (const auto& [i, v] : acked) {
      if (i + 60 < next && rng() % 10 != 0) continue;  // the newest, and a sample
      if (!GetAtLeast(cl.c(victim), "p" + std::to_string(i) + "@replica.example", last_position)
               .ok())
        ++missing;
    }
    BOOST_TEST(missing == 0u,
               "round " << round << ": " << missing << " acknowledged people missing");
  }
  // Every replica at the same position has the same derived data.
  const uint64_t at = Replica(cl.c(0)).position();
  const std::string d0 = Digest(cl.c(0));
  for (size_t i = 1; i < 3; ++i) {
    BOOST_REQUIRE(GetAtLeast(cl.c(i), "p1@replica.example", at).ok());
    BOOST_TEST(Digest(cl.c(i)) == d0, "replica " << i << "'s digest differs after kills");
  }
  BOOST_TEST_MESSAGE(kills << " replica kills, " << acked.size() << " acknowledged people");
  BOOST_TEST(kills == KillRounds());
  BOOST_TEST(acked.size() > 100u);
}

BOOST_AUTO_TEST_CASE(the_stream_leader_killed_during_ingest_loses_nothing) {
  Cluster cl(2);
  cl.Organisation(0, 10, 10);
  JetStream js(cl.nats.Urls());
  const std::string leader = js.Leader();
  BOOST_REQUIRE(!leader.empty());
  std::atomic<bool> stop{false};
  std::map<uint64_t, bool> acked;  // the writer's until joined
  std::atomic<uint64_t> last_position{0};
  uint64_t failures = 0;
  double longest_pause_ms = 0;
  std::thread writer([&] {
    auto last_ack = std::chrono::steady_clock::now();
    uint64_t next = 5000;
    while (!stop.load()) {
      v1::IngestBatch batch;
      std::vector<uint64_t> sent;
      for (int k = 0; k < 10; ++k) {
        sent.push_back(next++);
        *batch.add_fragments() = Person(sent.back(), 1);
      }
      absl::StatusOr<uint64_t> pos = testing::IngestBatch(cl.c(0), batch);
      if (!pos.ok()) {
        ++failures;
        continue;
      }
      for (uint64_t i : sent) acked[i] = true;
      last_position = *pos;
      const auto now = std::chrono::steady_clock::now();
      longest_pause_ms = std::max(
          longest_pause_ms, std::chrono::duration<double, std::milli>(now - last_ack).count());
      last_ack = now;
    }
  });
  // A connector syncs an HR export through replica 1 meanwhile, riding out the kill.
  const std::string csv = cl.tmp.path() + "/staff.csv";
  {
    std::ofstream out(csv);
    out << "employee_id,display_name,email\n";
    for (int i = 0; i < kStaff; ++i) {
      out << "S" << i << ",Staff " << i << ",staff" << i << "@replica.example\n";
    }
  }
  std::ofstream(cl.tmp.path() + "/staff.json")
      << R"({"source": {"id": "staff", "kind": "csv", "priority": 50}, "input": {"path": ")" << csv
      << R"("}})";
  int connector_exit = -1;
  std::thread connector([&] {
    const int status =
        std::system((std::string(TESSERA_CONNECT_PATH) + " --quiet --server " +
                     cl.nodes[1]->address() + " --state-dir " + cl.tmp.path() + "/state --config " +
                     cl.tmp.path() + "/staff.json >" + cl.tmp.path() + "/connect.log 2>&1")
                        .c_str());
    connector_exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  cl.nats.Kill(static_cast<size_t>(std::stoi(leader.substr(1))));
  // Writes pause for the election and resume: wait until some land after the kill, for
  // as long as one write may take (usually 5-7 s here; once 29 s under ASan on 2 cores).
  const uint64_t before = last_position.load();
  for (int i = 0; i < kClientDeadlineMs / 100 && last_position.load() <= before + 5; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop = true;
  writer.join();
  connector.join();
  BOOST_TEST(last_position.load() > before + 5,
             "writes did not resume after the leader was killed" << cl.Logs());
  BOOST_TEST(connector_exit == 0, "the connector's run failed:\n"
                                      << testing::ReadFile(cl.tmp.path() + "/connect.log"));
  // Every row it read is on the other replica too.
  const uint64_t at = Replica(cl.c(1)).position();
  BOOST_REQUIRE(GetAtLeast(cl.c(0), "p1@replica.example", at).ok());
  uint64_t staff = 0;
  absl::StatusOr<v1::ListSourcesResponse> sources = cl.c(0).ListSources();
  BOOST_REQUIRE(sources.ok());
  for (const auto& src : sources->sources()) {
    if (src.id() == "staff") staff = src.fragments();
  }
  BOOST_TEST(staff == static_cast<uint64_t>(kStaff));
  size_t missing = 0;
  for (size_t r = 0; r < 2; ++r) {
    for (const auto& [i, ok] : acked) {
      if (!GetAtLeast(cl.c(r), "p" + std::to_string(i) + "@replica.example", last_position.load())
               .ok())
        ++missing;
    }
  }
  BOOST_TEST(missing == 0u);
  // No duplicate: every acknowledged person is one profile of one fragment.
  absl::StatusOr<v1::StatsResponse> st = cl.c(1).Stats();
  BOOST_REQUIRE(st.ok());
  BOOST_TEST_MESSAGE("leader " << leader << " killed: " << acked.size() << " acknowledged, "
                               << failures << " writes refused, longest pause between two "
                               << "acknowledgements " << longest_pause_ms << " ms");
  const std::string d0 = Digest(cl.c(0));
  BOOST_REQUIRE(GetAtLeast(cl.c(1), "p1@replica.example", Replica(cl.c(0)).position()).ok());
  BOOST_TEST(Digest(cl.c(1)) == d0);
}

BOOST_AUTO_TEST_CASE(a_gap_in_the_log_stops_the_replica) {
  Cluster cl(2);
  const uint64_t pos = cl.Organisation(0, 10, 10);
  BOOST_REQUIRE(GetAtLeast(cl.c(1), "p1@replica.example", pos).ok());
  BOOST_REQUIRE_MESSAGE(cl.nodes[1]->Stop() == 0, cl.nodes[1]->Log());
  v1::IngestBatch batch;
  for (uint64_t p = 100; p < 110; ++p) *batch.add_fragments() = Person(p, 1);
  absl::StatusOr<uint64_t> more = testing::IngestBatch(cl.c(0), batch);
  BOOST_REQUIRE(more.ok());
  batch.Clear();
  for (uint64_t p = 110; p < 120; ++p) *batch.add_fragments() = Person(p, 1);
  more = testing::IngestBatch(cl.c(0), batch);
  BOOST_REQUIRE(more.ok());
  // The log forgets what replica 1 has not applied yet (as retention would).
  JetStream js(cl.nats.Urls());
  js.PurgeBefore(*more);
  cl.Restart(1);
  absl::Status health = Eventually(
      [&] {
        absl::Status h = cl.c(1).Health();
        return h.ok() ? absl::InternalError("still serving") : absl::OkStatus();
      },
      20);
  BOOST_TEST(health.ok(), "replica 1 still reports SERVING after a gap");
  const v1::ReplicaState st = Replica(cl.c(1));
  BOOST_TEST(st.stopped().find("gap in the log") != std::string::npos, st.stopped());
  absl::StatusOr<v1::Profile> p = GetAtLeast(cl.c(1), "p1@replica.example", 1);
  BOOST_TEST(!p.ok());
  BOOST_TEST(std::string(p.status().message()).find("stopped applying") != std::string::npos,
             p.status());
  BOOST_TEST(cl.nodes[1]->Log().find("gap in the log") != std::string::npos);
}

// A log that ends before a replica's position makes it wait, not stop: right after a
// stream leader is lost the new one can report the stream one position short. Once the
// log holds that position again with another command than the one applied there (the
// stream was recreated and written by someone else), the replica stops.
BOOST_AUTO_TEST_CASE(a_short_log_makes_a_replica_wait_and_another_command_stops_it) {
  Cluster cl(2);
  const uint64_t pos = cl.Organisation(0, 10, 10);
  BOOST_REQUIRE(GetAtLeast(cl.c(1), "p1@replica.example", pos).ok());
  BOOST_REQUIRE_MESSAGE(cl.nodes[0]->Stop() == 0, cl.nodes[0]->Log());
  JetStream js(cl.nats.Urls());
  js.RecreateStream();
  const std::string waits = "applying waits until it holds that position again";
  absl::Status waiting = Eventually(
      [&] {
        return cl.nodes[1]->Log().find(waits) != std::string::npos
                   ? absl::OkStatus()
                   : absl::InternalError("replica 1 did not say it waits");
      },
      20);
  BOOST_REQUIRE_MESSAGE(waiting.ok(), waiting << cl.Logs());
  BOOST_TEST(Replica(cl.c(1)).stopped().empty(), Replica(cl.c(1)).stopped());
  for (uint64_t i = 0; i < pos; ++i) js.Publish("not a command of this replica's");
  absl::Status stopped = Eventually(
      [&] {
        return Replica(cl.c(1)).stopped().empty() ? absl::InternalError("still applying")
                                                  : absl::OkStatus();
      },
      20);
  BOOST_REQUIRE_MESSAGE(stopped.ok(), stopped << cl.Logs());
  const std::string why = Replica(cl.c(1)).stopped();
  BOOST_TEST(why.find("position " + std::to_string(pos) +
                      " is not the command this replica applied there") != std::string::npos,
             why);
}

BOOST_AUTO_TEST_CASE(with_nats_down_writes_fail_fast_and_reads_go_on) {
  Cluster cl(2);
  const uint64_t pos = cl.Organisation(0, 10, 10);
  BOOST_REQUIRE(GetAtLeast(cl.c(1), "p3@replica.example", pos).ok());
  cl.nats.KillAll();
  v1::IngestBatch batch;
  *batch.add_fragments() = Person(200, 1);
  // Once the client has noticed, a write fails within seconds with UNAVAILABLE.
  absl::StatusOr<uint64_t> refused = uint64_t{0};
  for (int i = 0; i < 10; ++i) {
    const auto start = std::chrono::steady_clock::now();
    refused = testing::IngestBatch(cl.c(0), batch);
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!refused.ok() && s < 5) break;
  }
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.status().code() == absl::StatusCode::kUnavailable, refused.status());
  BOOST_TEST(std::string(refused.status().message()).find("unreachable") != std::string::npos,
             refused.status());
  // Reads are served from what was applied, and the log's state is visible. FindExperts
  // is audited: its record waits in replica 1's spool until the log is back.
  BOOST_TEST(GetAtLeast(cl.c(1), "p3@replica.example", pos).ok());
  absl::StatusOr<std::vector<uint64_t>> during = Experts(cl.c(1), pos);
  BOOST_TEST(during.ok(), during.status());
  BOOST_TEST(Eventually(
                 [&] {
                   return Replica(cl.c(1)).log_reachable() ? absl::InternalError("reachable")
                                                           : absl::OkStatus();
                 },
                 10)
                 .ok());
  cl.nats.StartAll();
  absl::StatusOr<uint64_t> again =
      Eventually([&] { return testing::IngestBatch(cl.c(0), batch); }, 60);
  BOOST_REQUIRE_MESSAGE(again.ok(), again.status());
  BOOST_TEST(GetAtLeast(cl.c(1), "p200@replica.example", *again).ok());
  // The spooled audit record reaches every replica's audit log.
  absl::Status audited = Eventually(
      [&]() -> absl::Status {
        v1::ReadAuditRequest ar;
        ar.set_page_size(1000);
        absl::StatusOr<v1::ReadAuditResponse> audit = cl.c(0).ReadAudit(ar);
        if (!audit.ok()) return audit.status();
        for (const auto& e : audit->entries()) {
          if (e.method() == "Expertise.FindExperts") return absl::OkStatus();
        }
        return absl::NotFoundError("no FindExperts record on replica 0 yet");
      },
      30);
  BOOST_TEST(audited.ok(), audited);
}

BOOST_AUTO_TEST_CASE(an_erasure_replicates_and_suppresses_everywhere) {
  Cluster cl(3);
  const uint64_t pos = cl.Organisation(0, 10, 10);
  for (size_t i = 1; i < 3; ++i) BOOST_REQUIRE(GetAtLeast(cl.c(i), "p5@replica.example", pos).ok());
  v1::EraseRequest er;
  er.mutable_identifier()->set_type("email");
  er.mutable_identifier()->set_value("p5@replica.example");
  er.set_reason("ticket GDPR-1");
  absl::StatusOr<v1::EraseResponse> erased = cl.c(0).Erase(er);
  BOOST_REQUIRE_MESSAGE(erased.ok(), erased.status());
  const uint64_t after = Replica(cl.c(0)).position();
  for (size_t i = 1; i < 3; ++i) {
    absl::StatusOr<v1::Profile> p = GetAtLeast(cl.c(i), "p5@replica.example", after);
    BOOST_TEST(p.status().code() == absl::StatusCode::kNotFound,
               "replica " << i << ": " << p.status());
  }
  // A re-sync through replica 2 is suppressed there, hence everywhere.
  v1::IngestBatch batch;
  *batch.add_fragments() = Person(5, 2);
  std::unique_ptr<grpc::ClientContext> ctx = cl.c(2).NewContext();
  v1::IngestResponse resp;
  auto w = cl.c(2).directory().Ingest(ctx.get(), &resp);
  w->Write(batch);
  w->WritesDone();
  BOOST_REQUIRE(w->Finish().ok());
  BOOST_TEST(resp.totals().suppressed() == 1u);
  for (size_t i = 0; i < 3; ++i) {
    BOOST_TEST(GetAtLeast(cl.c(i), "p5@replica.example", resp.position()).status().code() ==
               absl::StatusCode::kNotFound);
  }
  // The audit log on replica 2 holds the erasure made on replica 0.
  v1::ReadAuditRequest ar;
  ar.set_page_size(1000);
  absl::StatusOr<v1::ReadAuditResponse> audit = cl.c(2).ReadAudit(ar);
  BOOST_REQUIRE_MESSAGE(audit.ok(), audit.status());
  bool seen = false;
  for (const auto& e : audit->entries()) seen = seen || e.method() == "Admin.Erase";
  BOOST_TEST(seen, "replica 2's audit log lacks the erasure made on replica 0");
}

BOOST_AUTO_TEST_CASE(a_fourth_replica_bootstraps_from_a_backup) {
  Cluster cl(2);
  cl.Organisation(0, 20, 40);
  const std::string backup = cl.tmp.path() + "/backup";
  v1::BackupRequest br;
  br.set_path(backup);
  absl::StatusOr<v1::BackupResponse> b = cl.c(1).Backup(br);
  BOOST_REQUIRE_MESSAGE(b.ok(), b.status());
  // More writes after the backup: the new replica reads them from the log.
  v1::IngestBatch batch;
  for (uint64_t p = 300; p < 330; ++p) *batch.add_fragments() = Person(p, 1);
  absl::StatusOr<uint64_t> pos = testing::IngestBatch(cl.c(0), batch);
  BOOST_REQUIRE(pos.ok());
  const std::string dir = cl.tmp.path() + "/r2";
  fs::create_directories(dir);
  fs::copy(backup, dir + "/db", fs::copy_options::recursive);
  cl.nodes.push_back(std::make_unique<testing::TesseradProcess>(
      dir, std::vector<std::string>{"--config", cl.tmp.path() + "/tesserad.json", "--replication",
                                    cl.nats.Urls(), "--node", "r2"}));
  cl.nodes.back()->Start();
  cl.clients.push_back(nullptr);
  cl.Connect(2);
  BOOST_REQUIRE(GetAtLeast(cl.c(2), "p329@replica.example", *pos).ok());
  BOOST_TEST(cl.nodes[2]->Log().find("from position 1\n") == std::string::npos,
             "the new replica read the log from the start, not from its backup");
  const uint64_t at = Replica(cl.c(0)).position();
  BOOST_REQUIRE(GetAtLeast(cl.c(2), "p1@replica.example", at).ok());
  BOOST_TEST(Digest(cl.c(2)) == Digest(cl.c(0)));
}

BOOST_AUTO_TEST_CASE(nats_that_requires_a_token_is_reached_with_it) {
  testing::TempDir tmp;
  fs::create_directories(tmp.path() + "/nats");
  testing::NatsCluster nats(tmp.path() + "/nats", 3, "nats-token-for-tessera");
  nats.StartAll();
  std::ofstream(tmp.path() + "/key") << "replicas-share-this-suppression-key\n";
  std::ofstream(tmp.path() + "/token") << "nats-token-for-tessera\n";
  for (const bool with_token : {true, false}) {
    const std::string name = with_token ? "with" : "without";
    std::ofstream(tmp.path() + "/" + name + ".json")
        << R"({"security": {"suppression_key_file": ")" << tmp.path() << R"(/key"})"
        << (with_token ? R"(, "replication": {"token_file": ")" + tmp.path() + R"(/token"}})"
                       : "}");
  }
  fs::create_directories(tmp.path() + "/a");
  testing::TesseradProcess a(tmp.path() + "/a",
                             {"--config", tmp.path() + "/with.json", "--replication", nats.Urls()});
  a.Start();
  client::Client ca(client::ClientOptions{a.address(), 30'000});
  v1::Source s;
  s.set_id("hr");
  s.set_kind("test");
  absl::StatusOr<v1::Source> put = Eventually([&] { return ca.PutSource(s); }, 30);
  BOOST_REQUIRE_MESSAGE(put.ok(), put.status());
  v1::IngestBatch batch;
  *batch.add_fragments() = Person(1, 1);
  absl::StatusOr<uint64_t> pos = testing::IngestBatch(ca, batch);
  BOOST_REQUIRE_MESSAGE(pos.ok(), pos.status());
  BOOST_TEST(GetAtLeast(ca, "p1@replica.example", *pos).ok());
  // Without the token the servers refuse the replica: writes say why; it still serves.
  fs::create_directories(tmp.path() + "/b");
  testing::TesseradProcess b(
      tmp.path() + "/b", {"--config", tmp.path() + "/without.json", "--replication", nats.Urls()});
  b.Start();
  client::Client cb(client::ClientOptions{b.address(), 30'000});
  absl::StatusOr<v1::Source> refused = cb.PutSource(s);
  BOOST_TEST(refused.status().code() == absl::StatusCode::kUnavailable, refused.status());
  BOOST_TEST(std::string(refused.status().message()).find("uthorization") != std::string::npos,
             refused.status());
  BOOST_TEST(cb.Health().ok());
}
