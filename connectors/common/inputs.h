#pragma once

// Reading file exports into records: CSV with a header row (RFC 4180, UTF-8, a BOM
// tolerated) and JSON lines. A malformed line is rejected through the sink and the
// read goes on; an unreadable file stops the read.

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "connectors/common/connector.h"

namespace tessera::connect {

// Limits on what one export line may hold.
inline constexpr size_t kMaxLineBytes = 1 << 20;
inline constexpr size_t kMaxFieldValues = 1000;

// Calls `fn` with one record per data row; fields are named by the header. Checks the
// header against the mapping first. `fn` errors stop the read.
absl::Status ReadCsv(const std::string& path, const Mapping& mapping, Sink& sink,
                     const std::function<absl::Status(Record&)>& fn);

// Calls `fn` with one record per JSON object line. Scalars become one value; arrays of
// scalars several values; nested objects are flattened as "outer.inner".
absl::Status ReadJsonLines(const std::string& path, Sink& sink, const std::function<absl::Status(Record&)>& fn);

// Parses a JSON object text into a record (the same flattening as ReadJsonLines).
absl::Status RecordFromJson(std::string_view text, Record* out);

}  // namespace tessera::connect
