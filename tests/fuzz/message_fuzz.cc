// Fuzz target for what a caller's bytes reach before anything is stored: an Ingest
// message decoded by hand (server/api/ingest_decode.h), and a pasted message read for
// identifiers (identity::FindMentions) and cut into titles and excerpts (text.h).
//
// Properties checked on every input:
//  - nothing crashes, whatever the bytes;
//  - a message DecodeIngestBatch accepts parses as an IngestBatch, and one it refuses
//    names a fragment inside the batch or none (-1);
//  - mentions lie inside the text, in order, without overlapping;
//  - cuts and excerpts stay within their byte limit (plus the ellipsis) and never split
//    a UTF-8 character of valid text.
//
// Built two ways, like fragment_fuzz: a libFuzzer binary with clang++ (TESSERA_FUZZ=ON)
// and message_fuzz_replay, which runs tests/fuzz/message_corpus under CTest.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/api/ingest_decode.h"
#include "server/identity/mentions.h"
#include "server/text/text.h"

namespace {

using namespace tessera;

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "fuzz property violated: %s\n", what);
    abort();
  }
}

void CheckIngest(const std::string& bytes) {
  v1::IngestBatch batch;
  int bad = -2;
  const absl::Status s = api::DecodeIngestBatch(bytes, &batch, &bad);
  if (s.ok()) {
    v1::IngestBatch again;
    Check(again.ParseFromString(bytes), "an accepted Ingest message does not parse");
    Check(bad == -1, "an accepted Ingest message names a bad fragment");
  } else {
    Check(s.code() == absl::StatusCode::kInvalidArgument,
          "a refused Ingest message is not INVALID_ARGUMENT");
    Check(bad >= -1, "a refused Ingest message names no position");
  }
}

void CheckText(std::string_view text) {
  if (!text::IsValidUtf8(text)) return;  // FindExperts refuses such text first
  size_t last_end = 0;
  for (const identity::Mention& m : identity::FindMentions(text, {"FR"})) {
    Check(m.begin < m.end && m.end <= text.size(), "a mention outside the text");
    Check(m.begin >= last_end, "mentions out of order or overlapping");
    last_end = m.end;
  }
  for (size_t max : {1u, 16u, 80u}) {
    const std::string_view cut = text::CutBetweenWords(text, max);
    Check(cut.size() <= max || text.size() <= max, "a cut over its limit");
    Check(text::IsValidUtf8(cut), "a cut splits a character");
    const std::string excerpt = text::Excerpt(text, max);
    Check(excerpt.size() <= max + 3, "an excerpt over its limit");
    Check(text::IsValidUtf8(excerpt), "an excerpt splits a character");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  CheckIngest(bytes);
  CheckText(bytes);
  return 0;
}
