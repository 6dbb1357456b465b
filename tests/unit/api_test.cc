#define BOOST_TEST_MODULE api
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "server/api/convert.h"
#include "server/api/gate.h"
#include "server/api/ingest_decode.h"
#include "server/api/json_api.h"
#include "server/api/status.h"

namespace bdata = boost::unit_test::data;
using namespace tessera;

const absl::StatusCode kAbsl[] = {
    absl::StatusCode::kCancelled,          absl::StatusCode::kUnknown,
    absl::StatusCode::kInvalidArgument,    absl::StatusCode::kDeadlineExceeded,
    absl::StatusCode::kNotFound,           absl::StatusCode::kAlreadyExists,
    absl::StatusCode::kPermissionDenied,   absl::StatusCode::kResourceExhausted,
    absl::StatusCode::kFailedPrecondition, absl::StatusCode::kAborted,
    absl::StatusCode::kOutOfRange,         absl::StatusCode::kUnimplemented,
    absl::StatusCode::kInternal,           absl::StatusCode::kUnavailable,
    absl::StatusCode::kDataLoss,           absl::StatusCode::kUnauthenticated};
const grpc::StatusCode kGrpc[] = {grpc::StatusCode::CANCELLED,
                                  grpc::StatusCode::UNKNOWN,
                                  grpc::StatusCode::INVALID_ARGUMENT,
                                  grpc::StatusCode::DEADLINE_EXCEEDED,
                                  grpc::StatusCode::NOT_FOUND,
                                  grpc::StatusCode::ALREADY_EXISTS,
                                  grpc::StatusCode::PERMISSION_DENIED,
                                  grpc::StatusCode::RESOURCE_EXHAUSTED,
                                  grpc::StatusCode::FAILED_PRECONDITION,
                                  grpc::StatusCode::ABORTED,
                                  grpc::StatusCode::OUT_OF_RANGE,
                                  grpc::StatusCode::UNIMPLEMENTED,
                                  grpc::StatusCode::INTERNAL,
                                  grpc::StatusCode::UNAVAILABLE,
                                  grpc::StatusCode::DATA_LOSS,
                                  grpc::StatusCode::UNAUTHENTICATED};

BOOST_DATA_TEST_CASE(each_code_maps_with_its_message, bdata::make(kAbsl) ^ bdata::make(kGrpc), from,
                     to) {
  const grpc::Status s = api::ToGrpcStatus(absl::Status(from, "fragment 3: why"));
  BOOST_TEST(static_cast<int>(s.error_code()) == static_cast<int>(to));
  BOOST_TEST(s.error_message() == "fragment 3: why");
}

BOOST_AUTO_TEST_CASE(ok_is_ok) { BOOST_TEST(api::ToGrpcStatus(absl::OkStatus()).ok()); }

// The JSON API's HTTP status for each code, in kAbsl's order (google/rpc/code.proto).
const int kHttp[] = {499, 500, 400, 504, 404, 409, 403, 429,
                     400, 409, 400, 501, 500, 503, 500, 401};

BOOST_DATA_TEST_CASE(each_code_has_its_http_status, bdata::make(kAbsl) ^ bdata::make(kHttp), from,
                     to) {
  BOOST_TEST(api::HttpStatusOf(from) == to);
}

BOOST_AUTO_TEST_CASE(json_errors_name_the_code) {
  const api::JsonReply r = api::JsonApi::Error(absl::NotFoundError("no profile 7"));
  BOOST_TEST(r.status == 404);
  BOOST_TEST(r.body == R"({"code":"NOT_FOUND","message":"no profile 7"})");
  BOOST_TEST(api::HttpStatusOf(absl::StatusCode::kOk) == 200);
}

BOOST_AUTO_TEST_CASE(logs_mask_quoted_values) {
  BOOST_TEST(api::MaskQuoted("identifiers[0]: 'phone' value '12ab' is bad") ==
             "identifiers[0]: '…' value '…' is bad");
  BOOST_TEST(api::MaskQuoted("no quotes") == "no quotes");
  BOOST_TEST(api::MaskQuoted("unclosed 'secret") == "unclosed '…");
}

BOOST_AUTO_TEST_CASE(fragment_converts_from_proto) {
  v1::Fragment p;
  p.set_source("hr");
  p.set_external_id("E1");
  p.set_version(2);
  p.set_kind("employee");
  auto* id = p.add_identifiers();
  id->set_type("email");
  id->set_value("A@x.example");
  auto* r = p.add_relations();
  r->set_type("reports_to");
  r->mutable_target()->set_type("employee_id");
  r->mutable_target()->set_value("E0");
  auto* e = p.add_evidence();
  e->set_kind("skill");
  e->set_text("SEPA");
  e->set_time_unix_ms(5);
  identity::Fragment f = api::FromProto(p);
  BOOST_TEST(f.source == "hr");
  BOOST_TEST(f.version == 2u);
  BOOST_TEST(f.identifiers[0].value == "A@x.example");
  BOOST_TEST(f.relations[0].target.type == "employee_id");
  BOOST_TEST(f.evidence[0].time_ms == 5);
  // An identifier with no type must not read as "look up by id 0".
  v1::Identifier empty;
  BOOST_TEST(!api::RefFromProto(0, &empty).id_type.empty());
}

// An Ingest message protobuf refuses names the fragment and the field at fault.
BOOST_AUTO_TEST_CASE(an_undecodable_ingest_batch_names_the_fragment_and_field) {
  v1::IngestBatch batch;
  for (const char* id : {"E1", "E2"}) {
    v1::Fragment* f = batch.add_fragments();
    f->set_source("hr");
    f->set_external_id(id);
    v1::Relation* r = f->add_relations();
    r->set_type("reports_to");
    r->mutable_target()->set_type("employee_id");
    r->mutable_target()->set_value("E0");
  }
  v1::IngestBatch out;
  int bad = -2;
  BOOST_TEST(api::DecodeIngestBatch(batch.SerializeAsString(), &out, &bad).ok());
  BOOST_TEST(out.fragments_size() == 2);
  BOOST_TEST(bad == -1);
  // A Latin-1 byte deep inside the second fragment.
  batch.mutable_fragments(1)->mutable_relations(0)->mutable_target()->set_value("\xC9mile");
  absl::Status s = api::DecodeIngestBatch(batch.SerializeAsString(), &out, &bad);
  BOOST_TEST(s.code() == absl::StatusCode::kInvalidArgument);
  BOOST_TEST(std::string(s.message()) ==
             "fragment 1: relations[0].target.value is not valid UTF-8 (external id 'E2'); nothing "
             "of this batch was "
             "applied");
  BOOST_TEST(bad == 1);
  BOOST_TEST(out.fragments_size() == 0);
  // Bytes that are no protobuf at all.
  s = api::DecodeIngestBatch(std::string("\x0a\xff\xff\xff\xff\x0f", 6), &out, &bad);
  BOOST_TEST(std::string(s.message()) == "the message cannot be decoded as an IngestBatch");
  BOOST_TEST(bad == -1);
}
