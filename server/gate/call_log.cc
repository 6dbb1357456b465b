#include "server/gate/call_log.h"

#include "server/gate/audit.h"
#include "server/metrics/metrics.h"
#include "spdlog/spdlog.h"

namespace tessera::gate {

std::string MaskQuoted(std::string_view message) {
  std::string out;
  bool quoted = false;
  for (char c : message) {
    if (c == '\'') {
      out += quoted ? "…'" : "'";
      quoted = !quoted;
    } else if (!quoted) {
      out.push_back(c);
    }
  }
  if (quoted) out += "…";
  return out;
}

void CallLog::Audit(std::vector<uint64_t> profiles, std::string detail) {
  audit_ = true;
  profiles_ = std::move(profiles);
  detail_ = std::move(detail);
}

absl::Status CallLog::Finish(const absl::Status& status) {
  absl::Status s = status;
  const bool denied = s.code() == absl::StatusCode::kPermissionDenied;
  if (auditor_ != nullptr && auditor_->enabled() && !written_ &&
      (audit_ || denied || Auditor::Always(method_))) {
    directory::AuditEntry e = auditor_->Entry(caller_, method_, who_, s);
    e.profiles = std::move(profiles_);
    e.detail = std::move(detail_);
    if (absl::Status a = auditor_->Record(std::move(e)); !a.ok()) {
      spdlog::error("audit log: cannot record {}: {}", method_, std::string(a.message()));
      if (s.ok())
        s = absl::UnavailableError("the audit log cannot be written; the call was not answered");
    }
  }
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
  metrics::Global().ObserveCall(caller_.transport, method_, s.code(), elapsed.count());
  if (!s.ok()) {
    spdlog::warn("{} {} failed: code={} peer={} ms={} error={}", caller_.transport, method_,
                 absl::StatusCodeToString(s.code()), caller_.peer.empty() ? "-" : caller_.peer,
                 static_cast<int64_t>(elapsed.count() * 1000),
                 MaskQuoted(std::string(s.message())));
  }
  return s;
}

}  // namespace tessera::gate
