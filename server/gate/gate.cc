#include "server/gate/gate.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <optional>
#include <set>
#include <string>

#include "absl/strings/numbers.h"

namespace tessera::gate {
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

absl::StatusOr<const access::Principal*> Gate::Admit(CallLog& log) const {
  const Caller& caller = log.caller();
  if (caller.reason && caller.reason->size() > kMaxReasonBytes) {
    return absl::InvalidArgumentError("the reason (" + std::string(kReasonHeader) + ") is over " +
                                      std::to_string(kMaxReasonBytes) + " bytes");
  }
  const access::Principals* principals = principals_.load(std::memory_order_acquire);
  if (principals == nullptr) {
    log.Attach(auditor_, nullptr);
    if (absl::Status s = CheckPosition(log); !s.ok()) return s;
    return nullptr;
  }
  const access::Principal* who = nullptr;
  if (caller.authorization) {
    const std::optional<std::string_view> token = BearerToken(*caller.authorization);
    if (!token)
      return absl::UnauthenticatedError("the authorization header must be 'Bearer <token>'");
    absl::StatusOr<const access::Principal*> p = principals->ByToken(*token, now_ms_());
    if (!p.ok()) return p.status();
    who = *p;
  } else if (!caller.certificate_names.empty()) {
    for (const std::string& cn : caller.certificate_names) {
      who = principals->ByCertificate(cn);
      if (who != nullptr) break;
    }
    if (who == nullptr)
      return absl::UnauthenticatedError("the client certificate is not in the principals file");
  } else {
    return absl::UnauthenticatedError(
        "credentials required: a bearer token or a client certificate");
  }
  log.Attach(auditor_, who);
  const std::string_view method = log.method();
  const uint32_t allowed = access::RolesFor(method);
  if ((who->roles & allowed) == 0) {
    return absl::PermissionDeniedError(std::string(method) + " needs the role " +
                                       access::DescribeRoles(allowed) + "; '" + who->name +
                                       "' has " + access::DescribeRoles(who->roles));
  }
  if (absl::Status s = CheckPosition(log); !s.ok()) return s;
  return who;
}

absl::Status Gate::CheckPosition(const CallLog& log) const {
  if (dir_ == nullptr) return absl::OkStatus();
  const Caller& caller = log.caller();
  if (caller.min_position) {
    uint64_t position = 0;
    if (!absl::SimpleAtoi(*caller.min_position, &position)) {
      return absl::InvalidArgumentError(std::string(kMinPositionHeader) +
                                        " must be a log position (a decimal number), not '" +
                                        caller.min_position->substr(0, 32) + "'");
    }
    return dir_->AwaitPosition(position, max_position_wait_);
  }
  static constexpr std::string_view kReads[] = {
      "Directory.GetProfile", "Directory.SearchPeople",    "Directory.Neighbors",
      "Directory.Watch",      "Directory.CustomerHistory", "Expertise.FindExperts"};
  if (std::find(std::begin(kReads), std::end(kReads), log.method()) == std::end(kReads)) {
    return absl::OkStatus();
  }
  const directory::ReplicaStatus r = dir_->Replication();
  if (r.lagging) {
    return absl::UnavailableError(
        "replica " + r.node + " is " + std::to_string(r.lag) +
        " positions behind the replicated log, over its bound: read from another replica, or "
        "send " +
        std::string(kMinPositionHeader) + " to accept what this one has applied");
  }
  return absl::OkStatus();
}

void Gate::Replace(std::shared_ptr<const access::Principals> principals) {
  absl::MutexLock l(&replace_mu_);
  principals_.store(principals.get(), std::memory_order_release);
  kept_.push_back(std::move(principals));
}

identity::ProfileFilter Gate::FilterFor(const access::Principal* who,
                                        const directory::Directory& dir) const {
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

absl::Status MayWrite(const access::Principal* who, std::string_view source) {
  if (who == nullptr || who->Has(access::Role::kAdmin) || who->MayWrite(source))
    return absl::OkStatus();
  return absl::PermissionDeniedError("'" + who->name + "' is not bound to source '" +
                                     std::string(source) + "'");
}

}  // namespace tessera::gate
