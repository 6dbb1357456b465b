#pragma once

// A throwaway OpenLDAP server (Debian package "slapd") for the LDAP connector's tests
// and benchmark: a generated slapd.conf in a folder (an mdb database with suffix
// dc=example,dc=test, the core, cosine, inetorgperson and nis schemas, optionally the
// memberof and syncprov overlays), data loaded with slapadd before the start, served
// on a free loopback port, stopped with SIGTERM.

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace tessera::testing {

struct SlapdOptions {
  bool syncprov = true;  // RFC 4533 content synchronisation
  bool memberof = true;  // memberOf kept on the members of groupOfNames entries
  int sessionlog = 0;    // syncprov-sessionlog: deletions sent by UUID (0: present phase)
};

class SlapdProcess {
 public:
  static constexpr char kSlapd[] = "/usr/sbin/slapd";
  static constexpr char kSuffix[] = "dc=example,dc=test";
  static constexpr char kRootDn[] = "cn=admin,dc=example,dc=test";
  static constexpr char kRootPassword[] = "secret";

  // `dir` is created; it holds slapd.conf, the database and the log.
  explicit SlapdProcess(std::string dir, SlapdOptions options = {}) : dir_(std::move(dir)) {
    if (access(kSlapd, X_OK) != 0) {
      throw std::runtime_error(
          "slapd is not installed (apt-get install slapd): the LDAP tests need it");
    }
    std::filesystem::create_directories(dir_ + "/db");
    std::ofstream conf(config());
    for (const char* schema : {"core", "cosine", "inetorgperson", "nis"}) {
      conf << "include /etc/ldap/schema/" << schema << ".schema\n";
    }
    conf << "modulepath /usr/lib/ldap\nmoduleload back_mdb\n";
    if (options.syncprov) conf << "moduleload syncprov\n";
    if (options.memberof) conf << "moduleload memberof\n";
    conf << "pidfile " << dir_ << "/slapd.pid\nargsfile " << dir_ << "/slapd.args\n"
         << "database mdb\nmaxsize 4294967296\nsuffix \"" << kSuffix << "\"\nrootdn \"" << kRootDn
         << "\"\nrootpw " << kRootPassword << "\ndirectory " << dir_ << "/db\n"
         << "index objectClass eq\nindex entryUUID,entryCSN eq\n";
    if (options.memberof) conf << "overlay memberof\n";
    if (options.syncprov) conf << "overlay syncprov\nsyncprov-checkpoint 100 10\n";
    if (options.syncprov && options.sessionlog > 0)
      conf << "syncprov-sessionlog " << options.sessionlog << "\n";
  }
  ~SlapdProcess() { Stop(); }
  SlapdProcess(const SlapdProcess&) = delete;
  SlapdProcess& operator=(const SlapdProcess&) = delete;

  // slapadd's the LDIF file into the database (before Start); `quick` skips the
  // consistency checks, as for a bulk load. Throws with slapadd's output.
  void Load(const std::string& ldif, bool quick = false) const {
    std::vector<std::string> args = {"/usr/sbin/slapadd", "-f", config(), "-l", ldif};
    if (quick) args.push_back("-q");
    if (const int rc = Run(args, dir_ + "/slapadd.log"); rc != 0) {
      throw std::runtime_error("slapadd failed (" + std::to_string(rc) + "):\n" +
                               ReadFile(dir_ + "/slapadd.log"));
    }
  }

  // Starts slapd in the foreground on a free loopback port and waits until it accepts
  // connections; throws with its log when it does not.
  void Start() {
    const int port = FreePort();
    uri_ = "ldap://127.0.0.1:" + std::to_string(port);
    pid_ = Spawn({kSlapd, "-f", config(), "-h", uri_ + "/", "-d", "0"}, dir_ + "/slapd.log");
    for (int i = 0; i < 200; ++i) {
      if (Accepts(port)) return;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("slapd exited at start:\n" + ReadFile(dir_ + "/slapd.log"));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("slapd did not start within 10 s:\n" + ReadFile(dir_ + "/slapd.log"));
  }

  // SIGTERM and wait (slapd flushes the database on the way out).
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  const std::string& uri() const { return uri_; }
  pid_t pid() const { return pid_; }
  std::string config() const { return dir_ + "/slapd.conf"; }

  // Runs `args` with stdout and stderr to `log`; returns the exit code (or -1).
  static int Run(const std::vector<std::string>& args, const std::string& log) {
    const pid_t pid = Spawn(args, log);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  static pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
    return pid;
  }
  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  static int FreePort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      if (fd >= 0) close(fd);
      throw std::runtime_error("no free loopback port");
    }
    close(fd);
    return ntohs(a.sin_port);
  }
  static bool Accepts(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (fd >= 0) close(fd);
    return ok;
  }

  std::string dir_;
  std::string uri_;
  pid_t pid_ = -1;
};

}  // namespace tessera::testing
