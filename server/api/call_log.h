#pragma once

// Ends an RPC: maps the status and writes one log line when the call failed (method,
// code, peer, milliseconds, the message with quoted values masked, so logs carry ids
// and not customer data).

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "grpcpp/server_context.h"

namespace tessera::api {

class CallLog {
 public:
  CallLog(std::string_view method, const grpc::ServerContextBase* ctx)
      : method_(method), ctx_(ctx), start_(std::chrono::steady_clock::now()) {}
  grpc::Status Finish(const absl::Status& s) const;

 private:
  std::string_view method_;
  const grpc::ServerContextBase* ctx_;
  std::chrono::steady_clock::time_point start_;
};

// `message` with every '...'-quoted part replaced by '…'.
std::string MaskQuoted(std::string_view message);

}  // namespace tessera::api
