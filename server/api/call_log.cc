#include "server/api/call_log.h"

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

grpc::Status CallLog::Finish(const absl::Status& s) const {
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
