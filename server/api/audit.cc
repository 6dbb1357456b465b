#include "server/api/audit.h"

#include <algorithm>

namespace tessera::api {

bool Auditor::Covers(std::string_view kind) const {
  return options_.enabled && std::find(options_.kinds.begin(), options_.kinds.end(), kind) != options_.kinds.end();
}

bool Auditor::Covers(const std::vector<std::string>& kinds) const {
  return std::any_of(kinds.begin(), kinds.end(), [this](const std::string& k) { return Covers(k); });
}

bool Auditor::Always(std::string_view method) {
  return method.substr(0, 6) == "Admin." || method == "Expertise.FindExperts";
}

directory::AuditEntry Auditor::Entry(const grpc::ServerContextBase* ctx, std::string_view method,
                                     const access::Principal* who, const absl::Status& outcome) const {
  return AuditEntryOf(ctx, method, who, outcome, now_ms_());
}

directory::AuditEntry AuditEntryOf(const grpc::ServerContextBase* ctx, std::string_view method,
                                   const access::Principal* who, const absl::Status& outcome, int64_t time_ms) {
  directory::AuditEntry e;
  e.time_ms = time_ms;
  if (who != nullptr) e.principal = who->name;
  e.peer = ctx->peer();
  e.method = std::string(method);
  e.outcome = absl::StatusCodeToString(outcome.code());
  e.reason = ReasonOf(ctx);
  return e;
}

std::string ReasonOf(const grpc::ServerContextBase* ctx) {
  const auto& metadata = ctx->client_metadata();
  auto it = metadata.find(kReasonHeader);
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), std::min(it->second.size(), kMaxReasonBytes));
}

}  // namespace tessera::api
