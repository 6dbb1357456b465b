#include "server/api/gate.h"

#include <string>

#include "server/api/audit.h"

namespace tessera::api {
namespace {

constexpr std::string_view kBearer = "Bearer ";

}  // namespace

absl::StatusOr<const access::Principal*> Gate::Admit(const grpc::ServerContextBase* ctx, std::string_view method,
                                                     CallLog& log) const {
  const auto& metadata = ctx->client_metadata();
  if (auto it = metadata.find(kReasonHeader); it != metadata.end() && it->second.size() > kMaxReasonBytes) {
    return absl::InvalidArgumentError("the reason (" + std::string(kReasonHeader) + ") is over " +
                                      std::to_string(kMaxReasonBytes) + " bytes");
  }
  if (principals_ == nullptr) {
    log.Attach(auditor_, nullptr);
    return nullptr;
  }
  const access::Principal* who = nullptr;
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    const std::string_view value(it->second.data(), it->second.size());
    if (value.substr(0, kBearer.size()) != kBearer) {
      return absl::UnauthenticatedError("the authorization header must be 'Bearer <token>'");
    }
    absl::StatusOr<const access::Principal*> p = principals_->ByToken(value.substr(kBearer.size()), now_ms_());
    if (!p.ok()) return p.status();
    who = *p;
  } else if (const std::shared_ptr<const grpc::AuthContext> auth = ctx->auth_context();
             auth != nullptr && auth->IsPeerAuthenticated()) {
    for (const grpc::string_ref& cn : auth->FindPropertyValues("x509_common_name")) {
      who = principals_->ByCertificate(std::string_view(cn.data(), cn.size()));
      if (who != nullptr) break;
    }
    if (who == nullptr) return absl::UnauthenticatedError("the client certificate is not in the principals file");
  } else {
    return absl::UnauthenticatedError("credentials required: a bearer token or a client certificate");
  }
  log.Attach(auditor_, who);
  const uint32_t allowed = access::RolesFor(method);
  if ((who->roles & allowed) == 0) {
    return absl::PermissionDeniedError(std::string(method) + " needs the role " + access::DescribeRoles(allowed) +
                                       "; '" + who->name + "' has " + access::DescribeRoles(who->roles));
  }
  return who;
}

std::function<bool(const std::vector<std::string>&)> Gate::FilterFor(const access::Principal* who) const {
  if (who == nullptr || visibility_.SeesAll(*who)) return {};
  return [this, who](const std::vector<std::string>& kinds) { return visibility_.MaySee(*who, kinds); };
}

absl::Status MayWrite(const access::Principal* who, std::string_view source) {
  if (who == nullptr || who->Has(access::Role::kAdmin) || who->MayWrite(source)) return absl::OkStatus();
  return absl::PermissionDeniedError("'" + who->name + "' is not bound to source '" + std::string(source) + "'");
}

}  // namespace tessera::api
