#pragma once

// HMAC-SHA-256 (RFC 2104) with the key's padded blocks hashed once: each hash then
// costs the message's compressions and one more, not a key setup (suppression checks
// hash every identifier of every ingested fragment once anyone was erased).

#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace tessera::directory {

// Thread-safe once made.
class KeyedHash {
 public:
  explicit KeyedHash(std::string_view key);
  ~KeyedHash();
  KeyedHash(const KeyedHash&) = delete;
  KeyedHash& operator=(const KeyedHash&) = delete;

  // The 32-byte HMAC-SHA-256 of `message`.
  std::string operator()(std::string_view message) const;

 private:
  evp_md_ctx_st* inner_;  // SHA-256 after (key ^ ipad)
  evp_md_ctx_st* outer_;  // SHA-256 after (key ^ opad)
};

}  // namespace tessera::directory
