#pragma once

// A replica: a Directory whose writes go through the replicated log. Every call that
// changes the database is published as a command (command.h) and returns once this
// replica's applier has applied it from the log, with that apply's result; every
// replica, this one included, applies the log in order through its local Directory,
// recording each position in the same atomic write as the command's effects. Reads
// are the local directory's, on what has been applied so far.
//
// The applier trusts no position: a message whose position is not the last applied
// + 1 (a gap the log hid, or its retention dropped), a command that does not decode
// or a store error while applying stops it. The replica then serves no reads (its
// data would diverge from its peers') until an operator restarts it, restored from
// a backup when the log no longer holds what it needs (replica/README.md).

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/directory/directory.h"
#include "server/replica/log.h"

namespace tessera::replica {

struct ReplicaOptions {
  std::string node = "tesserad";  // this replica's name, in logs and status
  // A write waits this long for its command to be applied here after the log took
  // it; then DEADLINE_EXCEEDED with the position (it will still be applied).
  absl::Duration apply_wait = absl::Seconds(60);
  // Reads are refused (UNAVAILABLE) while this replica is further behind the log than
  // this many positions, unless the call names a min_position; 0: never refused.
  uint64_t max_read_lag = 0;
  // Ingest batches whose command is over the log's max_payload are sent as several
  // commands: each fragment is validated first with these (the directory's own), so
  // a batch with an invalid fragment is refused whole, as in plain mode.
  identity::Limits limits;
  identity::NormaliseOptions normalise;
  // Audit records that cannot be published while the log is unreachable are kept in
  // this folder (one fsynced file per group) and published once it is reachable
  // again, so audited reads go on; empty: such reads fail ("the audit log cannot be
  // written"). tesserad uses <db>/replica-audit-spool.
  std::string audit_spool;
  // Told about stops, restarts of the reader and catching up; may be empty.
  std::function<void(const std::string&)> notice;
};

// Opens the replica over `local` (the database as it was left: its recorded position
// says where to resume) and starts applying the log. Thread-safe, as Directory.
absl::StatusOr<std::unique_ptr<directory::Directory>> OpenReplica(
    std::unique_ptr<directory::Directory> local, std::unique_ptr<Log> log,
    const ReplicaOptions& options);

}  // namespace tessera::replica
