#pragma once

// A throwaway Samba Active Directory domain controller (Debian packages "samba" and
// "samba-ad-dc") for the AD connector's tests and benchmark: the domain LUMEN.EXAMPLE
// provisioned into a folder (RFC 2307 attributes, no DNS, a relaxed password policy), only
// the LDAP service running, with a server certificate from a CA generated alongside.
// Samba has no setting for the LDAP ports: it serves 127.0.0.1:389 and :636, so only one
// instance runs at a time. Directory changes go through samba-tool on the database file.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "connectors/ldap/slapd_testing.h"

namespace tessera::testing {

class SambaAdDc {
 public:
  static constexpr char kSamba[] = "/usr/sbin/samba";
  static constexpr char kSambaTool[] = "/usr/bin/samba-tool";
  static constexpr char kOpenssl[] = "/usr/bin/openssl";
  static constexpr char kRealm[] = "LUMEN.EXAMPLE";
  static constexpr char kDomain[] = "LUMEN";
  static constexpr char kBaseDn[] = "DC=lumen,DC=example";
  static constexpr char kAdminDn[] = "CN=Administrator,CN=Users,DC=lumen,DC=example";
  static constexpr char kAdminPrincipal[] = "Administrator@lumen.example";  // binds too
  static constexpr char kAdminPassword[] = "Tessera-Admin-1!";

  // Whether samba and samba-tool are installed (without them the constructor throws,
  // naming the packages).
  static bool Available() { return access(kSamba, X_OK) == 0 && access(kSambaTool, X_OK) == 0; }

  // `dir` (new or empty) is created; it holds the domain (7 to 14 s to provision), its
  // smb.conf, the TLS files and the logs. With `reuse`, `dir` already holds a domain this
  // class provisioned (the benchmark keeps a loaded one between runs).
  explicit SambaAdDc(const std::string& dir, bool reuse = false)
      : dir_(std::filesystem::absolute(dir).lexically_normal().string()),
        ca_file_(dir_ + "/tls/ca.pem") {
    if (!Available()) {
      throw std::runtime_error(
          "samba is not installed (apt-get install samba samba-ad-dc): the AD tests need it");
    }
    if (reuse) {
      if (!std::filesystem::exists(config()) || !std::filesystem::exists(ca_file_)) {
        throw std::runtime_error(dir_ + " holds no domain provisioned by a test");
      }
      return;
    }
    std::filesystem::create_directories(dir_ + "/tls");
    std::filesystem::create_directories(dir_ + "/ncalrpc");
    Check({kSambaTool, "domain", "provision", "--use-rfc2307", std::string("--realm=") + kRealm,
           std::string("--domain=") + kDomain, "--server-role=dc", "--dns-backend=NONE",
           std::string("--adminpass=") + kAdminPassword, "--targetdir=" + dir_, "--host-name=dc1",
           "--option=interfaces=127.0.0.1", "--option=bind interfaces only=yes"},
          dir_ + "/provision.log");
    MakeCertificates();
    Configure();
    // Bulk-created test users need no complex passwords.
    Tool({"domain", "passwordsettings", "set", "--complexity=off", "--min-pwd-length=0",
          "--history-length=0", "--min-pwd-age=0"});
  }
  ~SambaAdDc() { Stop(); }
  SambaAdDc(const SambaAdDc&) = delete;
  SambaAdDc& operator=(const SambaAdDc&) = delete;

  // Starts samba in the foreground and waits until it accepts connections on
  // 127.0.0.1:636; throws with its log when it does not, or when the ports are taken.
  void Start() {
    if (pid_ > 0) return;
    for (const int port : {636, 389}) {
      if (Accepts(port)) {
        throw std::runtime_error("127.0.0.1:" + std::to_string(port) +
                                 " is in use (another Samba AD DC?): the AD tests need it");
      }
    }
    pid_ = SpawnSamba();
    for (int i = 0; i < 600; ++i) {
      if (Accepts(636)) return;
      siginfo_t info{};
      if (waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid_) {
        Stop();
        throw std::runtime_error("samba exited at start:\n" + Log());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Stop();
    throw std::runtime_error("samba did not start within 30 s:\n" + Log());
  }

  // SIGTERM to samba, which passes it on to its process group (the LDAP task and its
  // workers); then SIGKILL to whatever is left of the group, and a bounded wait for the
  // ports to close so that a new Start can follow.
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    siginfo_t info{};
    waitid(P_PID, pid_, &info, WEXITED | WNOWAIT);  // not reaped: the group id stays ours
    kill(-pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    close(watch_);
    watch_ = -1;
    for (int i = 0; i < 100 && (Accepts(636) || Accepts(389)); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // Runs samba-tool on the domain's database file (it works while samba runs; over LDAP
  // it does not, without a KDC), e.g. {"user", "add", "jdoe", "Passw0rd!x1",
  // "--given-name=John"}. Throws with this run's output on failure.
  void Tool(std::vector<std::string> args) const {
    args.insert(args.begin(), kSambaTool);
    args.insert(args.end(), {"-H", dir_ + "/private/sam.ldb", "-s", config()});
    Check(args, dir_ + "/samba-tool.log");
  }

  std::string ldaps_uri() const { return "ldaps://127.0.0.1"; }
  std::string ldap_uri() const { return "ldap://127.0.0.1"; }  // simple binds refused
  const std::string& ca_file() const { return ca_file_; }      // signed the server certificate
  std::string dir() const { return dir_; }
  std::string config() const { return dir_ + "/etc/smb.conf"; }
  pid_t pid() const { return pid_; }

 private:
  // Runs `args` with its output appended to `log`; throws with that output on failure.
  static void Check(const std::vector<std::string>& args, const std::string& log) {
    std::error_code ec;
    const auto offset = std::filesystem::file_size(log, ec);
    if (const int rc = SlapdProcess::Run(args, log); rc != 0) {
      std::string output = SlapdProcess::ReadFile(log).substr(ec ? 0 : offset);
      if (output.size() > 8000) output = "..." + output.substr(output.size() - 8000);
      std::string command = args[0];
      for (size_t i = 1; i < args.size() && i < 4; ++i) command += " " + args[i];
      throw std::runtime_error(command + " failed (" + std::to_string(rc) + "):\n" + output);
    }
  }

  // A CA and, signed by it, the certificate of dc1.lumen.example for 127.0.0.1 and
  // localhost (libldap checks the address of ldaps://127.0.0.1 against it).
  void MakeCertificates() const {
    const std::string tls = dir_ + "/tls/";
    std::ofstream(tls + "openssl.cnf")
        << "[req]\ndistinguished_name = dn\n[dn]\n"
        << "[ca]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, "
           "cRLSign\nsubjectKeyIdentifier = hash\n"
        << "[server]\nbasicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature, "
           "keyEncipherment\nextendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\n"
           "authorityKeyIdentifier = keyid\n"
           "subjectAltName = IP:127.0.0.1, DNS:localhost, DNS:dc1.lumen.example\n";
    const std::string log = tls + "openssl.log";
    const std::vector<std::string> key = {"-newkey", "ec", "-pkeyopt",
                                          "ec_paramgen_curve:prime256v1", "-nodes"};
    std::vector<std::string> ca = {kOpenssl,
                                   "req",
                                   "-x509",
                                   "-config",
                                   tls + "openssl.cnf",
                                   "-extensions",
                                   "ca",
                                   "-subj",
                                   "/CN=Tessera test CA",
                                   "-days",
                                   "3650",
                                   "-keyout",
                                   tls + "ca-key.pem",
                                   "-out",
                                   ca_file_};
    ca.insert(ca.end(), key.begin(), key.end());
    Check(ca, log);
    std::vector<std::string> request = {kOpenssl,
                                        "req",
                                        "-new",
                                        "-config",
                                        tls + "openssl.cnf",
                                        "-subj",
                                        "/CN=dc1.lumen.example",
                                        "-keyout",
                                        tls + "key.pem",
                                        "-out",
                                        tls + "server.csr"};
    request.insert(request.end(), key.begin(), key.end());
    Check(request, log);
    Check({kOpenssl, "x509", "-req", "-in", tls + "server.csr", "-CA", ca_file_, "-CAkey",
           tls + "ca-key.pem", "-set_serial", "2", "-days", "3650", "-extfile", tls + "openssl.cnf",
           "-extensions", "server", "-out", tls + "cert.pem"},
          log);
    // samba refuses a key that others can read
    std::filesystem::permissions(
        tls + "key.pem", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }

  // Rewrites the [global] settings that keep samba to the folder, the LDAP service and
  // the generated certificate (provisioning writes the others).
  void Configure() const {
    const std::vector<std::pair<std::string, std::string>> settings = {
        {"server services", "ldap"},  // no kdc, smb, nbt, ... on their fixed ports
        {"pid directory", dir_},      // not /run/samba, where a system samba may be
        {"lock directory", dir_},
        {"ncalrpc dir", dir_ + "/ncalrpc"},
        {"log file", dir_ + "/log.%m"},
        {"tls enabled", "yes"},
        {"tls certfile", dir_ + "/tls/cert.pem"},
        {"tls keyfile", dir_ + "/tls/key.pem"},
        {"tls cafile", ca_file_}};
    const auto key = [](const std::string& line) {  // lower case, no blanks, before '='
      std::string k;
      for (const char c : line.substr(0, line.find('=')))
        if (!std::isspace(static_cast<unsigned char>(c)))
          k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return k;
    };
    std::istringstream in(SlapdProcess::ReadFile(config()));
    std::ostringstream out;
    bool global = false, found = false;
    for (std::string line; std::getline(in, line);) {
      const std::string k = key(line);
      if (k.starts_with("[")) {
        global = k == "[global]";
        out << line << "\n";
        if (global) {
          found = true;
          for (const auto& [name, value] : settings) out << "\t" << name << " = " << value << "\n";
        }
        continue;
      }
      const bool overridden =
          global && std::any_of(settings.begin(), settings.end(),
                                [&](const auto& s) { return key(s.first) == k; });
      if (!overridden) out << line << "\n";
    }
    if (!found) throw std::runtime_error("no [global] section in " + config());
    std::ofstream(config(), std::ios::trunc) << out.str();
  }

  // Like SlapdProcess::Spawn, and also: samba leads a process group of its own (its
  // SIGTERM handler passes the signal on to the group), and its stdin is a pipe that only
  // this object holds, so that samba ends if the test dies without Stop (samba -i ends at
  // EOF on a pipe on stdin) and does not keep the ports from the next run.
  pid_t SpawnSamba() {
    int watch[2];
    if (pipe2(watch, O_CLOEXEC) != 0) throw std::runtime_error("cannot make a pipe for samba");
    const std::string log = dir_ + "/samba.log", conf = config();
    std::vector<std::string> args = {kSamba, "-s", conf, "-i"};
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, watch[0], STDIN_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attributes, 0);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, kSamba, &actions, &attributes, argv.data(), environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    close(watch[0]);
    if (rc != 0) {
      close(watch[1]);
      throw std::runtime_error(std::string("cannot start ") + kSamba);
    }
    watch_ = watch[1];
    return pid;
  }

  std::string Log() const { return SlapdProcess::ReadFile(dir_ + "/samba.log"); }

  static bool Accepts(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok =
        fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    if (fd >= 0) close(fd);
    return ok;
  }

  std::string dir_;
  std::string ca_file_;
  pid_t pid_ = -1;
  int watch_ = -1;  // write end of samba's stdin
};

}  // namespace tessera::testing
