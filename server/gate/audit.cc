#include "server/gate/audit.h"

#include <algorithm>
#include <chrono>

#include "server/metrics/metrics.h"

namespace tessera::gate {

bool Auditor::Covers(std::string_view kind) const {
  return options_.enabled &&
         std::find(options_.kinds.begin(), options_.kinds.end(), kind) != options_.kinds.end();
}

bool Auditor::Covers(const std::vector<std::string>& kinds) const {
  return std::any_of(kinds.begin(), kinds.end(),
                     [this](const std::string& k) { return Covers(k); });
}

bool Auditor::Always(std::string_view method) {
  return method.substr(0, 6) == "Admin." || method == "Expertise.FindExperts";
}

directory::AuditEntry Auditor::Entry(const Caller& caller, std::string_view method,
                                     const access::Principal* who,
                                     const absl::Status& outcome) const {
  return AuditEntryOf(caller, method, who, outcome, now_ms_());
}

absl::Status Auditor::Record(directory::AuditEntry entry) const {
  const auto start = std::chrono::steady_clock::now();
  absl::Status s = dir_.AppendAudit(std::move(entry));
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  metrics::Global().ObserveAudit(s.ok(), elapsed.count());
  return s;
}

directory::AuditEntry AuditEntryOf(const Caller& caller, std::string_view method,
                                   const access::Principal* who, const absl::Status& outcome,
                                   int64_t time_ms) {
  directory::AuditEntry e;
  e.time_ms = time_ms;
  if (who != nullptr) e.principal = who->name;
  e.peer = caller.peer;
  e.method = std::string(method);
  e.outcome = absl::StatusCodeToString(outcome.code());
  if (caller.reason) e.reason = caller.reason->substr(0, kMaxReasonBytes);
  return e;
}

}  // namespace tessera::gate
