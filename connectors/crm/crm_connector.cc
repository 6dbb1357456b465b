// The CRM connector (kind "crm"): customers from a CSV (header row) or JSON-lines
// export, chosen by input.format or the file extension. Customer ids, e-mails, phones
// and social handles become identifiers; the account manager becomes an
// `account_manager` relation (customer -> employee), which FindExperts uses to put a
// customer's own account manager first.

#include <string>

#include "connectors/common/connector.h"
#include "connectors/common/inputs.h"
#include "nlohmann/json.hpp"

namespace tessera::connect {
namespace {

Mapping CustomerMapping() {
  Mapping m;
  m.kind = "customer";
  m.external_id = "customer_id";
  for (const char* a : {"display_name", "given_name", "family_name", "company", "segment", "city",
                        "country", "language"}) {
    m.attributes.emplace_back(a, a);
  }
  for (const char* i : {"customer_id", "email", "phone", "mobile", "twitter", "facebook",
                        "instagram", "whatsapp"}) {
    m.identifiers.emplace_back(std::string(i) == "mobile" ? "phone" : i, i);
  }
  m.relations.push_back({"account_manager", "account_manager", "email"});
  m.relations.push_back({"account_manager", "account_manager_id", "employee_id"});
  return m;
}

class CrmConnector final : public Connector {
 public:
  CrmConnector(const SourceConfig& c, std::string path, bool csv, CsvFormat format)
      : config_(c), path_(std::move(path)), csv_(csv), format_(std::move(format)) {}
  absl::StatusOr<ReadResult> Read(const ReadRequest&, Sink& sink) override {
    auto emit = [&](Record& r) { return sink.EmitRecord(r); };
    absl::Status s = csv_ ? ReadCsv(path_, format_, config_.mapping, sink, emit)
                          : ReadJsonLines(path_, sink, emit);
    if (!s.ok()) return s;
    return ReadResult{true, ""};
  }

 private:
  const SourceConfig& config_;
  std::string path_;
  bool csv_;
  CsvFormat format_;
};

absl::StatusOr<std::unique_ptr<Connector>> MakeCrm(const SourceConfig& c) {
  const nlohmann::json in = nlohmann::json::parse(c.input_json);
  std::string format;
  for (const auto& [key, v] : in.items()) {
    if (key == "format") {
      if (!v.is_string() || (v != "csv" && v != "jsonl")) {
        return absl::InvalidArgumentError("\"input.format\": must be \"csv\" or \"jsonl\"");
      }
      format = v.get<std::string>();
    } else if (key != "path" && key != "delimiter" && key != "encoding") {
      return absl::InvalidArgumentError(
          "\"input." + key + "\": unknown key (expected path, format, delimiter, encoding)");
    }
  }
  if (!in.contains("path") || !in["path"].is_string()) {
    return absl::InvalidArgumentError("\"input.path\": the customer export is required");
  }
  const std::string path = c.Resolve(in["path"].get<std::string>());
  if (format.empty()) {
    const bool jsonl = path.size() >= 6 && (path.ends_with(".jsonl") || path.ends_with(".json"));
    format = jsonl ? "jsonl" : "csv";
  }
  absl::StatusOr<CsvFormat> csv_format = CsvFormatFrom(in);
  if (!csv_format.ok()) return csv_format.status();
  return std::make_unique<CrmConnector>(c, path, format == "csv", *std::move(csv_format));
}

TESSERA_REGISTER_CONNECTOR(crm,
                           ConnectorKind{"crm",
                                         "customers and their account managers (CSV or JSON lines)",
                                         CustomerMapping, MakeCrm});

}  // namespace
}  // namespace tessera::connect
