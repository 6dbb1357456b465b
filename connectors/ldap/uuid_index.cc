#include "connectors/ldap/uuid_index.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unordered_set>
#include <utility>

namespace tessera::connect {
namespace {

constexpr char kMagic[] = "tessera-ldap-uuids 1";
constexpr char kHex[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

size_t UuidIndex::UuidHash::operator()(const Uuid& u) const {
  uint64_t a = 0, b = 0;
  std::memcpy(&a, u.data(), 8);
  std::memcpy(&b, u.data() + 8, 8);
  return static_cast<size_t>(a ^ (b * 0x9E3779B97F4A7C15ull));
}

UuidIndex::Uuid UuidIndex::ToUuid(std::string_view bytes) {
  Uuid u{};
  std::memcpy(u.data(), bytes.data(), std::min(bytes.size(), u.size()));
  return u;
}

UuidIndex::UuidIndex(const SourceConfig& config, std::string_view suffix) {
  std::string p = config.StateFile();
  if (p.size() > 6 && p.compare(p.size() - 6, 6, ".state") == 0) p.resize(p.size() - 6);
  prefix_ = p + "." + std::string(suffix);
}

absl::StatusOr<uint64_t> UuidIndex::SaveNext(uint64_t loaded) const {
  const auto now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  const uint64_t generation = std::max(now, loaded + 1);
  if (absl::Status s = Save(generation, loaded); !s.ok()) return s;
  return generation;
}

std::string UuidIndex::Put(std::string_view uuid, std::string key) {
  Entry& e = entries_[ToUuid(uuid)];
  std::string before = e.key == key ? std::string() : std::move(e.key);
  e.key = std::move(key);
  e.seen = true;
  return before;
}

void UuidIndex::MarkPresent(std::string_view uuid) {
  auto it = entries_.find(ToUuid(uuid));
  if (it != entries_.end()) it->second.seen = true;
}

std::string UuidIndex::Remove(std::string_view uuid) {
  auto it = entries_.find(ToUuid(uuid));
  if (it == entries_.end()) return "";
  std::string key = std::move(it->second.key);
  entries_.erase(it);
  return key;
}

std::vector<std::string> UuidIndex::RemoveUnseen() {
  std::vector<std::string> gone;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.seen) {
      ++it;
    } else {
      gone.push_back(std::move(it->second.key));
      it = entries_.erase(it);
    }
  }
  return gone;
}

std::vector<std::string> UuidIndex::WithoutLive(std::vector<std::string> keys) const {
  if (keys.empty()) return keys;
  std::unordered_set<std::string_view> live;
  live.reserve(entries_.size());
  for (const auto& [uuid, e] : entries_) live.insert(e.key);
  std::unordered_set<std::string_view> done;
  std::vector<std::string> out;
  for (std::string& k : keys) {
    if (!k.empty() && live.count(k) == 0 && done.insert(k).second) out.push_back(std::move(k));
  }
  return out;
}

absl::Status UuidIndex::Load(uint64_t generation) {
  entries_.clear();
  const std::string path = FileOf(generation);
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(path + ": missing");
  std::string line;
  if (!std::getline(in, line) || line != kMagic)
    return absl::DataLossError(path + ": not a UUID index");
  for (size_t n = 2; std::getline(in, line); ++n) {
    if (line.size() < 34 || line[32] != ' ')
      return absl::DataLossError(path + ":" + std::to_string(n) + ": bad line");
    Uuid u{};
    for (size_t i = 0; i < 16; ++i) {
      const int hi = HexValue(line[2 * i]), lo = HexValue(line[2 * i + 1]);
      if (hi < 0 || lo < 0)
        return absl::DataLossError(path + ":" + std::to_string(n) + ": bad UUID");
      u[i] = static_cast<unsigned char>(hi * 16 + lo);
    }
    entries_[u] = Entry{line.substr(33), false};
  }
  if (in.bad()) return absl::DataLossError(path + ": read error");
  return absl::OkStatus();
}

absl::Status UuidIndex::Save(uint64_t generation, uint64_t keep) const {
  namespace fs = std::filesystem;
  const std::string path = FileOf(generation), tmp = path + ".tmp";
  std::error_code ec;
  if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path(), ec);
  FILE* f = std::fopen(tmp.c_str(), "we");
  if (f == nullptr)
    return absl::PermissionDeniedError("cannot write " + tmp + ": " + std::strerror(errno));
  bool ok = std::fprintf(f, "%s\n", kMagic) > 0;
  char hex[33];
  hex[32] = ' ';
  for (const auto& [uuid, e] : entries_) {
    if (!ok) break;
    if (e.key.find('\n') != std::string::npos)
      continue;  // never sent: the runtime rejects such keys
    for (size_t i = 0; i < 16; ++i) {
      hex[2 * i] = kHex[uuid[i] >> 4];
      hex[2 * i + 1] = kHex[uuid[i] & 15];
    }
    ok = std::fwrite(hex, 1, 33, f) == 33 &&
         std::fwrite(e.key.data(), 1, e.key.size(), f) == e.key.size() &&
         std::fputc('\n', f) != EOF;
  }
  ok = ok && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  if (std::fclose(f) != 0 || !ok) {
    fs::remove(tmp, ec);
    return absl::ResourceExhaustedError("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::PermissionDeniedError("cannot rename " + tmp + ": " + std::strerror(errno));
  }
  // Other generations (older ones, those of runs that failed) are of no further use.
  const fs::path dir =
      fs::path(prefix_).has_parent_path() ? fs::path(prefix_).parent_path() : fs::path(".");
  const std::string stem = fs::path(prefix_).filename().string() + ".";
  std::vector<std::pair<uint64_t, fs::path>> others;
  for (const fs::directory_entry& d : fs::directory_iterator(dir, ec)) {
    const std::string name = d.path().filename().string();
    if (name.rfind(stem, 0) != 0) continue;
    char* end = nullptr;
    const uint64_t g = std::strtoull(name.c_str() + stem.size(), &end, 10);
    if (g == generation && *end == '\0') continue;
    others.emplace_back(*end == '\0' ? g : 0, d.path());  // a left-over temporary file: 0
  }
  if (keep == 0) {
    for (const auto& [g, p] : others) keep = std::max(keep, g);
  }
  for (const auto& [g, p] : others) {
    if (g != keep || keep == 0) fs::remove(p, ec);
  }
  return absl::OkStatus();
}

}  // namespace tessera::connect
