#pragma once

// The sync runtime: runs a connector over its source into tesserad.
//
// It registers the source, reads the local checkpoint, maps and batches what the
// connector yields, gives each changed record a new version (ingest is idempotent by
// version, so a batch sent twice after a retry changes nothing), tombstones records
// gone from the source after a complete read, saves the checkpoint once tesserad has
// acknowledged everything, and reports the run to tesserad (Admin.ReportSync).

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "client/lib/client.h"
#include "connectors/common/config.h"
#include "connectors/common/connector.h"
#include "tessera/v1/admin.pb.h"

namespace tessera::connect {

struct SyncOptions {
  bool incremental = false;  // send only what changed since the last run
  bool dry_run = false;      // read and compare with the checkpoint; send and save nothing
  // A complete read that finds no records while the checkpoint has some would delete
  // them all; refused unless this is set (a truncated export must not empty Tessera).
  bool allow_empty = false;
  // A complete read that would delete more than the source's max_delete_share of the
  // records synced before is refused unless this is set (a truncated export).
  bool allow_deletes = false;
  // Send the run as a bulk load (client::IngestOptions::bulk): for a first sync of many
  // records. on_bulk hears what tesserad ingested when the load finished.
  bool bulk = false;
  std::function<void(const v1::BulkLoadResult&)> on_bulk;
  // With dry_run: each record that would be added ('+'), updated ('~') or deleted
  // ('-'), by external id and name (empty when unknown).
  std::function<void(char op, std::string_view external_id, std::string_view name)> on_planned;
  // Called now and then during a run (every batch and every ~2 s of reading).
  std::function<void(const v1::SyncRun& so_far, std::string_view note)> on_progress;
  // Called for each warning and rejected record, as "<locator>: <why>".
  std::function<void(std::string_view)> on_error;
};

// Runs one sync. The returned run is also what tesserad was told (unless dry_run); its
// state is "ok", "partial" (some records rejected) or "failed" (with `failure`). Its
// counts add up: read = added + updated + unchanged + deleted + rejected + suppressed;
// a run where they do not (records sent but not acknowledged) is "failed". An error
// status means the run could not start (tesserad unreachable, bad checkpoint).
// The source is registered with its configured priority as a proposal: tesserad's
// registry keeps the priority of a registered source, and `on_error` is told when the
// two differ.
absl::StatusOr<v1::SyncRun> RunSync(const SourceConfig& config, Connector& connector,
                                    const client::Client& client, const SyncOptions& options);

// "read 3, added 1, updated 0, unchanged 1, deleted 0, rejected 1, suppressed 0".
std::string FormatCounts(const v1::SyncRun& run);

// The name a record gives its person: display_name, else given_name family_name.
std::string NameOf(const v1::Fragment& f);

}  // namespace tessera::connect
