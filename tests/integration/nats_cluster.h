#pragma once

// Runs a real nats-server JetStream cluster on loopback for integration tests: N
// servers with file storage under one folder, routed to each other, each on ports
// picked free at start. Kill (SIGKILL) and restart single servers, or all of them.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace tessera::testing {

// A TCP port on 127.0.0.1 nothing listens on now, below Linux's ephemeral range
// (32768-60999), so that no outgoing connection or port-0 listener takes it before a
// server restarted on it binds it again.
inline int FreePort() {
  static std::mt19937 rng(static_cast<unsigned>(getpid()) * 2654435761u ^
                          static_cast<unsigned>(time(nullptr)));
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int port = 20000 + static_cast<int>(rng() % 12000);
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    const bool free = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    close(fd);
    if (free) return port;
  }
  throw std::runtime_error("no free port in 20000-32000");
}

class NatsCluster {
 public:
  // `token`, when set, is required of clients (nats-server --auth).
  NatsCluster(std::string dir, int n, std::string token = "")
      : dir_(std::move(dir)), token_(std::move(token)) {
    for (int i = 0; i < n; ++i) nodes_.push_back({FreePort(), FreePort(), -1});
  }
  ~NatsCluster() {
    for (size_t i = 0; i < nodes_.size(); ++i) Kill(i);
  }

  void StartAll() {
    for (size_t i = 0; i < nodes_.size(); ++i) Start(i);
  }
  // Starts server i and waits until it accepts clients.
  void Start(size_t i) {
    Node& n = nodes_[i];
    std::string routes;
    for (size_t j = 0; j < nodes_.size(); ++j) {
      if (j == i) continue;
      routes += (routes.empty() ? "" : ",") + std::string("nats://127.0.0.1:") +
                std::to_string(nodes_[j].cluster_port);
    }
    const std::string name = "n" + std::to_string(i);
    std::vector<std::string> args = {"nats-server",
                                     "-a",
                                     "127.0.0.1",
                                     "-p",
                                     std::to_string(n.port),
                                     "-js",
                                     "-sd",
                                     dir_ + "/" + name,
                                     "--server_name",
                                     name,
                                     "--cluster_name",
                                     "tessera-test",
                                     "--cluster",
                                     "nats://127.0.0.1:" + std::to_string(n.cluster_port),
                                     "--routes",
                                     routes};
    if (!token_.empty()) {
      args.push_back("--auth");
      args.push_back(token_);
    }
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = Log(i);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    const int rc = posix_spawnp(&n.pid, "nats-server", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start nats-server (is it installed?)");
    for (int t = 0; t < 200; ++t) {
      if (Listening(n.port)) return;
      int status = 0;
      if (waitpid(n.pid, &status, WNOHANG) == n.pid) {
        n.pid = -1;
        throw std::runtime_error("nats-server " + name + " exited at start:\n" + Read(log));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("nats-server " + name + " did not listen within 10 s");
  }
  void Kill(size_t i) {
    Node& n = nodes_[i];
    if (n.pid <= 0) return;
    kill(n.pid, SIGKILL);
    int status = 0;
    waitpid(n.pid, &status, 0);
    n.pid = -1;
  }
  void KillAll() {
    for (size_t i = 0; i < nodes_.size(); ++i) Kill(i);
  }

  // "nats://127.0.0.1:p1,nats://127.0.0.1:p2,..." for --replication.
  std::string Urls() const {
    std::string out;
    for (const Node& n : nodes_)
      out += (out.empty() ? "" : ",") + std::string("nats://127.0.0.1:") + std::to_string(n.port);
    return out;
  }
  size_t size() const { return nodes_.size(); }
  pid_t pid(size_t i) const { return nodes_[i].pid; }
  std::string Log(size_t i) const { return dir_ + "/n" + std::to_string(i) + ".log"; }

 private:
  struct Node {
    int port, cluster_port;
    pid_t pid;
  };
  static bool Listening(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    close(fd);
    return ok;
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string dir_;
  std::string token_;
  std::vector<Node> nodes_;
};

}  // namespace tessera::testing
