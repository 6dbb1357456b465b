#include "server/http/session.h"

#include <openssl/rand.h>

#include <stdexcept>

namespace tessera::http {

std::string RandomToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("OpenSSL's RAND_bytes failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::string CookieValue(const std::string& header, const std::string& name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    size_t start = header.find_first_not_of(' ', pos);
    if (start < end) {
      const size_t eq = header.find('=', start);
      if (eq < end && header.compare(start, eq - start, name) == 0) {
        std::string value = header.substr(eq + 1, end - eq - 1);
        while (!value.empty() && value.back() == ' ') value.pop_back();
        return value;
      }
    }
    pos = end + 1;
  }
  return "";
}

SessionStore::SessionStore(SessionOptions options, std::function<int64_t()> now_ms)
    : options_(options), now_ms_(std::move(now_ms)) {}

bool SessionStore::Expired(const Session& s, int64_t now) const {
  return now - s.last_ms >= options_.idle_ms || now - s.created_ms >= options_.max_age_ms;
}

Session SessionStore::Open(Session s) {
  const int64_t now = now_ms_();
  s.id = RandomToken();
  s.csrf = RandomToken();
  s.created_ms = s.last_ms = now;
  absl::MutexLock l(&mu_);
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = Expired(it->second, now) ? sessions_.erase(it) : std::next(it);
  }
  Evict(options_.max_per_principal,
        [&s](const Session& other) { return other.principal == s.principal; });
  Evict(options_.max_sessions, [](const Session&) { return true; });
  sessions_[s.id] = s;
  return s;
}

void SessionStore::Evict(size_t cap, const std::function<bool(const Session&)>& pick) {
  for (;;) {
    size_t count = 0;
    auto oldest = sessions_.end();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      if (!pick(it->second)) continue;
      ++count;
      if (oldest == sessions_.end() || it->second.last_ms < oldest->second.last_ms) oldest = it;
    }
    if (count < cap || oldest == sessions_.end()) return;
    sessions_.erase(oldest);
  }
}

std::optional<Session> SessionStore::Touch(const std::string& id) {
  const int64_t now = now_ms_();
  absl::MutexLock l(&mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  if (Expired(it->second, now)) {
    sessions_.erase(it);
    return std::nullopt;
  }
  it->second.last_ms = now;
  return it->second;
}

bool SessionStore::Close(const std::string& id) {
  absl::MutexLock l(&mu_);
  return sessions_.erase(id) > 0;
}

size_t SessionStore::size() const {
  absl::MutexLock l(&mu_);
  return sessions_.size();
}

}  // namespace tessera::http
