#pragma once

// Commands: every call that changes the database, as bytes in the replicated log. A
// replica applies the commands in log order through the same Directory calls plain
// mode makes, so the same log gives the same database everywhere. A command carries
// everything its apply needs (times included): nothing in apply reads the clock.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "server/directory/directory.h"

namespace tessera::replica {

enum class CommandType : uint8_t {
  kIngest = 1,
  kIngestWith,
  kPutSource,
  kReportSync,
  kMerge,
  kSplit,
  kDeleteRule,
  kRecordOutcome,
  kErase,
  kTrimAudit,
  kAudit,  // audit records of reads and calls made on some replica
};

// "Ingest", "Erase", ...: for logs and metrics.
std::string_view CommandName(CommandType type);

// One command; only the fields of its type are set.
struct Command {
  CommandType type = CommandType::kIngest;
  std::string origin;   // the replica that published it
  uint64_t serial = 0;  // its count there, from 1 at every start (with origin: the id)
  // Ingest, IngestWith; time for Merge, Split and TrimAudit (before_ms) too.
  std::vector<identity::Fragment> fragments;
  int64_t time_ms = 0;
  std::vector<directory::SideWrite> side;
  // PutSource; ReportSync names its source in source.id.
  identity::Source source;
  bool priority_if_new = false;
  directory::SyncRun run;
  // Merge (ids), Split (id, fragment names), DeleteRule (id), Erase (id): profiles.
  std::vector<uint64_t> ids;
  std::vector<directory::FragmentName> names;
  std::string reason;
  directory::CaseOutcome outcome;
  // Erase's record; kAudit's records.
  std::vector<directory::AuditEntry> audit;
};

std::string EncodeCommand(const Command& c);
// DATA_LOSS for bytes EncodeCommand did not write (or a newer version's).
[[nodiscard]] absl::Status DecodeCommand(std::string_view data, Command* c);

}  // namespace tessera::replica
