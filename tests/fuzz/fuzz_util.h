#pragma once

// What the fuzz targets share: a property check that aborts (build/ defines NDEBUG, so
// `assert` would check nothing), a UTF-8 check (server/text's), and a
// per-process scratch folder for readers that only take a path.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "server/text/text.h"

namespace tessera::fuzz {

inline void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "fuzz property violated: %s\n", what);
    abort();
  }
}

// Well-formed UTF-8 as protobuf checks a string field: no overlong forms, surrogates or
// code points past U+10FFFF; NUL allowed. server/text's ICU-based check, not the
// connectors' own (connect::IsUtf8Text), so the oracle is not the code under test.
inline bool ValidUtf8(std::string_view s) { return text::IsValidUtf8(s); }

// A folder of this process's own under $TMPDIR (else /tmp), made on first use and
// removed at a normal exit. Readers that take a path get the fuzz input through files
// in it; each input overwrites them.
inline const std::filesystem::path& ScratchDir() {
  struct Dir {
    std::filesystem::path path;
    Dir() {
      const char* tmp = std::getenv("TMPDIR");
      path = std::filesystem::path(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") /
             ("tessera-fuzz-" + std::to_string(getpid()));
      std::filesystem::create_directories(path);
    }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Dir kDir;
  return kDir.path;
}

// Writes `bytes` to `path`, replacing it.
inline void WriteFile(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  Check(out.good(), "cannot write the scratch file");
}

}  // namespace tessera::fuzz
