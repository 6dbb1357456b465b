// SCIM provisioning throughput on the real tesserad, beside the ceiling of the same
// HTTP listener in the same run (/healthz: no gate, no store).
//
//   build/tests/bench/scim_bench --users 20000         (README.md "Benchmarks")
//
// 1. Ceiling: GET /healthz, right before each cycle below at the cycle's client count.
// 2. Entra's initial cycle at 1, 4 and 16 clients, each on its own source with its own
//    people: for every user a GET /Users?filter=userName eq "…" (finds nothing) then a
//    POST. Then a quarter of the 1-client cycle's people again, on a fourth source at 4
//    clients: each POST joins the profile those people already have.
// 3. Group PATCHes adding 1,000 members each (Entra's `Add members`), and the cost of
//    adding one member to a group of 1,000 beside adding one to an empty group: a
//    membership change costs O(members changed), not O(group size).
// 4. Okta's import walk (count=100, startIndex += 100, to totalResults) while another
//    client deletes users: every user never deleted must come back exactly once.
// 5. /metrics render time with 50 sources registered.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/bench/proc_figures.h"
#include "tests/integration/tesserad_process.h"
#include "tests/unit/temp_dir.h"

using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

struct Stats {
  size_t requests = 0, errors = 0;
  double seconds = 0, p50_ms = 0, p99_ms = 0;
  double rate() const { return seconds > 0 ? static_cast<double>(requests) / seconds : 0; }
};

Stats Summarise(std::vector<double> latencies_ms, double seconds, size_t errors) {
  Stats s;
  s.requests = latencies_ms.size();
  s.errors = errors;
  s.seconds = seconds;
  if (!latencies_ms.empty()) {
    std::sort(latencies_ms.begin(), latencies_ms.end());
    s.p50_ms = latencies_ms[latencies_ms.size() / 2];
    s.p99_ms = latencies_ms[std::min(latencies_ms.size() - 1, latencies_ms.size() * 99 / 100)];
  }
  return s;
}

struct Server {
  int port = 0;
  std::string token;
};

std::unique_ptr<httplib::Client> Connect(const Server& s) {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", s.port);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);
  c->set_url_encode(false);  // paths are sent as written (already encoded)
  c->set_read_timeout(60, 0);
  c->set_default_headers({{"Authorization", "Bearer " + s.token}});
  return c;
}

// Runs `work(client, i)` for i in [0, n) over `clients` threads, each with its own
// connection; latencies are per call of `work` (which may send several requests and
// returns how many it sent, -1 on an unexpected answer, or -2 when the run is over).
template <typename Work>
Stats Run(const Server& s, int clients, size_t n, Work work) {
  std::vector<std::vector<double>> lat(clients);
  std::atomic<size_t> next{0}, errors{0}, requests{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  threads.reserve(clients);
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      std::unique_ptr<httplib::Client> client = Connect(s);
      for (size_t i; (i = next.fetch_add(1)) < n;) {
        const auto a = Clock::now();
        const int sent = work(*client, i);
        if (sent == -2) break;
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - a).count();
        if (sent < 0) {
          ++errors;
          continue;
        }
        requests += static_cast<size_t>(sent);
        for (int k = 0; k < sent; ++k) lat[c].push_back(ms / sent);
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  return Summarise(std::move(all), seconds, errors);
}

std::string NewToken(const std::string& name, const std::string& roles, std::string* entry) {
  const std::string cmd =
      std::string(TESSERAD_PATH) + " --new-token " + name + " --roles " + roles + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  char line[4096];
  std::string token;
  if (p != nullptr && fgets(line, sizeof line, p) != nullptr) token = line;
  if (p != nullptr && fgets(line, sizeof line, p) != nullptr) *entry = line;
  if (p != nullptr) pclose(p);
  while (!token.empty() && token.back() == '\n') token.pop_back();
  if (token.empty()) throw std::runtime_error("tesserad --new-token failed");
  return token;
}

json UserBody(const std::string& user_name, size_t i) {
  return {{"schemas", {"urn:ietf:params:scim:schemas:core:2.0:User"}},
          {"externalId", "ext-" + std::to_string(i)},
          {"userName", user_name},
          {"active", true},
          {"name",
           {{"givenName", "Given" + std::to_string(i)},
            {"familyName", "Family" + std::to_string(i % 977)}}},
          {"emails", {{{"primary", true}, {"type", "work"}, {"value", user_name}}}},
          {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
           {{"department", "Dept" + std::to_string(i % 40)}}}};
}

// The "id" of a created resource: the first "id" member of the answer (a User's other
// members hold none), without parsing the whole answer in the client.
std::string IdOf(const std::string& body) {
  const std::string key = "\"id\":\"";
  const size_t at = body.find(key);
  if (at == std::string::npos) return "";
  const size_t end = body.find('"', at + key.size());
  return end == std::string::npos ? "" : body.substr(at + key.size(), end - at - key.size());
}

pid_t g_tesserad = 0;  // whose resident memory each row shows

void Row(const char* what, int clients, const Stats& s, double ceiling_rate) {
  printf("| %-34s | %7d | %9zu | %9.0f | %7.2f | %7.2f | %6.2f | %6zu | %7.0f |\n", what, clients,
         s.requests, s.rate(), s.p50_ms, s.p99_ms, ceiling_rate > 0 ? s.rate() / ceiling_rate : 0.0,
         s.errors, tessera::bench::Mib(tessera::bench::ReadProc(g_tesserad).rss_kb));
}

// The value of an unlabelled sample in a Prometheus text page (0 when absent).
double Sample(const std::string& page, const std::string& name) {
  const std::string line = "\n" + name + " ";
  const size_t at = page.find(line);
  return at == std::string::npos ? 0 : std::strtod(page.c_str() + at + line.size(), nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "SCIM provisioning throughput beside the HTTP listener's ceiling (README.md \"Benchmarks\")"};
  size_t users = 20000, group_size = 1000, deletes = 2000;
  double ceiling_seconds = 3;
  app.add_option("--users", users, "users in each Entra-style initial cycle (default 20000)");
  app.add_option("--group-size", group_size, "members each group PATCH adds (default 1000)");
  app.add_option("--deletes", deletes, "users deleted during the Okta import walk (default 2000)");
  app.add_option("--ceiling-seconds", ceiling_seconds,
                 "how long each /healthz ceiling run lasts (default 3)");
  CLI11_PARSE(app, argc, argv);
  group_size = std::min(group_size, users);
  deletes = std::min(deletes, users / 2);

  tessera::testing::TempDir dir;
  std::string entry;
  Server server;
  server.token = NewToken("bench", "admin", &entry);
  std::ofstream(dir.path() + "/principals.json") << "{\"tokens\": [" << entry << "]}";
  json sources = json::array();
  for (int i = 0; i < 50; ++i) {
    sources.push_back(
        {{"id", "src-" + std::to_string(i)}, {"kind", "employee"}, {"priority", 10 + i}});
  }
  for (std::string id : {"scim-1", "scim-4", "scim-16", "scim-join"})
    sources.push_back({{"id", id}, {"kind", "employee"}, {"priority", 90}});
  json config = {{"sources", sources},
                 {"security", {{"principals", dir.path() + "/principals.json"}}},
                 {"http", {{"threads", 32}, {"max_connections", 256}}}};
  std::ofstream(dir.path() + "/tesserad.json") << config.dump();
  tessera::testing::TesseradProcess tesserad(
      dir.path(), {"--config", dir.path() + "/tesserad.json", "--http-listen", "127.0.0.1:0",
                   "--http-port-file", dir.path() + "/http_port", "--block-cache-mb", "256"});
  tesserad.Start();
  std::ifstream(dir.path() + "/http_port") >> server.port;
  if (server.port <= 0) {
    fprintf(stderr, "scim_bench: no HTTP port\n");
    return 1;
  }

  printf("SCIM on tesserad (HTTP/1.1 keep-alive, loopback, bearer token): %zu users per cycle\n\n",
         users);
  g_tesserad = tesserad.pid();
  printf("| %-34s | %7s | %9s | %9s | %7s | %7s | %6s | %6s | %7s |\n", "what", "clients",
         "requests", "req/s", "p50 ms", "p99 ms", "×ceil", "errors", "RSS MiB");
  printf("|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", std::string(36, '-').c_str(),
         std::string(9, '-').c_str(), std::string(11, '-').c_str(), std::string(11, '-').c_str(),
         std::string(9, '-').c_str(), std::string(9, '-').c_str(), std::string(8, '-').c_str(),
         std::string(8, '-').c_str(), std::string(9, '-').c_str());
  // The ceiling is measured right before each run it is the ceiling of, so the ratio
  // compares runs seconds apart, not minutes (a shared machine's speed drifts).
  const auto ceiling = [&](int c) {
    const auto until = Clock::now() + std::chrono::duration<double>(ceiling_seconds);
    Stats s = Run(server, c, SIZE_MAX, [&](httplib::Client& cl, size_t) {
      if (Clock::now() > until) return -2;
      auto r = cl.Get("/healthz");
      return r && r->status == 200 ? 1 : -1;
    });
    Row("ceiling: GET /healthz", c, s, 0);
    return s.rate();
  };
  bool ok = true;
  std::vector<std::string> ids_16;  // the users of the 16-client cycle
  // Each cycle's users are new people (their own names), so every client count does the
  // same work; a last cycle sends the 1-client cycle's people again to another source,
  // where each joins the profile that cycle made (by e-mail), as an IdP's users join the
  // HR and LDAP records of the same people.
  const auto cycle = [&](const std::string& source, int c, size_t n, const std::string& tag,
                         const char* what) {
    const double ceiling_rate = ceiling(c);
    const std::string base = "/scim/v2/" + source;
    // The requests are built before the clock starts: a real IdP is another machine, and
    // here the load generator shares the server's two cores.
    std::vector<std::string> paths(n), bodies(n), ids(n);
    for (size_t i = 0; i < n; ++i) {
      const std::string name = "user" + std::to_string(i) + "." + tag + "@bench.example";
      paths[i] = base + "/Users?filter=userName+eq+%22" + name + "%22";
      bodies[i] = UserBody(name, i).dump();
    }
    Stats s = Run(server, c, n, [&](httplib::Client& cl, size_t i) {
      auto g = cl.Get(paths[i]);
      if (!g || g->status != 200 || g->body.find("\"totalResults\":0") == std::string::npos)
        return -1;
      auto p = cl.Post(base + "/Users", bodies[i], "application/scim+json");
      if (!p || p->status != 201) return -1;
      ids[i] = IdOf(p->body);
      return ids[i].empty() ? -1 : 2;
    });
    Row(what, c, s, ceiling_rate);
    ok = ok && s.errors == 0;
    return ids;
  };
  for (int c : {1, 4, 16}) {
    std::vector<std::string> ids = cycle("scim-" + std::to_string(c), c, users,
                                         "c" + std::to_string(c), "Entra cycle: filter GET + POST");
    if (c == 16) ids_16 = std::move(ids);
  }
  cycle("scim-join", 4, users / 4, "c1", "the same, joining known people");
  // Group PATCHes on the 16-client source: groups of `group_size` new members each.
  const std::string base = "/scim/v2/scim-16";
  const size_t groups = std::max<size_t>(1, users / group_size);
  std::vector<std::string> gids(groups + 1);
  {
    std::unique_ptr<httplib::Client> cl = Connect(server);
    for (size_t g = 0; g <= groups; ++g) {
      json body = {{"schemas", {"urn:ietf:params:scim:schemas:core:2.0:Group"}},
                   {"displayName", "Group " + std::to_string(g)}};
      auto r = cl->Post(base + "/Groups", body.dump(), "application/scim+json");
      if (!r || r->status != 201) {
        fprintf(stderr, "scim_bench: group create failed\n");
        return 1;
      }
      gids[g] = json::parse(r->body)["id"].get<std::string>();
    }
  }
  const auto add_members = [&](httplib::Client& cl, const std::string& gid, size_t from, size_t n) {
    json members = json::array();
    for (size_t k = from; k < from + n && k < ids_16.size(); ++k)
      members.push_back({{"value", ids_16[k]}});
    json body = {{"schemas", {"urn:ietf:params:scim:api:messages:2.0:PatchOp"}},
                 {"Operations", {{{"op", "Add"}, {"path", "members"}, {"value", members}}}}};
    auto r = cl.Patch(base + "/Groups/" + gid, body.dump(), "application/scim+json");
    return r && (r->status == 204 || r->status == 200);
  };
  Stats patches = Run(server, 4, groups, [&](httplib::Client& cl, size_t g) {
    return add_members(cl, gids[g], g * group_size, group_size) ? 1 : -1;
  });
  char label[64];
  snprintf(label, sizeof label, "group PATCH +%zu members", group_size);
  Row(label, 4, patches, 0);
  ok = ok && patches.errors == 0;
  // One member into the full group 0, against one member into the empty last group.
  const size_t probes = std::min<size_t>(200, users - group_size);
  Stats into_full = Run(server, 1, probes, [&](httplib::Client& cl, size_t i) {
    return add_members(cl, gids[0], group_size + i, 1) ? 1 : -1;
  });
  Row("PATCH +1 member, group of 1,000+", 1, into_full, 0);
  Stats into_empty = Run(server, 1, probes, [&](httplib::Client& cl, size_t i) {
    return add_members(cl, gids[groups], group_size + probes + i, 1) ? 1 : -1;
  });
  Row("PATCH +1 member, small group", 1, into_empty, 0);

  // Okta's import walk on the 4-client source while another client deletes users.
  const std::string walk_base = "/scim/v2/scim-4";
  std::vector<std::string> walk_ids;
  {
    std::unique_ptr<httplib::Client> cl = Connect(server);
    for (size_t start = 1;; start += 100) {
      auto r = cl->Get(walk_base + "/Users?startIndex=" + std::to_string(start) +
                       "&count=100&attributes=id");
      if (!r || r->status != 200) break;
      const json page = json::parse(r->body);
      for (const json& u : page["Resources"]) walk_ids.push_back(u["id"].get<std::string>());
      if (start + 100 > page["totalResults"].get<size_t>()) break;
    }
  }
  std::vector<std::string> victims = walk_ids;
  std::shuffle(victims.begin(), victims.end(), std::mt19937(7));
  victims.resize(std::min(deletes, victims.size()));
  const std::set<std::string> deleted(victims.begin(), victims.end());
  std::atomic<bool> deleting{true};
  std::atomic<size_t> deleted_ok{0};
  std::thread deleter([&] {
    std::unique_ptr<httplib::Client> cl = Connect(server);
    for (const std::string& id : victims) {
      auto r = cl->Delete(walk_base + "/Users/" + id);
      if (r && r->status == 204) ++deleted_ok;
    }
    deleting = false;
  });
  std::map<std::string, int> seen;
  size_t pages = 0, walks = 0;
  const auto walk_t0 = Clock::now();
  std::vector<double> page_ms;
  {
    std::unique_ptr<httplib::Client> cl = Connect(server);
    do {
      // Walk again and again while the deletions run; each walk is checked.
      std::map<std::string, int> this_walk;
      for (size_t start = 1;; start += 100) {
        const auto a = Clock::now();
        auto r = cl->Get(walk_base + "/Users?startIndex=" + std::to_string(start) + "&count=100");
        page_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
        ++pages;
        if (!r || r->status != 200) {
          ok = false;
          break;
        }
        const json page = json::parse(r->body);
        for (const json& u : page["Resources"]) ++this_walk[u["id"].get<std::string>()];
        if (start + 100 > page["totalResults"].get<size_t>()) break;
      }
      ++walks;
      size_t missing = 0, twice = 0;
      for (const std::string& id : walk_ids) {
        const int n = this_walk.count(id) ? this_walk[id] : 0;
        if (deleted.count(id) == 0 && n != 1) ++missing;
        if (n > 1) ++twice;
      }
      if (missing > 0 || twice > 0) {
        printf("walk %zu: %zu never-deleted users not returned exactly once, %zu returned twice\n",
               walks, missing, twice);
        ok = false;
      }
    } while (deleting.load());
  }
  deleter.join();
  const double walk_s = std::chrono::duration<double>(Clock::now() - walk_t0).count();
  Stats walk = Summarise(page_ms, walk_s, 0);
  Row("Okta walk pages, deletes running", 1, walk, 0);
  printf("\nOkta import walk: %zu walks (%zu pages) over %zu users while %zu were deleted: %s\n",
         walks, pages, walk_ids.size(), deleted_ok.load(),
         ok ? "every never-deleted user exactly once in every walk" : "FAILED");

  // /metrics with 50 sources and every counter above.
  std::vector<double> render_ms;
  size_t metrics_bytes = 0;
  std::string page;
  {
    std::unique_ptr<httplib::Client> cl = Connect(server);
    for (int i = 0; i < 50; ++i) {
      const auto a = Clock::now();
      auto r = cl->Get("/metrics");
      render_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
      if (!r || r->status != 200) ok = false;
      if (r) metrics_bytes = r->body.size(), page = r->body;
    }
  }
  const double flushed = Sample(page, "tessera_rocksdb_flushed_bytes_total");
  const double compacted = Sample(page, "tessera_rocksdb_compacted_bytes_total");
  printf(
      "tesserad over the run: peak RSS %.0f MiB (block cache 256 MiB); compaction's write "
      "amplification %.2f (%.0f MiB compacted / %.0f MiB flushed)\n",
      tessera::bench::Mib(tessera::bench::ReadProc(g_tesserad).peak_rss_kb),
      flushed > 0 ? compacted / flushed : 0.0, compacted / (1 << 20), flushed / (1 << 20));
  std::sort(render_ms.begin(), render_ms.end());
  printf("/metrics with %zu sources: %zu bytes, p50 %.2f ms, p99 %.2f ms (50 scrapes)\n",
         sources.size(), metrics_bytes, render_ms[render_ms.size() / 2], render_ms.back());
  printf(
      "\nTargets: SCIM writes >= 0.5x the ceiling, p99 < 100 ms at 16 clients, +1 member cost "
      "independent of "
      "group size.\n");
  tesserad.Stop();
  return ok ? 0 : 1;
}
