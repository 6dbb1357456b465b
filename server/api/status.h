#pragma once

// The only place an absl::Status becomes a grpc::Status.

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace tessera::api {

grpc::Status ToGrpcStatus(const absl::Status& s);

}  // namespace tessera::api
