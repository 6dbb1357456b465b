#pragma once

// Employees and helpdesk cases for the tests and benches that drive a real tesserad over gRPC.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "client/lib/client.h"
#include "tessera/v1/types.pb.h"

namespace tessera::testing {

// An employee record of `source`: a display name, an e-mail and an employee_id, and
// a reports_to relation to `manager` (an employee_id) unless it is empty.
inline v1::Fragment Employee(const std::string& source, const std::string& external_id,
                             uint64_t version, const std::string& display_name,
                             const std::string& email, const std::string& employee_id,
                             const std::string& manager = "") {
  v1::Fragment f;
  f.set_source(source);
  f.set_external_id(external_id);
  f.set_version(version);
  f.set_kind("employee");
  auto* a = f.add_attributes();
  a->set_name("display_name");
  a->set_value(display_name);
  auto* id = f.add_identifiers();
  id->set_type("email");
  id->set_value(email);
  id = f.add_identifiers();
  id->set_type("employee_id");
  id->set_value(employee_id);
  if (!manager.empty()) {
    auto* r = f.add_relations();
    r->set_type("reports_to");
    r->mutable_target()->set_type("employee_id");
    r->mutable_target()->set_value(manager);
  }
  return f;
}

// Case `external_id` of source helpdesk, resolved by the employee whose employee_id is
// `resolver`, its evidence `text` (English) dated `time_ms`.
inline v1::Fragment ResolvedCase(const std::string& external_id, const std::string& resolver,
                                 const std::string& text, int64_t time_ms) {
  v1::Fragment f;
  f.set_source("helpdesk");
  f.set_external_id(external_id);
  f.set_version(1);
  f.set_kind("case");
  auto* r = f.add_relations();
  r->set_type("resolved_by");
  r->mutable_target()->set_type("employee_id");
  r->mutable_target()->set_value(resolver);
  auto* e = f.add_evidence();
  e->set_kind("case");
  e->set_role("resolved_by");
  e->set_language("en");
  e->set_text(text);
  e->set_time_unix_ms(time_ms);
  return f;
}

// Case i ("c<i>"), resolved by E<i % people>, three words of a 10-word banking
// vocabulary, dated up to 900 days before 2023-11-14.
inline v1::Fragment SmallCase(uint64_t i, uint64_t people) {
  static const char* const kWords[] = {"card", "blocked", "abroad", "refund",    "mortgage",
                                       "loan", "fraud",   "wire",   "overdraft", "pension"};
  return ResolvedCase(
      "c" + std::to_string(i), "E" + std::to_string(i % people),
      std::string(kWords[i % 10]) + " " + kWords[(i / 10) % 10] + " " + kWords[(i * 7) % 10],
      1'700'000'000'000 - static_cast<int64_t>(i % 900) * 86'400'000);
}

// Sends `batch` in its own Ingest stream: the stream position tesserad returned (0 in
// plain mode), or the status it refused with.
inline absl::StatusOr<uint64_t> IngestBatch(const client::Client& c, const v1::IngestBatch& batch) {
  std::unique_ptr<grpc::ClientContext> ctx = c.NewContext();
  v1::IngestResponse resp;
  auto w = c.directory().Ingest(ctx.get(), &resp);
  w->Write(batch);
  w->WritesDone();
  grpc::Status s = w->Finish();
  if (!s.ok()) return client::FromGrpc(s);
  return resp.position();
}

}  // namespace tessera::testing
