// The helpdesk connector (kind "helpdesk"): cases from a JSON-lines export, one case
// per line, as in ../shared/data/expertise-numpy/cases.jsonl:
//   {"case_id", "title", "body", "resolved_by": [e-mails], "closed_at", "paths": [...]}
// plus, optionally, "status" (open/closed...), "opened_at", "assigned_to", "customer"
// (identifiers "type:value", one or a list), "channel", "language".
// A case is evidence for who resolved it; the customer "raised" it; an open case
// counts as load for the people it is assigned to or resolved by.

#include <string>

#include "client/lib/text_formats.h"
#include "connectors/common/connector.h"
#include "connectors/common/inputs.h"
#include "nlohmann/json.hpp"

namespace tessera::connect {
namespace {

constexpr size_t kMaxTitleBytes = 500;   // evidence title limit
constexpr size_t kMaxTextBytes = 16000;  // evidence text kept per case
constexpr size_t kMaxAttributeBytes = 4000;

Mapping CaseMapping() {
  Mapping m;
  m.kind = "case";
  m.external_id = "case_id";
  for (const char* a : {"status", "channel", "priority", "product", "language"})
    m.attributes.emplace_back(a, a);
  m.identifiers.emplace_back("case", "case_id");
  m.relations.push_back({"resolved_by", "resolved_by", "email"});
  m.relations.push_back({"assigned_to", "assigned_to", "email"});
  m.relations.push_back({"raised_by", "customer", ""});
  return m;
}

absl::StatusOr<int64_t> TimeField(const Record& r, const char* field) {
  const std::string_view v = Trim(r.First(field));
  if (v.empty()) return 0;
  absl::StatusOr<int64_t> t = client::ParseTime(v);
  if (!t.ok())
    return absl::InvalidArgumentError(std::string(field) + " '" + std::string(Utf8Prefix(v, 40)) +
                                      "': " + std::string(t.status().message()));
  return t;
}

absl::Status AddCase(const Record& r, v1::Fragment& f) {
  absl::StatusOr<int64_t> closed = TimeField(r, "closed_at"), opened = TimeField(r, "opened_at"),
                          updated = TimeField(r, "updated_at");
  for (const auto* t : {&closed, &opened, &updated}) {
    if (!t->ok()) return t->status();
  }
  const int64_t when = *closed != 0 ? *closed : *updated != 0 ? *updated : *opened;
  if (when != 0) f.set_updated_at_unix_ms(when);
  const std::string_view title = Trim(r.First("title")), body = Trim(r.First("body"));
  if (!title.empty()) {
    v1::Attribute* a = f.add_attributes();
    a->set_name("title");
    a->set_value(ClipText(title, kMaxAttributeBytes));
  }
  bool has_status = false;
  for (const auto& a : f.attributes()) has_status |= a.name() == "status";
  if (!has_status) {
    v1::Attribute* a = f.add_attributes();  // the export's cases are resolved ones
    a->set_name("status");
    a->set_value("closed");
  }
  if (title.empty() && body.empty()) return absl::OkStatus();  // nothing to learn from
  v1::Evidence* e = f.add_evidence();
  e->set_kind("case");
  e->set_role("resolved_by");
  e->set_title(ClipText(title, kMaxTitleBytes));
  e->set_text(ClipText(body, kMaxTextBytes));
  if (const std::string_view lang = Trim(r.First("language")); !lang.empty())
    e->set_language(std::string(lang));
  e->set_time_unix_ms(when);
  return absl::OkStatus();
}

class HelpdeskConnector final : public Connector {
 public:
  explicit HelpdeskConnector(std::string path) : path_(std::move(path)) {}
  absl::StatusOr<ReadResult> Read(const ReadRequest&, Sink& sink) override {
    absl::Status s =
        ReadJsonLines(path_, sink, [&](Record& r) { return sink.EmitRecord(r, AddCase); });
    if (!s.ok()) return s;
    return ReadResult{true, ""};
  }

 private:
  std::string path_;
};

absl::StatusOr<std::unique_ptr<Connector>> MakeHelpdesk(const SourceConfig& c) {
  const nlohmann::json in = nlohmann::json::parse(c.input_json);
  for (const auto& [key, v] : in.items()) {
    if (key != "path")
      return absl::InvalidArgumentError("\"input." + key + "\": unknown key (expected path)");
  }
  if (!in.contains("path") || !in["path"].is_string()) {
    return absl::InvalidArgumentError("\"input.path\": the cases file (JSON lines) is required");
  }
  return std::make_unique<HelpdeskConnector>(c.Resolve(in["path"].get<std::string>()));
}

TESSERA_REGISTER_CONNECTOR(
    helpdesk,
    ConnectorKind{"helpdesk", "cases (JSON lines): evidence for who resolved them, load, raised_by",
                  CaseMapping, MakeHelpdesk});

}  // namespace
}  // namespace tessera::connect
