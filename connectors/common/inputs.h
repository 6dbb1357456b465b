#pragma once

// Reading file exports into records: CSV with a header row (RFC 4180; ',' ';' or tab;
// UTF-8 or a legacy encoding converted with ICU; a BOM tolerated) and JSON lines. A
// malformed line is rejected through the sink and the read goes on; an unreadable
// file stops the read.

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "connectors/common/connector.h"
#include "nlohmann/json_fwd.hpp"

namespace tessera::connect {

// Limits on what one export line may hold.
inline constexpr size_t kMaxLineBytes = 1 << 20;
inline constexpr size_t kMaxFieldValues = 1000;

// How a CSV export is written.
struct CsvFormat {
  char delimiter = ',';            // ',', ';' or '\t'; 0: detected from the header
  std::string encoding = "utf-8";  // an ICU converter name: utf-8, latin1, windows-1252...
};

// Reads input.delimiter (",", ";", "tab" or "\t", "auto") and input.encoding from a
// connector's "input" object; errors name the key.
absl::StatusOr<CsvFormat> CsvFormatFrom(const nlohmann::json& input);

// Calls `fn` with one record per data row; fields are named by the header. Checks the
// header against the mapping first: a header read as one field that holds another
// delimiter is an error with the hint. A row that is not valid UTF-8 (after the
// encoding's conversion) is rejected: "not UTF-8 (set input.encoding?)". `fn` errors
// stop the read.
[[nodiscard]] absl::Status ReadCsv(const std::string& path, const CsvFormat& format,
                                   const Mapping& mapping, Sink& sink,
                                   const std::function<absl::Status(Record&)>& fn);

// How dates are written in an export: ISO (YYYY-MM-DD), dd/mm/yyyy or mm/dd/yyyy.
enum class DateFormat { kIso, kDayMonthYear, kMonthDayYear };

// Reads input.date_format ("iso", "dd/mm/yyyy", "mm/dd/yyyy"; default iso).
absl::StatusOr<DateFormat> DateFormatFrom(const nlohmann::json& input);

// `v` in `format` as YYYY-MM-DD; INVALID_ARGUMENT naming the expected format when it
// is not a real date in it ('.' and '-' are accepted for '/').
absl::StatusOr<std::string> IsoDate(std::string_view v, DateFormat format);

// Calls `fn` with one record per JSON object line. Scalars become one value; arrays of
// scalars several values; nested objects are flattened as "outer.inner".
[[nodiscard]] absl::Status ReadJsonLines(const std::string& path, Sink& sink,
                                         const std::function<absl::Status(Record&)>& fn);

// Parses a JSON object text into a record (the same flattening as ReadJsonLines).
[[nodiscard]] absl::Status RecordFromJson(std::string_view text, Record* out);

}  // namespace tessera::connect
