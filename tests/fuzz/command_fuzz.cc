// Fuzz target for replicated mode's commands (server/replica/command.h), the bytes a
// replica reads from the log: whatever a log message holds, decoding never crashes,
// and what decodes encodes back to the same bytes (so nothing is read that would not
// be written, and a command applied on every replica is the one published).
//
// Built as command_fuzz (libFuzzer) and command_fuzz_replay (CTest, command_corpus/).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/replica/command.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  tessera::replica::Command c;
  if (!tessera::replica::DecodeCommand(bytes, &c).ok()) return 0;
  if (tessera::replica::EncodeCommand(c) != bytes) std::abort();
  return 0;
}
