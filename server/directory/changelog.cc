// Directory: change-log records (changelog.h), their keys and bytes.

#include "server/directory/changelog.h"

#include "server/store/coding.h"

namespace tessera::directory {

std::string ChangeKey(Sequence sequence) {
  std::string key;
  store::PutFixed64BE(key, sequence);
  return key;
}

std::string EncodeChange(const ChangeRecord& c) {
  std::string out;
  out.push_back(static_cast<char>(c.op));
  store::PutVarint64(out, c.profile);
  store::PutVarsint64(out, c.time_ms);
  store::PutVarint64(out, c.kinds.size());
  for (const std::string& k : c.kinds) store::PutLengthPrefixed(out, k);
  return out;
}

absl::Status DecodeChange(std::string_view data, ChangeRecord* c) {
  store::Decoder d(data);
  const uint8_t op = d.Byte();
  c->op = static_cast<ChangeRecord::Op>(op);
  c->profile = d.Varint64();
  c->time_ms = d.Varsint64();
  c->kinds.clear();
  if (!d.done()) {
    const uint64_t n = d.Varint64();
    for (uint64_t i = 0; i < n && d.ok() && i < 64; ++i) c->kinds.emplace_back(d.LengthPrefixed());
  }
  if (!d.ok() || !d.done() || (op != 1 && op != 2)) {
    return absl::DataLossError("corrupt change-log record");
  }
  return absl::OkStatus();
}

}  // namespace tessera::directory
