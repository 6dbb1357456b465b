#pragma once

// Runs the real tesserad binary on a loopback port for integration tests: port 0, a
// port file, a log file, and stop by SIGTERM (graceful) or SIGKILL (crash).

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace tessera::testing {

class TesseradProcess {
 public:
  // `dir` holds the database ("db"), the port file and the log.
  TesseradProcess(std::string dir, std::vector<std::string> extra = {},
                  std::string binary = TESSERAD_PATH)
      : dir_(std::move(dir)), extra_(std::move(extra)), binary_(std::move(binary)) {}
  ~TesseradProcess() {
    if (pid_ > 0) Kill();
  }

  // Starts it and waits until it serves; throws with the log when it does not.
  void Start() {
    const std::string port_file = dir_ + "/port";
    std::remove(port_file.c_str());
    std::vector<std::string> args = {
        binary_,       "--db",    dir_ + "/db",       "--listen", "127.0.0.1:0",
        "--port-file", port_file, "--default-region", "FR",       "--block-cache-mb",
        "16"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = dir_ + "/tesserad.log";
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + binary_);
    for (int i = 0; i < 400; ++i) {
      std::ifstream in(port_file);
      int port = 0;
      if (in >> port && port > 0) {
        address_ = "127.0.0.1:" + std::to_string(port);
        return;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("tesserad exited at start:\n" + Log());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("tesserad did not start within 20 s:\n" + Log());
  }

  // SIGTERM and wait; returns the exit code (or 128 + signal).
  int Stop() { return Signal(SIGTERM); }
  // SIGKILL: a crash, as far as the database can tell.
  int Kill() { return Signal(SIGKILL); }

  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }
  std::string Log() const {
    std::ifstream in(dir_ + "/tesserad.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  int Signal(int sig) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  std::string dir_;
  std::vector<std::string> extra_;
  std::string binary_;
  pid_t pid_ = -1;
  std::string address_;
};

}  // namespace tessera::testing
