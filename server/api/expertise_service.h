#pragma once

// The Expertise gRPC service. FindExperts reads only and answers inline on the
// callback API; RecordOutcome writes (it waits for its turn) and stays synchronous.

#include <functional>

#include "server/api/gate.h"
#include "server/directory/directory.h"
#include "tessera/v1/expertise.grpc.pb.h"

namespace tessera::api {

using ExpertiseServiceBase = v1::Expertise::WithCallbackMethod_FindExperts<v1::Expertise::Service>;

// Thread-safe; `dir` outlives it. `now_ms` stands in for a missing as-of time.
class ExpertiseService final : public ExpertiseServiceBase {
 public:
  ExpertiseService(directory::Directory& dir, const Gate& gate, std::function<int64_t()> now_ms)
      : dir_(dir), gate_(gate), now_ms_(std::move(now_ms)) {}

  grpc::ServerUnaryReactor* FindExperts(grpc::CallbackServerContext* ctx,
                                        const v1::FindExpertsRequest* req,
                                        v1::FindExpertsResponse* resp) override;
  grpc::Status RecordOutcome(grpc::ServerContext* ctx, const v1::RecordOutcomeRequest* req,
                             v1::RecordOutcomeResponse* resp) override;

  // The same calls for another transport (the JSON API): `caller` goes through the gate.
  [[nodiscard]] absl::Status Call(const gate::Caller& caller, const v1::FindExpertsRequest& req,
                                  v1::FindExpertsResponse* resp);
  absl::Status Call(const gate::Caller& caller, const v1::RecordOutcomeRequest& req,
                    v1::RecordOutcomeResponse* resp);

 private:
  // `who` is the caller (nullptr when authentication is off): its visibility filters the answer.
  [[nodiscard]] absl::Status DoFindExperts(const access::Principal* who,
                                           const v1::FindExpertsRequest& req,
                                           v1::FindExpertsResponse* resp);
  [[nodiscard]] absl::Status DoRecordOutcome(const access::Principal* who,
                                             const v1::RecordOutcomeRequest& req,
                                             v1::RecordOutcomeResponse* resp);

  directory::Directory& dir_;
  const Gate& gate_;
  std::function<int64_t()> now_ms_;
};

}  // namespace tessera::api
