// The HR export connector (kind "csv"): one employee per row of a header-mapped CSV,
// in the delimiter and encoding HR's tool wrote. Start and end dates are read in the
// configured format and stored as YYYY-MM-DD; a date that cannot be read is left out
// with a warning (the person is kept). An end date in the past marks the person as
// left, which tesserad's ranking honours.

#include <string>

#include "connectors/common/connector.h"
#include "connectors/common/inputs.h"
#include "nlohmann/json.hpp"

namespace tessera::connect {
namespace {

Mapping HrMapping() {
  Mapping m;
  m.kind = "employee";
  m.external_id = "employee_id";
  for (const char* a :
       {"display_name", "given_name", "family_name", "title", "team", "department", "location",
        "start_date", "end_date", "availability", "language", "skills"}) {
    m.attributes.emplace_back(a, a);
  }
  for (const char* i : {"employee_id", "email", "phone", "mobile", "upn"}) {
    m.identifiers.emplace_back(std::string(i) == "mobile" ? "phone" : i, i);
  }
  m.relations.push_back({"reports_to", "manager", "employee_id"});
  m.relations.push_back({"reports_to", "manager_email", "email"});
  return m;
}

class HrConnector final : public Connector {
 public:
  HrConnector(const SourceConfig& c, std::string path, CsvFormat format, DateFormat dates)
      : config_(c), path_(std::move(path)), format_(std::move(format)), dates_(dates) {}

  absl::StatusOr<ReadResult> Read(const ReadRequest&, Sink& sink) override {
    absl::Status s = ReadCsv(path_, format_, config_.mapping, sink, [&](Record& r) {
      NormaliseDates(r, sink);
      return sink.EmitRecord(r);
    });
    if (!s.ok()) return s;
    return ReadResult{true, ""};
  }

 private:
  // Date fields as YYYY-MM-DD; one that cannot be read is dropped with a warning.
  void NormaliseDates(Record& r, Sink& sink) const {
    for (const auto& [attr, field] : config_.mapping.attributes) {
      if (attr != "start_date" && attr != "end_date") continue;
      auto it = r.fields.find(field);
      if (it == r.fields.end() || it->second.empty()) continue;
      const std::string v(Trim(it->second.front()));
      if (v.empty()) continue;
      absl::StatusOr<std::string> iso = IsoDate(v, dates_);
      if (iso.ok()) {
        it->second = {*iso};
      } else {
        sink.Warn(r.locator,
                  field + " " + std::string(iso.status().message()) +
                      " (input.date_format); the field is left out, the rest of the record kept");
        r.fields.erase(it);
      }
    }
  }

  const SourceConfig& config_;
  std::string path_;
  CsvFormat format_;
  DateFormat dates_;
};

absl::StatusOr<std::unique_ptr<Connector>> MakeHr(const SourceConfig& c) {
  const nlohmann::json in = nlohmann::json::parse(c.input_json);
  if (!in.contains("path") || !in["path"].is_string()) {
    return absl::InvalidArgumentError("\"input.path\": the CSV file is required");
  }
  for (const auto& [key, v] : in.items()) {
    if (key != "path" && key != "date_format" && key != "delimiter" && key != "encoding") {
      return absl::InvalidArgumentError(
          "\"input." + key + "\": unknown key (expected path, delimiter, encoding, date_format)");
    }
  }
  absl::StatusOr<CsvFormat> format = CsvFormatFrom(in);
  if (!format.ok()) return format.status();
  absl::StatusOr<DateFormat> dates = DateFormatFrom(in);
  if (!dates.ok()) return dates.status();
  return std::make_unique<HrConnector>(c, c.Resolve(in["path"].get<std::string>()),
                                       *std::move(format), *dates);
}

TESSERA_REGISTER_CONNECTOR(csv,
                           ConnectorKind{
                               "csv", "HR export: employees from a header-mapped CSV (input.path)",
                               HrMapping, MakeHr});

}  // namespace
}  // namespace tessera::connect
