#pragma once

// Private to server/directory: the last connector run of each source (SyncRun), kept
// in the meta column family beside the source under "syncrun/<source id>". The
// record's bytes are in server/store/FORMATS.md (4.5); fields appended later (suppressed)
// are absent from older records.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "server/directory/directory.h"

namespace tessera::directory {

// The meta key of `source_id`'s last run.
std::string SyncRunKey(std::string_view source_id);
std::string EncodeSyncRun(const SyncRun& r, int64_t last_success_ms);
// DATA_LOSS for a record that does not decode.
[[nodiscard]] absl::Status DecodeSyncRun(std::string_view data, SyncRun* r,
                                         int64_t* last_success_ms);
// INVALID_ARGUMENT for a run out of bounds (Directory::ReportSync says which).
[[nodiscard]] absl::Status ValidateSyncRun(const SyncRun& r);

}  // namespace tessera::directory
