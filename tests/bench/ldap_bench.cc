// LDAP connector throughput: a full tessera-connect sync of N inetOrgPerson entries
// from a real slapd into a real tesserad, an incremental run with nothing changed, and
// a full dry run (the LDAP read and mapping alone: nothing sent), each beside slapcat
// dumping the same database in the same run (slapd's own offline export, reading the
// mdb files directly: the ceiling for getting entries out).
// Peak RSS is each process's own (wait4's ru_maxrss).
//
//   tests/bench/ldap_bench --entries 100000 --seed 1      (connectors/ldap/README.md)

#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "client/lib/client.h"
#include "connectors/ldap/slapd_testing.h"
#include "tests/integration/tesserad_process.h"
#include "tests/unit/temp_dir.h"

using tessera::testing::SlapdProcess;
using Clock = std::chrono::steady_clock;

namespace {

struct Measure {
  int exit = -1;
  double seconds = 0;
  double peak_rss_mib = 0;
};

// Runs `args` (stdout and stderr to `log`) and measures it.
Measure Time(const std::vector<std::string>& args, const std::string& log) {
  const auto t0 = Clock::now();
  const pid_t pid = SlapdProcess::Spawn(args, log);
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  Measure m;
  m.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  m.exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  m.peak_rss_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;  // Linux: KiB
  return m;
}

// A deterministic organisation: a management tree eight wide, realistic attributes.
void WriteLdif(const std::string& path, int n, uint64_t seed) {
  static const char* kGiven[] = {"Alice", "Karim", "Claire", "David", "Emma",    "Farid", "Gina",
                                 "Hugo",  "Inès",  "Jules",  "Léa",   "Marc",    "Nadia", "Omar",
                                 "Paul",  "Rose",  "Sami",   "Théo",  "Yasmine", "Zoé"};
  static const char* kFamily[] = {"Martin",  "Benali",   "Dupont",    "Leroy",  "Moreau",
                                  "Garcia",  "Bernard",  "Petit",     "Durand", "Lefèvre",
                                  "Roux",    "Fournier", "Girard",    "Bonnet", "Mercier",
                                  "Lambert", "Fontaine", "Chevalier", "Robin",  "Nguyen"};
  static const char* kTeams[] = {"Payments", "Cards",         "Loans",      "Savings",
                                 "Fraud",    "Customer Care", "Mobile App", "Compliance",
                                 "Treasury", "IT Operations"};
  static const char* kTitles[] = {"Analyst",    "Engineer",  "Advisor",
                                  "Specialist", "Team Lead", "Manager"};
  static const char* kCities[] = {"Paris", "Lyon", "Lille", "Nantes", "Bordeaux", "Marseille"};
  std::mt19937_64 rng(seed);
  auto pick = [&](const auto& arr) { return arr[rng() % (sizeof(arr) / sizeof(arr[0]))]; };
  std::ofstream out(path);
  out << "dn: dc=example,dc=test\nobjectClass: dcObject\nobjectClass: organization\ndc: example\n"
         "o: Example\n\ndn: ou=People,dc=example,dc=test\nobjectClass: organizationalUnit\nou: "
         "People\n\n";
  char phone[32], mobile[32];
  for (int i = 0; i < n; ++i) {
    const std::string given = pick(kGiven), family = pick(kFamily),
                      uid = "u" + std::to_string(100000 + i);
    const uint64_t digits = rng() % 100000000;
    std::snprintf(phone, sizeof phone, "+33 1 %02d %02d %02d %02d",
                  static_cast<int>(digits / 1000000), static_cast<int>(digits / 10000 % 100),
                  static_cast<int>(digits / 100 % 100), static_cast<int>(digits % 100));
    std::snprintf(mobile, sizeof mobile, "06 1%d %02d %02d %02d", static_cast<int>(digits % 10),
                  static_cast<int>(digits / 100 % 100), static_cast<int>(digits / 10000 % 100),
                  static_cast<int>(digits / 1000000 % 100));
    out << "dn: uid=" << uid
        << ",ou=People,dc=example,dc=test\nobjectClass: inetOrgPerson\nuid: " << uid
        << "\ncn: " << given << " " << family << "\nsn: " << family << "\ngivenName: " << given
        << "\ndisplayName: " << given << " " << family << "\nmail: " << uid << "."
        << given.substr(0, 1) << "@"
        << "example.test\ntelephoneNumber: " << phone << "\nmobile: " << mobile
        << "\ntitle: " << pick(kTitles) << "\nou: " << pick(kTeams) << "\nl: " << pick(kCities)
        << "\nemployeeNumber: E" << 100000 + i << "\n";
    if (i > 0) out << "manager: uid=u" << 100000 + (i - 1) / 8 << ",ou=People,dc=example,dc=test\n";
    out << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  int entries = 100000;
  uint64_t seed = 1;
  CLI::App app{
      "ldap_bench: tessera-connect's LDAP connector against slapcat on the same slapd database"};
  app.add_option("--entries", entries, "inetOrgPerson entries in the directory")
      ->check(CLI::Range(1, 10'000'000));
  app.add_option("--seed", seed, "for the generated organisation");
  CLI11_PARSE(app, argc, argv);

  tessera::testing::TempDir tmp;
  const std::string ldif = tmp.Sub("people.ldif");
  WriteLdif(ldif, entries, seed);
  SlapdProcess slapd(tmp.Sub("slapd"), {.syncprov = true, .memberof = false});
  const auto t0 = Clock::now();
  slapd.Load(ldif, /*quick=*/true);
  const double load_s = std::chrono::duration<double>(Clock::now() - t0).count();
  slapd.Start();
  tessera::testing::TesseradProcess tesserad(tmp.path());
  tesserad.Start();

  std::ofstream(tmp.Sub("ldap.json"))
      << R"({"source": {"id": "ldap", "kind": "ldap"},
    "input": {"uri": ")"
      << slapd.uri() << R"(", "bind_dn": ")" << SlapdProcess::kRootDn << R"(", "password": ")"
      << SlapdProcess::kRootPassword << R"(", "base_dn": "dc=example,dc=test"}})";
  const std::vector<std::string> connect = {TESSERA_CONNECT_PATH, "--config",
                                            tmp.Sub("ldap.json"), "--quiet",
                                            "--server",           tesserad.address()};
  const Measure full = Time(connect, tmp.Sub("full.log"));
  std::vector<std::string> incremental = connect;
  incremental.push_back("--incremental");
  const Measure incr = Time(incremental, tmp.Sub("incremental.log"));
  std::vector<std::string> dry_run = connect;
  dry_run.push_back("--dry-run");
  const Measure dry = Time(dry_run, tmp.Sub("dry-run.log"));
  const Measure slapcat =
      Time({"/usr/sbin/slapcat", "-f", slapd.config(), "-l", tmp.Sub("dump.ldif")},
           tmp.Sub("slapcat.log"));

  // The sync must have been complete for the numbers to mean anything.
  const std::string full_log = SlapdProcess::ReadFile(tmp.Sub("full.log"));
  const std::string expect =
      "read " + std::to_string(entries) + ", added " + std::to_string(entries) + ",";
  tessera::client::ClientOptions co;
  co.server = tesserad.address();
  tessera::v1::GetProfileRequest req;
  req.mutable_identifier()->set_type("employee_id");
  req.mutable_identifier()->set_value("E" + std::to_string(100000 + entries - 1));
  const bool last_found = tessera::client::Client(co).GetProfile(req).ok();
  if (full.exit != 0 || incr.exit != 0 || dry.exit != 0 || slapcat.exit != 0 ||
      full_log.find(expect) == std::string::npos || !last_found) {
    std::fprintf(stderr,
                 "ldap_bench: a run failed (exit %d/%d/%d/%d, last entry %s)\nfull "
                 "sync:\n%s\nslapcat:\n%s\n",
                 full.exit, incr.exit, dry.exit, slapcat.exit, last_found ? "found" : "missing",
                 full_log.c_str(), SlapdProcess::ReadFile(tmp.Sub("slapcat.log")).c_str());
    return 1;
  }

  std::printf("ldap_bench: %d entries, seed %llu, build %s%s; slapadd -q took %.1f s\n", entries,
              static_cast<unsigned long long>(seed), TESSERA_BUILD_TYPE,
#ifdef NDEBUG
              "",
#else
              " (WARNING: asserts on)",
#endif
              load_s);
  std::printf("%-56s | %8s | %10s | %12s | %10s\n", "case", "n", "entries/s", "peak RSS MiB",
              "x slapcat");
  const double base = entries / slapcat.seconds;
  auto row = [&](const char* name, const Measure& m) {
    std::printf("%-56s | %8d | %10.0f | %12.1f | %10.2f\n", name, entries, entries / m.seconds,
                m.peak_rss_mib, entries / m.seconds / base);
  };
  row("slapcat -l (offline dump, the baseline)", slapcat);
  row("tessera-connect full sync (LDAP -> tesserad)", full);
  row("tessera-connect --dry-run (LDAP read and mapping only)", dry);
  row("tessera-connect --incremental, nothing changed", incr);
  return 0;
}
