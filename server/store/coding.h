#pragma once

// Byte encodings shared by every on-disk record: big-endian fixed integers (so byte
// order is numeric order in keys), LEB128 varints and length-prefixed strings in
// values. A `Decoder` reads them back and remembers the first failure, so a record
// decoder checks `ok()` once at the end; a failure means the record is corrupt and the
// caller returns DATA_LOSS.

#include <cstdint>
#include <string>
#include <string_view>

namespace tessera::store {

void PutFixed32BE(std::string& dst, uint32_t v);
void PutFixed64BE(std::string& dst, uint64_t v);
uint32_t DecodeFixed32BE(const char* p);
uint64_t DecodeFixed64BE(const char* p);

void PutVarint64(std::string& dst, uint64_t v);
// Signed values are zig-zag encoded so small negative numbers stay short.
void PutVarsint64(std::string& dst, int64_t v);
void PutLengthPrefixed(std::string& dst, std::string_view s);

// Lower-case hex of `s`, for opaque page tokens; HexDecode is false on bad input.
std::string HexEncode(std::string_view s);
bool HexDecode(std::string_view hex, std::string* out);

// Reads what the Put* functions wrote. Thread-compatible; `data` outlives it.
class Decoder {
 public:
  explicit Decoder(std::string_view data) : rest_(data) {}

  uint64_t Varint64();
  int64_t Varsint64();
  uint32_t Varint32();  // fails when the value does not fit
  // An element count: fails when larger than the bytes left, since every element
  // takes at least one byte, so a corrupt count cannot make the caller allocate wildly.
  uint64_t Count();
  uint8_t Byte();
  uint64_t Fixed64BE();
  uint32_t Fixed32BE();
  std::string_view LengthPrefixed();
  std::string_view Bytes(size_t n);

  bool ok() const { return ok_; }
  bool done() const { return rest_.empty(); }
  std::string_view rest() const { return rest_; }

 private:
  bool Fail() {
    ok_ = false;
    rest_ = {};
    return false;
  }

  std::string_view rest_;
  bool ok_ = true;
};

}  // namespace tessera::store
