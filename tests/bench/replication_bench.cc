// What replication costs, on one machine (so costs, not scale): the same ingest into
// one plain tesserad and through the replicated log into three replicas on a 3-node
// nats-server cluster, in the same run; how far behind the other replicas stay; the
// CPU each process spends per 1,000 fragments; and GetProfile and FindExperts on a
// replica while it applies a sustained ingest, beside the same replica idle.
//
//   tests/bench/replication_bench --fragments 60000      (README.md "Replicas")

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "client/lib/client.h"
#include "tests/bench/proc_figures.h"
#include "tests/integration/nats_cluster.h"
#include "tests/integration/tesserad_process.h"
#include "tests/integration/test_fragments.h"
#include "tests/unit/temp_dir.h"

using namespace tessera;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kPeople = 2000;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// Fragment i: the first kPeople are employees, the rest helpdesk cases resolved by them.
v1::Fragment Fragment(uint64_t i) {
  static const char* const kWords[] = {"card",  "blocked", "abroad",    "refund", "mortgage",
                                       "loan",  "fraud",   "wire",      "fees",   "pension",
                                       "login", "app",     "overdraft", "iban",   "transfer"};
  if (i < kPeople) {
    return testing::Employee("hr", "e" + std::to_string(i), 1, "Employee " + std::to_string(i),
                             "e" + std::to_string(i) + "@bench.example", "E" + std::to_string(i));
  }
  std::string text;
  for (int w = 0; w < 12; ++w) text += std::string(kWords[(i * 31 + w * w * 7) % 15]) + " ";
  return testing::ResolvedCase("c" + std::to_string(i), "E" + std::to_string((i * 7919) % kPeople),
                               text,
                               1'700'000'000'000 - static_cast<int64_t>(i % 700) * 86'400'000);
}

absl::StatusOr<uint64_t> Send(const client::Client& c, uint64_t first, uint64_t n) {
  v1::IngestBatch batch;
  for (uint64_t i = first; i < first + n; ++i) *batch.add_fragments() = Fragment(i);
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<uint64_t> pos = testing::IngestBatch(c, batch);
    if (pos.ok() || !absl::IsUnavailable(pos.status()) || attempt == 20) return pos;
  }
}

void Sources(const client::Client& c) {
  for (const char* id : {"hr", "helpdesk"}) {
    v1::Source s;
    s.set_id(id);
    s.set_kind("bench");
    s.set_priority(50);
    if (!c.PutSource(s).ok()) throw std::runtime_error("PutSource failed");
  }
}

struct Ingested {
  double seconds = 0;
  std::vector<std::pair<Clock::time_point, uint64_t>> acks;  // when, position
};

// `writers` threads send fragments [first, first + n) in batches through `c`.
Ingested Ingest(const client::Client& c, uint64_t first, uint64_t n, uint64_t batch, int writers) {
  std::atomic<uint64_t> next{first};
  std::mutex mu;
  Ingested out;
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&] {
      for (;;) {
        const uint64_t at = next.fetch_add(batch);
        if (at >= first + n) return;
        absl::StatusOr<uint64_t> pos = Send(c, at, std::min(batch, first + n - at));
        if (!pos.ok()) throw std::runtime_error(std::string(pos.status().message()));
        std::lock_guard<std::mutex> l(mu);
        out.acks.emplace_back(Clock::now(), *pos);
      }
    });
  }
  for (auto& t : threads) t.join();
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return out;
}

struct Latency {
  double get_p50 = 0, get_p99 = 0, find_p50 = 0, find_p99 = 0;
  size_t calls = 0;
};

// GetProfile and FindExperts in turn on `c` until `stop` (or `rounds` when stop is null).
Latency Reads(const client::Client& c, const std::atomic<bool>* stop, int rounds) {
  std::vector<double> get, find;
  for (int i = 0; stop != nullptr ? !stop->load() : i < rounds; ++i) {
    v1::GetProfileRequest g;
    g.mutable_identifier()->set_type("email");
    g.mutable_identifier()->set_value("e" + std::to_string((i * 37) % kPeople) + "@bench.example");
    auto t0 = Clock::now();
    if (c.GetProfile(g).ok())
      get.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    v1::FindExpertsRequest f;
    f.set_text(i % 2 == 0 ? "my card is blocked abroad" : "refund of wire transfer fees");
    f.set_limit(10);
    t0 = Clock::now();
    if (c.FindExperts(f).ok())
      find.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return {Percentile(get, 0.5), Percentile(get, 0.99), Percentile(find, 0.5),
          Percentile(find, 0.99), get.size()};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Replication's costs: ingest through the log into 3 replicas beside one plain "
      "tesserad, lag, CPU per 1,000 fragments, reads while applying.",
      "replication_bench"};
  uint64_t fragments = 60'000, batch = 500;
  int writers = 2, idle_reads = 300;
  app.add_option("--fragments", fragments, "fragments ingested in each setup (default 60000)")
      ->check(CLI::Range(uint64_t{kPeople + 1000}, uint64_t{10'000'000}));
  app.add_option("--batch", batch, "fragments per Ingest batch (default 500)")
      ->check(CLI::Range(1, 5000));
  app.add_option("--writers", writers, "concurrent writers (default 2)")->check(CLI::Range(1, 16));
  app.add_option("--idle-reads", idle_reads, "GetProfile+FindExperts pairs on the idle replica")
      ->check(CLI::Range(10, 100000));
  CLI11_PARSE(app, argc, argv);

  testing::TempDir tmp;
  std::printf(
      "replication_bench: %llu fragments (%llu people, the rest cases), batches of %llu, "
      "%d writers; 2 cores shared by every process\n",
      static_cast<unsigned long long>(fragments), static_cast<unsigned long long>(kPeople),
      static_cast<unsigned long long>(batch), writers);

  // 1. One plain tesserad.
  double plain_rate = 0, plain_cpu = 0;
  {
    fs::create_directories(tmp.path() + "/plain");
    testing::TesseradProcess server(tmp.path() + "/plain");
    server.Start();
    client::Client c(client::ClientOptions{server.address(), 60'000});
    Sources(c);
    const double cpu0 = bench::ReadProc(server.pid()).cpu_seconds;
    Ingested r = Ingest(c, 0, fragments, batch, writers);
    plain_rate = static_cast<double>(fragments) / r.seconds;
    plain_cpu = (bench::ReadProc(server.pid()).cpu_seconds - cpu0) * 1000.0 /
                static_cast<double>(fragments);
    server.Stop();
  }

  // 2. Three replicas on three NATS servers; ingest through replica 0.
  fs::create_directories(tmp.path() + "/nats");
  testing::NatsCluster nats(tmp.path() + "/nats", 3);
  nats.StartAll();
  std::ofstream(tmp.path() + "/key") << "replication-bench-suppression-key\n";
  std::ofstream(tmp.path() + "/cfg.json")
      << R"({"security": {"suppression_key_file": ")" << tmp.path() << R"(/key"}})";
  std::vector<std::unique_ptr<testing::TesseradProcess>> nodes;
  std::vector<std::unique_ptr<client::Client>> clients;
  for (int i = 0; i < 3; ++i) {
    const std::string dir = tmp.path() + "/r" + std::to_string(i);
    fs::create_directories(dir);
    nodes.push_back(std::make_unique<testing::TesseradProcess>(
        dir, std::vector<std::string>{"--config", tmp.path() + "/cfg.json", "--replication",
                                      nats.Urls(), "--node", "r" + std::to_string(i)}));
    nodes.back()->Start();
    clients.push_back(
        std::make_unique<client::Client>(client::ClientOptions{nodes.back()->address(), 60'000}));
  }
  // 2a. One replica alone on its own stream of the same cluster: the log's own cost.
  double one_rate = 0;
  {
    const std::string dir = tmp.path() + "/solo";
    fs::create_directories(dir);
    testing::TesseradProcess solo(
        dir, std::vector<std::string>{"--config", tmp.path() + "/cfg.json", "--replication",
                                      nats.Urls(), "--stream", "solo", "--node", "solo"});
    solo.Start();
    client::Client c(client::ClientOptions{solo.address(), 60'000});
    Sources(c);
    Ingested r1 = Ingest(c, 0, fragments, batch, writers);
    one_rate = static_cast<double>(fragments) / r1.seconds;
    solo.Stop();
  }

  Sources(*clients[0]);
  // Replica 2's position, polled while the ingest runs, for the lag.
  std::vector<std::pair<Clock::time_point, uint64_t>> seen;
  std::mutex seen_mu;
  std::atomic<bool> stop{false};
  std::thread poller([&] {
    while (!stop.load()) {
      absl::StatusOr<v1::StatsResponse> st = clients[2]->Stats();
      std::lock_guard<std::mutex> l(seen_mu);
      if (st.ok()) seen.emplace_back(Clock::now(), st->replica().position());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  std::vector<double> cpu0;
  for (const auto& n : nodes) cpu0.push_back(bench::ReadProc(n->pid()).cpu_seconds);
  double nats_cpu0 = 0;
  for (size_t i = 0; i < nats.size(); ++i) nats_cpu0 += bench::ReadProc(nats.pid(i)).cpu_seconds;
  Ingested r = Ingest(*clients[0], 0, fragments, batch, writers);
  // Wait until replica 2 has applied the last acknowledged position.
  uint64_t last = 0;
  for (const auto& [t, p] : r.acks) last = std::max(last, p);
  for (int i = 0; i < 6000; ++i) {
    {
      std::lock_guard<std::mutex> l(seen_mu);
      if (!seen.empty() && seen.back().second >= last) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop = true;
  poller.join();
  std::vector<double> cpu_per_1000;
  for (size_t i = 0; i < nodes.size(); ++i) {
    cpu_per_1000.push_back((bench::ReadProc(nodes[i]->pid()).cpu_seconds - cpu0[i]) * 1000.0 /
                           static_cast<double>(fragments));
  }
  double nats_cpu = -nats_cpu0;
  for (size_t i = 0; i < nats.size(); ++i) nats_cpu += bench::ReadProc(nats.pid(i)).cpu_seconds;
  nats_cpu = nats_cpu * 1000.0 / static_cast<double>(fragments);
  const double replicated_rate = static_cast<double>(fragments) / r.seconds;
  // Lag: from a batch's acknowledgement on replica 0 to replica 2's first poll at or
  // past its position.
  std::vector<double> lag_ms;
  for (const auto& [t, p] : r.acks) {
    auto it = std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.second >= p; });
    if (it == seen.end()) continue;
    lag_ms.push_back(
        std::max(0.0, std::chrono::duration<double, std::milli>(it->first - t).count()));
  }

  // 3. Reads on replica 2 while it applies a sustained ingest, then idle.
  std::atomic<bool> reading{false};
  Latency busy;
  std::thread reader([&] {
    while (!reading.load()) std::this_thread::yield();
    busy = Reads(*clients[2], &stop, 0);
  });
  stop = false;
  reading = true;
  Ingested more = Ingest(*clients[0], fragments, fragments / 2, batch, writers);
  stop = true;
  reader.join();
  Latency idle = Reads(*clients[2], nullptr, idle_reads);

  std::printf("\n| what | measured |\n|---|---|\n");
  std::printf("| ingest, one plain tesserad | %.0f fragments/s |\n", plain_rate);
  std::printf("| ingest through the log, 1 replica | %.0f fragments/s (x%.2f of plain) |\n",
              one_rate, one_rate / plain_rate);
  std::printf("| ingest through the log, 3 replicas | %.0f fragments/s (x%.2f of plain) |\n",
              replicated_rate, replicated_rate / plain_rate);
  std::printf(
      "| lag of replica 2 behind the accepting replica's ack, p50 / p99 | %.0f / %.0f ms "
      "(%zu batches) |\n",
      Percentile(lag_ms, 0.5), Percentile(lag_ms, 0.99), lag_ms.size());
  std::printf("| CPU per 1,000 fragments: plain tesserad | %.0f ms |\n", plain_cpu * 1000);
  std::printf(
      "| CPU per 1,000 fragments: accepting replica / the two others | %.0f / %.0f, %.0f ms "
      "|\n",
      cpu_per_1000[0] * 1000, cpu_per_1000[1] * 1000, cpu_per_1000[2] * 1000);
  std::printf("| CPU per 1,000 fragments: the 3 NATS servers together | %.0f ms |\n",
              nats_cpu * 1000);
  std::printf("| CPU per 1,000 fragments, all processes, x plain tesserad's | x%.2f |\n",
              (cpu_per_1000[0] + cpu_per_1000[1] + cpu_per_1000[2] + nats_cpu) / plain_cpu);
  std::printf(
      "| extra CPU per replica applying, per 1,000 fragments (follower - plain) | %+.0f ms |\n",
      ((cpu_per_1000[1] + cpu_per_1000[2]) / 2 - plain_cpu) * 1000);
  std::printf("| GetProfile on replica 2, idle, p50 / p99 | %.2f / %.2f ms |\n", idle.get_p50,
              idle.get_p99);
  std::printf(
      "| GetProfile on replica 2 while applying %.0f fragments/s, p50 / p99 | %.2f / %.2f ms "
      "|\n",
      static_cast<double>(fragments / 2) / more.seconds, busy.get_p50, busy.get_p99);
  std::printf("| FindExperts on replica 2, idle, p50 / p99 | %.2f / %.2f ms |\n", idle.find_p50,
              idle.find_p99);
  std::printf(
      "| FindExperts on replica 2 while applying, p50 / p99 | %.2f / %.2f ms (%zu calls) |\n",
      busy.find_p50, busy.find_p99, busy.calls);
  for (auto& n : nodes) n->Stop();
  return 0;
}
