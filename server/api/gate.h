#pragma once

// The gRPC side of the gate (server/gate): the `Caller` of a gRPC call from its
// metadata and TLS peer, a CallLog that ends in a grpc::Status, and the redaction of
// protobuf profiles. Deciding who may do what happens in server/gate, for gRPC and
// HTTP alike.

#include <string_view>
#include <vector>

#include "grpcpp/server_context.h"
#include "server/api/status.h"
#include "server/gate/audit.h"
#include "server/gate/call_log.h"
#include "server/gate/gate.h"
#include "tessera/v1/types.pb.h"

namespace tessera::api {

using gate::AuditOptions;
using gate::Auditor;
using gate::Gate;
using gate::kMaxReasonBytes;
using gate::kReasonHeader;
using gate::MaskQuoted;
using gate::MayWrite;

// What gRPC tells of the caller: the peer, the authorization and reason metadata, and
// the common names of a client certificate gRPC verified.
gate::Caller CallerOf(const grpc::ServerContextBase* ctx);

// A gate::CallLog for a gRPC call.
class CallLog : public gate::CallLog {
 public:
  CallLog(std::string_view method, const grpc::ServerContextBase* ctx)
      : gate::CallLog(method, CallerOf(ctx)) {}
  grpc::Status Finish(const absl::Status& s) { return ToGrpcStatus(gate::CallLog::Finish(s)); }
};

// One call of `method` by `caller`, whatever the transport: the gate admits the
// caller, `work(who, log)` runs (who is null when authentication is off), and the
// log finishes it (audit record, metrics, log line). gRPC handlers and the JSON API
// (json_api.h) both answer through it.
template <typename Work>
[[nodiscard]] absl::Status RunCall(const Gate& gate, std::string_view method, gate::Caller caller,
                                   Work work) {
  gate::CallLog log(method, std::move(caller));
  absl::StatusOr<const access::Principal*> who = gate.Admit(log);
  return log.Finish(who.ok() ? work(*who, log) : who.status());
}

// Withholds `fields` (attribute names, identifier types) from a profile and lists them
// in its `redacted`; from a summary, the e-mail when "email" is one of them.
void Redact(const std::vector<std::string>& fields, v1::Profile* p);
void Redact(const std::vector<std::string>& fields, v1::ProfileSummary* s);

}  // namespace tessera::api
