#pragma once

// Reading exports written in a legacy character encoding. HR and CRM exports are
// often Latin-1 or Windows-1252 (Excel's "CSV" on a Western European Windows), and a
// byte of those is not UTF-8. A `Utf8Reader` turns such a file into UTF-8 as it is
// read, chunk by chunk with ICU, so memory stays bounded whatever the file's size.

#include <fstream>
#include <istream>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace tessera::connect {

// The names the configuration accepts (ICU's converter names and aliases: "utf-8",
// "latin1", "iso-8859-1", "windows-1252", "utf-16", ...). INVALID_ARGUMENT for a
// name ICU does not know.
[[nodiscard]] absl::Status CheckEncoding(const std::string& name);

// Whether `name` is UTF-8 (no conversion needed).
bool IsUtf8Encoding(const std::string& name);

// Opens `path` as a stream of UTF-8 text. A file that starts with a UTF-8 byte-order
// mark is read as UTF-8 whatever `encoding` says (the mark is kept; readers skip it).
class Utf8Reader {
 public:
  static absl::StatusOr<std::unique_ptr<Utf8Reader>> Open(const std::string& path,
                                                          const std::string& encoding);
  ~Utf8Reader();

  std::istream& stream() { return *stream_; }
  // The encoding actually read (after the byte-order-mark check).
  const std::string& encoding() const { return encoding_; }

 private:
  class Converter;
  Utf8Reader() = default;
  std::ifstream file_;
  std::unique_ptr<Converter> converter_;
  std::unique_ptr<std::istream> owned_;
  std::istream* stream_ = nullptr;
  std::string encoding_;
};

}  // namespace tessera::connect
