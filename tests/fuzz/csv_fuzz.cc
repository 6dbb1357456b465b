// Fuzz target for the HR CSV connector (kind "csv", connectors/csv): the real connector,
// found in the registry, reads the input as its export file. It covers
// connect::ReadCsv (the delimiter given or detected, RFC 4180 quoting, the byte-order
// mark, a legacy encoding converted by ICU, the header checks), client::CsvReader,
// the date formats (connect::IsoDate) and the mapping to fragments.
//
// Input: three option bytes, then the file.
//   byte 0: delimiter (mod 5): ",", ";", "tab", "auto", none given (the default);
//   byte 1: encoding (mod 6): utf-8, latin1, windows-1252, utf-16, utf-16le, none given;
//   byte 2: date format (mod 4): iso, dd/mm/yyyy, mm/dd/yyyy, none given.
//
// Properties (tests/fuzz/connector_sink.h): fragments survive protobuf, messages are
// UTF-8; and a start or end date that reaches a fragment is YYYY-MM-DD.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"
#include "tests/fuzz/connector_sink.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace tessera;

const char* const kDelimiters[] = {",", ";", "tab", "auto", nullptr};
const char* const kEncodings[] = {"utf-8", "latin1", "windows-1252", "utf-16", "utf-16le", nullptr};
const char* const kDateFormats[] = {"iso", "dd/mm/yyyy", "mm/dd/yyyy", nullptr};

bool IsoDay(std::string_view v) {
  if (v.size() != 10 || v[4] != '-' || v[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (v[i] < '0' || v[i] > '9') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const char* delimiter = kDelimiters[data[0] % 5];
  const char* encoding = kEncodings[data[1] % 6];
  const char* dates = kDateFormats[data[2] % 4];
  const std::string_view file(reinterpret_cast<const char*>(data) + 3, size - 3);

  const std::filesystem::path path = fuzz::ScratchDir() / "hr.csv";
  fuzz::WriteFile(path, file);
  nlohmann::json input = {{"path", path.string()}};
  if (delimiter != nullptr) input["delimiter"] = delimiter;
  if (encoding != nullptr) input["encoding"] = encoding;
  if (dates != nullptr) input["date_format"] = dates;

  fuzz::RunConnector("csv", input, [](const v1::Fragment& f) {
    for (const v1::Attribute& a : f.attributes()) {
      if (a.name() == "start_date" || a.name() == "end_date") {
        fuzz::Check(IsoDay(a.value()), "a date reached a fragment not as YYYY-MM-DD");
      }
    }
  });
  return 0;
}
