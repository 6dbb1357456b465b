#pragma once

// Admits each call, gRPC or HTTP alike (server/access): who is calling, from a bearer
// token ("Authorization: Bearer …") or else the mutual-TLS client certificate's common
// name, and whether one of their roles may call the method. Every handler asks right
// after starting its CallLog, which Admit attaches the auditor and the caller to
// (audit.h). Health checking is not a Tessera service and stays open. Nothing here
// knows a transport: each fills a `Caller` (call_log.h) from its own request.

#include <atomic>
#include <functional>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/access/access.h"
#include "server/directory/directory.h"
#include "server/gate/audit.h"
#include "server/gate/call_log.h"

namespace tessera::gate {

// Thread-safe.
class Gate {
 public:
  // `principals` null: authentication is off and every call is admitted.
  // `auditor` may be null (nothing is audited); it outlives the gate.
  Gate(std::shared_ptr<const access::Principals> principals, std::function<int64_t()> now_ms,
       access::Visibility visibility = access::Visibility::Default(),
       const Auditor* auditor = nullptr)
      : now_ms_(std::move(now_ms)), visibility_(std::move(visibility)), auditor_(auditor) {
    if (principals != nullptr) Replace(std::move(principals));
  }

  bool enabled() const { return principals_.load() != nullptr; }
  // Swaps in a new set of principals (tesserad reloads its file on SIGHUP: revoked
  // tokens stop working at once). Calls in flight keep the principal they were
  // admitted as: replaced sets stay alive until the gate goes (a few per reload).
  // Only for a gate created with principals.
  void Replace(std::shared_ptr<const access::Principals> principals);
  const Auditor* auditor() const { return auditor_; }
  const access::Visibility& visibility() const { return visibility_; }
  // The profile filter for `who` (empty: sees every profile; also when `who` is null):
  // kinds its roles see, and profiles linked to its person by the kind's relations
  // (checked in `dir`, which outlives the filter).
  identity::ProfileFilter FilterFor(const access::Principal* who,
                                    const directory::Directory& dir) const;
  // For ProfileRef::may_look_up: not by an identifier type withheld from `who`
  // (empty when nothing is withheld from it).
  std::function<bool(std::string_view, const std::vector<std::string>&)> LookUpFor(
      const access::Principal* who) const;
  // The sensitive fields `who` must not see on a profile of these kinds.
  std::vector<std::string> RedactedFor(const access::Principal* who,
                                       const std::vector<std::string>& kinds) const {
    return visibility_.Redacted(who, kinds);
  }

  // The caller of `log` (nullptr when authentication is off) admitted to its method
  // ("Directory.GetProfile"): UNAUTHENTICATED without valid credentials,
  // PERMISSION_DENIED naming the roles the method needs; INVALID_ARGUMENT for a
  // reason (kReasonHeader) over kMaxReasonBytes. Attaches the caller to `log`.
  // Then, when the gate knows the directory (SetDirectory): a call naming a
  // min_position waits until the replica applied it (FAILED_PRECONDITION after
  // `max_wait`, INVALID_ARGUMENT when it is no number); a read naming none is refused
  // (UNAVAILABLE) while the replica lags beyond its bound.
  absl::StatusOr<const access::Principal*> Admit(CallLog& log) const;
  // Whose replication state Admit checks (null: none); `dir` outlives the gate.
  void SetDirectory(const directory::Directory* dir, absl::Duration max_wait) {
    dir_ = dir;
    max_position_wait_ = max_wait;
  }

 private:
  [[nodiscard]] absl::Status CheckPosition(const CallLog& log) const;

  std::atomic<const access::Principals*> principals_{nullptr};
  absl::Mutex replace_mu_;
  std::vector<std::shared_ptr<const access::Principals>> kept_ ABSL_GUARDED_BY(replace_mu_);
  std::function<int64_t()> now_ms_;
  access::Visibility visibility_;
  const Auditor* auditor_;
  const directory::Directory* dir_ = nullptr;
  absl::Duration max_position_wait_ = absl::Seconds(10);
};

// For calls a connector makes on its own sources: PERMISSION_DENIED unless `who` is
// null (authentication off), an admin, or a connector bound to `source`.
[[nodiscard]] absl::Status MayWrite(const access::Principal* who, std::string_view source);

}  // namespace tessera::gate
