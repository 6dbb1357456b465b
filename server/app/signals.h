#pragma once

// The one thread that takes tesserad's signals for the whole run: SIGTERM and SIGINT
// ask it to stop (while the database opens, or once serving), SIGHUP asks it to
// reload. Callbacks are registered for as long as what they use lives: a Handler's
// destructor unregisters it, waiting for a call in progress.

#include <signal.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace tessera::app {

class SignalThread {
 public:
  // Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and the threads it starts
  // later) and starts the thread that waits for them.
  SignalThread();
  ~SignalThread();
  SignalThread(const SignalThread&) = delete;
  SignalThread& operator=(const SignalThread&) = delete;

  // True once SIGTERM or SIGINT came.
  bool stop_requested() const { return stop_requested_.load(); }

  // Unregisters its callback when destroyed.
  class Handler {
   public:
    Handler(SignalThread* owner, std::function<void()>* slot) : owner_(owner), slot_(slot) {}
    ~Handler();
    Handler(const Handler&) = delete;
    Handler& operator=(const Handler&) = delete;

   private:
    SignalThread* owner_;
    std::function<void()>* slot_;
  };
  // `stop` runs on the signal thread when SIGTERM or SIGINT comes, or right away
  // (here) when one came already. `reload` runs on each SIGHUP.
  [[nodiscard]] std::unique_ptr<Handler> OnStop(std::function<void()> stop);
  [[nodiscard]] std::unique_ptr<Handler> OnReload(std::function<void()> reload);

 private:
  void Loop();

  sigset_t set_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> finished_{false};
  std::mutex mu_;  // guards the callbacks and their calls
  std::function<void()> stop_, reload_;
  std::thread thread_;
};

}  // namespace tessera::app
