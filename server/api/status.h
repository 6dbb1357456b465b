#pragma once

// The only places an absl::Status becomes a grpc::Status, and an HTTP status for the
// JSON API (json_api.h).

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace tessera::api {

grpc::Status ToGrpcStatus(const absl::Status& s);

// The HTTP status a JSON API error answers with: Google's published mapping of the
// canonical codes (google/rpc/code.proto), e.g. NOT_FOUND 404, FAILED_PRECONDITION
// 400, UNAVAILABLE 503; 200 for OK.
int HttpStatusOf(absl::StatusCode code);

}  // namespace tessera::api
