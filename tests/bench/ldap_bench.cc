// Directory connector throughput, each beside the server's own way of getting the same
// entries out, measured in the same run.
//
// --server slapd (the default): a full tessera-connect sync of N inetOrgPerson entries
// from a real slapd into a real tesserad, an incremental run with nothing changed, and a
// full dry run (the LDAP read and mapping alone: nothing sent), beside slapcat dumping the
// same database (slapd's own offline export, reading the mdb files directly: the ceiling
// for getting entries out).
//
// --server ad: the AD connector against a real Samba AD DC holding N users (the AD
// mapping's attributes, a management tree, proxyAddresses) and G groups holding them all:
// a full sync and a dry run beside one paged ldapsearch of the same users and groups with
// the same attributes; then incremental runs (by DirSync, and by uSNChanged for a second
// source), with nothing changed and with K users changed, each beside the ldapsearch a
// uSNChanged poll makes for the same changes.
//
// Peak RSS is each process's own (wait4's ru_maxrss), which counts this process's at
// spawn: it stays at a few MiB.
//
//   tests/bench/ldap_bench --entries 100000 --seed 1      (connectors/ldap/README.md)
//   tests/bench/ldap_bench --server ad --entries 100000 --dc-dir /var/tmp/ad-bench
//                                                         (connectors/ad/README.md)

#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "client/lib/client.h"
#include "connectors/ad/samba_testing.h"
#include "connectors/ldap/slapd_testing.h"
#include "tests/bench/proc_figures.h"
#include "tests/integration/tesserad_process.h"
#include "tests/unit/temp_dir.h"

using tessera::testing::SambaAdDc;
using tessera::testing::SlapdProcess;
using Clock = std::chrono::steady_clock;

namespace {

struct Measure {
  int exit = -1;
  double seconds = 0;
  double peak_rss_mib = 0;
  double cpu_s = 0;                            // the measured process's user + system time
  double slapd_cpu_s = 0, tesserad_cpu_s = 0;  // the servers', over the same interval
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
  m.cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
            static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  return m;
}

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Lines of the file at `path` that start with `prefix`, read line by line: this process
// stays small, because a child's peak RSS counts the parent's at spawn (posix_spawn's
// child shares the parent's memory until exec, and Linux keeps the larger peak).
size_t CountLines(const std::string& path, const std::string& prefix) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += line.starts_with(prefix);
  return n;
}

const char* BuildNote() {
#ifdef NDEBUG
  return "";
#else
  return " (WARNING: asserts on)";
#endif
}

// One generated person of a deterministic organisation.
struct Person {
  std::string uid, given, family, phone, mobile, title, city;
  int team = 0;  // index into kTeams
};

const char* const kGiven[] = {"Alice", "Karim", "Claire", "David", "Emma",    "Farid", "Gina",
                              "Hugo",  "Inès",  "Jules",  "Léa",   "Marc",    "Nadia", "Omar",
                              "Paul",  "Rose",  "Sami",   "Théo",  "Yasmine", "Zoé"};
const char* const kFamily[] = {"Martin",  "Benali",   "Dupont",    "Leroy",  "Moreau",
                               "Garcia",  "Bernard",  "Petit",     "Durand", "Lefèvre",
                               "Roux",    "Fournier", "Girard",    "Bonnet", "Mercier",
                               "Lambert", "Fontaine", "Chevalier", "Robin",  "Nguyen"};
const char* const kTeams[] = {"Payments", "Cards",         "Loans",      "Savings",
                              "Fraud",    "Customer Care", "Mobile App", "Compliance",
                              "Treasury", "IT Operations"};
const char* const kTitles[] = {"Analyst",    "Engineer",  "Advisor",
                               "Specialist", "Team Lead", "Manager"};
const char* const kCities[] = {"Paris", "Lyon", "Lille", "Nantes", "Bordeaux", "Marseille"};
constexpr int kTeamCount = sizeof(kTeams) / sizeof(kTeams[0]);

Person MakePerson(std::mt19937_64& rng, int i) {
  auto pick = [&](const auto& arr) { return arr[rng() % (sizeof(arr) / sizeof(arr[0]))]; };
  Person p;
  p.uid = "u" + std::to_string(100000 + i);
  p.given = pick(kGiven);
  p.family = pick(kFamily);
  const uint64_t digits = rng() % 100000000;
  char phone[32], mobile[32];
  std::snprintf(phone, sizeof phone, "+33 1 %02d %02d %02d %02d",
                static_cast<int>(digits / 1000000), static_cast<int>(digits / 10000 % 100),
                static_cast<int>(digits / 100 % 100), static_cast<int>(digits % 100));
  std::snprintf(mobile, sizeof mobile, "06 1%d %02d %02d %02d", static_cast<int>(digits % 10),
                static_cast<int>(digits / 100 % 100), static_cast<int>(digits / 10000 % 100),
                static_cast<int>(digits / 1000000 % 100));
  p.phone = phone;
  p.mobile = mobile;
  p.title = pick(kTitles);
  p.team = static_cast<int>(rng() % kTeamCount);
  p.city = pick(kCities);
  return p;
}

// ---- slapd ---------------------------------------------------------------------------

// A management tree eight wide, realistic attributes.
void WriteLdif(const std::string& path, int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::ofstream out(path);
  out << "dn: dc=example,dc=test\nobjectClass: dcObject\nobjectClass: organization\ndc: example\n"
         "o: Example\n\ndn: ou=People,dc=example,dc=test\nobjectClass: organizationalUnit\nou: "
         "People\n\n";
  for (int i = 0; i < n; ++i) {
    const Person p = MakePerson(rng, i);
    out << "dn: uid=" << p.uid
        << ",ou=People,dc=example,dc=test\nobjectClass: inetOrgPerson\nuid: " << p.uid
        << "\ncn: " << p.given << " " << p.family << "\nsn: " << p.family
        << "\ngivenName: " << p.given << "\ndisplayName: " << p.given << " " << p.family
        << "\nmail: " << p.uid << "." << p.given.substr(0, 1)
        << "@example.test\ntelephoneNumber: " << p.phone << "\nmobile: " << p.mobile
        << "\ntitle: " << p.title << "\nou: " << kTeams[p.team] << "\nl: " << p.city
        << "\nemployeeNumber: E" << 100000 + i << "\n";
    if (i > 0) out << "manager: uid=u" << 100000 + (i - 1) / 8 << ",ou=People,dc=example,dc=test\n";
    out << "\n";
  }
}

int RunSlapd(int entries, uint64_t seed) {
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
  // Each run with the CPU time slapd and tesserad spent meanwhile: on a small machine
  // the three share the cores, and the sum says which one bounds the sync.
  auto timed = [&](const std::vector<std::string>& args, const std::string& log) {
    const double slapd0 = tessera::bench::ReadProc(slapd.pid()).cpu_seconds;
    const double tesserad0 = tessera::bench::ReadProc(tesserad.pid()).cpu_seconds;
    Measure m = Time(args, log);
    m.slapd_cpu_s = tessera::bench::ReadProc(slapd.pid()).cpu_seconds - slapd0;
    m.tesserad_cpu_s = tessera::bench::ReadProc(tesserad.pid()).cpu_seconds - tesserad0;
    return m;
  };
  tessera::client::ClientOptions co;
  co.server = tesserad.address();
  const tessera::client::Client client(co);
  const absl::StatusOr<tessera::v1::StatsResponse> before = client.Stats();
  const Measure full = timed(connect, tmp.Sub("full.log"));
  const absl::StatusOr<tessera::v1::StatsResponse> after = client.Stats();
  if (!before.ok() || !after.ok()) {
    std::fprintf(stderr, "ldap_bench: Admin.Stats failed\n");
    return 1;
  }
  std::vector<std::string> incremental = connect;
  incremental.push_back("--incremental");
  const Measure incr = timed(incremental, tmp.Sub("incremental.log"));
  std::vector<std::string> dry_run = connect;
  dry_run.push_back("--dry-run");
  const Measure dry = timed(dry_run, tmp.Sub("dry-run.log"));
  const Measure slapcat =
      timed({"/usr/sbin/slapcat", "-f", slapd.config(), "-l", tmp.Sub("dump.ldif")},
            tmp.Sub("slapcat.log"));
  // What slapd serves over the wire: the connector's own search (its filter, pages of
  // its default 500 entries), written to a file by OpenLDAP's client.
  const Measure search =
      timed({"/usr/bin/ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no", "-H", slapd.uri(), "-D",
             SlapdProcess::kRootDn, "-w", SlapdProcess::kRootPassword, "-b", "dc=example,dc=test",
             "-E", "pr=500/noprompt", "(objectClass=inetOrgPerson)"},
            tmp.Sub("ldapsearch.ldif"));
  const size_t searched = CountLines(tmp.Sub("ldapsearch.ldif"), "dn: ");

  // The sync must have been complete for the numbers to mean anything.
  const std::string full_log = SlapdProcess::ReadFile(tmp.Sub("full.log"));
  const std::string expect =
      "read " + std::to_string(entries) + ", added " + std::to_string(entries) + ",";
  tessera::v1::GetProfileRequest req;
  req.mutable_identifier()->set_type("employee_id");
  req.mutable_identifier()->set_value("E" + std::to_string(100000 + entries - 1));
  const bool last_found = client.GetProfile(req).ok();
  if (full.exit != 0 || incr.exit != 0 || dry.exit != 0 || slapcat.exit != 0 || search.exit != 0 ||
      searched != static_cast<size_t>(entries) || full_log.find(expect) == std::string::npos ||
      !last_found) {
    std::fprintf(stderr,
                 "ldap_bench: a run failed (exit %d/%d/%d/%d/%d, ldapsearch read %zu entries, "
                 "last entry %s)\nfull sync:\n%s\nslapcat:\n%s\n",
                 full.exit, incr.exit, dry.exit, slapcat.exit, search.exit, searched,
                 last_found ? "found" : "missing", full_log.c_str(),
                 SlapdProcess::ReadFile(tmp.Sub("slapcat.log")).c_str());
    return 1;
  }

  std::printf("ldap_bench: %d entries, seed %llu, build %s%s; slapadd -q took %.1f s\n", entries,
              static_cast<unsigned long long>(seed), TESSERA_BUILD_TYPE, BuildNote(), load_s);
  std::printf("%-56s | %8s | %10s | %12s | %10s | %22s\n", "case", "n", "entries/s", "peak RSS MiB",
              "x slapcat", "CPU s: own/slapd/tesserad");
  const double base = entries / slapcat.seconds;
  auto row = [&](const char* name, const Measure& m) {
    std::printf("%-56s | %8d | %10.0f | %12.1f | %10.2f | %8.2f/%6.2f/%6.2f\n", name, entries,
                entries / m.seconds, m.peak_rss_mib, entries / m.seconds / base, m.cpu_s,
                m.slapd_cpu_s, m.tesserad_cpu_s);
  };
  row("slapcat -l (offline dump, the baseline)", slapcat);
  row("ldapsearch, paged 500 (what slapd serves over LDAP)", search);
  row("tessera-connect full sync (LDAP -> tesserad)", full);
  row("tessera-connect --dry-run (LDAP read and mapping only)", dry);
  row("tessera-connect --incremental, nothing changed", incr);
  std::printf("tesserad over the full sync: compaction's write amplification %.2f\n",
              tessera::bench::WriteAmp(
                  after->flushed_bytes_since_start() - before->flushed_bytes_since_start(),
                  after->compacted_bytes_since_start() - before->compacted_bytes_since_start()));
  std::printf(
      "(peak RSS and own CPU: the measured process; slapd and tesserad: their CPU over the same "
      "run. tesserad's own peak RSS was %.0f MiB)\n",
      tessera::bench::Mib(tessera::bench::ReadProc(tesserad.pid()).peak_rss_kb));
  return 0;
}

// ---- Active Directory ----------------------------------------------------------------

constexpr char kAdOu[] = "OU=Bench,DC=lumen,DC=example";

struct AdOptions {
  int users = 100000;
  int groups = 10;
  int changes = 0;  // 0: 1% of the users, at least 1 and at most 1,000
  uint64_t seed = 1;
  std::string dc_dir;  // keep the loaded domain here between runs
};

std::string AdDn(const Person& p) {
  return "CN=" + p.given + " " + p.family + " " + p.uid + "," + kAdOu;
}

// Users under kAdOu with the AD mapping's attributes (a management tree eight wide), then
// `groups` groups that share the users out by team.
void WriteAdLdif(const std::string& path, const AdOptions& o) {
  std::mt19937_64 rng(o.seed);
  std::ofstream out(path);
  out << "dn: " << kAdOu << "\nobjectClass: organizationalUnit\n\n";
  std::vector<std::vector<std::string>> members(o.groups);
  std::vector<std::string> dns;
  dns.reserve(o.users);
  for (int i = 0; i < o.users; ++i) {
    const Person p = MakePerson(rng, i);
    dns.push_back(AdDn(p));
    const std::string mail = p.uid + "." + p.given.substr(0, 1) + "@lumen.example";
    out << "dn: " << dns.back() << "\nobjectClass: user\nsAMAccountName: " << p.uid
        << "\nuserPrincipalName: " << p.uid << "@lumen.example\nuserAccountControl: 544\n"
        << "givenName: " << p.given << "\nsn: " << p.family << "\ndisplayName: " << p.given << " "
        << p.family << "\nmail: " << mail << "\nproxyAddresses: SMTP:" << mail
        << "\nproxyAddresses: smtp:" << p.uid << "@old.example\nemployeeID: E" << 100000 + i
        << "\ntelephoneNumber: " << p.phone << "\nmobile: " << p.mobile << "\ntitle: " << p.title
        << "\ndepartment: " << kTeams[p.team] << "\ncompany: Banque Lumen"
        << "\nphysicalDeliveryOfficeName: " << p.city << "\n";
    if (i > 0) out << "manager: " << dns[(i - 1) / 8] << "\n";
    out << "\n";
    if (o.groups > 0) members[i % o.groups].push_back(dns.back());
  }
  for (int g = 0; g < o.groups; ++g) {
    out << "dn: CN=Bench Group " << g << "," << kAdOu
        << "\nobjectClass: group\nsAMAccountName: bench-group-" << g << "\n";
    for (const std::string& dn : members[g]) out << "member: " << dn << "\n";
    out << "\n";
  }
}

// The first `k` users (in generation order) get a new title.
void WriteAdChanges(const std::string& path, const AdOptions& o, int k, const std::string& title) {
  std::mt19937_64 rng(o.seed);
  std::ofstream out(path);
  for (int i = 0; i < k; ++i) {
    out << "dn: " << AdDn(MakePerson(rng, i))
        << "\nchangetype: modify\nreplace: title\ntitle: " << title << "\n-\n\n";
  }
}

// samba_bulk.py applies `ldif` in one transaction; its progress goes to our stderr.
Measure Apply(const SambaAdDc& dc, const std::string& ldif) {
  return Time({"/usr/bin/python3", std::string(TESSERA_SOURCE_DIR) + "/connectors/ad/samba_bulk.py",
               dc.config(), ldif},
              "/dev/stderr");
}

bool LogHas(const std::string& log, const std::string& text) {
  return SlapdProcess::ReadFile(log).find(text) != std::string::npos;
}

// ldapsearch as the administrator, paged at AD's MaxPageSize, output to `out`.
std::vector<std::string> LdapSearch(const SambaAdDc& dc, const std::string& base,
                                    const std::string& scope, const std::string& filter,
                                    const std::vector<std::string>& attributes) {
  std::vector<std::string> args = {"/usr/bin/ldapsearch",
                                   "-LLL",
                                   "-o",
                                   "ldif-wrap=no",
                                   "-H",
                                   dc.ldaps_uri(),
                                   "-x",
                                   "-D",
                                   SambaAdDc::kAdminDn,
                                   "-w",
                                   SambaAdDc::kAdminPassword,
                                   "-b",
                                   base,
                                   "-s",
                                   scope,
                                   "-E",
                                   "pr=1000/noprompt",
                                   filter};
  args.insert(args.end(), attributes.begin(), attributes.end());
  return args;
}

// The attributes the connector asks for users and groups (connectors/ad/README.md).
const std::vector<std::string> kUserAttributes = {"objectGUID",
                                                  "cn",
                                                  "displayName",
                                                  "givenName",
                                                  "sn",
                                                  "title",
                                                  "department",
                                                  "company",
                                                  "physicalDeliveryOfficeName",
                                                  "preferredLanguage",
                                                  "sAMAccountName",
                                                  "userPrincipalName",
                                                  "mail",
                                                  "proxyAddresses",
                                                  "employeeID",
                                                  "employeeNumber",
                                                  "telephoneNumber",
                                                  "mobile",
                                                  "manager",
                                                  "memberOf",
                                                  "userAccountControl",
                                                  "accountExpires",
                                                  "whenChanged"};
const std::vector<std::string> kGroupAttributes = {"objectGUID",  "cn",    "displayName",
                                                   "description", "mail",  "proxyAddresses",
                                                   "memberOf",    "member"};
constexpr char kUsers[] =
    "(&(objectCategory=person)(objectClass=user)(!(isCriticalSystemObject=TRUE)))";
constexpr char kGroups[] = "(&(objectClass=group)(!(isCriticalSystemObject=TRUE)))";

// Users and then groups, as the connector reads them; the times and the RSS are summed
// and maxed. `clause` narrows both (a uSNChanged filter).
Measure SearchAll(const SambaAdDc& dc, const std::string& out, const std::string& clause = "") {
  const Measure users =
      Time(LdapSearch(dc, kAdOu, "sub", std::string("(&") + kUsers + clause + ")", kUserAttributes),
           out);
  const Measure groups = Time(
      LdapSearch(dc, kAdOu, "sub", std::string("(&") + kGroups + clause + ")", kGroupAttributes),
      out);
  Measure m;
  m.exit = users.exit != 0 ? users.exit : groups.exit;
  m.seconds = users.seconds + groups.seconds;
  m.peak_rss_mib = std::max(users.peak_rss_mib, groups.peak_rss_mib);
  return m;
}

// The DC's highestCommittedUSN (rootDSE).
int64_t HighestUsn(const SambaAdDc& dc, const std::string& out) {
  std::filesystem::remove(out);
  if (Time(LdapSearch(dc, "", "base", "(objectClass=*)", {"highestCommittedUSN"}), out).exit != 0) {
    throw std::runtime_error("cannot read the rootDSE:\n" + SlapdProcess::ReadFile(out));
  }
  const std::string text = SlapdProcess::ReadFile(out);
  const size_t at = text.find("highestCommittedUSN: ");
  if (at == std::string::npos) throw std::runtime_error("no highestCommittedUSN:\n" + text);
  return std::stoll(text.substr(at + 21));
}

std::string Counts(int read, int added, int updated) {
  return "read " + std::to_string(read) + ", added " + std::to_string(added) + ", updated " +
         std::to_string(updated) + ",";
}

int RunAd(AdOptions o) {
  if (o.changes == 0) o.changes = std::clamp(o.users / 100, 1, 1000);
  o.changes = std::min(o.changes, o.users);
  tessera::testing::TempDir tmp;
  const std::string dc_dir = o.dc_dir.empty() ? tmp.Sub("dc") : o.dc_dir;
  const std::string marker = dc_dir + "/ldap_bench.loaded";
  const std::string content = "users " + std::to_string(o.users) + " groups " +
                              std::to_string(o.groups) + " seed " + std::to_string(o.seed) + "\n";
  const bool reuse = std::filesystem::exists(marker) && SlapdProcess::ReadFile(marker) == content;
  if (!reuse && std::filesystem::exists(dc_dir) && !std::filesystem::is_empty(dc_dir)) {
    std::fprintf(stderr,
                 "ldap_bench: --dc-dir %s holds something other than a domain loaded with "
                 "--entries %d --groups %d --seed %llu; remove it or choose another folder\n",
                 dc_dir.c_str(), o.users, o.groups, static_cast<unsigned long long>(o.seed));
    return 2;
  }
  auto t0 = Clock::now();
  SambaAdDc dc(dc_dir, reuse);
  double provision_s = Since(t0), load_s = 0;
  if (!reuse) {
    std::fprintf(stderr,
                 "ldap_bench: provisioned the domain in %.1f s; loading %d users and %d groups\n",
                 provision_s, o.users, o.groups);
    const std::string ldif = tmp.Sub("ad.ldif");
    WriteAdLdif(ldif, o);
    t0 = Clock::now();
    if (Apply(dc, ldif).exit != 0) {
      std::fprintf(stderr, "ldap_bench: loading the users into the domain failed (above)\n");
      return 1;
    }
    load_s = Since(t0);
    std::ofstream(marker) << content;
  }
  dc.Start();
  // ldapsearch trusts the DC's certificate through libldap's environment.
  setenv("LDAPTLS_CACERT", dc.ca_file().c_str(), 1);
  tessera::testing::TesseradProcess tesserad(tmp.path());
  tesserad.Start();
  // Two sources over the same users: "ad" tracks changes by DirSync (the administrator
  // may), "ad-usn" by uSNChanged, as for an account without replication rights.
  auto config = [&](const std::string& id, const std::string& tracking) {
    const std::string path = tmp.Sub(id + ".json");
    std::ofstream(path) << R"({"source": {"id": ")" << id
                        << R"(", "kind": "ad"}, "input": {"uri": ")" << dc.ldaps_uri()
                        << R"(", "ca_file": ")" << dc.ca_file() << R"(", "bind_dn": ")"
                        << SambaAdDc::kAdminDn << R"(", "password": ")" << SambaAdDc::kAdminPassword
                        << R"(", "base_dn": ")" << kAdOu << R"(", "change_tracking": ")" << tracking
                        << R"("}})";
    return std::vector<std::string>{TESSERA_CONNECT_PATH, "--config",        path, "--quiet",
                                    "--server",           tesserad.address()};
  };
  const std::vector<std::string> connect = config("ad", "dirsync"),
                                 connect_usn = config("ad-usn", "usn");
  std::vector<std::string> incremental = connect, incremental_usn = connect_usn, dry_run = connect;
  incremental.push_back("--incremental");
  incremental_usn.push_back("--incremental");
  dry_run.push_back("--dry-run");

  std::vector<std::string> failures;
  auto expect = [&](bool ok, const std::string& what, const std::string& log) {
    if (!ok) failures.push_back(what + (log.empty() ? "" : ":\n" + SlapdProcess::ReadFile(log)));
  };
  const int entries = o.users + o.groups;
  const Measure search = SearchAll(dc, tmp.Sub("search.ldif"));
  expect(
      search.exit == 0 && CountLines(tmp.Sub("search.ldif"), "dn:") == static_cast<size_t>(entries),
      "ldapsearch of every user and group", "");
  const Measure full = Time(connect, tmp.Sub("full.log"));
  expect(full.exit == 0 && LogHas(tmp.Sub("full.log"), Counts(entries, entries, 0)), "full sync",
         tmp.Sub("full.log"));
  const Measure dry = Time(dry_run, tmp.Sub("dry-run.log"));
  expect(dry.exit == 0, "dry run", tmp.Sub("dry-run.log"));
  const Measure full_usn = Time(connect_usn, tmp.Sub("full-usn.log"));
  expect(full_usn.exit == 0 && LogHas(tmp.Sub("full-usn.log"), Counts(entries, entries, 0)),
         "full sync of ad-usn", tmp.Sub("full-usn.log"));

  // Nothing changed: the incremental run beside the search a uSNChanged poll makes.
  const std::string usn_clause =
      "(uSNChanged>=" + std::to_string(HighestUsn(dc, tmp.Sub("dse")) + 1) + ")";
  const Measure search_none = SearchAll(dc, tmp.Sub("none.ldif"), usn_clause);
  expect(search_none.exit == 0 && CountLines(tmp.Sub("none.ldif"), "dn:") == 0,
         "ldapsearch of nothing changed", tmp.Sub("none.ldif"));
  const Measure incr_none = Time(incremental, tmp.Sub("incr-none.log"));
  expect(incr_none.exit == 0 && LogHas(tmp.Sub("incr-none.log"), Counts(0, 0, 0)),
         "incremental run with nothing changed", tmp.Sub("incr-none.log"));
  const Measure usn_none = Time(incremental_usn, tmp.Sub("usn-none.log"));
  expect(usn_none.exit == 0 && LogHas(tmp.Sub("usn-none.log"), Counts(0, 0, 0)),
         "uSNChanged run with nothing changed", tmp.Sub("usn-none.log"));

  // K users change title (a new title each run, so that a reused domain changes too).
  const int64_t before = HighestUsn(dc, tmp.Sub("dse"));
  const std::string title = "Changed at USN " + std::to_string(before);
  WriteAdChanges(tmp.Sub("changes.ldif"), o, o.changes, title);
  expect(Apply(dc, tmp.Sub("changes.ldif")).exit == 0, "changing titles (samba_bulk.py, above)",
         "");
  const std::string changed_clause = "(uSNChanged>=" + std::to_string(before + 1) + ")";
  const Measure search_changed = SearchAll(dc, tmp.Sub("changed.ldif"), changed_clause);
  expect(search_changed.exit == 0 && CountLines(tmp.Sub("changed.ldif"), "title: " + title) ==
                                         static_cast<size_t>(o.changes),
         "ldapsearch of the changed users", tmp.Sub("changed.ldif"));
  const Measure incr_changed = Time(incremental, tmp.Sub("incr-changed.log"));
  expect(incr_changed.exit == 0 &&
             LogHas(tmp.Sub("incr-changed.log"), Counts(o.changes, 0, o.changes)),
         "incremental run with changes", tmp.Sub("incr-changed.log"));
  const Measure usn_changed = Time(incremental_usn, tmp.Sub("usn-changed.log"));
  expect(
      usn_changed.exit == 0 && LogHas(tmp.Sub("usn-changed.log"), Counts(o.changes, 0, o.changes)),
      "uSNChanged run with changes", tmp.Sub("usn-changed.log"));

  // The last user is in the directory and a changed one has the new title.
  tessera::client::ClientOptions co;
  co.server = tesserad.address();
  tessera::client::Client client(co);
  tessera::v1::GetProfileRequest req;
  req.mutable_identifier()->set_type("employee_id");
  req.mutable_identifier()->set_value("E" + std::to_string(100000 + o.users - 1));
  expect(client.GetProfile(req).ok(), "the last user's profile", tmp.Sub("full.log"));
  req.mutable_identifier()->set_value("E100000");
  bool retitled = false;
  if (auto p = client.GetProfile(req); p.ok()) {
    for (const auto& a : p->attributes()) retitled |= a.name() == "title" && a.value() == title;
  }
  expect(retitled, "the first user's new title", tmp.Sub("incr-changed.log"));
  if (!failures.empty()) {
    for (const std::string& f : failures)
      std::fprintf(stderr, "ldap_bench: failed: %s\n", f.c_str());
    return 1;
  }

  std::printf(
      "ldap_bench --server ad: %d users + %d groups (Samba AD DC), %d changed, seed %llu, "
      "build %s%s; provisioning %.1f s, loading %s\n",
      o.users, o.groups, o.changes, static_cast<unsigned long long>(o.seed), TESSERA_BUILD_TYPE,
      BuildNote(), provision_s,
      reuse ? "reused (--dc-dir)" : (std::to_string(static_cast<int>(load_s)) + " s").c_str());
  std::printf("%-60s | %7s | %8s | %9s | %8s | %9s\n", "case", "entries", "seconds", "entries/s",
              "peak MiB", "x search");
  auto row = [](const char* name, int n, const Measure& m, const Measure& base) {
    std::printf("%-60s | %7d | %8.3f | %9.0f | %8.1f | %9.2f\n", name, n, m.seconds, n / m.seconds,
                m.peak_rss_mib, m.seconds / base.seconds);
  };
  row("ldapsearch, users then groups, paged (baseline)", entries, search, search);
  row("tessera-connect full sync (AD -> tesserad)", entries, full, search);
  row("tessera-connect --dry-run (AD read and mapping only)", entries, dry, search);
  row("tessera-connect full sync, change_tracking usn", entries, full_usn, search);
  row("ldapsearch uSNChanged>=next, nothing changed (baseline)", 0, search_none, search_none);
  row("tessera-connect --incremental (DirSync), nothing changed", 0, incr_none, search_none);
  row("tessera-connect --incremental (uSNChanged), nothing changed", 0, usn_none, search_none);
  row("ldapsearch uSNChanged>=next, users changed (baseline)", o.changes, search_changed,
      search_changed);
  row("tessera-connect --incremental (DirSync), users changed", o.changes, incr_changed,
      search_changed);
  row("tessera-connect --incremental (uSNChanged), users changed", o.changes, usn_changed,
      search_changed);
  std::printf("(x search: the row's time over its baseline's, measured in the same run)\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string server = "slapd";
  int entries = 100000;
  uint64_t seed = 1;
  AdOptions ad;
  CLI::App app{
      "ldap_bench: tessera-connect's directory connectors beside the server's own export of the "
      "same entries, in the same run (slapd: slapcat; AD: ldapsearch)"};
  app.add_option("--server", server, "slapd (OpenLDAP) or ad (a Samba AD DC; needs root)")
      ->check(CLI::IsMember({"slapd", "ad"}));
  app.add_option("--entries", entries, "people in the directory")->check(CLI::Range(1, 10'000'000));
  app.add_option("--seed", seed, "for the generated organisation");
  app.add_option("--groups", ad.groups,
                 "AD: groups sharing the users out (each about entries/groups)")
      ->check(CLI::Range(0, 1000));
  app.add_option("--changes", ad.changes,
                 "AD: users changed before the second incremental run (default 1% of entries, "
                 "1 to 1,000)")
      ->check(CLI::Range(0, 1'000'000));
  app.add_option("--dc-dir", ad.dc_dir,
                 "AD: keep the loaded domain in this folder and reuse it when the next run asks "
                 "for the same entries, groups and seed (Samba 4.17 loads ~100 users/s at 10,000, "
                 "slower as it grows)");
  CLI11_PARSE(app, argc, argv);
  if (server == "slapd") return RunSlapd(entries, seed);
  ad.users = entries;
  ad.seed = seed;
  try {
    return RunAd(ad);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ldap_bench: %s\n", e.what());
    return 1;
  }
}
