#include "server/app/signals.h"

#include <pthread.h>

namespace tessera::app {

SignalThread::SignalThread() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  thread_ = std::thread([this] { Loop(); });
}

SignalThread::~SignalThread() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = nullptr;
    reload_ = nullptr;
  }
  // Still waiting: wake it with a signal only it takes. SIGTERM is blocked in every thread
  // and taken by Loop's sigwait, so this wakes the loop; it terminates nothing.
  if (!finished_.load())
    pthread_kill(thread_.native_handle(), SIGTERM);  // NOLINT(bugprone-bad-signal-to-kill-thread)
  thread_.join();
}

void SignalThread::Loop() {
  int sig = 0;
  while (sigwait(&set_, &sig) == 0) {
    std::lock_guard<std::mutex> l(mu_);
    if (sig == SIGHUP) {
      if (reload_) reload_();
      continue;
    }
    stop_requested_ = true;
    if (stop_) stop_();
    break;
  }
  finished_ = true;
}

std::unique_ptr<SignalThread::Handler> SignalThread::OnStop(std::function<void()> stop) {
  std::unique_lock<std::mutex> l(mu_);
  if (stop_requested_.load()) {
    l.unlock();
    stop();
    return std::make_unique<Handler>(this, nullptr);
  }
  stop_ = std::move(stop);
  return std::make_unique<Handler>(this, &stop_);
}

std::unique_ptr<SignalThread::Handler> SignalThread::OnReload(std::function<void()> reload) {
  std::lock_guard<std::mutex> l(mu_);
  reload_ = std::move(reload);
  return std::make_unique<Handler>(this, &reload_);
}

SignalThread::Handler::~Handler() {
  if (slot_ == nullptr) return;
  std::lock_guard<std::mutex> l(owner_->mu_);
  *slot_ = nullptr;
}

}  // namespace tessera::app
