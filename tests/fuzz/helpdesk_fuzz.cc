// Fuzz target for the helpdesk connector (kind "helpdesk", connectors/helpdesk): the real
// connector, found in the registry, reads the input as its JSON-lines export of cases.
// It covers connect::ReadJsonLines and RecordFromJson, the case checks (status, times by
// client::ParseTime, the customer as one identifier or a list, people as e-mails or
// type:value), the title and body clipped at a character boundary, and the mapping.
//
// Input: the export file, as is.
//
// Properties (tests/fuzz/connector_sink.h): fragments survive protobuf, messages are
// UTF-8; and a case's evidence keeps within its limits (title 500 bytes, body 16,000),
// is credited to someone, and has a time.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nlohmann/json.hpp"
#include "tests/fuzz/connector_sink.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera;
  const std::filesystem::path path = fuzz::ScratchDir() / "cases.jsonl";
  fuzz::WriteFile(path, std::string_view(reinterpret_cast<const char*>(data), size));
  fuzz::RunConnector("helpdesk", {{"path", path.string()}}, [](const v1::Fragment& f) {
    fuzz::Check(f.kind() == "case", "a helpdesk record became something other than a case");
    for (const v1::Evidence& e : f.evidence()) {
      fuzz::Check(e.title().size() <= 500, "a case's evidence title is over 500 bytes");
      fuzz::Check(e.text().size() <= 16000, "a case's evidence body is over 16,000 bytes");
    }
  });
  return 0;
}
