#pragma once

// Which record each entryUUID is. Content synchronisation (RFC 4533) names deleted
// entries, and in its present phase the surviving ones, by entryUUID alone, while
// Tessera knows a record by its key (the DN by default); this index translates.
//
// It lives in memory during a run (about 100 bytes an entry) and is saved as a
// numbered generation file beside the checkpoint: "<state_dir>/<source>.ldap-uuids.<n>".
// The cursor names the generation it goes with, and the runtime saves the cursor only
// after a successful run, so a run that fails leaves the previous pair in use.
//
// File format, version 1: a line "tessera-ldap-uuids 1", then one line per entry:
// the UUID in 32 lower-case hex digits, a space, the key (keys hold no line break).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/common/config.h"

namespace tessera::connect {

// Thread-compatible.
class UuidIndex {
 public:
  // `prefix`: the generation files' path without ".<n>".
  explicit UuidIndex(std::string prefix) : prefix_(std::move(prefix)) {}
  // The files of `config`'s source: "<state_dir>/<source>.<suffix>.<n>".
  UuidIndex(const SourceConfig& config, std::string_view suffix);

  // Replaces the contents with generation `generation`. NOT_FOUND when the file is
  // missing, DATA_LOSS when it is damaged (either way: read everything again).
  [[nodiscard]] absl::Status Load(uint64_t generation);
  // Writes the contents as generation `generation` (temporary file, fsync, rename) and
  // removes every other generation but `keep`, the one the saved cursor names (0 when
  // unknown: then the newest other, as the last run most likely succeeded).
  [[nodiscard]] absl::Status Save(uint64_t generation, uint64_t keep) const;
  // Saves as a new generation after `loaded` (the time in milliseconds, or loaded + 1
  // if that is not later) and returns its number, for the cursor to name.
  absl::StatusOr<uint64_t> SaveNext(uint64_t loaded) const;

  void Clear() { entries_.clear(); }
  size_t size() const { return entries_.size(); }

  // `uuid` (16 bytes) is the record `key`, seen in this run. Returns the key it had
  // before when that differs (the entry was renamed), else "".
  std::string Put(std::string_view uuid, std::string key);
  // `uuid` is still there, unchanged.
  void MarkPresent(std::string_view uuid);
  // Forgets `uuid`; returns its key, "" when unknown.
  std::string Remove(std::string_view uuid);
  // Forgets every entry neither Put nor MarkPresent since Load; returns their keys.
  std::vector<std::string> RemoveUnseen();
  // `keys` without those that some entry still has (a DN deleted and created again, a
  // rename onto a freed DN): the records that are really gone.
  std::vector<std::string> WithoutLive(std::vector<std::string> keys) const;

 private:
  using Uuid = std::array<unsigned char, 16>;
  struct UuidHash {
    size_t operator()(const Uuid& u) const;
  };
  struct Entry {
    std::string key;
    bool seen = false;
  };
  static Uuid ToUuid(std::string_view bytes);
  std::string FileOf(uint64_t generation) const {
    return prefix_ + "." + std::to_string(generation);
  }

  std::string prefix_;
  std::unordered_map<Uuid, Entry, UuidHash> entries_;
};

}  // namespace tessera::connect
