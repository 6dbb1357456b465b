#include "server/api/gate.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <string>

#include "server/api/audit.h"

namespace tessera::api {
namespace {

constexpr std::string_view kBearer = "bearer";

// The token of "Bearer <token>": the scheme is case-insensitive (RFC 7235 §2.1), then
// one or more spaces.
std::optional<std::string_view> BearerToken(std::string_view value) {
  if (value.size() <= kBearer.size() || value[kBearer.size()] != ' ') return std::nullopt;
  for (size_t i = 0; i < kBearer.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kBearer[i]) return std::nullopt;
  }
  std::string_view token = value.substr(kBearer.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

}  // namespace

absl::StatusOr<const access::Principal*> Gate::Admit(const grpc::ServerContextBase* ctx, std::string_view method,
                                                     CallLog& log) const {
  const auto& metadata = ctx->client_metadata();
  if (auto it = metadata.find(kReasonHeader); it != metadata.end() && it->second.size() > kMaxReasonBytes) {
    return absl::InvalidArgumentError("the reason (" + std::string(kReasonHeader) + ") is over " +
                                      std::to_string(kMaxReasonBytes) + " bytes");
  }
  const access::Principals* principals = principals_.load(std::memory_order_acquire);
  if (principals == nullptr) {
    log.Attach(auditor_, nullptr);
    return nullptr;
  }
  const access::Principal* who = nullptr;
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    const std::string_view value(it->second.data(), it->second.size());
    const std::optional<std::string_view> token = BearerToken(value);
    if (!token) return absl::UnauthenticatedError("the authorization header must be 'Bearer <token>'");
    absl::StatusOr<const access::Principal*> p = principals->ByToken(*token, now_ms_());
    if (!p.ok()) return p.status();
    who = *p;
  } else if (const std::shared_ptr<const grpc::AuthContext> auth = ctx->auth_context();
             auth != nullptr && auth->IsPeerAuthenticated()) {
    for (const grpc::string_ref& cn : auth->FindPropertyValues("x509_common_name")) {
      who = principals->ByCertificate(std::string_view(cn.data(), cn.size()));
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

void Gate::Replace(std::shared_ptr<const access::Principals> principals) {
  absl::MutexLock l(&replace_mu_);
  principals_.store(principals.get(), std::memory_order_release);
  kept_.push_back(std::move(principals));
}

identity::ProfileFilter Gate::FilterFor(const access::Principal* who, const directory::Directory& dir) const {
  if (who == nullptr || visibility_.SeesAll(*who)) return {};
  uint64_t self = 0;
  if (!who->person.empty() && visibility_.AnyVia()) {
    const size_t colon = who->person.find(':');
    absl::StatusOr<directory::ProfileView> me =
        dir.GetProfile({0, who->person.substr(0, colon), who->person.substr(colon + 1), {}});
    if (me.ok()) self = me->profile.id;  // not (yet) in the directory: no relationships
  }
  return [this, who, self, &dir](uint64_t id, const std::vector<std::string>& kinds) {
    if (visibility_.MaySee(*who, kinds)) return true;
    if (self == 0) return false;
    if (id == self) return true;
    for (const std::string& kind : kinds) {
      const std::vector<std::string>& relations = visibility_.Via(kind);
      if (relations.empty()) continue;
      absl::StatusOr<bool> linked = dir.Linked(id, self, relations);
      if (linked.ok() && *linked) return true;  // an error reads as not visible
    }
    return false;
  };
}

std::function<bool(std::string_view, const std::vector<std::string>&)> Gate::LookUpFor(
    const access::Principal* who) const {
  if (who == nullptr) return {};
  return [this, who](std::string_view type, const std::vector<std::string>& kinds) {
    const std::vector<std::string> withheld = visibility_.Redacted(who, kinds);
    return std::find(withheld.begin(), withheld.end(), type) == withheld.end();
  };
}

namespace {

bool Has(const std::vector<std::string>& fields, const std::string& f) {
  return std::find(fields.begin(), fields.end(), f) != fields.end();
}

// Removes the elements of a repeated field that `drop` selects; true if any.
template <typename Repeated, typename Drop>
bool RemoveIf(Repeated* r, Drop drop) {
  const int before = r->size();
  r->erase(std::remove_if(r->begin(), r->end(), drop), r->end());
  return r->size() != before;
}

}  // namespace

void Redact(const std::vector<std::string>& fields, v1::Profile* p) {
  if (fields.empty()) return;
  std::set<std::string> withheld;
  RemoveIf(p->mutable_attributes(), [&](const v1::ProfileAttribute& a) {
    if (!Has(fields, a.name())) return false;
    withheld.insert(a.name());
    return true;
  });
  RemoveIf(p->mutable_identifiers(), [&](const v1::ProfileIdentifier& i) {
    if (!Has(fields, i.type())) return false;
    withheld.insert(i.type());
    return true;
  });
  for (v1::Conflict& c : *p->mutable_conflicts()) {
    if (Has(fields, c.type())) c.clear_values(), withheld.insert(c.type());
    if (Has(fields, c.via().type())) c.mutable_via()->clear_value(), withheld.insert(c.via().type());
  }
  for (const std::string& f : withheld) p->add_redacted(f);
}

void Redact(const std::vector<std::string>& fields, v1::ProfileSummary* s) {
  if (Has(fields, "email")) s->clear_email();
}

absl::Status MayWrite(const access::Principal* who, std::string_view source) {
  if (who == nullptr || who->Has(access::Role::kAdmin) || who->MayWrite(source)) return absl::OkStatus();
  return absl::PermissionDeniedError("'" + who->name + "' is not bound to source '" + std::string(source) + "'");
}

}  // namespace tessera::api
