#pragma once

// The Directory gRPC service: validate the request's shape, call the core, map back.

#include <chrono>
#include <functional>

#include "server/directory/directory.h"
#include "tessera/v1/directory.grpc.pb.h"

namespace tessera::api {

struct ApiLimits {
  // Batches one Ingest stream may carry; the response lists them all. Default 10,000.
  size_t max_stream_batches = 10'000;
};

// Thread-safe; `dir` outlives it. `now_ms` gives batch times for batches that bring
// none (and is the only clock the ingest path sees).
class DirectoryService final : public v1::Directory::Service {
 public:
  DirectoryService(directory::Directory& dir, ApiLimits limits, std::function<int64_t()> now_ms)
      : dir_(dir), limits_(limits), now_ms_(std::move(now_ms)) {}

  grpc::Status Ingest(grpc::ServerContext* ctx, grpc::ServerReader<v1::IngestBatch>* reader,
                      v1::IngestResponse* resp) override;
  grpc::Status GetProfile(grpc::ServerContext* ctx, const v1::GetProfileRequest* req,
                          v1::Profile* resp) override;
  grpc::Status SearchPeople(grpc::ServerContext* ctx, const v1::SearchPeopleRequest* req,
                            v1::SearchPeopleResponse* resp) override;
  grpc::Status Neighbors(grpc::ServerContext* ctx, const v1::NeighborsRequest* req,
                         v1::NeighborsResponse* resp) override;

 private:
  directory::Directory& dir_;
  const ApiLimits limits_;
  std::function<int64_t()> now_ms_;
};

}  // namespace tessera::api
