// Fuzz target for tesserad's configuration files: the server configuration
// (app::LoadConfigFile, read from a file as tesserad reads --config, then
// ServerConfig::Validate) and the principals file (access::Principals::Parse, what
// Principals::Load and a SIGHUP reload parse).
//
// Input: one option byte, then the file.
//   byte 0, bit 0: the principals file, else the server configuration.
//
// Properties:
//  - nothing crashes, throws out or reads out of range, whatever the bytes: a file that
//    cannot be read is an error naming it;
//  - loaded principals answer lookups: a token or certificate name that is not listed
//    is refused.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/access/access.h"
#include "server/app/config.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace tessera;
using fuzz::Check;

void CheckServerConfig(std::string_view file) {
  const std::filesystem::path path = fuzz::ScratchDir() / "tesserad.json";
  fuzz::WriteFile(path, file);
  app::ServerConfig config;
  const absl::Status loaded = app::LoadConfigFile(path.string(), config);
  if (!loaded.ok()) {
    Check(loaded.code() == absl::StatusCode::kInvalidArgument,
          "a configuration file that cannot be read is not INVALID_ARGUMENT");
    return;
  }
  (void)config.Validate();
}

void CheckPrincipals(std::string_view file) {
  absl::StatusOr<access::Principals> p = access::Principals::Parse(file, "principals.json");
  if (!p.ok()) {
    Check(p.status().code() == absl::StatusCode::kInvalidArgument,
          "a principals file that cannot be read is not INVALID_ARGUMENT");
    return;
  }
  Check(!p->ByToken("not a listed token", 0).ok(), "an unlisted token is accepted");
  (void)p->ByCertificate("hr-sync");
  (void)p->ByToken("", INT64_MAX);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view file(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) != 0) {
    CheckPrincipals(file);
  } else {
    CheckServerConfig(file);
  }
  return 0;
}
