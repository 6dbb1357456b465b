// Directory: HMAC-SHA-256 with the key's padded blocks hashed once (keyed_hash.h).

#include "server/directory/keyed_hash.h"

#include <openssl/evp.h>

#include <cstring>
#include <stdexcept>

namespace tessera::directory {
namespace {

constexpr size_t kBlock = 64;  // SHA-256's block size
constexpr size_t kDigest = 32;

EVP_MD_CTX* Started(const unsigned char* key_block, unsigned char pad) {
  unsigned char block[kBlock];
  for (size_t i = 0; i < kBlock; ++i) block[i] = key_block[i] ^ pad;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, block, kBlock) != 1) {
    throw std::runtime_error("SHA-256 is not available");
  }
  return ctx;
}

// One scratch context per thread, reused.
struct Scratch {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Scratch() { EVP_MD_CTX_free(ctx); }
};

}  // namespace

KeyedHash::KeyedHash(std::string_view key) {
  unsigned char k[kBlock] = {};
  if (key.size() > kBlock) {
    unsigned int len = 0;
    EVP_Digest(key.data(), key.size(), k, &len, EVP_sha256(), nullptr);
  } else {
    std::memcpy(k, key.data(), key.size());
  }
  inner_ = Started(k, 0x36);
  outer_ = Started(k, 0x5c);
}

KeyedHash::~KeyedHash() {
  EVP_MD_CTX_free(inner_);
  EVP_MD_CTX_free(outer_);
}

std::string KeyedHash::operator()(std::string_view message) const {
  thread_local Scratch scratch;
  unsigned char inner[kDigest];
  unsigned char out[kDigest];
  unsigned int len = 0;
  EVP_MD_CTX* c = scratch.ctx;
  EVP_MD_CTX_copy_ex(c, inner_);
  EVP_DigestUpdate(c, message.data(), message.size());
  EVP_DigestFinal_ex(c, inner, &len);
  EVP_MD_CTX_copy_ex(c, outer_);
  EVP_DigestUpdate(c, inner, kDigest);
  EVP_DigestFinal_ex(c, out, &len);
  return std::string(reinterpret_cast<const char*>(out), kDigest);
}

}  // namespace tessera::directory
