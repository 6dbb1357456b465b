#pragma once

// One call, whatever carried it (gRPC or HTTP): who sent it (`Caller`, filled by the
// transport), and how it ends (`CallLog`). Finish counts the call in the metrics,
// writes one log line when it failed (method, code, peer, milliseconds, the message
// with quoted values masked, so logs carry ids and not customer data), and writes its
// audit record when it has one. The transports map the returned status to their own.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "server/access/access.h"

namespace tessera::gate {

class Auditor;

// What a transport knows of the caller, before the gate decides who it is.
struct Caller {
  std::string transport;  // "grpc" or "http"
  std::string peer;       // "ipv4:127.0.0.1:51234"
  // The Authorization header (gRPC metadata or HTTP header) when one was sent.
  std::optional<std::string> authorization;
  // Common names of a client certificate the TLS layer verified (empty: none).
  std::vector<std::string> certificate_names;
  // The reason the caller gave (kReasonHeader), as sent; the gate checks its size.
  std::optional<std::string> reason;
  // Replicated mode: the log position the caller needs this replica to have applied
  // (kMinPositionHeader), as sent; the gate parses it.
  std::optional<std::string> min_position;
};

// The header (gRPC metadata or HTTP) naming a read's min_position, and the one the
// answer carries with this replica's position (a write's: at least its own).
inline constexpr char kMinPositionHeader[] = "tessera-min-position";
inline constexpr char kPositionHeader[] = "tessera-position";

class CallLog {
 public:
  CallLog(std::string_view method, Caller caller)
      : method_(method), caller_(std::move(caller)), start_(std::chrono::steady_clock::now()) {}

  std::string_view method() const { return method_; }
  const Caller& caller() const { return caller_; }

  // Set by Gate::Admit once the caller is known (null `who`: authentication is off).
  // Finish then writes an audit record when the auditor always audits the method,
  // when Audit was called, or when the call was refused (PERMISSION_DENIED: a role,
  // a source binding, an erased person).
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
  [[nodiscard]] absl::Status Finish(const absl::Status& s);

 private:
  std::string_view method_;
  Caller caller_;
  std::chrono::steady_clock::time_point start_;
  const Auditor* auditor_ = nullptr;
  const access::Principal* who_ = nullptr;
  bool audit_ = false, written_ = false;
  std::vector<uint64_t> profiles_;
  std::string detail_;
};

// `message` with every '...'-quoted part replaced by '…'.
std::string MaskQuoted(std::string_view message);

}  // namespace tessera::gate
