#pragma once

// Decoding Ingest messages ourselves. gRPC's synchronous reader reports a message it
// cannot decode exactly as it reports the end of the stream, so a batch with one
// string that is not UTF-8 (a Latin-1 export, say) used to end the call as if the
// client had finished: OK, and the batch silently dropped. Ingest therefore reads raw
// bytes and decodes them here, where a failure can be told apart and named.

#include "absl/status/status.h"
#include "tessera/v1/directory.pb.h"

namespace grpc {
class ByteBuffer;
}

namespace tessera::api {

// Decodes `raw` into `out`. INVALID_ARGUMENT when it is not an IngestBatch, naming the
// fragment, its external id when readable, and the field ("fragment 3:
// attributes[1].value is not valid UTF-8 (external id 'E2')"); then `*bad_fragment` is the
// fragment's index, or -1 when the fault is outside any fragment.
[[nodiscard]] absl::Status DecodeIngestBatch(const grpc::ByteBuffer& raw, v1::IngestBatch* out,
                                             int* bad_fragment);

// The same for serialized bytes (exposed for tests).
[[nodiscard]] absl::Status DecodeIngestBatch(const std::string& bytes, v1::IngestBatch* out,
                                             int* bad_fragment);

}  // namespace tessera::api
