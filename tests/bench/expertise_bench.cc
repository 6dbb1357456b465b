// FindExperts latency at scale, beside Xapian's BM25 top-k over the same evidence texts
// measured in the same run.
//
//   tests/bench/expertise_bench --employees 100000 --customers 1000000 --evidence 2000000
//
// A deterministic generator builds an organisation (employees, customers, helpdesk
// cases whose evidence text draws from Zipf-distributed English- and French-looking
// vocabularies, dated over three years in arrival order unless --shuffle-time), loads
// it through gRPC Ingest into a real tesserad, then times 1,000
// FindExperts queries of 5-40 words at 1 and 2 concurrent callers (after one untimed
// pass). Xapian indexes the same texts and answers the same queries (BM25, top k =
// Tessera's evidence pool).

#include <xapian.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "client/lib/client.h"
#include "server/access/access.h"
#include "tests/bench/proc_figures.h"
#include "tests/integration/tesserad_process.h"
#include "tests/unit/temp_dir.h"

using namespace tessera;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kNow = 20'400 * kDay;
bool g_shuffle_time = false;  // --shuffle-time
bool g_bulk = false;          // --bulk

// Pseudo-words from syllables, so texts look like a language to the analyser without
// any real corpus; Zipf(1) frequencies.
class Vocabulary {
 public:
  Vocabulary(const std::vector<std::string>& syllables, size_t size, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::string> words;
    while (words.size() < size) {
      std::string w;
      for (int n = 2 + rng() % 3; n > 0; --n) w += syllables[rng() % syllables.size()];
      words.push_back(w);
    }
    words_ = std::move(words);
    double total = 0;
    for (size_t i = 0; i < words_.size(); ++i)
      cdf_.push_back(total += 1.0 / static_cast<double>(i + 1));
    for (double& c : cdf_) c /= total;
  }
  const std::string& Draw(std::mt19937_64& rng) const {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return words_[std::min(
        words_.size() - 1,
        static_cast<size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin()))];
  }

 private:
  std::vector<std::string> words_;
  std::vector<double> cdf_;
};

const Vocabulary& English() {
  static const Vocabulary kVocabulary(
      {"ca",    "ro",   "ment", "ing", "ter",  "pro", "ex", "al",  "con",   "ly", "ver", "ac",
       "count", "bank", "tion", "pay", "card", "lo",  "an", "fer", "trans", "ed", "er",  "st"},
      20000, 1);
  return kVocabulary;
}
const Vocabulary& French() {
  static const Vocabulary kVocabulary(
      {"ca", "re", "ment", "te", "vi",  "ban", "que", "pré", "ai",   "eur", "tion", "on",
       "la", "ve", "ir",   "ou", "con", "dé",  "é",   "rem", "bour", "se",  "ai",   "té"},
      20000, 2);
  return kVocabulary;
}

std::string Text(std::mt19937_64& rng, bool french, int words) {
  const Vocabulary& v = french ? French() : English();
  std::string t;
  for (int i = 0; i < words; ++i) t += (i ? " " : "") + v.Draw(rng);
  return t;
}

struct Sizes {
  uint64_t employees = 100'000, customers = 1'000'000, evidence = 2'000'000;
};

// Record `i` of the generated organisation: employees, then customers, then cases.
v1::Fragment Record(uint64_t i, const Sizes& s) {
  std::mt19937_64 rng(i * 7919 + 17);
  v1::Fragment f;
  f.set_version(1);
  auto attr = [&f](const std::string& n, const std::string& v) {
    auto* a = f.add_attributes();
    a->set_name(n);
    a->set_value(v);
  };
  auto ident = [&f](const std::string& t, const std::string& v) {
    auto* x = f.add_identifiers();
    x->set_type(t);
    x->set_value(v);
  };
  auto rel = [&f](const std::string& type, const std::string& t, const std::string& v) {
    auto* r = f.add_relations();
    r->set_type(type);
    r->mutable_target()->set_type(t);
    r->mutable_target()->set_value(v);
  };
  if (i < s.employees) {
    f.set_source("hr");
    f.set_external_id("E" + std::to_string(i));
    f.set_kind("employee");
    attr("display_name", "Employee " + std::to_string(i));
    attr("team", "Team " + std::to_string(i % 200));
    if (i % 50 == 7) attr("end_date", "2024-06-30");
    if (i % 33 == 5) attr("availability", "away");
    ident("employee_id", "E" + std::to_string(i));
    ident("email", "e" + std::to_string(i) + "@corp.example");
    return f;
  }
  if (i < s.employees + s.customers) {
    const uint64_t c = i - s.employees;
    f.set_source("crm");
    f.set_external_id("C" + std::to_string(c));
    f.set_kind("customer");
    attr("display_name", "Customer " + std::to_string(c));
    ident("customer_id", "C" + std::to_string(c));
    ident("email", "c" + std::to_string(c) + "@mail.example");
    if (c % 20 == 0) rel("managed_by", "employee_id", "E" + std::to_string(rng() % s.employees));
    return f;
  }
  const uint64_t k = i - s.employees - s.customers;
  f.set_source("helpdesk");
  f.set_external_id("HD" + std::to_string(k));
  f.set_kind("case");
  // Cases arrive over three years in (roughly) the order they happened, as a helpdesk's
  // history does: --shuffle-time scatters them instead.
  const int64_t age_days =
      g_shuffle_time
          ? static_cast<int64_t>(rng() % 1095)
          : static_cast<int64_t>((s.evidence - k) * 1095 / std::max<uint64_t>(1, s.evidence)) +
                static_cast<int64_t>(rng() % 30);
  const int64_t time = kNow - age_days * kDay;
  f.set_updated_at_unix_ms(time);
  attr("status", k % 100 == 0 ? "open" : "closed");
  // Some people resolve far more than others.
  const double u = std::uniform_real_distribution<double>(0, 1)(rng);
  rel("resolved_by", "employee_id",
      "E" + std::to_string(static_cast<uint64_t>(u * u * static_cast<double>(s.employees))));
  rel("raised_by", "customer_id", "C" + std::to_string(rng() % std::max<uint64_t>(1, s.customers)));
  const bool french = rng() % 10 < 4;
  auto* e = f.add_evidence();
  e->set_kind("case");
  e->set_role("resolved_by");
  e->set_language(french ? "fr" : "en");
  e->set_title(Text(rng, french, 6));
  e->set_text(Text(rng, french, 20 + static_cast<int>(rng() % 60)));
  e->set_time_unix_ms(time);
  return f;
}

// The load's state at one point: fragments acknowledged, time, tesserad's CPU and
// memory, RocksDB's write volume.
struct Mark {
  uint64_t done = 0;
  double seconds = 0;
  bench::ProcFigures proc;
  uint64_t flushed = 0, compacted = 0;
};

Mark Take(uint64_t done, Clock::time_point start, pid_t pid, const client::Client& admin) {
  Mark m{done, std::chrono::duration<double>(Clock::now() - start).count(), bench::ReadProc(pid)};
  if (absl::StatusOr<v1::StatsResponse> st = admin.Stats(); st.ok()) {
    m.flushed = st->flushed_bytes_since_start();
    m.compacted = st->compacted_bytes_since_start();
  }
  return m;
}

// Where tesserad's memory is at `when`: its RSS now and at its peak so far, beside the
// block cache's usage (memtables are charged to it) and RocksDB's table readers; the
// rest is the allocator's and tesserad's own.
void PrintMemory(const char* when, pid_t pid, const client::Client& admin) {
  const bench::ProcFigures p = bench::ReadProc(pid);
  absl::StatusOr<v1::StatsResponse> st = admin.Stats();
  if (!st.ok()) return;
  const double cache = bench::Mib(st->block_cache_usage_bytes() / 1024);
  const double readers = bench::Mib(st->table_readers_bytes() / 1024);
  printf(
      "tesserad memory %s: RSS %.0f MiB (peak so far %.0f) = block cache %.0f (memtables %.0f) "
      "+ table readers %.0f + other %.0f\n",
      when, bench::Mib(p.rss_kb), bench::Mib(p.peak_rss_kb), cache,
      bench::Mib(st->memtable_bytes() / 1024), readers, bench::Mib(p.rss_kb) - cache - readers);
}

// Loads the organisation through Ingest from two streams; returns the marks taken at
// the start, at the end of the people, at every tenth of the load and at its end.
std::vector<Mark> Load(const std::string& address, const Sizes& s, pid_t pid) {
  const uint64_t total = s.employees + s.customers + s.evidence;
  const uint64_t people = s.employees + s.customers;
  const uint64_t batch = 1000;
  std::atomic<uint64_t> next{0}, done{0};
  const client::Client admin(client::ClientOptions{address, 60'000});
  const auto start = Clock::now();
  std::mutex marks_mu;
  std::vector<Mark> marks{Take(0, start, pid, admin)};
  std::vector<std::thread> threads;
  threads.reserve(2);
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      client::Client c(client::ClientOptions{address, 0});
      for (uint64_t b = next++; b * batch < total; b = next++) {
        v1::IngestBatch req;
        req.set_batch_time_unix_ms(kNow);
        req.set_bulk(g_bulk);
        for (uint64_t i = b * batch; i < std::min(total, (b + 1) * batch); ++i)
          *req.add_fragments() = Record(i, s);
        grpc::ClientContext ctx;
        v1::IngestResponse resp;
        auto w = c.directory().Ingest(&ctx, &resp);
        w->Write(req);
        w->WritesDone();
        if (grpc::Status st = w->Finish(); !st.ok()) {
          fprintf(stderr, "ingest failed: %s\n", st.error_message().c_str());
          std::exit(1);
        }
        const uint64_t size = static_cast<uint64_t>(req.fragments_size());
        const uint64_t n = done += size;
        // Batches finish out of order: a mark is taken by the batch that crosses it.
        const bool tenth = n * 10 / total != (n - size) * 10 / total;
        const bool people_done = n >= people && n - size < people;
        if (tenth || people_done) {
          Mark m = Take(n, start, pid, admin);
          std::lock_guard<std::mutex> l(marks_mu);
          marks.push_back(m);
          fprintf(stderr, "  loaded %llu/%llu (%.0f/s)\n", static_cast<unsigned long long>(n),
                  static_cast<unsigned long long>(total), static_cast<double>(n) / m.seconds);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  std::sort(marks.begin(), marks.end(),
            [](const Mark& a, const Mark& b) { return a.done < b.done; });
  if (g_bulk) {
    // The load ends when the bulk load is finished: its postings sorted and ingested.
    const Mark before = marks.back();
    v1::IngestBatch finish;
    finish.set_finish_bulk(true);
    grpc::ClientContext ctx;
    v1::IngestResponse resp;
    auto w = admin.directory().Ingest(&ctx, &resp);
    w->Write(finish);
    w->WritesDone();
    if (grpc::Status st = w->Finish(); !st.ok()) {
      fprintf(stderr, "finishing the bulk load failed: %s\n", st.error_message().c_str());
      std::exit(1);
    }
    marks.push_back(Take(total, start, pid, admin));
    const v1::BulkLoadResult& r = resp.bulk();
    printf(
        "bulk load finished in %.1f s: %llu postings operands, %llu sorted runs, %llu keys in "
        "%llu SST files (%.0f MiB), tesserad's part %.1f s\n",
        marks.back().seconds - before.seconds, static_cast<unsigned long long>(r.operands()),
        static_cast<unsigned long long>(r.runs()), static_cast<unsigned long long>(r.keys()),
        static_cast<unsigned long long>(r.files()), r.sst_bytes() / 1048576.0, r.seconds());
  }
  return marks;
}

// One row per phase (people, cases) and per tenth of the load: rate, tesserad's CPU
// per 1,000 fragments, its RSS at the end of the interval, compaction's write
// amplification over it.
void PrintLoad(const std::vector<Mark>& marks, uint64_t people) {
  printf("%-22s | %9s | %7s | %9s | %13s | %7s | %9s\n", "load", "fragments", "s", "frag/s",
         "CPU ms per 1k", "RSS MiB", "write amp");
  printf("%s\n", std::string(94, '-').c_str());
  auto row = [](const std::string& name, const Mark& a, const Mark& b) {
    const double n = static_cast<double>(b.done - a.done);
    const double secs = b.seconds - a.seconds;
    printf("%-22s | %9llu | %7.1f | %9.0f | %13.0f | %7.0f | %9.2f\n", name.c_str(),
           static_cast<unsigned long long>(b.done - a.done), secs, n / secs,
           n > 0 ? (b.proc.cpu_seconds - a.proc.cpu_seconds) * 1e6 / n : 0.0,
           bench::Mib(b.proc.rss_kb),
           bench::WriteAmp(b.flushed - a.flushed, b.compacted - a.compacted));
  };
  const Mark* boundary = &marks.back();
  for (const Mark& m : marks) {
    if (m.done >= people) {
      boundary = &m;
      break;
    }
  }
  row("people", marks.front(), *boundary);
  row("cases", *boundary, marks.back());
  row("all", marks.front(), marks.back());
  const uint64_t total = marks.back().done;
  const Mark* prev = &marks.front();
  for (const Mark& m : marks) {
    if (m.done == 0 || (m.done * 10 / total == prev->done * 10 / total && &m != &marks.back())) {
      continue;
    }
    const bool finish = g_bulk && &m == &marks.back();
    row(finish ? "  finishing the bulk" : "  to " + std::to_string(m.done * 100 / total) + "%",
        *prev, m);
    prev = &m;
  }
}

std::vector<std::pair<std::string, bool>> Queries(size_t n) {
  std::mt19937_64 rng(99);
  std::vector<std::pair<std::string, bool>> qs;
  for (size_t i = 0; i < n; ++i) {
    const bool french = rng() % 10 < 4;
    qs.emplace_back(Text(rng, french, 5 + static_cast<int>(rng() % 36)), french);
  }
  return qs;
}

struct Row {
  std::string name;
  size_t n = 0;
  double ops = 0, p50 = 0, p99 = 0, ratio = 0;
};

double Pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

template <typename Ask>
Row Time(const std::string& name, size_t callers,
         const std::vector<std::pair<std::string, bool>>& qs, Ask ask) {
  std::vector<std::vector<double>> lat(callers);
  std::atomic<size_t> next{0};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (size_t c = 0; c < callers; ++c) {
    threads.emplace_back([&, c] {
      for (size_t i = next++; i < qs.size(); i = next++) {
        const auto t0 = Clock::now();
        ask(c, qs[i]);
        lat[c].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  return {name, qs.size(), qs.size() / secs, Pct(all, 0.5), Pct(all, 0.99), 0};
}

// The FindExperts request of a generated query (text, and whether it is French).
v1::FindExpertsRequest Request(const std::pair<std::string, bool>& q) {
  v1::FindExpertsRequest req;
  req.set_text(q.first);
  req.set_language(q.second ? "fr" : "en");
  req.set_limit(10);
  req.set_as_of_unix_ms(kNow);
  return req;
}

void Print(const std::vector<Row>& rows, const char* ratio) {
  printf("%-58s | %6s | %8s | %8s | %8s | %10s\n", "case", "n", "q/s", "p50 ms", "p99 ms", ratio);
  printf("%s\n", std::string(110, '-').c_str());
  for (const Row& r : rows) {
    printf("%-58s | %6zu | %8.1f | %8.2f | %8.2f | %10.2f\n", r.name.c_str(), r.n, r.ops, r.p50,
           r.p99, r.ratio);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"FindExperts latency at scale beside Xapian's BM25 over the same evidence."};
  Sizes s;
  size_t queries = 1000, pool = 200;
  int cache_mb = 256;
  bool xapian = true;
  app.add_option("--employees", s.employees)->capture_default_str();
  app.add_option("--customers", s.customers)->capture_default_str();
  app.add_option("--evidence", s.evidence, "helpdesk cases, one evidence item each")
      ->capture_default_str();
  app.add_option("--queries", queries)->capture_default_str();
  app.add_option("--pool", pool, "FindExperts evidence pool, and Xapian's k")
      ->capture_default_str();
  app.add_option("--block-cache-mb", cache_mb, "tesserad's memory bound")->capture_default_str();
  app.add_flag("!--no-xapian", xapian, "skip the Xapian peer");
  app.add_flag("--bulk", g_bulk,
               "load as a bulk load (IngestBatch.bulk): postings sorted apart and ingested as SST "
               "files; the load's last row includes finishing it");
  app.add_flag("--shuffle-time", g_shuffle_time,
               "give cases random dates instead of dates in arrival order");
  bool rules = true;
  app.add_flag("!--no-rules", rules,
               "skip the runs with authentication on: an agent who sees everything, then one who "
               "may not see cases");
  std::string keep, tesserad = TESSERAD_PATH;
  app.add_option("--tesserad", tesserad, "the tesserad binary to measure")->capture_default_str();
  app.add_option(
      "--keep-db", keep,
      "keep tesserad's database in this folder; a later run with the same sizes reuses it and "
      "skips the load (for iterating on query speed)");
  std::vector<std::string> sets;
  app.add_option("--set", sets,
                 "KEY=VALUE: an expertise option for tesserad (server/expertise/options.h), e.g. "
                 "--set language_weight=0; VALUE is JSON; repeatable");
  CLI11_PARSE(app, argc, argv);
  std::string expertise = "\"evidence_pool\": " + std::to_string(pool);
  for (const std::string& kv : sets) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      fprintf(stderr, "--set %s: expected KEY=VALUE\n", kv.c_str());
      return 2;
    }
    expertise += ", \"" + kv.substr(0, eq) + "\": " + kv.substr(eq + 1);
  }
  printf(
      "expertise_bench: %llu employees, %llu customers, %llu evidence items, %zu queries of 5-40 "
      "words, "
      "block cache %d MiB, %u hardware threads\n",
      static_cast<unsigned long long>(s.employees), static_cast<unsigned long long>(s.customers),
      static_cast<unsigned long long>(s.evidence), queries, cache_mb,
      std::thread::hardware_concurrency());
  testing::TempDir tmp;
  std::ofstream(tmp.Sub("tesserad.json")) << "{\"expertise\": {" << expertise << "}}\n";
  // A kept database is reused only when it was fully loaded with the same sizes.
  const std::string sizes = std::to_string(s.employees) + " " + std::to_string(s.customers) + " " +
                            std::to_string(s.evidence) + (g_shuffle_time ? " shuffled" : "");
  bool reuse = false;
  if (!keep.empty()) {
    std::filesystem::create_directories(keep);
    std::ifstream marker(keep + "/loaded");
    std::string line;
    reuse = std::getline(marker, line) && line == sizes;
    if (!reuse) std::filesystem::remove_all(keep + "/db");
  }
  testing::TesseradProcess server(keep.empty() ? tmp.path() : keep,
                                  {"--config", tmp.Sub("tesserad.json"), "--log-level", "warn",
                                   "--block-cache-mb", std::to_string(cache_mb)},
                                  tesserad);
  server.Start();
  client::Client admin(client::ClientOptions{server.address(), 60'000});
  if (reuse) {
    printf("reusing the database loaded in %s\n", keep.c_str());
  } else {
    for (const char* id : {"hr", "crm", "helpdesk"}) {
      v1::Source src;
      src.set_id(id);
      src.set_kind("bench");
      src.set_priority(50);
      if (!admin.PutSource(src).ok()) return 1;
    }
    const std::vector<Mark> marks = Load(server.address(), s, server.pid());
    printf("loaded %llu fragments through Ingest at %.0f/s\n",
           static_cast<unsigned long long>(marks.back().done),
           static_cast<double>(marks.back().done) / marks.back().seconds);
    PrintLoad(marks, s.employees + s.customers);
    PrintMemory("after the load", server.pid(), admin);
    const auto compact_start = Clock::now();
    if (!admin.Compact().ok()) return 1;
    printf("compacted in %.0f s\n",
           std::chrono::duration<double>(Clock::now() - compact_start).count());
    PrintMemory("after compacting", server.pid(), admin);
    if (!keep.empty()) std::ofstream(keep + "/loaded") << sizes << "\n";
  }
  const auto qs = Queries(queries);
  std::vector<Row> rows;

  if (xapian) {
    // The same evidence texts, indexed by Xapian with its own stemmers.
    Xapian::WritableDatabase xdb(tmp.Sub("xapian"), Xapian::DB_CREATE_OR_OPEN);
    Xapian::TermGenerator en, fr;
    en.set_stemmer(Xapian::Stem("english"));
    fr.set_stemmer(Xapian::Stem("french"));
    const auto t0 = Clock::now();
    for (uint64_t k = 0; k < s.evidence; ++k) {
      const v1::Fragment f = Record(s.employees + s.customers + k, s);
      const v1::Evidence& e = f.evidence(0);
      Xapian::Document doc;
      Xapian::TermGenerator& tg = e.language() == "fr" ? fr : en;
      tg.set_document(doc);
      tg.index_text(e.title() + "\n" + e.text());
      xdb.add_document(doc);
    }
    xdb.commit();
    printf("Xapian indexed %llu texts in %.0f s\n", static_cast<unsigned long long>(s.evidence),
           std::chrono::duration<double>(Clock::now() - t0).count());
    std::vector<std::unique_ptr<Xapian::Database>> readers;
    readers.reserve(2);
    for (int c = 0; c < 2; ++c)
      readers.push_back(std::make_unique<Xapian::Database>(tmp.Sub("xapian")));
    for (size_t callers : {1, 2}) {
      Row r = Time("Xapian BM25, top " + std::to_string(pool), callers, qs,
                   [&](size_t c, const auto& q) {
                     Xapian::QueryParser qp;
                     qp.set_stemmer(Xapian::Stem(q.second ? "french" : "english"));
                     qp.set_stemming_strategy(Xapian::QueryParser::STEM_SOME);
                     qp.set_default_op(Xapian::Query::OP_OR);
                     Xapian::Enquire enquire(*readers[c]);
                     enquire.set_weighting_scheme(Xapian::BM25Weight());
                     enquire.set_query(qp.parse_query(q.first));
                     (void)enquire.get_mset(0, static_cast<Xapian::doccount>(pool));
                   });
      r.name += callers == 1 ? ", 1 caller" : ", 2 callers";
      r.ratio = 1.0;
      rows.push_back(r);
    }
  }
  std::vector<std::unique_ptr<client::Client>> clients;
  clients.reserve(2);
  for (int c = 0; c < 2; ++c)
    clients.push_back(
        std::make_unique<client::Client>(client::ClientOptions{server.address(), 60'000}));
  std::atomic<uint64_t> postings{0}, terms{0};
  // One untimed pass first: Xapian's indexing has just filled the page cache with its
  // own files, and Xapian answers warm, so Tessera is timed warm too.
  Time("warm-up", 2, qs, [&](size_t c, const auto& q) {
    const v1::FindExpertsRequest req = Request(q);
    if (!clients[c]->FindExperts(req).ok()) std::exit(1);
  });
  for (size_t callers : {1, 2}) {
    Row r = Time("tessera FindExperts (pool " + std::to_string(pool) + ", top 10)", callers, qs,
                 [&](size_t c, const auto& q) {
                   const v1::FindExpertsRequest req = Request(q);
                   absl::StatusOr<v1::FindExpertsResponse> r = clients[c]->FindExperts(req);
                   if (!r.ok()) std::exit(1);
                   postings += r->postings_read();
                   terms += r->query_terms_size();
                 });
    r.name += callers == 1 ? ", 1 caller" : ", 2 callers";
    for (const Row& x : rows) {
      if (x.name.find(callers == 1 ? "1 caller" : "2 callers") != std::string::npos)
        r.ratio = r.ops / x.ops;
    }
    rows.push_back(r);
  }
  Print(rows, "x Xapian");
  printf("tessera decoded %.0f postings per query on average (%.1f terms searched)\n",
         static_cast<double>(postings.load()) / (2.0 * static_cast<double>(qs.size())),
         static_cast<double>(terms.load()) / (2.0 * static_cast<double>(qs.size())));
  PrintMemory("after the queries", server.pid(), admin);
  printf("tesserad peak RSS %.0f MiB with a %d MiB block cache\n",
         bench::Mib(bench::ReadProc(server.pid()).peak_rss_kb), cache_mb);
  if (!rules) return server.Stop() == 0 ? 0 : 1;

  // The same queries with authentication on (each call admitted and audited), as an
  // agent who sees every kind, then as one whose visibility leaves cases out: every
  // evidence item's profile is checked and hidden ones are left out of explanations.
  if (server.Stop() != 0) return 1;
  const std::string token = "bench-agent-token-0123456789";
  std::ofstream(tmp.Sub("principals.json"))
      << R"({"tokens": [{"principal": "bench", "sha256": ")" << access::Sha256Hex(token)
      << R"(", "roles": ["agent"]}]})";
  std::vector<Row> rule_rows;
  for (const bool hide_cases : {false, true}) {
    std::ofstream(tmp.Sub("tesserad.json"))
        << "{\"expertise\": {\"evidence_pool\": " << pool << "}, \"security\": {\"principals\": \""
        << tmp.Sub("principals.json") << "\""
        << (hide_cases ? R"(, "visible_kinds": {"agent": ["employee", "team", "customer"]})" : "")
        << "}}\n";
    server.Start();
    std::vector<std::unique_ptr<client::Client>> agents;
    for (int c = 0; c < 2; ++c) {
      client::ClientOptions o{server.address(), 60'000};
      o.token = token;
      agents.push_back(std::make_unique<client::Client>(o));
    }
    std::atomic<uint64_t> case_hits{0};
    auto ask = [&](size_t c, const auto& q) {
      const v1::FindExpertsRequest req = Request(q);
      absl::StatusOr<v1::FindExpertsResponse> r = agents[c]->FindExperts(req);
      if (!r.ok()) {
        fprintf(stderr, "FindExperts: %s\n", std::string(r.status().message()).c_str());
        std::exit(1);
      }
      for (const v1::Expert& e : r->experts()) {
        for (const v1::EvidenceHit& h : e.evidence()) case_hits += h.kind() == "case" ? 1 : 0;
      }
    };
    Time("warm-up", 2, qs, ask);
    for (size_t callers : {1, 2}) {
      Row r = Time(std::string(hide_cases ? "agent without cases" : "agent, every kind") +
                       (callers == 1 ? ", 1 caller" : ", 2 callers"),
                   callers, qs, ask);
      for (const Row& x : rows) {
        if (x.name.rfind("tessera", 0) == 0 &&
            x.name.find(callers == 1 ? "1 caller" : "2 callers") != std::string::npos) {
          r.ratio = r.ops / x.ops;
        }
      }
      rule_rows.push_back(r);
    }
    printf("%s: %llu case evidence items cited\n",
           hide_cases ? "agent without cases" : "agent, every kind",
           static_cast<unsigned long long>(case_hits.load()));
    if (server.Stop() != 0) return 1;
  }
  printf(
      "\nFindExperts with authentication and visibility rules (x open: against the open rows "
      "above)\n");
  Print(rule_rows, "x open");
  return 0;
}
