// Directory: the counters record (state.h) and its bytes.

#include "server/directory/state.h"

#include "server/store/coding.h"

namespace tessera::directory {

std::string EncodeState(const MetaState& s) {
  std::string out;
  for (uint64_t v : {s.next_profile, s.next_fno, s.next_rule, s.sequence, s.live_fragments,
                     s.tombstones, s.profiles, s.linked_profiles}) {
    store::PutVarint64(out, v);
  }
  store::PutVarsint64(out, s.conflicts);
  store::PutVarsint64(out, s.evidence_docs);
  store::PutVarsint64(out, s.evidence_length);
  store::PutVarint64(out, s.profiles_by_kind.size());
  for (const auto& [kind, n] : s.profiles_by_kind) {
    store::PutLengthPrefixed(out, kind);
    store::PutVarint64(out, n);
  }
  store::PutVarint64(out, s.live_by_source.size());
  for (const auto& [num, n] : s.live_by_source) {
    store::PutVarint64(out, num);
    store::PutVarint64(out, n);
  }
  out.push_back(s.rebuilding ? 1 : 0);
  out.push_back(s.bulk_loading ? 1 : 0);
  if (s.stream_position != 0 || s.stream_partial) {
    store::PutVarint64(out, s.stream_position);
    out.push_back(s.stream_partial ? 1 : 0);
  }
  return out;
}

absl::Status DecodeState(std::string_view data, MetaState* s) {
  store::Decoder d(data);
  for (uint64_t* v : {&s->next_profile, &s->next_fno, &s->next_rule, &s->sequence,
                      &s->live_fragments, &s->tombstones, &s->profiles, &s->linked_profiles}) {
    *v = d.Varint64();
  }
  s->conflicts = d.Varsint64();
  s->evidence_docs = d.Varsint64();
  s->evidence_length = d.Varsint64();
  s->profiles_by_kind.clear();
  for (uint64_t n = d.Count(); n > 0 && d.ok(); --n) {
    std::string kind(d.LengthPrefixed());
    s->profiles_by_kind[kind] = d.Varint64();
  }
  s->live_by_source.clear();
  for (uint64_t n = d.Count(); n > 0 && d.ok(); --n) {
    const uint32_t num = d.Varint32();
    s->live_by_source[num] = d.Varint64();
  }
  s->rebuilding = d.Byte() != 0;
  // Absent from records written before bulk loads existed.
  s->bulk_loading = !d.done() && d.Byte() != 0;
  // Absent unless a replicated server wrote it.
  s->stream_position = d.done() ? 0 : d.Varint64();
  s->stream_partial = !d.done() && d.Byte() != 0;
  if (!d.ok() || !d.done()) return absl::DataLossError("corrupt directory state record");
  return absl::OkStatus();
}

}  // namespace tessera::directory
