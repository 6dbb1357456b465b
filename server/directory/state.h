#pragma once

// Counters and id allocators kept in the meta column family under "state", written in
// the same batch as the change they count.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace tessera::directory {

inline constexpr std::string_view kStateKey = "state";
// The default phone region the database was created with (two ASCII letters).
inline constexpr std::string_view kRegionKey = "default_region";
// What the derived data was built with (kDerivedLayout): a database built otherwise
// is rebuilt from its fragments once, at open.
inline constexpr std::string_view kIndexLayoutKey = "index-layout";
// The postings layout (index::kPostingsLayout), then what derivation writes: "derive-2"
// since hand-overs decide who holds a case (expertise/cases.h) and greetings stopped
// being terms, "derive-3" since it keeps each credited person's language
// (index/person_terms.h), "derive-4" since typographic apostrophes split words and "œ",
// "æ" are written out (text/analyzer.h). Change the suffix whenever derivation changes
// what it writes.
inline constexpr char kDerivedLayout[] = "postings-v3-day-epochs-7-blocks-18 derive-4";

struct MetaState {
  uint64_t next_profile = 1;
  uint64_t next_fno = 1;
  uint64_t next_rule = 1;
  uint64_t sequence = 0;  // last change-log sequence written
  uint64_t live_fragments = 0;
  uint64_t tombstones = 0;
  // Derived: recomputed by Rebuild.
  uint64_t profiles = 0;
  uint64_t linked_profiles = 0;  // profiles of more than one fragment
  int64_t conflicts = 0;
  int64_t evidence_docs = 0;    // indexed evidence items (BM25's N)
  int64_t evidence_length = 0;  // their total length in terms
  std::map<std::string, uint64_t> profiles_by_kind;
  std::map<uint32_t, uint64_t> live_by_source;  // source number -> live fragments
  bool rebuilding = false;  // set while Rebuild runs; Open resumes it after a crash
  // Set while a bulk load collects postings apart (Directory::BeginBulk): Open after a
  // crash rebuilds derived data, since the collected postings died with the process.
  bool bulk_loading = false;
  // Replicated mode (server/replica): the last log position whose command this
  // database applied, written in the same batch as that command's effects; partial
  // when a command of several writes was under way (it is applied again at start).
  uint64_t stream_position = 0;
  bool stream_partial = false;

  void ResetDerived() {
    profiles = linked_profiles = 0;
    conflicts = 0;
    evidence_docs = evidence_length = 0;
    profiles_by_kind.clear();
  }
};

std::string EncodeState(const MetaState& s);
[[nodiscard]] absl::Status DecodeState(std::string_view data, MetaState* s);

}  // namespace tessera::directory
