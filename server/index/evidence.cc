#include "server/index/evidence.h"

#include "server/store/coding.h"

namespace tessera::index {

std::string EvidenceKey(uint64_t doc) {
  std::string key;
  store::PutFixed64BE(key, doc);
  return key;
}

std::string EncodeEvidence(const EvidenceRecord& r) {
  std::string out;
  store::PutVarint64(out, r.entity);
  store::PutVarint64(out, r.ordinal);
  store::PutVarsint64(out, r.time_ms);
  for (const std::string* f : {&r.fragkey, &r.kind, &r.role, &r.title, &r.language}) {
    store::PutLengthPrefixed(out, *f);
  }
  return out;
}

absl::Status DecodeEvidence(std::string_view data, EvidenceRecord* r) {
  store::Decoder d(data);
  r->entity = d.Varint64();
  r->ordinal = d.Varint32();
  r->time_ms = d.Varsint64();
  for (std::string* f : {&r->fragkey, &r->kind, &r->role, &r->title, &r->language}) {
    *f = std::string(d.LengthPrefixed());
  }
  if (!d.ok() || !d.done()) return absl::DataLossError("corrupt evidence record");
  return absl::OkStatus();
}

}  // namespace tessera::index
