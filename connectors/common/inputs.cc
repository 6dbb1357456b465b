#include "connectors/common/inputs.h"

#include <filesystem>
#include <fstream>

#include "client/lib/csv.h"
#include "nlohmann/json.hpp"

namespace tessera::connect {
namespace {

using json = nlohmann::json;

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
        return absl::InvalidArgumentError("field '" + name + "' has more than " + std::to_string(kMaxFieldValues) +
                                          " values");
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

absl::Status ReadCsv(const std::string& path, const Mapping& mapping, Sink& sink,
                     const std::function<absl::Status(Record&)>& fn) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return OpenError(path);
  client::CsvReader csv(in, kMaxLineBytes);
  std::vector<std::string> header, row;
  absl::StatusOr<bool> more = csv.Next(&header);
  if (!more.ok()) return absl::InvalidArgumentError(path + ": " + std::string(more.status().message()));
  if (!*more) return absl::OkStatus();  // an empty file: no records
  for (std::string& h : header) {
    while (!h.empty() && (h.back() == ' ' || h.back() == '\t')) h.pop_back();
    while (!h.empty() && (h.front() == ' ' || h.front() == '\t')) h.erase(h.begin());
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
    for (size_t i = 0; i < header.size(); ++i) r.fields[header[i]] = {std::move(row[i])};
    if (absl::Status s = fn(r); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ReadJsonLines(const std::string& path, Sink& sink, const std::function<absl::Status(Record&)>& fn) {
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
