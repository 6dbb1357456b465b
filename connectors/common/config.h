#pragma once

// A source's configuration file (JSON, one per source), shared by every connector kind.
// Format and defaults: connectors/README.md.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace tessera::connect {

// A relation from a record field: each value is the target, written "type:value"
// (lower-case type), or a bare value of `target_type`.
struct RelationSpec {
  std::string type;         // reports_to, member_of, account_manager_of, ...
  std::string field;        // source field holding the target(s)
  std::string target_type;  // identifier type of bare values; "" = values are "type:value"
};

// From source fields to a fragment. Each connector kind has a default; a config's
// "mapping" object replaces the parts it names.
struct Mapping {
  std::string kind;                                              // fragment kind
  std::string external_id;                                       // field with the record key
  std::vector<std::pair<std::string, std::string>> attributes;   // attribute name -> field
  std::vector<std::pair<std::string, std::string>> identifiers;  // identifier type -> field
  std::vector<RelationSpec> relations;
  // Fields named by the config itself (not the kind's defaults): a record source whose
  // schema lacks one of them is a configuration error, not silently ignored.
  std::vector<std::string> required_fields;
};

struct SourceConfig {
  std::string file;  // the configuration file, for messages and relative paths
  std::string id, kind, description;
  int priority = 50;
  std::string server = "127.0.0.1:50051";
  std::string state_dir;  // default: the configuration file's folder
  size_t batch_size = 500;
  int64_t timeout_ms = 30000;
  // A full run that would delete more than this share of the records synced before
  // is refused unless run with --allow-deletes (a truncated export). 0..1.
  double max_delete_share = 0.2;
  // Kind-specific settings ("input" object), kept as JSON text; each kind parses it.
  std::string input_json = "{}";
  Mapping mapping;

  // `path` relative to the configuration file's folder (absolute paths unchanged).
  std::string Resolve(const std::string& path) const;
  std::string StateFile() const;
};

// Reads and validates `file`. `defaults(kind)` gives a kind's default mapping (false
// for an unknown kind). Errors name the file and the key.
absl::StatusOr<SourceConfig> LoadConfig(const std::string& file,
                                        bool (*defaults)(const std::string& kind, Mapping* out));

// Applies a "mapping" JSON object over `m` (exposed for tests).
[[nodiscard]] absl::Status ApplyMapping(const nlohmann::json& j, Mapping* m);

}  // namespace tessera::connect
