// Ingest and GetProfile throughput of a real tesserad, each beside its baseline
// measured in the same run on the same machine:
//   - RocksDB writing the same number of pre-encoded keys in WriteBatches of the same
//     size (the physical ceiling for ingest), and also as many keys as Tessera writes;
//   - an empty unary RPC (the gRPC health check) on the same server, same callers, in
//     rounds alternating with GetProfile, after the load was compacted.
//
//   tests/bench/ingest_bench --n 200000 --seed 1      (README.md "Benchmarks")

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "client/lib/client.h"
#include "client/lib/ingester.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "server/access/access.h"
#include "tests/bench/proc_figures.h"
#include "tests/integration/tesserad_process.h"
#include "tests/unit/temp_dir.h"

using namespace tessera;
using Clock = std::chrono::steady_clock;

namespace {

struct Row {
  std::string name;
  uint64_t n = 0;
  double ops_per_s = 0;
  double p50_us = 0, p99_us = 0;
  double ratio = 0;     // against the row's baseline
  double rss_mib = -1;  // tesserad's resident memory after the row; -1: not tesserad
};

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

// Deterministic synthetic organisation: employees (HR, half also in LDAP with other
// spellings), customers, and helpdesk cases naming both.
class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  v1::Fragment Next(uint64_t i) {
    const uint64_t kind = i % 10;
    if (kind < 2) return Employee(i / 10 * 2 + kind, "hr");
    if (kind == 2) return Employee(i / 10 * 2, "ldap");
    if (kind < 7) return Customer(i);
    return Case(i);
  }

 private:
  std::string Word() {
    static const char* const kWords[] = {
        "carte",         "card",   "virement", "transfer", "bloquée", "blocked", "sepa",   "iban",
        "prêt",          "loan",   "taux",     "rate",     "app",     "login",   "fraude", "fraud",
        "remboursement", "refund", "compte",   "account",  "frais",   "fees"};
    // Zipf-ish: squaring a uniform draw favours the first words.
    const double u = std::uniform_real_distribution<double>(0, 1)(rng_);
    return kWords[static_cast<size_t>(u * u * 22)];
  }

  static void Add(v1::Fragment& f, const std::string& name, const std::string& value) {
    auto* a = f.add_attributes();
    a->set_name(name);
    a->set_value(value);
  }
  static void Id(v1::Fragment& f, const std::string& type, const std::string& value) {
    auto* id = f.add_identifiers();
    id->set_type(type);
    id->set_value(value);
  }

  v1::Fragment Employee(uint64_t e, const std::string& source) {
    v1::Fragment f;
    f.set_source(source);
    f.set_external_id((source == "hr" ? "E" : "uid=e") + std::to_string(e));
    f.set_version(1);
    f.set_kind("employee");
    Add(f, "display_name", "Employee " + std::to_string(e));
    Add(f, "team", "Team " + std::to_string(e % 40));
    Add(f, "title", "Engineer");
    Add(f, "location", e % 2 ? "Paris" : "Lyon");
    Id(f, "employee_id", (source == "hr" ? "E" : "e") + std::to_string(e));
    Id(f, "email", (source == "hr" ? "emp" : "EMP") + std::to_string(e) + "@bank.example");
    if (e > 0) {
      auto* r = f.add_relations();
      r->set_type("reports_to");
      r->mutable_target()->set_type("employee_id");
      r->mutable_target()->set_value("E" + std::to_string(e / 8));
    }
    return f;
  }

  v1::Fragment Customer(uint64_t i) {
    v1::Fragment f;
    f.set_source("crm");
    f.set_external_id("C" + std::to_string(i));
    f.set_version(1);
    f.set_kind("customer");
    Add(f, "display_name", "Customer " + std::to_string(i));
    Add(f, "segment", i % 3 ? "retail" : "premier");
    Id(f, "customer_id", "C" + std::to_string(i));
    Id(f, "email", "c" + std::to_string(i) + "@mail.example");
    Id(f, "phone", "+3361" + std::to_string(1000000 + i % 8999999));
    return f;
  }

  v1::Fragment Case(uint64_t i) {
    v1::Fragment f;
    f.set_source("helpdesk");
    f.set_external_id("HD" + std::to_string(i));
    f.set_version(1);
    f.set_kind("case");
    Add(f, "title", Word() + " " + Word());
    auto* r = f.add_relations();
    r->set_type("resolved_by");
    r->mutable_target()->set_type("employee_id");
    r->mutable_target()->set_value("E" + std::to_string(rng_() % (i / 5 + 1)));
    r = f.add_relations();
    r->set_type("raised_by");
    r->mutable_target()->set_type("customer_id");
    r->mutable_target()->set_value("C" + std::to_string(i / 10 * 10 + 3));
    auto* e = f.add_evidence();
    e->set_kind("case");
    e->set_role("resolved_by");
    std::string text;
    for (int w = 0; w < 40; ++w) text += Word() + " ";
    e->set_text(text);
    return f;
  }

  std::mt19937_64 rng_;
};

Row RawRocksDb(const std::string& dir, uint64_t keys, size_t batch, size_t value_bytes,
               const char* name) {
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(o, dir, &raw).ok()) throw std::runtime_error("cannot open " + dir);
  std::unique_ptr<rocksdb::DB> db(raw);
  std::vector<rocksdb::WriteBatch> batches;
  std::mt19937_64 rng(7);
  for (uint64_t i = 0; i < keys; i += batch) {
    rocksdb::WriteBatch wb;
    for (uint64_t k = i; k < std::min(keys, i + batch); ++k) {
      std::string key(16, '\0');
      for (int b = 0; b < 8; ++b) key[b] = static_cast<char>(rng() >> (b * 8));
      (void)wb.Put(key, std::string(value_bytes, 'v'));
    }
    batches.push_back(std::move(wb));
  }
  std::vector<double> lat;
  const auto start = Clock::now();
  for (auto& wb : batches) {
    const auto t0 = Clock::now();
    if (!db->Write(rocksdb::WriteOptions(), &wb).ok()) throw std::runtime_error("write failed");
    lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  return {name, keys, keys / secs, Percentile(lat, 0.5), Percentile(lat, 0.99), 1.0};
}

Row IngestThroughGrpc(const std::string& address, uint64_t n, size_t batch, int streams,
                      uint64_t seed) {
  Generator gen(seed);
  std::vector<v1::IngestBatch> batches;
  for (uint64_t i = 0; i < n; i += batch) {
    v1::IngestBatch b;
    b.set_batch_time_unix_ms(1'760'000'000'000);
    for (uint64_t k = i; k < std::min(n, i + batch); ++k) *b.add_fragments() = gen.Next(k);
    batches.push_back(std::move(b));
  }
  std::atomic<size_t> next{0};
  std::vector<std::vector<double>> lat(streams);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(streams));
  for (int s = 0; s < streams; ++s) {
    threads.emplace_back([&, s] {
      client::Client c(client::ClientOptions{address, 0});
      for (size_t i = next++; i < batches.size(); i = next++) {
        const auto t0 = Clock::now();
        grpc::ClientContext ctx;
        v1::IngestResponse resp;
        auto w = c.directory().Ingest(&ctx, &resp);
        w->Write(batches[i]);
        w->WritesDone();
        grpc::Status st = w->Finish();
        if (!st.ok()) {
          fprintf(stderr, "ingest failed: %s\n", st.error_message().c_str());
          std::exit(1);
        }
        lat[s].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  return {"tessera Ingest over gRPC, all indexes",
          n,
          n / secs,
          Percentile(all, 0.5),
          Percentile(all, 0.99),
          0};
}

// One call, made on a caller's own client with its own random numbers.
using Call = std::function<void(const client::Client&, std::mt19937_64&)>;

// Latencies and wall time of calls, summed over rounds.
struct Sample {
  double secs = 0;
  std::vector<double> lat_us;
};

// Makes `per_caller` calls on each of `callers` threads, each with its own channel,
// after one warm-up call each; adds them to `into`.
void RunCalls(const std::string& address, int callers, uint64_t per_caller, const Call& call,
              const std::string& token, Sample& into) {
  std::vector<std::vector<double>> lat(callers);
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(callers));
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::unique_ptr<client::Client>> clients;
  clients.reserve(static_cast<size_t>(callers));
  for (int c = 0; c < callers; ++c) {
    client::ClientOptions o{address, 0};
    o.token = token;
    clients.push_back(std::make_unique<client::Client>(o));
  }
  Clock::time_point start;
  for (int c = 0; c < callers; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937_64 rng(c + 7919 * into.lat_us.size());
      call(*clients[c], rng);  // connect and warm up
      ++ready;
      while (!go.load()) std::this_thread::yield();
      for (uint64_t i = 0; i < per_caller; ++i) {
        const auto t0 = Clock::now();
        call(*clients[c], rng);
        lat[c].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
    });
  }
  while (ready.load() < callers) std::this_thread::yield();
  start = Clock::now();
  go = true;
  for (auto& t : threads) t.join();
  into.secs += std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& l : lat) into.lat_us.insert(into.lat_us.end(), l.begin(), l.end());
}

Row RowOf(const std::string& name, int callers, Sample& s) {
  const uint64_t n = s.lat_us.size();
  return {name + ", " + std::to_string(callers) + (callers == 1 ? " caller" : " callers"),
          n,
          static_cast<double>(n) / s.secs,
          Percentile(s.lat_us, 0.5),
          Percentile(s.lat_us, 0.99),
          0};
}

Row Unary(const std::string& name, const std::string& address, int callers, uint64_t per_caller,
          const Call& call, const std::string& token = "") {
  Sample s;
  RunCalls(address, callers, per_caller, call, token, s);
  return RowOf(name, callers, s);
}

// The two kinds of call in alternating rounds on the same server, so that drift (a
// background compaction, a neighbour on a shared machine) falls on both alike.
std::pair<Row, Row> Interleaved(const std::string& address, int callers, uint64_t per_caller,
                                int rounds, const std::string& name_a, const Call& a,
                                const std::string& name_b, const Call& b) {
  Sample sa, sb;
  const uint64_t per_round = std::max<uint64_t>(1, per_caller / static_cast<uint64_t>(rounds));
  for (int r = 0; r < rounds; ++r) {
    RunCalls(address, callers, per_round, a, "", sa);
    RunCalls(address, callers, per_round, b, "", sb);
  }
  return {RowOf(name_a, callers, sa), RowOf(name_b, callers, sb)};
}

void Print(const std::vector<Row>& rows) {
  printf("%-52s | %9s | %10s | %9s | %9s | %10s | %7s\n", "case", "n", "ops/s", "p50 us", "p99 us",
         "x baseline", "RSS MiB");
  printf("%s\n", std::string(52 + 3 + 9 + 3 + 10 + 3 + 9 + 3 + 9 + 3 + 10 + 3 + 7, '-').c_str());
  for (const Row& r : rows) {
    const std::string rss = r.rss_mib < 0 ? "-" : std::to_string(std::lround(r.rss_mib));
    printf("%-52s | %9llu | %10.0f | %9.0f | %9.0f | %10.2f | %7s\n", r.name.c_str(),
           static_cast<unsigned long long>(r.n), r.ops_per_s, r.p50_us, r.p99_us, r.ratio,
           rss.c_str());
  }
}

double RssMib(const testing::TesseradProcess& p) {
  return bench::Mib(bench::ReadProc(p.pid()).rss_kb);
}

// The sources the generated organisation comes from.
bool RegisterSources(const client::Client& c) {
  for (const char* s : {"hr", "ldap", "crm", "helpdesk"}) {
    v1::Source src;
    src.set_id(s);
    src.set_kind("bench");
    src.set_priority(50);
    if (!c.PutSource(src).ok()) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Ingest and GetProfile throughput of tesserad beside RocksDB and empty-RPC baselines."};
  uint64_t n = 200'000, seed = 1, calls = 20'000;
  size_t batch = 1000;
  int streams = 2, rounds = 4;
  app.add_option("--n", n, "fragments to ingest")->capture_default_str();
  app.add_option("--batch", batch, "fragments per batch (and keys per raw WriteBatch)")
      ->capture_default_str();
  app.add_option("--streams", streams, "concurrent ingest streams")->capture_default_str();
  app.add_option("--calls", calls, "GetProfile calls per concurrency level")->capture_default_str();
  app.add_option("--rounds", rounds,
                 "rounds the empty RPC and GetProfile alternate in, per concurrency level")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--seed", seed, "generator seed")->capture_default_str();
  std::string tesserad = TESSERAD_PATH;
  app.add_option("--tesserad", tesserad, "the tesserad binary to measure")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

#ifndef NDEBUG
  printf("WARNING: assertions are enabled; numbers are not representative\n");
#endif
  printf("ingest_bench: build %s, %u hardware threads, n=%llu batch=%zu streams=%d seed=%llu\n",
         TESSERA_BUILD_TYPE, std::thread::hardware_concurrency(),
         static_cast<unsigned long long>(n), batch, streams, static_cast<unsigned long long>(seed));
  testing::TempDir tmp;
  testing::TesseradProcess server(tmp.path(), {"--block-cache-mb", "256", "--log-level", "warn"},
                                  tesserad);
  server.Start();
  client::Client admin(client::ClientOptions{server.address(), 10'000});
  if (!RegisterSources(admin)) return 1;

  std::vector<Row> rows;
  Row raw =
      RawRocksDb(tmp.Sub("raw1"), n, batch, 200, "RocksDB WriteBatch, one 200 B key per fragment");
  const v1::StatsResponse before = *admin.Stats();
  const double cpu_before = bench::ReadProc(server.pid()).cpu_seconds;
  Row ingest = IngestThroughGrpc(server.address(), n, batch, streams, seed);
  ingest.rss_mib = RssMib(server);
  const double cpu_per_fragment_us =
      (bench::ReadProc(server.pid()).cpu_seconds - cpu_before) * 1e6 / static_cast<double>(n);
  const v1::StatsResponse after = *admin.Stats();
  const uint64_t keys_before = before.keys_written_since_start();
  // Per fragment Tessera writes several keys (fragment, profile, identifiers, edges,
  // names, evidence, change log): as many raw keys is the second ceiling.
  const double keys_per_fragment =
      static_cast<double>(after.keys_written_since_start() - keys_before) / static_cast<double>(n);
  const uint64_t k = std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(keys_per_fragment)));
  char label[96];
  snprintf(label, sizeof label, "RocksDB WriteBatch, %llu x 60 B keys per fragment",
           static_cast<unsigned long long>(k));
  Row raw_all = RawRocksDb(tmp.Sub("raw2"), n * k, batch * k, 60, label);
  raw_all.ops_per_s /= static_cast<double>(k);  // in fragments per second
  raw_all.n = n;
  printf(
      "tessera wrote %.2f RocksDB keys and %.0f batch bytes per fragment, used %.0f us of CPU per "
      "fragment; compaction's write amplification (compacted / flushed bytes) %.2f\n",
      keys_per_fragment,
      static_cast<double>(after.batch_bytes_since_start() - before.batch_bytes_since_start()) /
          static_cast<double>(n),
      cpu_per_fragment_us,
      bench::WriteAmp(after.flushed_bytes_since_start() - before.flushed_bytes_since_start(),
                      after.compacted_bytes_since_start() - before.compacted_bytes_since_start()));
  ingest.ratio = ingest.ops_per_s / raw.ops_per_s;
  raw_all.ratio = raw_all.ops_per_s / raw.ops_per_s;
  rows.push_back(raw);
  rows.push_back(raw_all);
  rows.push_back(ingest);
  Row same_keys = ingest;
  same_keys.name = "  the same, against as many raw keys";
  same_keys.ratio = ingest.ops_per_s / raw_all.ops_per_s;
  rows.push_back(same_keys);
  {
    // Once anyone was erased, every live fragment is checked against the suppressions
    // (a keyed hash of each identifier and of the record, a lookup each): the same
    // ingest into a fresh database that has one erasure on record.
    std::filesystem::create_directories(tmp.Sub("erased"));
    testing::TesseradProcess other(tmp.Sub("erased"),
                                   {"--block-cache-mb", "256", "--log-level", "warn"}, tesserad);
    other.Start();
    client::Client c(client::ClientOptions{other.address(), 10'000});
    if (!RegisterSources(c)) return 1;
    client::Ingester one(c, {});
    v1::Fragment f;
    f.set_source("crm");
    f.set_external_id("gone");
    f.set_kind("customer");
    f.set_version(1);
    v1::Identifier* id = f.add_identifiers();
    id->set_type("email");
    id->set_value("gone@erased.example");
    if (!one.Add(f, 0).ok() || !one.Finish().ok()) return 1;
    v1::EraseRequest erase;
    erase.mutable_identifier()->set_type("email");
    erase.mutable_identifier()->set_value("gone@erased.example");
    erase.set_reason("bench");
    if (!c.Erase(erase).ok()) return 1;
    Row checked = IngestThroughGrpc(other.address(), n, batch, streams, seed);
    checked.name = "  the same, with an erasure on record";
    checked.ratio = checked.ops_per_s / ingest.ops_per_s;
    checked.rss_mib = RssMib(other);
    rows.push_back(checked);
    if (other.Stop() != 0) return 1;
  }

  std::vector<std::string> ids;
  for (uint64_t i = 0; i < n; ++i) {
    if (i % 10 >= 3 && i % 10 < 7) ids.push_back("C" + std::to_string(i));
  }
  auto get_profile = [&ids](const client::Client& c, std::mt19937_64& rng) {
    v1::GetProfileRequest req;
    req.mutable_identifier()->set_type("customer_id");
    req.mutable_identifier()->set_value(ids[rng() % ids.size()]);
    std::unique_ptr<grpc::ClientContext> ctx = c.NewContext(false);
    v1::Profile p;
    if (grpc::Status s = c.directory().GetProfile(ctx.get(), req, &p); !s.ok()) {
      fprintf(stderr, "GetProfile failed: %s\n", s.error_message().c_str());
      std::exit(1);
    }
  };
  // Reads run on a settled database, as after a first sync and `tessera admin compact`:
  // otherwise the flushes and compactions the load left behind share the two cores
  // with the first rows.
  {
    const auto t0 = Clock::now();
    if (absl::StatusOr<v1::CompactResponse> c = admin.Compact(); !c.ok()) {
      fprintf(stderr, "compact failed: %s\n", std::string(c.status().message()).c_str());
      return 1;
    }
    printf("compacted before the reads in %.1f s\n",
           std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::map<int, double> open_get;  // callers -> GetProfile/s without authentication
  for (int callers : {1, 4, 16}) {
    const uint64_t per = std::max<uint64_t>(1, calls / callers);
    auto [empty, get] = Interleaved(
        server.address(), callers, per, rounds, "empty unary RPC (health check)",
        [](const client::Client& c, std::mt19937_64&) {
          if (!c.Health().ok()) std::exit(1);
        },
        "GetProfile by customer_id", get_profile);
    empty.ratio = 1.0;
    empty.rss_mib = RssMib(server);
    get.rss_mib = RssMib(server);
    get.ratio = get.ops_per_s / empty.ops_per_s;
    rows.push_back(empty);
    rows.push_back(get);
    open_get[callers] = get.ops_per_s;
  }

  // The same reads with authentication on (restarts on the same database): an agent
  // (token check, sees every profile) and a reader allowed customers (token check, the
  // visibility filter and redaction of customers' phones and e-mails), against the
  // unauthenticated reads above; with the audit log on (the default: every read of a
  // customer is a write) and off.
  const double peak_mib = bench::Mib(bench::ReadProc(server.pid()).peak_rss_kb);
  if (server.Stop() != 0) return 1;
  std::ofstream(tmp.Sub("principals.json"))
      << R"({"tokens": [{"principal": "agent", "sha256": ")" << access::Sha256Hex("agent-token")
      << R"(", "roles": ["agent"]}, {"principal": "reader", "sha256": ")"
      << access::Sha256Hex("reader-token") << R"(", "roles": ["reader"]}]})";
  testing::TesseradProcess secured(
      tmp.path(),
      {"--block-cache-mb", "256", "--log-level", "warn", "--config", tmp.Sub("secure.json")},
      tesserad);
  for (const bool audit : {true, false}) {
    std::ofstream(tmp.Sub("secure.json"))
        << R"({"security": {"principals": ")" << tmp.Sub("principals.json")
        << R"(", "visible_kinds": {"reader": ["customer"]}, "audit": )"
        << (audit ? "true" : "false") << "}}";
    secured.Start();
    for (int callers : {1, 4, 16}) {
      const uint64_t per = std::max<uint64_t>(1, calls / callers);
      for (const auto& [who, token] :
           {std::pair{"agent", "agent-token"}, {"reader (filter, redaction)", "reader-token"}}) {
        Row r = Unary(std::string("  auth on, audit ") + (audit ? "on" : "off") + ", as " + who,
                      secured.address(), callers, per, get_profile, token);
        r.ratio = r.ops_per_s / open_get[callers];
        r.rss_mib = RssMib(secured);
        rows.push_back(r);
      }
    }
    if (secured.Stop() != 0) return 1;
  }
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  Print(rows);
  printf("tesserad peak RSS over the ingest and the unauthenticated reads: %.0f MiB\n", peak_mib);
  printf(
      "x baseline: ingest rows against the first RocksDB row (\"as many raw keys\" against the "
      "second, in "
      "frag/s; \"with an erasure\" against tessera's ingest row); GetProfile against the empty RPC "
      "with the same callers, alternating in rounds; auth rows against GetProfile without "
      "authentication, same callers. RSS: "
      "tesserad's resident memory after the row (block cache 256 MiB).\n");
  return 0;
}
