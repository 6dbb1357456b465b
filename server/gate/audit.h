#pragma once

// The audit log's policy: which calls are recorded and what each record says. The
// directory stores the records (Directory::AppendAudit); this decides and fills them.
// Recorded: every read that returns a profile of an audited kind (customers by
// default), every FindExperts (its text is a customer's message), every Admin call,
// every Watch opened by a caller who may see audited kinds, and every call refused
// for want of a role. Records carry profile ids, never identifiers or request text.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "server/access/access.h"
#include "server/directory/directory.h"
#include "server/gate/call_log.h"

namespace tessera::gate {

// The metadata key (gRPC) or header (HTTP) a caller states the purpose of a call in (kept in the
// audit log), and its size limit.
inline constexpr char kReasonHeader[] = "tessera-reason";
inline constexpr size_t kMaxReasonBytes = 512;

struct AuditOptions {
  bool enabled = true;
  // Reading a profile of one of these kinds is recorded.
  std::vector<std::string> kinds = {"customer"};
};

// Thread-safe; `dir` outlives it.
class Auditor {
 public:
  Auditor(directory::Directory& dir, AuditOptions options, std::function<int64_t()> now_ms)
      : dir_(dir), options_(std::move(options)), now_ms_(std::move(now_ms)) {}

  bool enabled() const { return options_.enabled; }
  const std::vector<std::string>& kinds() const { return options_.kinds; }
  bool Covers(const std::vector<std::string>& kinds) const;
  bool Covers(std::string_view kind) const;
  // Methods recorded on every call: Admin.* and Expertise.FindExperts.
  static bool Always(std::string_view method);

  // A record of this call, without profiles or detail.
  directory::AuditEntry Entry(const Caller& caller, std::string_view method,
                              const access::Principal* who, const absl::Status& outcome) const;
  // Appends the record (counted and timed in the metrics).
  [[nodiscard]] absl::Status Record(directory::AuditEntry entry) const;

 private:
  directory::Directory& dir_;
  const AuditOptions options_;
  std::function<int64_t()> now_ms_;
};

// A record of a call at `time_ms`, without profiles or detail (what Auditor::Entry
// makes; usable without an auditor).
directory::AuditEntry AuditEntryOf(const Caller& caller, std::string_view method,
                                   const access::Principal* who, const absl::Status& outcome,
                                   int64_t time_ms);

}  // namespace tessera::gate
