#pragma once

// Sessions of the web console, kept in memory: signing in with a token (or a client
// certificate) gives a random session id for an HttpOnly cookie and a CSRF token the
// page sends back in a header. A session holds the credentials it was opened with and
// the console's calls present them to the gate again each time, so a token revoked by
// SIGHUP stops its sessions at once and no second set of rules exists. (A session opened
// with a client certificate is then the cookie's: it works on a connection without the
// certificate, as any web session does.) Sessions end
// after `idle_ms` without a call, at `max_age_ms` after sign-in, at sign-out, and when
// tesserad stops.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace tessera::http {

struct SessionOptions {
  int64_t idle_ms = 30 * 60 * 1000;       // 30 minutes without a call
  int64_t max_age_ms = 12 * 3600 * 1000;  // a working day, whatever the activity
  size_t max_sessions = 10'000;           // then the least recently used goes
  // Sessions one principal may hold; signing in again ends their least recently used
  // one, so nobody can push everyone else's sessions out by signing in repeatedly.
  size_t max_per_principal = 20;
};

struct Session {
  std::string id;    // the cookie's value: 32 random bytes, hex
  std::string csrf;  // sent back in X-CSRF-Token on every call: 32 random bytes, hex
  // The credentials it was opened with, presented to the gate on each call.
  std::optional<std::string> authorization;
  std::vector<std::string> certificate_names;
  std::string principal;           // for the page ("" when authentication is off)
  std::vector<std::string> roles;  // role names, for the page to show what it may
  int64_t created_ms = 0, last_ms = 0;
};

// Thread-safe.
class SessionStore {
 public:
  SessionStore(SessionOptions options, std::function<int64_t()> now_ms);

  // A new session (id and csrf filled here) for `s`'s credentials.
  Session Open(Session s);
  // The live session `id` names, its idle time restarted; none when unknown or expired
  // (an expired one is forgotten).
  std::optional<Session> Touch(const std::string& id);
  // Sign-out: forgets `id`. Whether it was live.
  bool Close(const std::string& id);
  size_t size() const;
  const SessionOptions& options() const { return options_; }

 private:
  bool Expired(const Session& s, int64_t now) const;
  // Drops the least recently used of the sessions `pick` selects while `cap` or more of
  // them are open.
  void Evict(size_t cap, const std::function<bool(const Session&)>& pick)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SessionOptions options_;
  std::function<int64_t()> now_ms_;
  mutable absl::Mutex mu_;
  std::map<std::string, Session> sessions_ ABSL_GUARDED_BY(mu_);
};

// 32 random bytes from OpenSSL's generator, as 64 hex digits.
std::string RandomToken();

// The value of cookie `name` in a Cookie header ("a=1; tessera_session=..."), or "".
std::string CookieValue(const std::string& header, const std::string& name);

}  // namespace tessera::http
