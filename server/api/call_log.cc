#include "server/api/call_log.h"

#include "server/api/audit.h"
#include "server/api/status.h"
#include "spdlog/spdlog.h"

namespace tessera::api {

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

grpc::Status CallLog::Finish(const absl::Status& status) {
  absl::Status s = status;
  const bool denied = s.code() == absl::StatusCode::kPermissionDenied;
  if (auditor_ != nullptr && auditor_->enabled() && !written_ && (audit_ || denied || Auditor::Always(method_))) {
    directory::AuditEntry e = auditor_->Entry(ctx_, method_, who_, s);
    e.profiles = std::move(profiles_);
    e.detail = std::move(detail_);
    if (absl::Status a = auditor_->Record(std::move(e)); !a.ok()) {
      spdlog::error("audit log: cannot record {}: {}", method_, std::string(a.message()));
      if (s.ok()) s = absl::UnavailableError("the audit log cannot be written; the call was not answered");
    }
  }
  if (!s.ok()) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start_)
                        .count();
    spdlog::warn("rpc {} failed: code={} peer={} ms={} error={}", method_,
                 absl::StatusCodeToString(s.code()), ctx_ != nullptr ? ctx_->peer() : "-", ms,
                 MaskQuoted(std::string(s.message())));
  }
  return ToGrpcStatus(s);
}

}  // namespace tessera::api
