#include "connectors/common/state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/escaping.h"

namespace tessera::connect {
namespace {

// Format 2 lines: version, hash (hex), name (base64), key (the rest of the line; keys
// hold no newline). Format 1 had no name; it is still read.
constexpr char kMagic1[] = "tessera-connect-state 1";
constexpr char kMagic[] = "tessera-connect-state 2";

absl::Status Corrupt(const std::string& path, size_t line, const std::string& why) {
  return absl::DataLossError(path + ":" + std::to_string(line) + ": " + why +
                             " (delete the file to start over with a full sync)");
}

bool Number(const std::string& s, int base, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  char* end = nullptr;
  errno = 0;
  *out = std::strtoull(s.c_str(), &end, base);
  return errno == 0 && end == s.c_str() + s.size() && s[0] != '-' && s[0] != '+';
}

}  // namespace

uint64_t ContentHash(std::string_view bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

absl::StatusOr<SyncState> LoadState(const std::string& path) {
  SyncState st;
  std::ifstream in(path);
  if (!in) {
    if (!std::filesystem::exists(path)) return st;
    return absl::PermissionDeniedError("cannot read " + path);
  }
  std::string line;
  if (!std::getline(in, line) || (line != kMagic && line != kMagic1)) {
    return Corrupt(path, 1, "not a tessera-connect state file");
  }
  const bool with_names = line == kMagic;
  if (!std::getline(in, line) || line.rfind("cursor ", 0) != 0)
    return Corrupt(path, 2, "no cursor line");
  if (!absl::Base64Unescape(line.substr(7), &st.cursor)) return Corrupt(path, 2, "bad cursor");
  for (size_t n = 3; std::getline(in, line); ++n) {
    RecordState r;
    const size_t a = line.find(' '), b = a == std::string::npos ? a : line.find(' ', a + 1);
    if (b == std::string::npos || !Number(line.substr(0, a), 10, &r.version) ||
        !Number(line.substr(a + 1, b - a - 1), 16, &r.hash)) {
      return Corrupt(path, n, "bad record line");
    }
    size_t key_at = b + 1;
    if (with_names) {
      const size_t c = line.find(' ', b + 1);
      if (c == std::string::npos || !absl::Base64Unescape(line.substr(b + 1, c - b - 1), &r.name)) {
        return Corrupt(path, n, "bad record line");
      }
      key_at = c + 1;
    }
    st.records[line.substr(key_at)] = std::move(r);
  }
  return st;
}

absl::Status SaveState(const std::string& path, const SyncState& state) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  const std::string tmp = path + ".tmp";
  std::string out = std::string(kMagic) + "\ncursor " + absl::Base64Escape(state.cursor) + "\n";
  char buf[64];
  for (const auto& [key, r] : state.records) {
    snprintf(buf, sizeof buf, "%llu %llx ", static_cast<unsigned long long>(r.version),
             static_cast<unsigned long long>(r.hash));
    out += buf;
    out += absl::Base64Escape(r.name);
    out += ' ';
    out += key;
    out += '\n';
  }
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0)
    return absl::PermissionDeniedError("cannot write " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::write(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return absl::ResourceExhaustedError("cannot write " + tmp + ": " + why);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return absl::DataLossError("cannot sync " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::PermissionDeniedError("cannot rename " + tmp + " to " + path + ": " +
                                       std::strerror(errno));
  }
  return absl::OkStatus();
}

}  // namespace tessera::connect
