#pragma once

// A connector's local checkpoint: the cursor of the last successful read and, per
// record key, the version last sent and a hash of its content. It tells a re-run what
// changed (new version), what is unchanged (same version, or not sent at all on an
// incremental run) and what disappeared (a tombstone), with the record's name so a
// dry run can say who would be deleted. Written atomically (temporary
// file, fsync, rename) only after tesserad acknowledged the batches it describes.

#include <cstdint>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"

namespace tessera::connect {

struct RecordState {
  uint64_t version = 0;
  uint64_t hash = 0;
  std::string name;  // the person's name, for what a dry run lists (empty if none)
};

struct SyncState {
  std::string cursor;
  std::unordered_map<std::string, RecordState> records;
};

// A missing file is an empty state (the first run).
absl::StatusOr<SyncState> LoadState(const std::string& path);
[[nodiscard]] absl::Status SaveState(const std::string& path, const SyncState& state);

// 64-bit FNV-1a: stable across processes and builds, enough to notice a change.
uint64_t ContentHash(std::string_view bytes);

}  // namespace tessera::connect
