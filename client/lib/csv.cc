#include "client/lib/csv.h"

namespace tessera::client {

absl::StatusOr<bool> CsvReader::Next(std::vector<std::string>* fields) {
  fields->clear();
  if (!started_) {
    started_ = true;
    if (in_.peek() == 0xEF) {
      char bom[3];
      in_.read(bom, 3);
      if (!(bom[0] == '\xEF' && bom[1] == '\xBB' && bom[2] == '\xBF')) {
        for (int i = 2; i >= 0; --i) in_.putback(bom[i]);
      }
    }
  }
  if (in_.peek() == std::char_traits<char>::eof()) return false;
  record_line_ = line_;
  std::string field;
  bool quoted = false, was_quoted = false;
  while (true) {
    const int c = in_.get();
    if (c == std::char_traits<char>::eof()) {
      if (quoted) {
        return absl::InvalidArgumentError("line " + std::to_string(record_line_) +
                                          ": a quoted field is never closed");
      }
      fields->push_back(std::move(field));
      return true;
    }
    if (field.size() > max_field_) {
      return absl::InvalidArgumentError("line " + std::to_string(record_line_) +
                                        ": a field is longer than " + std::to_string(max_field_) +
                                        " bytes");
    }
    if (quoted) {
      if (c == '"') {
        if (in_.peek() == '"') {
          in_.get();
          field.push_back('"');
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line_;
        field.push_back(static_cast<char>(c));
      }
      continue;
    }
    if (c == '"' && field.empty() && !was_quoted) {
      quoted = was_quoted = true;
    } else if (c == delimiter_) {
      fields->push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (c == '\r' && in_.peek() == '\n') {
      continue;  // CRLF: the LF ends the record
    } else if (c == '\n') {
      ++line_;
      fields->push_back(std::move(field));
      return true;
    } else {
      field.push_back(static_cast<char>(c));
    }
  }
}

}  // namespace tessera::client
