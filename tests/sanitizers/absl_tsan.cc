// Makes absl::Mutex visible to ThreadSanitizer in the TSan build (tests/sanitize.sh tsan).
//
// Debian's libabsl_synchronization is not compiled with -fsanitize=thread, so its
// ThreadSanitizer annotations are empty and its locks are atomics and futex calls that
// TSan never sees. Every access made under an absl::Mutex (ours, and gRPC's, whose
// grpc_core::Mutex is one) then looks unsynchronised, and TSan reports a race on
// correct code. This library defines absl::Mutex's and absl::CondVar's locking entry
// points itself: each calls the real one in libabsl (found with dlsym(RTLD_NEXT)) and
// tells TSan the happens-before edge it makes: a release before the mutex is let go, an
// acquire after it is taken. CMake links it first into every executable of a TSan build,
// so the dynamic linker binds these definitions for our code and for gRPC's alike.
//
// What it cannot model: readers are ordered after each other's ReaderUnlock too (TSan
// misses a write made under a reader lock); and absl's lock-order checks are off (below).
// It is built only with TESSERA_SANITIZE=thread; no production binary contains it.

#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/base/options.h"
#include "absl/synchronization/mutex.h"

namespace {

#define TESSERA_STR2(x) #x
#define TESSERA_STR(x) TESSERA_STR2(x)

// The real definition of the absl member whose mangled name, after "absl::<inline
// namespace>::", is `tail` (e.g. "5Mutex4LockEv"). Aborts when libabsl has none: a TSan
// run that silently lost its lock model would report nonsense.
void* Real(const char* tail) {
  const char* ns = TESSERA_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  const std::string name = std::string("_ZN4absl") + std::to_string(std::strlen(ns)) + ns + tail;
  void* f = dlsym(RTLD_NEXT, name.c_str());
  if (f == nullptr) {
    std::fprintf(stderr, "absl_tsan: %s not found in libabsl\n", name.c_str());
    std::abort();
  }
  return f;
}

template <typename Fn>
Fn RealAs(const char* tail) {
  return reinterpret_cast<Fn>(Real(tail));
}

// absl evaluates a Condition with the mutex held, on the waiting thread or on the one
// letting the mutex go, in the middle of libabsl's lock hand-over where no annotation
// above reaches. Each evaluation is wrapped to take and give back the mutex's clock, as
// the critical section it is.
struct Guarded {
  absl::Mutex* mu;
  const absl::Condition* cond;

  static bool Eval(Guarded* g) {
    __tsan_acquire(g->mu);
    const bool met = g->cond->Eval();
    __tsan_release(g->mu);
    return met;
  }
};

// Debian's libabsl is built without NDEBUG, so every Lock also records the lock order in
// absl's deadlock graph, under a SpinLock TSan cannot see either (reports in
// GraphCycles::GetId, from gRPC's timer threads). A TSan build turns that graph off as
// the program loads; TSan's checking of our data does not depend on it.
__attribute__((constructor)) void NoAbslDeadlockGraph() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  static const auto kReal = RealAs<void (*)(Mutex*)>("5Mutex4LockEv");
  kReal(this);
  __tsan_acquire(this);
}

void Mutex::ReaderLock() {
  static const auto kReal = RealAs<void (*)(Mutex*)>("5Mutex10ReaderLockEv");
  kReal(this);
  __tsan_acquire(this);
}

bool Mutex::TryLock() {
  static const auto kReal = RealAs<bool (*)(Mutex*)>("5Mutex7TryLockEv");
  const bool locked = kReal(this);
  if (locked) __tsan_acquire(this);
  return locked;
}

bool Mutex::ReaderTryLock() {
  static const auto kReal = RealAs<bool (*)(Mutex*)>("5Mutex13ReaderTryLockEv");
  const bool locked = kReal(this);
  if (locked) __tsan_acquire(this);
  return locked;
}

void Mutex::Unlock() {
  static const auto kReal = RealAs<void (*)(Mutex*)>("5Mutex6UnlockEv");
  __tsan_release(this);
  kReal(this);
}

void Mutex::ReaderUnlock() {
  static const auto kReal = RealAs<void (*)(Mutex*)>("5Mutex12ReaderUnlockEv");
  __tsan_release(this);
  kReal(this);
}

// Await lets the mutex go while it waits and holds it again on return, whatever the
// condition's outcome; the ...When forms return holding it.
void Mutex::Await(const Condition& cond) {
  static const auto kReal =
      RealAs<void (*)(Mutex*, const Condition&)>("5Mutex5AwaitERKNS0_9ConditionE");
  Guarded guarded{this, &cond};
  __tsan_release(this);
  kReal(this, Condition(&Guarded::Eval, &guarded));
  __tsan_acquire(this);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, absl::Duration timeout) {
  static const auto kReal = RealAs<bool (*)(Mutex*, const Condition&, absl::Duration)>(
      "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  Guarded guarded{this, &cond};
  __tsan_release(this);
  const bool met = kReal(this, Condition(&Guarded::Eval, &guarded), timeout);
  __tsan_acquire(this);
  return met;
}

bool Mutex::AwaitWithDeadline(const Condition& cond, absl::Time deadline) {
  static const auto kReal = RealAs<bool (*)(Mutex*, const Condition&, absl::Time)>(
      "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  Guarded guarded{this, &cond};
  __tsan_release(this);
  const bool met = kReal(this, Condition(&Guarded::Eval, &guarded), deadline);
  __tsan_acquire(this);
  return met;
}

void Mutex::LockWhen(const Condition& cond) {
  static const auto kReal =
      RealAs<void (*)(Mutex*, const Condition&)>("5Mutex8LockWhenERKNS0_9ConditionE");
  Guarded guarded{this, &cond};
  kReal(this, Condition(&Guarded::Eval, &guarded));
  __tsan_acquire(this);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  static const auto kReal =
      RealAs<void (*)(Mutex*, const Condition&)>("5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  Guarded guarded{this, &cond};
  kReal(this, Condition(&Guarded::Eval, &guarded));
  __tsan_acquire(this);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  static const auto kReal = RealAs<bool (*)(Mutex*, const Condition&, absl::Duration)>(
      "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  Guarded guarded{this, &cond};
  const bool met = kReal(this, Condition(&Guarded::Eval, &guarded), timeout);
  __tsan_acquire(this);
  return met;
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  static const auto kReal = RealAs<bool (*)(Mutex*, const Condition&, absl::Duration)>(
      "5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  Guarded guarded{this, &cond};
  const bool met = kReal(this, Condition(&Guarded::Eval, &guarded), timeout);
  __tsan_acquire(this);
  return met;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  static const auto kReal = RealAs<bool (*)(Mutex*, const Condition&, absl::Time)>(
      "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  Guarded guarded{this, &cond};
  const bool met = kReal(this, Condition(&Guarded::Eval, &guarded), deadline);
  __tsan_acquire(this);
  return met;
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  static const auto kReal = RealAs<bool (*)(Mutex*, const Condition&, absl::Time)>(
      "5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  Guarded guarded{this, &cond};
  const bool met = kReal(this, Condition(&Guarded::Eval, &guarded), deadline);
  __tsan_acquire(this);
  return met;
}

// A condition variable's wait lets `mu` go and takes it again.
void CondVar::Wait(Mutex* mu) {
  static const auto kReal = RealAs<void (*)(CondVar*, Mutex*)>("7CondVar4WaitEPNS0_5MutexE");
  __tsan_release(mu);
  kReal(this, mu);
  __tsan_acquire(mu);
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  static const auto kReal = RealAs<bool (*)(CondVar*, Mutex*, absl::Duration)>(
      "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  __tsan_release(mu);
  const bool timed_out = kReal(this, mu, timeout);
  __tsan_acquire(mu);
  return timed_out;
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  static const auto kReal = RealAs<bool (*)(CondVar*, Mutex*, absl::Time)>(
      "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  __tsan_release(mu);
  const bool timed_out = kReal(this, mu, deadline);
  __tsan_acquire(mu);
  return timed_out;
}

ABSL_NAMESPACE_END
}  // namespace absl
