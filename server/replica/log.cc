// Replica: the replicated log on NATS JetStream (log.h), with the NATS C client.
//
// What this relies on, measured on nats-server 2.9 (the notes): a synchronous
// publish keeps one writer's order (an asynchronous one re-orders retries); a retry
// under the same Nats-Msg-Id is stored once within the duplicate window; an ordered
// consumer started at a stream sequence delivers from there with no gap and no
// duplicate across server restarts. What it does not rely on: that the stream still
// holds every sequence (the applier checks each position itself, replicated.cc).

#include "server/replica/log.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "absl/strings/str_join.h"
#include "nats/nats.h"

namespace tessera::replica {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string NatsError(natsStatus s) {
  const char* last = nats_GetLastError(nullptr);
  std::string out = natsStatus_GetText(s);
  if (last != nullptr && *last != '\0' && out != last) out += std::string(" (") + last + ")";
  return out;
}

// Subscriptions buffer at most this much before the client calls the reader slow.
constexpr int kPendingMessages = 1 << 20;
constexpr int kPendingBytes = 1 << 30;
// How long the client may be disconnected before a publish stops waiting for it.
constexpr int64_t kDisconnectedFailMs = 2000;

}  // namespace

struct Log::Nats {
  natsOptions* opts = nullptr;
  natsConnection* conn = nullptr;
  jsCtx* js = nullptr;
  // Steady-clock ms since which the client has been disconnected; 0 while connected.
  std::atomic<int64_t> disconnected_since{0};
  // Set by the client's last callback for the connection (Closed).
  std::atomic<bool> closed{false};

  ~Nats() {
    if (js != nullptr) jsCtx_Destroy(js);
    if (conn != nullptr) {
      // The client calls back on its own thread, in order, and closing calls
      // Disconnected then Closed with this object: wait for Closed before freeing it
      // (bounded, should the client never call it).
      natsConnection_Close(conn);
      for (int i = 0; i < 5000 && !closed.load(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      natsConnection_Destroy(conn);
    }
    if (opts != nullptr) natsOptions_Destroy(opts);
  }
  static void Disconnected(natsConnection*, void* self) {
    static_cast<Nats*>(self)->disconnected_since = NowMs();
  }
  static void Reconnected(natsConnection*, void* self) {
    static_cast<Nats*>(self)->disconnected_since = 0;
  }
  static void Closed(natsConnection*, void* self) { static_cast<Nats*>(self)->closed = true; }
};

Log::Log(LogOptions options) : options_(std::move(options)), nats_(std::make_unique<Nats>()) {}

Log::~Log() = default;

absl::StatusOr<std::unique_ptr<Log>> Log::Open(const LogOptions& options) {
  if (options.servers.empty()) return absl::InvalidArgumentError("replication: no NATS server");
  for (const std::string& url : options.servers) {
    if (url.rfind("nats://", 0) != 0 && url.rfind("tls://", 0) != 0) {
      return absl::InvalidArgumentError("replication: '" + url +
                                        "' is no NATS URL (nats://host:port or tls://host:port)");
    }
  }
  if (options.stream.empty() || options.stream.size() > 64 ||
      options.stream.find_first_of(". *>\t") != std::string::npos) {
    return absl::InvalidArgumentError("replication: stream name '" + options.stream +
                                      "' must be 1..64 characters without '.', '*', '>' or space");
  }
  std::unique_ptr<Log> log(new Log(options));
  Nats& n = *log->nats_;
  std::vector<const char*> urls;
  for (const std::string& url : options.servers) urls.push_back(url.c_str());
  natsStatus s = natsOptions_Create(&n.opts);
  if (s == NATS_OK) s = natsOptions_SetServers(n.opts, urls.data(), static_cast<int>(urls.size()));
  if (s == NATS_OK) s = natsOptions_SetName(n.opts, options.name.c_str());
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(n.opts, -1);  // forever
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(n.opts, 250);
  if (s == NATS_OK) s = natsOptions_SetTimeout(n.opts, 2000);
  // No buffering while reconnecting: a publish then fails at once and is retried (or
  // refused) here, rather than sent later behind the caller's back.
  if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(n.opts, 1);
  if (s == NATS_OK) s = natsOptions_SetPingInterval(n.opts, 2000);
  if (s == NATS_OK && !options.token.empty())
    s = natsOptions_SetToken(n.opts, options.token.c_str());
  if (s == NATS_OK && !options.credentials_file.empty()) {
    s = natsOptions_SetUserCredentialsFromFiles(n.opts, options.credentials_file.c_str(), nullptr);
  }
  const bool tls = !options.tls_ca_file.empty() ||
                   std::any_of(options.servers.begin(), options.servers.end(),
                               [](const std::string& u) { return u.rfind("tls://", 0) == 0; });
  if (s == NATS_OK && tls) s = natsOptions_SetSecure(n.opts, true);
  if (s == NATS_OK && !options.tls_ca_file.empty()) {
    s = natsOptions_LoadCATrustedCertificates(n.opts, options.tls_ca_file.c_str());
  }
  if (s == NATS_OK && !options.tls_cert_file.empty()) {
    s = natsOptions_LoadCertificatesChain(n.opts, options.tls_cert_file.c_str(),
                                          options.tls_key_file.c_str());
  }
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(n.opts, &Nats::Disconnected, &n);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(n.opts, &Nats::Reconnected, &n);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(n.opts, &Nats::Closed, &n);
  if (s != NATS_OK) {
    return absl::InvalidArgumentError("replication: NATS options (credentials or TLS files): " +
                                      NatsError(s));
  }
  // One attempt first, to learn why no server takes us (an authorization violation
  // is worth saying in every refused write); then the client keeps trying in the
  // background, so that tesserad serves reads while NATS is away.
  s = natsConnection_Connect(&n.conn, n.opts);
  if (s != NATS_OK) {
    log->first_error_ = NatsError(s);
    s = natsOptions_SetRetryOnFailedConnect(n.opts, true, &Nats::Reconnected, &n);
    if (s == NATS_OK) s = natsConnection_Connect(&n.conn, n.opts);
  }
  if (s == NATS_NOT_YET_CONNECTED) {
    n.disconnected_since = NowMs();
  } else if (s != NATS_OK) {
    return absl::UnavailableError("replication: cannot connect to " +
                                  absl::StrJoin(options.servers, ",") + ": " + NatsError(s));
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 5000;
  if (natsStatus js = natsConnection_JetStream(&n.js, n.conn, &jo); js != NATS_OK)
    return absl::InternalError("replication: JetStream context: " + NatsError(js));
  return log;
}

std::string Log::LastError() const {
  const char* text = nullptr;
  std::string out;
  if (nats_->conn != nullptr && natsConnection_GetLastError(nats_->conn, &text) != NATS_OK &&
      text != nullptr && *text != '\0') {
    out = std::string("; last error: ") + text;
  }
  if (!first_error_.empty()) out += "; at start: " + first_error_;
  return out;
}

bool Log::Connected() const {
  return nats_->conn != nullptr && natsConnection_Status(nats_->conn) == NATS_CONN_STATUS_CONNECTED;
}

size_t Log::MaxMessageBytes() const {
  const int64_t max = nats_->conn != nullptr ? natsConnection_GetMaxPayload(nats_->conn) : 0;
  constexpr int64_t kHeaders = 1024;  // Nats-Msg-Id and the JetStream headers
  return static_cast<size_t>(std::max<int64_t>(max > 0 ? max : 1 << 20, 2 * kHeaders) - kHeaders);
}

absl::Status Log::EnsureStream() {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, nats_->js, options_.stream.c_str(), nullptr, &jerr);
  if (s == NATS_OK) {
    jsStreamInfo_Destroy(si);
    return absl::OkStatus();
  }
  if (s != NATS_NOT_FOUND) {
    return absl::UnavailableError("replication: cannot look up stream '" + options_.stream +
                                  "' on " + absl::StrJoin(options_.servers, ",") + ": " +
                                  NatsError(s));
  }
  const std::string subjects = options_.stream + ".>";
  const char* subject_list[] = {subjects.c_str()};
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = options_.stream.c_str();
  cfg.Subjects = subject_list;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.Replicas = options_.replicas > 0
                     ? options_.replicas
                     : std::min<int64_t>(3, static_cast<int64_t>(options_.servers.size()));
  cfg.MaxAge = absl::ToInt64Nanoseconds(options_.max_age);
  cfg.MaxBytes = options_.max_bytes > 0 ? options_.max_bytes : -1;
  cfg.Duplicates = absl::ToInt64Nanoseconds(options_.duplicate_window);
  s = js_AddStream(&si, nats_->js, &cfg, nullptr, &jerr);
  if (s == NATS_OK) {
    jsStreamInfo_Destroy(si);
    return absl::OkStatus();
  }
  // Another replica may have created it meanwhile.
  if (js_GetStreamInfo(&si, nats_->js, options_.stream.c_str(), nullptr, &jerr) == NATS_OK) {
    jsStreamInfo_Destroy(si);
    return absl::OkStatus();
  }
  return absl::UnavailableError("replication: cannot create stream '" + options_.stream + "' (" +
                                std::to_string(cfg.Replicas) + " replicas): " + NatsError(s));
}

absl::StatusOr<uint64_t> Log::Publish(std::string_view kind, std::string_view data,
                                      const std::string& msg_id) {
  const std::string subject = options_.stream + "." + std::string(kind);
  const int64_t deadline = NowMs() + absl::ToInt64Milliseconds(options_.publish_timeout);
  natsStatus last = NATS_OK;
  for (int attempt = 0;; ++attempt) {
    const int64_t since = nats_->disconnected_since.load();
    if (since != 0 && NowMs() - since > kDisconnectedFailMs) {
      return absl::UnavailableError("the replicated log is unreachable (no NATS server of " +
                                    absl::StrJoin(options_.servers, ",") + " answers" +
                                    LastError() +
                                    "): writes are refused until one does; reads are served "
                                    "from what this replica applied");
    }
    const int64_t left = deadline - NowMs();
    if (left <= 0) break;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = msg_id.c_str();
    po.MaxWait = std::min<int64_t>(left, 5000);
    jsPubAck* ack = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    last = js_Publish(&ack, nats_->js, subject.c_str(), data.data(), static_cast<int>(data.size()),
                      &po, &jerr);
    if (last == NATS_OK) {
      const uint64_t seq = ack->Sequence;
      jsPubAck_Destroy(ack);
      return seq;
    }
    if (last == NATS_MAX_PAYLOAD) {
      return absl::InvalidArgumentError("the command is " + std::to_string(data.size()) +
                                        " bytes, over the NATS servers' max_payload: send "
                                        "smaller batches, or raise max_payload");
    }
    // A timeout, no responders (a stream leader election) or a reconnection: retry the
    // same message id, which the stream stores at most once.
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(50 * (attempt + 1), 500)));
  }
  return absl::UnavailableError("the replicated log did not acknowledge within " +
                                absl::FormatDuration(options_.publish_timeout) + " (" +
                                NatsError(last) + "): retry the write");
}

absl::StatusOr<LogBounds> Log::Bounds() {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 2000;
  natsStatus s = js_GetStreamInfo(&si, nats_->js, options_.stream.c_str(), &jo, &jerr);
  if (s != NATS_OK) {
    return absl::UnavailableError("replication: stream '" + options_.stream +
                                  "' info: " + NatsError(s));
  }
  LogBounds b{si->State.FirstSeq, si->State.LastSeq};
  if (si->State.Msgs == 0) b.first = b.last + 1;  // empty: the next one is first
  jsStreamInfo_Destroy(si);
  return b;
}

namespace {

class NatsReader final : public Log::Reader {
 public:
  explicit NatsReader(natsSubscription* sub) : sub_(sub) {}
  ~NatsReader() override { natsSubscription_Destroy(sub_); }
  NatsReader(const NatsReader&) = delete;
  NatsReader& operator=(const NatsReader&) = delete;

  absl::StatusOr<std::optional<LogMessage>> Next(absl::Duration timeout) override {
    natsMsg* msg = nullptr;
    natsStatus s = natsSubscription_NextMsg(&msg, sub_, absl::ToInt64Milliseconds(timeout));
    if (s == NATS_TIMEOUT) return std::nullopt;
    if (s != NATS_OK)
      return absl::UnavailableError("replication: reading the log: " + NatsError(s));
    jsMsgMetaData* meta = nullptr;
    s = natsMsg_GetMetaData(&meta, msg);
    if (s != NATS_OK) {
      natsMsg_Destroy(msg);
      return absl::DataLossError("replication: a log message without metadata: " + NatsError(s));
    }
    LogMessage m;
    m.position = meta->Sequence.Stream;
    m.subject = natsMsg_GetSubject(msg);
    m.data.assign(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
    jsMsgMetaData_Destroy(meta);
    natsMsg_Destroy(msg);
    return m;
  }

 private:
  natsSubscription* sub_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Log::Reader>> Log::Read(uint64_t from) {
  const std::string subjects = options_.stream + ".>";
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = options_.stream.c_str();
  so.Ordered = true;
  so.Config.DeliverPolicy = js_DeliverByStartSequence;
  so.Config.OptStartSeq = std::max<uint64_t>(from, 1);
  natsSubscription* sub = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_SubscribeSync(&sub, nats_->js, subjects.c_str(), nullptr, &so, &jerr);
  if (s != NATS_OK) {
    return absl::UnavailableError("replication: cannot read stream '" + options_.stream +
                                  "' from " + std::to_string(from) + ": " + NatsError(s));
  }
  natsSubscription_SetPendingLimits(sub, kPendingMessages, kPendingBytes);
  return std::unique_ptr<Reader>(new NatsReader(sub));
}

}  // namespace tessera::replica
