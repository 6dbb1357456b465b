#include "connectors/common/inputs.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "client/lib/csv.h"
#include "connectors/common/encoding.h"
#include "nlohmann/json.hpp"

namespace tessera::connect {
namespace {

using nlohmann::json;

std::string Scalar(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_null()) return "";
  return v.dump();
}

absl::Status Flatten(const json& j, const std::string& prefix, Record* out, int depth) {
  if (depth > 8) return absl::InvalidArgumentError("objects nested deeper than 8 levels");
  for (const auto& [key, v] : j.items()) {
    const std::string name = prefix.empty() ? key : prefix + "." + key;
    if (v.is_object()) {
      if (absl::Status s = Flatten(v, name, out, depth + 1); !s.ok()) return s;
    } else if (v.is_array()) {
      if (v.size() > kMaxFieldValues) {
        return absl::InvalidArgumentError("field '" + name + "' has more than " +
                                          std::to_string(kMaxFieldValues) + " values");
      }
      auto& values = out->fields[name];
      for (const json& e : v) {
        if (e.is_object() || e.is_array()) {
          // Arrays of objects (messages, say) stay as JSON text for the connector.
          values.push_back(e.dump());
        } else {
          values.push_back(Scalar(e));
        }
      }
    } else {
      out->fields[name] = {Scalar(v)};
    }
  }
  return absl::OkStatus();
}

absl::Status OpenError(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return absl::NotFoundError(path + ": no such file");
  return absl::PermissionDeniedError(path + ": cannot read");
}

}  // namespace

absl::Status RecordFromJson(std::string_view text, Record* out) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("not valid JSON");
  if (!j.is_object()) return absl::InvalidArgumentError("not a JSON object");
  return Flatten(j, "", out, 0);
}

absl::StatusOr<CsvFormat> CsvFormatFrom(const json& input) {
  CsvFormat f;
  if (auto it = input.find("delimiter"); it != input.end()) {
    const std::string d = it->is_string() ? it->get<std::string>() : "";
    if (d == "," || d == ";") {
      f.delimiter = d[0];
    } else if (d == "\t" || d == "tab") {
      f.delimiter = '\t';
    } else if (d == "auto") {
      f.delimiter = 0;
    } else {
      return absl::InvalidArgumentError(
          "\"input.delimiter\": must be \",\", \";\", \"tab\" or \"auto\"");
    }
  }
  if (auto it = input.find("encoding"); it != input.end()) {
    if (!it->is_string()) return absl::InvalidArgumentError("\"input.encoding\": must be a string");
    f.encoding = it->get<std::string>();
    if (absl::Status s = CheckEncoding(f.encoding); !s.ok()) {
      return absl::InvalidArgumentError("\"input.encoding\": " + std::string(s.message()));
    }
  }
  return f;
}

namespace {

constexpr char kDelimiters[] = {',', ';', '\t'};

std::string DelimiterName(char d) { return d == '\t' ? "tab" : std::string(1, d); }

// The delimiter that splits `line` (a header) most often outside quotes; ',' if none.
char DetectDelimiter(std::string_view line) {
  char best = ',';
  size_t best_n = 0;
  for (char d : kDelimiters) {
    size_t n = 0;
    bool quoted = false;
    for (char c : line) {
      if (c == '"') quoted = !quoted;
      if (!quoted && c == d) ++n;
    }
    if (n > best_n) best = d, best_n = n;
  }
  return best;
}

// The CSV's header line as text, to detect its delimiter.
absl::StatusOr<std::string> FirstLine(const std::string& path, const std::string& encoding) {
  absl::StatusOr<std::unique_ptr<Utf8Reader>> r = Utf8Reader::Open(path, encoding);
  if (!r.ok()) return r.status();
  std::string line;
  std::getline((*r)->stream(), line);
  return line;
}

}  // namespace

absl::Status ReadCsv(const std::string& path, const CsvFormat& format, const Mapping& mapping,
                     Sink& sink, const std::function<absl::Status(Record&)>& fn) {
  char delimiter = format.delimiter;
  if (delimiter == 0) {
    absl::StatusOr<std::string> first = FirstLine(path, format.encoding);
    if (!first.ok()) return first.status();
    delimiter = DetectDelimiter(*first);
  }
  absl::StatusOr<std::unique_ptr<Utf8Reader>> in = Utf8Reader::Open(path, format.encoding);
  if (!in.ok()) return in.status();
  client::CsvReader csv((*in)->stream(), kMaxLineBytes, delimiter);
  std::vector<std::string> header, row;
  absl::StatusOr<bool> more = csv.Next(&header);
  if (!more.ok())
    return absl::InvalidArgumentError(path + ": " + std::string(more.status().message()));
  if (!*more) return absl::OkStatus();  // an empty file: no records
  for (std::string& h : header) {
    while (!h.empty() && (h.back() == ' ' || h.back() == '\t')) h.pop_back();
    while (!h.empty() && (h.front() == ' ' || h.front() == '\t')) h.erase(h.begin());
    if (!IsUtf8Text(h)) {
      return absl::InvalidArgumentError(path +
                                        ": line 1: the header is not UTF-8 (set input.encoding?)");
    }
  }
  if (header.size() == 1) {
    // Read as one field: most likely the export uses another delimiter.
    for (char d : kDelimiters) {
      if (d != delimiter && header[0].find(d) != std::string::npos) {
        return absl::InvalidArgumentError(path + ": the header has one field; delimiter '" +
                                          DelimiterName(d) + "'? (set input.delimiter to \"" +
                                          DelimiterName(d) + "\" or \"auto\")");
      }
    }
  }
  if (absl::Status s = CheckFields(mapping, header, path + "'s header"); !s.ok()) return s;
  while (true) {
    more = csv.Next(&row);
    if (!more.ok()) {
      // A quote never closed or an oversized field: nothing after it can be trusted.
      return absl::InvalidArgumentError(path + ": " + std::string(more.status().message()));
    }
    if (!*more) break;
    if (row.size() == 1 && row[0].empty()) continue;  // blank line
    Record r;
    r.locator = path + ":" + std::to_string(csv.line());
    if (row.size() != header.size()) {
      sink.Reject(r.locator, "has " + std::to_string(row.size()) + " fields, the header has " +
                                 std::to_string(header.size()));
      continue;
    }
    if (!std::all_of(row.begin(), row.end(), [](const std::string& v) { return IsUtf8Text(v); })) {
      sink.Reject(r.locator,
                  "line " + std::to_string(csv.line()) + ": not UTF-8 (set input.encoding?)");
      continue;
    }
    for (size_t i = 0; i < header.size(); ++i) r.fields[header[i]] = {std::move(row[i])};
    if (absl::Status s = fn(r); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<DateFormat> DateFormatFrom(const json& input) {
  auto it = input.find("date_format");
  if (it == input.end()) return DateFormat::kIso;
  const std::string f = it->is_string() ? it->get<std::string>() : "";
  if (f == "iso" || f == "yyyy-mm-dd") return DateFormat::kIso;
  if (f == "dd/mm/yyyy") return DateFormat::kDayMonthYear;
  if (f == "mm/dd/yyyy") return DateFormat::kMonthDayYear;
  return absl::InvalidArgumentError(
      "\"input.date_format\": must be \"iso\", \"dd/mm/yyyy\" or \"mm/dd/yyyy\"");
}

absl::StatusOr<std::string> IsoDate(std::string_view v, DateFormat format) {
  const char* name = format == DateFormat::kIso            ? "YYYY-MM-DD"
                     : format == DateFormat::kDayMonthYear ? "dd/mm/yyyy"
                                                           : "mm/dd/yyyy";
  auto bad = [&] {
    return absl::InvalidArgumentError("'" + std::string(Utf8Prefix(v, 40)) + "' is not a " + name +
                                      " date");
  };
  // Three numbers: the year's place depends on the format.
  int parts[3] = {0, 0, 0}, digits[3] = {0, 0, 0}, k = 0;
  for (char c : v) {
    if (c >= '0' && c <= '9') {
      if (digits[k] >= 4) return bad();
      parts[k] = parts[k] * 10 + (c - '0');
      ++digits[k];
    } else if ((c == '-' || c == '/' || c == '.') && k < 2 && digits[k] > 0) {
      ++k;
    } else {
      return bad();
    }
  }
  if (k != 2 || digits[2] == 0) return bad();
  int year, month, day;
  if (format == DateFormat::kIso) {
    if (digits[0] != 4) return bad();
    year = parts[0], month = parts[1], day = parts[2];
  } else {
    if (digits[2] != 4) return bad();
    year = parts[2];
    month = format == DateFormat::kDayMonthYear ? parts[1] : parts[0];
    day = format == DateFormat::kDayMonthYear ? parts[0] : parts[1];
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1]) return bad();
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29 && !leap) return bad();
  char out[40];  // room for any int the compiler cannot rule out
  snprintf(out, sizeof out, "%04d-%02d-%02d", year, month, day);
  return std::string(out);
}

absl::Status ReadJsonLines(const std::string& path, Sink& sink,
                           const std::function<absl::Status(Record&)>& fn) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return OpenError(path);
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (n == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Record r;
    r.locator = path + ":" + std::to_string(n);
    if (line.size() > kMaxLineBytes) {
      sink.Reject(r.locator, "line longer than 1 MiB");
      continue;
    }
    if (absl::Status s = RecordFromJson(line, &r); !s.ok()) {
      sink.Reject(r.locator, std::string(s.message()));
      continue;
    }
    if (absl::Status s = fn(r); !s.ok()) return s;
  }
  if (in.bad()) return absl::DataLossError(path + ": read error");
  return absl::OkStatus();
}

}  // namespace tessera::connect
