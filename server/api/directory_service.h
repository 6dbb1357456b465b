#pragma once

// The Directory gRPC service: validate the request's shape, call the core, map back.

#include <atomic>
#include <chrono>
#include <functional>

#include "grpcpp/support/byte_buffer.h"
#include "server/api/gate.h"
#include "server/directory/directory.h"
#include "tessera/v1/directory.grpc.pb.h"

namespace tessera::api {

struct ApiLimits {
  // Batches one Ingest stream may carry; the response lists them all. Default 10,000.
  size_t max_stream_batches = 10'000;
  // Watch streams open at once (each holds a server thread). Default 64.
  size_t max_watch_streams = 64;
};

// The reads answer on gRPC's callback API: they are short and never block, and the
// callback path costs a fraction of the synchronous one's thread hand-offs. Ingest
// stays synchronous: it waits for its turn to write, which must not tie up callback
// threads.
using DirectoryServiceBase = v1::Directory::WithCallbackMethod_GetProfile<
    v1::Directory::WithCallbackMethod_SearchPeople<v1::Directory::WithCallbackMethod_Neighbors<
        v1::Directory::WithCallbackMethod_CustomerHistory<v1::Directory::Service>>>>;

// Thread-safe; `dir` outlives it. `now_ms` gives batch times for batches that bring
// none (and is the only clock the ingest path sees).
class DirectoryService final : public DirectoryServiceBase {
 public:
  DirectoryService(directory::Directory& dir, const Gate& gate, ApiLimits limits,
                   std::function<int64_t()> now_ms);

  // Ingest reads each message as raw bytes and decodes it itself (ingest_decode.h):
  // gRPC's reader would report an undecodable message as the end of the stream.
  grpc::Status IngestRaw(grpc::ServerContext* ctx, grpc::ServerReader<grpc::ByteBuffer>* reader,
                         v1::IngestResponse* resp);
  grpc::ServerUnaryReactor* GetProfile(grpc::CallbackServerContext* ctx,
                                       const v1::GetProfileRequest* req,
                                       v1::Profile* resp) override;
  grpc::ServerUnaryReactor* SearchPeople(grpc::CallbackServerContext* ctx,
                                         const v1::SearchPeopleRequest* req,
                                         v1::SearchPeopleResponse* resp) override;
  grpc::ServerUnaryReactor* Neighbors(grpc::CallbackServerContext* ctx,
                                      const v1::NeighborsRequest* req,
                                      v1::NeighborsResponse* resp) override;
  grpc::ServerUnaryReactor* CustomerHistory(grpc::CallbackServerContext* ctx,
                                            const v1::CustomerHistoryRequest* req,
                                            v1::CustomerHistoryResponse* resp) override;
  // The same reads for another transport (the JSON API): `caller` goes through the gate.
  [[nodiscard]] absl::Status Call(const gate::Caller& caller, const v1::GetProfileRequest& req,
                                  v1::Profile* resp);
  absl::Status Call(const gate::Caller& caller, const v1::SearchPeopleRequest& req,
                    v1::SearchPeopleResponse* resp);
  [[nodiscard]] absl::Status Call(const gate::Caller& caller, const v1::NeighborsRequest& req,
                                  v1::NeighborsResponse* resp);
  absl::Status Call(const gate::Caller& caller, const v1::CustomerHistoryRequest& req,
                    v1::CustomerHistoryResponse* resp);
  // Synchronous: it blocks waiting for changes for as long as the client listens.
  grpc::Status Watch(grpc::ServerContext* ctx, const v1::WatchRequest* req,
                     grpc::ServerWriter<v1::ChangeEvent>* writer) override;

 private:
  // `who` is the caller (nullptr when authentication is off).
  // Each notes on `log` the profiles of audited kinds it returns.
  [[nodiscard]] absl::Status DoGetProfile(const access::Principal* who,
                                          const v1::GetProfileRequest& req, v1::Profile* resp,
                                          gate::CallLog& log);
  [[nodiscard]] absl::Status DoSearchPeople(const access::Principal* who,
                                            const v1::SearchPeopleRequest& req,
                                            v1::SearchPeopleResponse* resp, gate::CallLog& log);
  [[nodiscard]] absl::Status DoNeighbors(const access::Principal* who,
                                         const v1::NeighborsRequest& req,
                                         v1::NeighborsResponse* resp, gate::CallLog& log);
  [[nodiscard]] absl::Status DoCustomerHistory(const access::Principal* who,
                                               const v1::CustomerHistoryRequest& req,
                                               v1::CustomerHistoryResponse* resp,
                                               gate::CallLog& log);
  // Whether reading a profile of these kinds goes to the audit log.
  bool Audited(const std::vector<std::string>& kinds) const;
  // Runs `work(who, log)` for an admitted caller and finishes the call.
  template <typename Work>
  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* ctx, std::string_view method,
                                   Work work);

  directory::Directory& dir_;
  const Gate& gate_;
  const ApiLimits limits_;
  std::function<int64_t()> now_ms_;
  std::atomic<size_t> watch_streams_{0};
};

}  // namespace tessera::api
