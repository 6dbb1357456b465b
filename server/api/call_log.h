#pragma once

// Ends an RPC: maps the status and writes one log line when the call failed (method,
// code, peer, milliseconds, the message with quoted values masked, so logs carry ids
// and not customer data), and writes the call's audit record when it has one.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "grpcpp/server_context.h"
#include "server/access/access.h"

namespace tessera::api {

class Auditor;

class CallLog {
 public:
  CallLog(std::string_view method, const grpc::ServerContextBase* ctx)
      : method_(method), ctx_(ctx), start_(std::chrono::steady_clock::now()) {}

  // Set by Gate::Admit once the caller is known (null `who`: authentication is off).
  // Finish then writes an audit record when the auditor always audits the method,
  // when Audit was called, or when the call was refused for want of a role.
  void Attach(const Auditor* auditor, const access::Principal* who) {
    auditor_ = auditor;
    who_ = who;
  }
  // The call read these profiles of an audited kind.
  void Audit(std::vector<uint64_t> profiles, std::string detail = {});
  // The handler wrote the call's audit record itself (Erase: in the same write).
  void AuditWritten() { written_ = true; }

  // Ends the call. A successful call whose audit record cannot be written fails with
  // UNAVAILABLE instead: nothing audited is answered unrecorded.
  grpc::Status Finish(const absl::Status& s);

 private:
  std::string_view method_;
  const grpc::ServerContextBase* ctx_;
  std::chrono::steady_clock::time_point start_;
  const Auditor* auditor_ = nullptr;
  const access::Principal* who_ = nullptr;
  bool audit_ = false, written_ = false;
  std::vector<uint64_t> profiles_;
  std::string detail_;
};

// `message` with every '...'-quoted part replaced by '…'.
std::string MaskQuoted(std::string_view message);

}  // namespace tessera::api
