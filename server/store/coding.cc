#include "server/store/coding.h"

namespace tessera::store {

void PutFixed32BE(std::string& dst, uint32_t v) {
  char buf[4];
  for (int i = 3; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  dst.append(buf, 4);
}

void PutFixed64BE(std::string& dst, uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  dst.append(buf, 8);
}

uint32_t DecodeFixed32BE(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint64_t DecodeFixed64BE(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

void PutVarint64(std::string& dst, uint64_t v) {
  while (v >= 0x80) {
    dst.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  dst.push_back(static_cast<char>(v));
}

void PutVarsint64(std::string& dst, int64_t v) {
  PutVarint64(dst, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void PutLengthPrefixed(std::string& dst, std::string_view s) {
  PutVarint64(dst, s.size());
  dst.append(s);
}

std::string HexEncode(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() * 2);
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

bool HexDecode(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  auto val = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = val(hex[i]), lo = val(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

uint64_t Decoder::Varint64() {
  uint64_t v = 0;
  for (int shift = 0; shift <= 63; shift += 7) {
    if (rest_.empty()) return Fail(), 0;
    const auto byte = static_cast<uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return v;
  }
  return Fail(), 0;
}

int64_t Decoder::Varsint64() {
  const uint64_t u = Varint64();
  return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
}

uint32_t Decoder::Varint32() {
  const uint64_t v = Varint64();
  if (v > UINT32_MAX) return Fail(), 0;
  return static_cast<uint32_t>(v);
}

uint64_t Decoder::Count() {
  const uint64_t n = Varint64();
  if (n > rest_.size()) return Fail(), 0;
  return n;
}

uint8_t Decoder::Byte() {
  if (rest_.empty()) return Fail(), 0;
  const auto b = static_cast<uint8_t>(rest_.front());
  rest_.remove_prefix(1);
  return b;
}

uint64_t Decoder::Fixed64BE() {
  std::string_view b = Bytes(8);
  return b.size() == 8 ? DecodeFixed64BE(b.data()) : 0;
}

uint32_t Decoder::Fixed32BE() {
  std::string_view b = Bytes(4);
  return b.size() == 4 ? DecodeFixed32BE(b.data()) : 0;
}

std::string_view Decoder::LengthPrefixed() {
  const uint64_t n = Varint64();
  if (!ok_) return {};
  return Bytes(n);
}

std::string_view Decoder::Bytes(size_t n) {
  if (rest_.size() < n) return Fail(), std::string_view();
  std::string_view out = rest_.substr(0, n);
  rest_.remove_prefix(n);
  return out;
}

}  // namespace tessera::store
