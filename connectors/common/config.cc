#include "connectors/common/config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "nlohmann/json.hpp"

namespace tessera::connect {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr size_t kMaxConfigBytes = 1 << 20;
constexpr size_t kMaxBatch = 5000;  // the server's batch limit

absl::Status Bad(const std::string& key, const std::string& why) {
  return absl::InvalidArgumentError("\"" + key + "\": " + why);
}

absl::StatusOr<std::string> String(const json& j, const std::string& key) {
  if (!j.is_string()) return Bad(key, "must be a string");
  return j.get<std::string>();
}

// A "name": "field" object, in file order.
absl::Status Pairs(const json& j, const std::string& key,
                   std::vector<std::pair<std::string, std::string>>* out,
                   std::vector<std::string>* fields) {
  if (!j.is_object()) return Bad(key, "must be an object of \"name\": \"field\"");
  out->clear();
  for (const auto& [name, v] : j.items()) {
    absl::StatusOr<std::string> f = String(v, key + "." + name);
    if (!f.ok()) return f.status();
    out->emplace_back(name, *f);
    fields->push_back(*f);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyMapping(const json& j, Mapping* m) {
  if (!j.is_object()) return Bad("mapping", "must be an object");
  for (const auto& [key, v] : j.items()) {
    const std::string where = "mapping." + key;
    if (key == "kind" || key == "external_id") {
      absl::StatusOr<std::string> s = String(v, where);
      if (!s.ok()) return s.status();
      (key == "kind" ? m->kind : m->external_id) = *s;
      if (key == "external_id") m->required_fields.push_back(*s);
    } else if (key == "attributes") {
      if (absl::Status s = Pairs(v, where, &m->attributes, &m->required_fields); !s.ok()) return s;
    } else if (key == "identifiers") {
      if (absl::Status s = Pairs(v, where, &m->identifiers, &m->required_fields); !s.ok()) return s;
    } else if (key == "relations") {
      if (!v.is_object())
        return Bad(where,
                   "must be an object of \"type\": \"field\" or {\"field\", \"target_type\"}");
      m->relations.clear();
      for (const auto& [type, spec] : v.items()) {
        RelationSpec r{type, "", ""};
        if (spec.is_string()) {
          r.field = spec.get<std::string>();
        } else if (spec.is_object() && spec.contains("field") && spec["field"].is_string()) {
          r.field = spec["field"].get<std::string>();
          if (spec.contains("target_type")) {
            absl::StatusOr<std::string> t =
                String(spec["target_type"], where + "." + type + ".target_type");
            if (!t.ok()) return t.status();
            r.target_type = *t;
          }
        } else {
          return Bad(where + "." + type,
                     "must be a field name or {\"field\": ..., \"target_type\": ...}");
        }
        m->required_fields.push_back(r.field);
        m->relations.push_back(std::move(r));
      }
    } else {
      return Bad(where,
                 "unknown key (expected kind, external_id, attributes, identifiers, relations)");
    }
  }
  return absl::OkStatus();
}

std::string SourceConfig::Resolve(const std::string& path) const {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(file).parent_path() / path).lexically_normal().string();
}

std::string SourceConfig::StateFile() const {
  const std::string dir = state_dir.empty() ? fs::path(file).parent_path().string() : state_dir;
  return (fs::path(dir.empty() ? "." : dir) / (id + ".state")).string();
}

absl::StatusOr<SourceConfig> LoadConfig(const std::string& file,
                                        bool (*defaults)(const std::string& kind, Mapping* out)) {
  auto fail = [&](const absl::Status& s) {
    return absl::Status(s.code(), file + ": " + std::string(s.message()));
  };
  std::error_code ec;
  const uintmax_t size = fs::file_size(file, ec);
  if (ec) return absl::NotFoundError(file + ": cannot read the configuration: " + ec.message());
  if (size > kMaxConfigBytes) return fail(absl::InvalidArgumentError("larger than 1 MiB"));
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  const json j =
      json::parse(text.str(), nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (j.is_discarded() || !j.is_object())
    return fail(absl::InvalidArgumentError("not a JSON object"));

  SourceConfig c;
  c.file = file;
  bool have_mapping = false;
  json mapping;
  for (const auto& [key, v] : j.items()) {
    if (key == "source") {
      if (!v.is_object())
        return fail(Bad("source", "must be an object with id, kind, priority, description"));
      for (const auto& [k, sv] : v.items()) {
        const std::string where = "source." + k;
        if (k == "id" || k == "kind" || k == "description") {
          absl::StatusOr<std::string> s = String(sv, where);
          if (!s.ok()) return fail(s.status());
          (k == "id" ? c.id : k == "kind" ? c.kind : c.description) = *s;
        } else if (k == "priority") {
          if (!sv.is_number_integer() || sv.get<int64_t>() < 0 || sv.get<int64_t>() > 1000) {
            return fail(Bad(where, "must be an integer in 0..1000"));
          }
          c.priority = sv.get<int>();
        } else {
          return fail(Bad(where, "unknown key (expected id, kind, priority, description)"));
        }
      }
    } else if (key == "server" || key == "state_dir") {
      absl::StatusOr<std::string> s = String(v, key);
      if (!s.ok()) return fail(s.status());
      (key == "server" ? c.server : c.state_dir) = *s;
    } else if (key == "batch_size") {
      if (!v.is_number_unsigned() || v.get<uint64_t>() == 0 || v.get<uint64_t>() > kMaxBatch) {
        return fail(Bad(key, "must be an integer in 1..5000"));
      }
      c.batch_size = v.get<size_t>();
    } else if (key == "timeout_ms") {
      if (!v.is_number_unsigned() || v.get<uint64_t>() < 100 || v.get<uint64_t>() > 3600000) {
        return fail(Bad(key, "must be an integer in 100..3600000"));
      }
      c.timeout_ms = v.get<int64_t>();
    } else if (key == "max_delete_share") {
      if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1) {
        return fail(Bad(
            key, "must be a number in 0..1 (0.2: at most 20% of the records may go in one run)"));
      }
      c.max_delete_share = v.get<double>();
    } else if (key == "input") {
      if (!v.is_object()) return fail(Bad(key, "must be an object"));
      c.input_json = v.dump();
    } else if (key == "mapping") {
      have_mapping = true;
      mapping = v;
    } else {
      return fail(Bad(key,
                      "unknown key (expected source, server, state_dir, batch_size, timeout_ms, "
                      "max_delete_share, input, "
                      "mapping)"));
    }
  }
  if (c.id.empty()) return fail(Bad("source.id", "is required"));
  if (c.kind.empty()) return fail(Bad("source.kind", "is required"));
  if (!defaults(c.kind, &c.mapping)) {
    return fail(Bad("source.kind",
                    "unknown connector kind '" + c.kind + "' (tessera-connect --help lists them)"));
  }
  if (have_mapping) {
    if (absl::Status s = ApplyMapping(mapping, &c.mapping); !s.ok()) return fail(s);
  }
  if (c.mapping.kind.empty())
    return fail(Bad("mapping.kind", "is required for this connector kind"));
  if (c.mapping.external_id.empty())
    return fail(Bad("mapping.external_id", "is required for this connector kind"));
  if (!c.state_dir.empty()) c.state_dir = c.Resolve(c.state_dir);
  return c;
}

}  // namespace tessera::connect
