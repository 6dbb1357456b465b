#pragma once

// The Tessera C++ client: one channel to a tesserad, typed calls that return
// absl::StatusOr, and an Ingester (ingester.h) for streaming fragments in batches.
// Applications may also use the generated stubs directly (directory(), admin()).

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "tessera/v1/admin.grpc.pb.h"
#include "tessera/v1/directory.grpc.pb.h"
#include "tessera/v1/expertise.grpc.pb.h"

namespace tessera::client {

struct ClientOptions {
  // host:port of tesserad.
  std::string server = "127.0.0.1:50051";
  // Deadline of each unary call; streams get it per batch. 0 = none.
  int timeout_ms = 30'000;
  // Largest message sent or received. Default 64 MiB, tesserad's default too.
  int max_message_bytes = 64 << 20;
  // TLS when ca_pem is set: the PEM of the CA that signed tesserad's certificate; with
  // cert_pem and key_pem, a client certificate too (mutual TLS). See LoadCredentials.
  std::string ca_pem, cert_pem, key_pem;
  // Sent as "authorization: Bearer <token>" with every call when set.
  std::string token;
  // Sent as "tessera-reason" with every call when set: the purpose, kept in the
  // server's audit log (at most 512 bytes).
  std::string reason;
  // Replicated mode: sent as "tessera-min-position" when set, so the replica answers
  // only once it has applied that log position (e.g. IngestResponse.position).
  uint64_t min_position = 0;
};

// Fills `options`' TLS and token fields from files (empty paths: unused); the token
// file's first line is the token, else $TESSERA_TOKEN. Errors name the file.
[[nodiscard]] absl::Status LoadCredentials(ClientOptions& options, const std::string& ca_file,
                                           const std::string& cert_file,
                                           const std::string& key_file,
                                           const std::string& token_file);

// absl::Status of a grpc::Status, same code and message.
[[nodiscard]] absl::Status FromGrpc(const grpc::Status& s);

// Thread-safe: calls may run concurrently on one Client.
class Client {
 public:
  explicit Client(const ClientOptions& options);

  // Waits until the channel is connected; UNAVAILABLE naming the server otherwise.
  [[nodiscard]] absl::Status WaitReady(std::chrono::milliseconds timeout) const;
  // The standard gRPC health check: OK when tesserad is serving.
  [[nodiscard]] absl::Status Health() const;

  absl::StatusOr<v1::Profile> GetProfile(const v1::GetProfileRequest& req) const;
  absl::StatusOr<v1::SearchPeopleResponse> SearchPeople(const v1::SearchPeopleRequest& req) const;
  absl::StatusOr<v1::NeighborsResponse> Neighbors(const v1::NeighborsRequest& req) const;
  absl::StatusOr<v1::CustomerHistoryResponse> CustomerHistory(
      const v1::CustomerHistoryRequest& req) const;

  absl::StatusOr<v1::FindExpertsResponse> FindExperts(const v1::FindExpertsRequest& req) const;
  absl::StatusOr<v1::RecordOutcomeResponse> RecordOutcome(
      const v1::RecordOutcomeRequest& req) const;

  absl::StatusOr<v1::Source> PutSource(const v1::Source& req) const;
  absl::StatusOr<v1::ListSourcesResponse> ListSources() const;
  absl::StatusOr<v1::Source> ReportSync(const v1::ReportSyncRequest& req) const;
  absl::StatusOr<v1::StatsResponse> Stats() const;
  absl::StatusOr<v1::ListConflictsResponse> ListConflicts(
      const v1::ListConflictsRequest& req) const;
  absl::StatusOr<v1::GetFragmentResponse> GetFragment(const v1::FragmentRef& req) const;
  absl::StatusOr<v1::MergeResponse> Merge(const v1::MergeRequest& req) const;
  absl::StatusOr<v1::SplitResponse> Split(const v1::SplitRequest& req) const;
  absl::StatusOr<v1::ListRulesResponse> ListRules() const;
  [[nodiscard]] absl::Status DeleteRule(uint64_t id) const;
  absl::StatusOr<v1::BackupResponse> Backup(const v1::BackupRequest& req) const;
  // No deadline: a rebuild of a large database takes a while.
  absl::StatusOr<v1::RebuildResponse> Rebuild() const;
  absl::StatusOr<v1::CompactResponse> Compact() const;
  absl::StatusOr<v1::EraseResponse> Erase(const v1::EraseRequest& req) const;
  absl::StatusOr<v1::ReadAuditResponse> ReadAudit(const v1::ReadAuditRequest& req) const;

  v1::Directory::Stub& directory() const { return *directory_; }
  v1::Admin::Stub& admin() const { return *admin_; }
  v1::Expertise::Stub& expertise() const { return *expertise_; }
  const ClientOptions& options() const { return options_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  // A context with the options' credentials and (unless `deadline` is false) deadline.
  std::unique_ptr<grpc::ClientContext> NewContext(bool deadline = true) const;

 private:
  ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Directory::Stub> directory_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::unique_ptr<v1::Expertise::Stub> expertise_;
};

}  // namespace tessera::client
