#pragma once

// What a connector kind implements, and the registry tessera-connect finds kinds in.
// A kind lives in its own folder under connectors/ and registers itself with
// TESSERA_REGISTER_CONNECTOR; nothing else needs to change to add one.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/common/config.h"
#include "connectors/common/record.h"
#include "tessera/v1/types.pb.h"

namespace tessera::connect {

// Where a connector puts what it reads. Source and version are set by the runtime.
class Sink {
 public:
  virtual ~Sink() = default;
  // A record's fragment. An error means the run cannot go on (tesserad unreachable);
  // the connector returns it.
  [[nodiscard]] virtual absl::Status Emit(v1::Fragment fragment, std::string_view locator) = 0;
  // Maps `r` with the source's mapping and emits it; a record that does not map is
  // rejected (reported, skipped). `extend` may add evidence and the like.
  [[nodiscard]] virtual absl::Status EmitRecord(
      const Record& r,
      const std::function<absl::Status(const Record&, v1::Fragment&)>& extend = {}) = 0;
  // The source says the record with this key is gone (incremental reads).
  [[nodiscard]] virtual absl::Status Delete(std::string_view external_id,
                                            std::string_view locator) = 0;
  // A malformed record: reported with its locator and skipped; the run goes on.
  virtual void Reject(std::string_view locator, std::string_view why) = 0;
  // A record kept without one of its values (a date that cannot be read, say):
  // reported with its locator; the record is not counted as rejected.
  virtual void Warn(std::string_view locator, std::string_view why) = 0;
  // Progress of a long read, for the progress line ("12,000 entries").
  virtual void Note(std::string_view what) = 0;
};

struct ReadRequest {
  bool incremental = false;
  std::string cursor;  // what the last successful run returned; "" the first time
};

struct ReadResult {
  // True when the read saw every record the source has: records it did not see are
  // then deleted. False for change-only reads (deletions come through Sink::Delete).
  bool complete = true;
  std::string cursor;  // handed back on the next incremental run
};

class Connector {
 public:
  virtual ~Connector() = default;
  // Reads the source. An error after some records were emitted leaves those applied
  // and deletes nothing.
  virtual absl::StatusOr<ReadResult> Read(const ReadRequest& req, Sink& sink) = 0;
};

struct ConnectorKind {
  std::string name;  // the "kind" of a source configuration
  std::string help;  // one line for tessera-connect --help
  std::function<Mapping()> default_mapping;
  std::function<absl::StatusOr<std::unique_ptr<Connector>>(const SourceConfig&)> make;
};

bool RegisterConnector(ConnectorKind kind);
const ConnectorKind* FindConnector(std::string_view name);
std::vector<const ConnectorKind*> AllConnectors();
// LoadConfig's `defaults` argument, backed by the registry.
bool DefaultMapping(const std::string& kind, Mapping* out);

#define TESSERA_REGISTER_CONNECTOR(ident, ...)                              \
  [[maybe_unused]] static const bool tessera_connector_registered_##ident = \
      ::tessera::connect::RegisterConnector(__VA_ARGS__)

}  // namespace tessera::connect
