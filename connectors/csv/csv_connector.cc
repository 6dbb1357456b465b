// The HR export connector (kind "csv"): one employee per row of a header-mapped CSV.
// Start and end dates are checked (YYYY-MM-DD); an end date in the past marks the
// person as left, which tesserad's ranking honours.

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
  for (const char* a : {"display_name", "given_name", "family_name", "title", "team", "department", "location",
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

bool IsDate(std::string_view d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if ((d[i] < '0' || d[i] > '9')) return false;
  }
  const int month = (d[5] - '0') * 10 + (d[6] - '0'), day = (d[8] - '0') * 10 + (d[9] - '0');
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

class HrConnector final : public Connector {
 public:
  explicit HrConnector(const SourceConfig& c, std::string path) : config_(c), path_(std::move(path)) {}

  absl::StatusOr<ReadResult> Read(const ReadRequest&, Sink& sink) override {
    auto check_dates = [this](const Record& r, v1::Fragment& f) -> absl::Status {
      for (const auto& [attr, field] : config_.mapping.attributes) {
        if (attr != "start_date" && attr != "end_date") continue;
        const std::string v(Trim(r.First(field)));
        if (!v.empty() && !IsDate(v)) return absl::InvalidArgumentError(field + " '" + v + "' is not YYYY-MM-DD");
      }
      return absl::OkStatus();
    };
    absl::Status s = ReadCsv(path_, config_.mapping, sink, [&](Record& r) { return sink.EmitRecord(r, check_dates); });
    if (!s.ok()) return s;
    return ReadResult{true, ""};
  }

 private:
  const SourceConfig& config_;
  std::string path_;
};

absl::StatusOr<std::unique_ptr<Connector>> MakeHr(const SourceConfig& c) {
  const nlohmann::json in = nlohmann::json::parse(c.input_json);
  if (!in.contains("path") || !in["path"].is_string()) {
    return absl::InvalidArgumentError("\"input.path\": the CSV file is required");
  }
  for (const auto& [key, v] : in.items()) {
    if (key != "path") return absl::InvalidArgumentError("\"input." + key + "\": unknown key (expected path)");
  }
  return std::make_unique<HrConnector>(c, c.Resolve(in["path"].get<std::string>()));
}

TESSERA_REGISTER_CONNECTOR(csv, ConnectorKind{"csv", "HR export: employees from a header-mapped CSV (input.path)",
                                              HrMapping, MakeHr});

}  // namespace
}  // namespace tessera::connect
