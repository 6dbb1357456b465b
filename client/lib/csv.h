#pragma once

// RFC 4180 CSV: comma-separated (or another one-byte delimiter: ';', tab), fields optionally in
// double quotes (a quote inside doubled), quoted fields may span lines, CRLF or LF line ends, a
// UTF-8 byte-order mark at the start ignored.

#include <cstddef>
#include <istream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tessera::client {

class CsvReader {
 public:
  // `max_field_bytes` bounds one field, so a missing closing quote cannot eat memory.
  explicit CsvReader(std::istream& in, size_t max_field_bytes = 1 << 20, char delimiter = ',')
      : in_(in), max_field_(max_field_bytes), delimiter_(delimiter) {}

  // The next record into `fields`; false at the end of input. INVALID_ARGUMENT names
  // the line of a quote that is never closed or a field over the limit.
  absl::StatusOr<bool> Next(std::vector<std::string>* fields);
  // Line number (from 1) where the last record returned started.
  size_t line() const { return record_line_; }

 private:
  std::istream& in_;
  size_t max_field_;
  char delimiter_;
  size_t line_ = 1;
  size_t record_line_ = 0;
  bool started_ = false;
};

}  // namespace tessera::client
