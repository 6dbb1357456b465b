// Fuzz target for JSON-lines fragments as `tessera ingest` reads them
// (client::ParseFragmentJson, line by line, blank lines skipped; client/cli/ingest.cc),
// with the text forms inside them: RFC 3339 times (client::ParseTime), identifiers
// ("type:value", client::ParseIdentifier) and profile names (client::ParseProfileName).
//
// Input: a JSON-lines file, as is.
//
// Properties checked on every line:
//  - nothing crashes, whatever the bytes;
//  - an accepted fragment survives protobuf serialisation and parsing (its strings
//    are UTF-8);
//  - a refused line's message is UTF-8;
//  - a time ParseTime reads within years 0000-9999 is written by FormatTime as a time
//    that ParseTime reads back to the same millisecond.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "client/lib/text_formats.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace tessera;
using fuzz::Check;

constexpr int64_t kYear10000Ms = 253402300800000;  // 10000-01-01T00:00:00Z

void CheckFragment(std::string_view line) {
  absl::StatusOr<v1::Fragment> f = client::ParseFragmentJson(line);
  if (!f.ok()) {
    Check(fuzz::ValidUtf8(std::string(f.status().message())) || !fuzz::ValidUtf8(line),
          "a refused line's message is not UTF-8");
    return;
  }
  std::string bytes;
  Check(f->SerializeToString(&bytes), "an accepted fragment does not serialise");
  v1::Fragment back;
  Check(back.ParseFromString(bytes), "an accepted fragment does not parse back (not UTF-8?)");
}

void CheckTime(std::string_view text) {
  absl::StatusOr<int64_t> t = client::ParseTime(text);
  if (!t.ok() || *t < 0 || *t >= kYear10000Ms) return;
  const std::string written = client::FormatTime(*t);
  absl::StatusOr<int64_t> again = client::ParseTime(written);
  Check(again.ok() && *again == *t, "FormatTime writes a time ParseTime reads differently");
}

void CheckNames(std::string_view text) {
  absl::StatusOr<v1::Identifier> id = client::ParseIdentifier(text);
  if (id.ok()) Check(!id->type().empty() && !id->value().empty(), "an identifier with a hole");
  absl::StatusOr<client::ProfileName> name = client::ParseProfileName(text);
  if (name.ok()) Check(name->id > 0 || id.ok(), "a profile name that names nothing");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (!rest.empty()) {
    const size_t end = std::min(rest.find('\n'), rest.size());
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(std::min(end + 1, rest.size()));
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;  // as ingest does
    CheckFragment(line);
    if (line.size() <= 64) {
      CheckTime(line);
      CheckNames(line);
    }
  }
  return 0;
}
