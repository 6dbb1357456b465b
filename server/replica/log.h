#pragma once

// The replicated log: a NATS JetStream stream (nats-server's Raft keeps its copies),
// reached with the NATS C client. Writers publish synchronously, one message at a
// time per call, with a message id the stream de-duplicates retries by; every replica
// reads it with an ordered consumer from its own position. Nothing here knows what a
// message means (command.h does).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tessera::replica {

struct LogOptions {
  std::vector<std::string> servers;  // "nats://127.0.0.1:4222", ...
  std::string stream = "tessera";    // subjects "<stream>.cmd" and "<stream>.audit"
  // When this server creates the stream: its copies (0: as many servers as given, at
  // most 3), how long and how much it keeps (0: no limit), and the window within
  // which a message id is published at most once.
  int replicas = 0;
  absl::Duration max_age = absl::ZeroDuration();
  int64_t max_bytes = 0;
  absl::Duration duplicate_window = absl::Minutes(2);
  // A publish retries a timeout or "no responders" (a stream leader election) until
  // this much time has passed, then fails with UNAVAILABLE.
  absl::Duration publish_timeout = absl::Seconds(20);
  std::string name = "tesserad";  // the client name nats-server shows
  // Authentication to the NATS servers, at most one: a token, or a NATS credentials
  // file (.creds: the user's JWT and NKey seed, NATS' decentralised authentication).
  std::string token;
  std::string credentials_file;
  // TLS to the servers (tls:// URLs, or servers that require it): the CA that signed
  // their certificates, and this client's certificate and key when they verify clients.
  std::string tls_ca_file, tls_cert_file, tls_key_file;
};

struct LogMessage {
  uint64_t position = 0;  // the stream sequence
  std::string subject;
  std::string data;
};

struct LogBounds {
  uint64_t first = 0, last = 0;  // the stream's first and last sequence (0, 0: empty)
};

// Thread-safe.
class Log {
 public:
  // Connects (in the background when no server answers yet: the client keeps trying)
  // and checks `options`. INVALID_ARGUMENT for no server or a malformed URL.
  static absl::StatusOr<std::unique_ptr<Log>> Open(const LogOptions& options);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Creates the stream unless it exists. UNAVAILABLE when NATS cannot say.
  [[nodiscard]] absl::Status EnsureStream();
  // Publishes `data` on "<stream>.<kind>" under `msg_id` and returns its position (the
  // first one's, when the stream had it already). UNAVAILABLE, naming the servers,
  // when not connected or no stream leader answers within publish_timeout;
  // INVALID_ARGUMENT when the message is over the server's max_payload.
  absl::StatusOr<uint64_t> Publish(std::string_view kind, std::string_view data,
                                   const std::string& msg_id);
  // The stream's first and last positions. UNAVAILABLE when NATS cannot say.
  absl::StatusOr<LogBounds> Bounds();
  // Whether the client is connected to a server now.
  bool Connected() const;
  // The largest message the servers take (max_payload), headers' room left out; 1 MiB
  // (the servers' default) before the first connection says.
  size_t MaxMessageBytes() const;
  const LogOptions& options() const { return options_; }

  // An ordered consumer from position `from`: messages in stream order, each once.
  class Reader {
   public:
    virtual ~Reader() = default;
    // The next message, or none when `timeout` passes first. UNAVAILABLE when the
    // subscription broke (read again from the last position).
    virtual absl::StatusOr<std::optional<LogMessage>> Next(absl::Duration timeout) = 0;
  };
  absl::StatusOr<std::unique_ptr<Reader>> Read(uint64_t from);

 private:
  struct Nats;
  explicit Log(LogOptions options);
  // "; last error: ..." from the connection (e.g. an authorization violation), or "".
  std::string LastError() const;

  LogOptions options_;
  std::unique_ptr<Nats> nats_;
  std::string first_error_;  // why the first connection failed, if it did
};

}  // namespace tessera::replica
