// Fuzz target for the social customer-care connector (kind "social", connectors/social):
// the real connector, found in the registry, reads the input as its JSON-lines export
// of conversations. It covers connect::ReadJsonLines and RecordFromJson (flattening),
// the checks of a conversation (channel, handle or number, agent, language), its
// messages (times by client::ParseTime, the title and text clipped) and the mapping.
//
// Input: the export file, as is.
//
// Properties (tests/fuzz/connector_sink.h): fragments survive protobuf, messages are
// UTF-8; and evidence stays within its limits (title 80 bytes, text 64 KiB).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nlohmann/json.hpp"
#include "tests/fuzz/connector_sink.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera;
  const std::filesystem::path path = fuzz::ScratchDir() / "conversations.jsonl";
  fuzz::WriteFile(path, std::string_view(reinterpret_cast<const char*>(data), size));
  fuzz::RunConnector("social", {{"path", path.string()}}, [](const v1::Fragment& f) {
    for (const v1::Evidence& e : f.evidence()) {
      fuzz::Check(e.title().size() <= 80, "a conversation's title is over 80 bytes");
      fuzz::Check(e.text().size() <= 64 * 1024, "a conversation's text is over 64 KiB");
      fuzz::Check(!e.text().empty(), "a conversation's evidence has no text");
    }
  });
  return 0;
}
