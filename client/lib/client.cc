#include "client/lib/client.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "grpcpp/create_channel.h"
#include "grpcpp/impl/client_unary_call.h"
#include "grpcpp/impl/rpc_method.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/byte_buffer.h"

namespace tessera::client {
namespace {

template <typename Stub, typename Req, typename Resp>
absl::StatusOr<Resp> Unary(const Client& c, Stub& stub,
                           grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                           const Req& req, bool deadline = true) {
  std::unique_ptr<grpc::ClientContext> ctx = c.NewContext(deadline);
  Resp resp;
  grpc::Status s = (stub.*method)(ctx.get(), req, &resp);
  if (!s.ok()) {
    absl::Status st = FromGrpc(s);
    if (st.code() == absl::StatusCode::kUnavailable) {
      return absl::UnavailableError("cannot reach tesserad at " + c.options().server + ": " +
                                    std::string(st.message()));
    }
    return st;
  }
  return resp;
}

}  // namespace

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

absl::Status LoadCredentials(ClientOptions& options, const std::string& ca_file,
                             const std::string& cert_file, const std::string& key_file,
                             const std::string& token_file) {
  auto read = [](const std::string& path, const char* what, std::string* out) -> absl::Status {
    if (path.empty()) return absl::OkStatus();
    std::ifstream in(path);
    if (!in) return absl::NotFoundError(std::string(what) + " '" + path + "' cannot be read");
    std::stringstream ss;
    ss << in.rdbuf();
    *out = ss.str();
    return absl::OkStatus();
  };
  if (cert_file.empty() != key_file.empty())
    return absl::InvalidArgumentError("--cert and --key go together");
  if (!cert_file.empty() && ca_file.empty()) {
    return absl::InvalidArgumentError("--cert needs --ca (the CA of tesserad's certificate)");
  }
  for (absl::Status s :
       {read(ca_file, "CA file", &options.ca_pem),
        read(cert_file, "certificate", &options.cert_pem), read(key_file, "key", &options.key_pem),
        read(token_file, "token file", &options.token)}) {
    if (!s.ok()) return s;
  }
  if (!token_file.empty()) {
    options.token = options.token.substr(0, options.token.find_first_of("\r\n"));
    if (options.token.empty())
      return absl::InvalidArgumentError("token file '" + token_file + "' is empty");
  } else if (const char* env = std::getenv("TESSERA_TOKEN"); env != nullptr && *env != '\0') {
    options.token = env;
  }
  return absl::OkStatus();
}

Client::Client(const ClientOptions& options) : options_(options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!options.ca_pem.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.ca_pem;
    ssl.pem_cert_chain = options.cert_pem;
    ssl.pem_private_key = options.key_pem;
    credentials = grpc::SslCredentials(ssl);
  }
  channel_ = grpc::CreateCustomChannel(options.server, credentials, args);
  directory_ = v1::Directory::NewStub(channel_);
  admin_ = v1::Admin::NewStub(channel_);
  expertise_ = v1::Expertise::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> Client::NewContext(bool deadline) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!options_.token.empty()) ctx->AddMetadata("authorization", "Bearer " + options_.token);
  if (!options_.reason.empty()) ctx->AddMetadata("tessera-reason", options_.reason);
  if (options_.min_position != 0)
    ctx->AddMetadata("tessera-min-position", std::to_string(options_.min_position));
  if (deadline && options_.timeout_ms > 0) {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(options_.timeout_ms));
  }
  return ctx;
}

absl::Status Client::WaitReady(std::chrono::milliseconds timeout) const {
  if (channel_->WaitForConnected(std::chrono::system_clock::now() + timeout))
    return absl::OkStatus();
  return absl::UnavailableError("cannot reach tesserad at " + options_.server + " within " +
                                std::to_string(timeout.count()) + " ms (is it running?)");
}

absl::Status Client::Health() const {
  // grpc.health.v1.Health/Check with an empty request (the whole server); the reply's
  // field 1 is the serving status, 1 = SERVING. Raw bytes through the same blocking
  // call generated stubs use, so no health proto is needed.
  static const grpc::internal::RpcMethod kCheck("/grpc.health.v1.Health/Check",
                                                grpc::internal::RpcMethod::NORMAL_RPC);
  std::unique_ptr<grpc::ClientContext> ctx = NewContext();
  grpc::Slice empty("");
  const grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  const grpc::Status s = grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      channel_.get(), kCheck, ctx.get(), request, &response);
  if (!s.ok()) {
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
      return absl::UnavailableError("cannot reach tesserad at " + options_.server + ": " +
                                    s.error_message());
    }
    return FromGrpc(s);
  }
  grpc::Slice slice;
  if (!response.DumpToSingleSlice(&slice).ok())
    return absl::InternalError("unreadable health reply");
  const std::string bytes(reinterpret_cast<const char*>(slice.begin()), slice.size());
  if (bytes != std::string("\x08\x01", 2)) {
    return absl::UnavailableError("tesserad at " + options_.server + " is not serving");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Profile> Client::GetProfile(const v1::GetProfileRequest& req) const {
  return Unary(*this, *directory_, &v1::Directory::Stub::GetProfile, req);
}
absl::StatusOr<v1::SearchPeopleResponse> Client::SearchPeople(
    const v1::SearchPeopleRequest& req) const {
  return Unary(*this, *directory_, &v1::Directory::Stub::SearchPeople, req);
}
absl::StatusOr<v1::NeighborsResponse> Client::Neighbors(const v1::NeighborsRequest& req) const {
  return Unary(*this, *directory_, &v1::Directory::Stub::Neighbors, req);
}

absl::StatusOr<v1::CustomerHistoryResponse> Client::CustomerHistory(
    const v1::CustomerHistoryRequest& req) const {
  return Unary(*this, *directory_, &v1::Directory::Stub::CustomerHistory, req);
}
absl::StatusOr<v1::FindExpertsResponse> Client::FindExperts(
    const v1::FindExpertsRequest& req) const {
  return Unary(*this, *expertise_, &v1::Expertise::Stub::FindExperts, req);
}
absl::StatusOr<v1::RecordOutcomeResponse> Client::RecordOutcome(
    const v1::RecordOutcomeRequest& req) const {
  return Unary(*this, *expertise_, &v1::Expertise::Stub::RecordOutcome, req);
}
absl::StatusOr<v1::Source> Client::PutSource(const v1::Source& req) const {
  return Unary(*this, *admin_, &v1::Admin::Stub::PutSource, req);
}
absl::StatusOr<v1::Source> Client::ReportSync(const v1::ReportSyncRequest& req) const {
  return Unary(*this, *admin_, &v1::Admin::Stub::ReportSync, req);
}
absl::StatusOr<v1::ListSourcesResponse> Client::ListSources() const {
  return Unary(*this, *admin_, &v1::Admin::Stub::ListSources, v1::ListSourcesRequest());
}
absl::StatusOr<v1::StatsResponse> Client::Stats() const {
  return Unary(*this, *admin_, &v1::Admin::Stub::Stats, v1::StatsRequest());
}
absl::StatusOr<v1::ListConflictsResponse> Client::ListConflicts(
    const v1::ListConflictsRequest& req) const {
  return Unary(*this, *admin_, &v1::Admin::Stub::ListConflicts, req);
}
absl::StatusOr<v1::GetFragmentResponse> Client::GetFragment(const v1::FragmentRef& req) const {
  return Unary(*this, *admin_, &v1::Admin::Stub::GetFragment, req);
}
absl::StatusOr<v1::MergeResponse> Client::Merge(const v1::MergeRequest& req) const {
  return Unary(*this, *admin_, &v1::Admin::Stub::Merge, req, /*deadline=*/false);
}
absl::StatusOr<v1::SplitResponse> Client::Split(const v1::SplitRequest& req) const {
  return Unary(*this, *admin_, &v1::Admin::Stub::Split, req, /*deadline=*/false);
}
absl::StatusOr<v1::ListRulesResponse> Client::ListRules() const {
  return Unary(*this, *admin_, &v1::Admin::Stub::ListRules, v1::ListRulesRequest());
}
absl::Status Client::DeleteRule(uint64_t id) const {
  v1::DeleteRuleRequest req;
  req.set_id(id);
  return Unary(*this, *admin_, &v1::Admin::Stub::DeleteRule, req, /*deadline=*/false).status();
}
absl::StatusOr<v1::BackupResponse> Client::Backup(const v1::BackupRequest& req) const {
  return Unary(*this, *admin_, &v1::Admin::Stub::Backup, req, /*deadline=*/false);
}
absl::StatusOr<v1::RebuildResponse> Client::Rebuild() const {
  return Unary(*this, *admin_, &v1::Admin::Stub::Rebuild, v1::RebuildRequest(), /*deadline=*/false);
}

absl::StatusOr<v1::CompactResponse> Client::Compact() const {
  return Unary(*this, *admin_, &v1::Admin::Stub::Compact, v1::CompactRequest(), /*deadline=*/false);
}

absl::StatusOr<v1::EraseResponse> Client::Erase(const v1::EraseRequest& req) const {
  return Unary(*this, *admin_, &v1::Admin::Stub::Erase, req);
}

absl::StatusOr<v1::ReadAuditResponse> Client::ReadAudit(const v1::ReadAuditRequest& req) const {
  return Unary(*this, *admin_, &v1::Admin::Stub::ReadAudit, req);
}

}  // namespace tessera::client
