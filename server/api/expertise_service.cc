#include "server/api/expertise_service.h"

#include <string>
#include <vector>

#include "server/api/convert.h"

namespace tessera::api {

grpc::ServerUnaryReactor* ExpertiseService::FindExperts(grpc::CallbackServerContext* ctx,
                                                        const v1::FindExpertsRequest* req,
                                                        v1::FindExpertsResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(Call(CallerOf(ctx), *req, resp)));
  return reactor;
}

absl::Status ExpertiseService::Call(const gate::Caller& caller, const v1::FindExpertsRequest& req,
                                    v1::FindExpertsResponse* resp) {
  return RunCall(gate_, "Expertise.FindExperts", caller,
                 [&](const access::Principal* who, gate::CallLog& log) {
                   absl::Status s = DoFindExperts(who, req, resp);
                   if (s.ok()) {
                     // The customer it was asked about, when the request named one the directory
                     // has.
                     std::vector<uint64_t> read;
                     if (resp->customer_profile_id() != 0)
                       read.push_back(resp->customer_profile_id());
                     log.Audit(std::move(read), std::to_string(resp->experts_size()) + " experts");
                   }
                   return s;
                 });
}

absl::Status ExpertiseService::DoFindExperts(const access::Principal* who,
                                             const v1::FindExpertsRequest& req,
                                             v1::FindExpertsResponse* resp) {
  if (req.channel().size() > 64 || req.language().size() > 16 || req.reply_language().size() > 16 ||
      req.team().size() > 256 || req.location().size() > 256 ||
      req.customer().value().size() > 320 || req.customer().type().size() > 32) {
    return absl::InvalidArgumentError(
        "channel, language, reply_language, team, location or customer is over its size limit");
  }
  expertise::Query q = QueryFromProto(req);
  if (q.as_of_ms == 0) q.as_of_ms = now_ms_();
  q.visible = gate_.FilterFor(who, dir_);
  absl::StatusOr<expertise::Ranking> ranking = dir_.FindExperts(q);
  if (!ranking.ok()) return ranking.status();
  ToProto(*ranking, resp);
  for (v1::Expert& e : *resp->mutable_experts())
    Redact(gate_.RedactedFor(who, {e.person().kind()}), e.mutable_person());
  for (v1::Expert& e : *resp->mutable_inform())
    Redact(gate_.RedactedFor(who, {e.person().kind()}), e.mutable_person());
  resp->set_channel(req.channel());
  return absl::OkStatus();
}

grpc::Status ExpertiseService::RecordOutcome(grpc::ServerContext* ctx,
                                             const v1::RecordOutcomeRequest* req,
                                             v1::RecordOutcomeResponse* resp) {
  return ToGrpcStatus(Call(CallerOf(ctx), *req, resp));
}

absl::Status ExpertiseService::Call(const gate::Caller& caller, const v1::RecordOutcomeRequest& req,
                                    v1::RecordOutcomeResponse* resp) {
  return RunCall(gate_, "Expertise.RecordOutcome", caller,
                 [&](const access::Principal* who, gate::CallLog&) {
                   return DoRecordOutcome(who, req, resp);
                 });
}

absl::Status ExpertiseService::DoRecordOutcome(const access::Principal* who,
                                               const v1::RecordOutcomeRequest& req,
                                               v1::RecordOutcomeResponse* resp) {
  if (req.case_().type().empty() || req.handled_by().type().empty()) {
    return absl::InvalidArgumentError(
        "case and handled_by must both be identifiers (type and value)");
  }
  if (req.channel().size() > 64 || req.customer().value().size() > 320 ||
      req.customer().type().size() > 32) {
    return absl::InvalidArgumentError("channel or customer is over its size limit");
  }
  directory::CaseOutcome o{req.case_().type(),
                           req.case_().value(),
                           req.handled_by().type(),
                           req.handled_by().value(),
                           req.status(),
                           req.time_unix_ms() != 0 ? req.time_unix_ms() : now_ms_(),
                           req.text(),
                           req.customer().type(),
                           req.customer().value(),
                           req.channel()};
  absl::StatusOr<directory::OutcomeResult> r = dir_.RecordOutcome(o);
  if (!r.ok()) return r.status();
  resp->set_case_profile_id(r->case_profile);
  resp->set_person_profile_id(r->person_profile);
  resp->set_created(r->created);
  resp->set_case_title(r->case_title);
  ToProto(r->person, resp->mutable_person());
  Redact(gate_.RedactedFor(who, {r->person.kind}), resp->mutable_person());
  for (const index::PersonSummary& h : r->previous_holders) {
    v1::ProfileSummary* out = resp->add_previous_holders();
    ToProto(h, out);
    Redact(gate_.RedactedFor(who, {h.kind}), out);
  }
  return absl::OkStatus();
}

}  // namespace tessera::api
