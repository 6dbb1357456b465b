#include "server/api/admin_service.h"

#include <chrono>

#include "server/api/convert.h"
#include "server/api/gate.h"

namespace tessera::api {

grpc::Status AdminService::PutSource(grpc::ServerContext* ctx, const v1::Source* req,
                                     v1::Source* resp) {
  CallLog log("Admin.PutSource", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(log);
  if (!who.ok()) return log.Finish(who.status());
  if (absl::Status s = MayWrite(*who, req->id()); !s.ok()) return log.Finish(s);
  absl::StatusOr<directory::SourceInfo> s = dir_.PutSource(
      {req->id(), req->kind(), req->priority(), req->description(), 0}, req->propose_priority());
  if (!s.ok()) return log.Finish(s.status());
  ToProto(*s, resp);
  return log.Finish(absl::OkStatus());
}

grpc::Status AdminService::ListSources(grpc::ServerContext* ctx, const v1::ListSourcesRequest* req,
                                       v1::ListSourcesResponse* resp) {
  return ToGrpcStatus(Call(CallerOf(ctx), *req, resp));
}

absl::Status AdminService::Call(const gate::Caller& caller, const v1::ListSourcesRequest&,
                                v1::ListSourcesResponse* resp) {
  return RunCall(gate_, "Admin.ListSources", caller, [&](const access::Principal*, gate::CallLog&) {
    for (const directory::SourceInfo& s : dir_.ListSources()) ToProto(s, resp->add_sources());
    return absl::OkStatus();
  });
}

grpc::Status AdminService::ReportSync(grpc::ServerContext* ctx, const v1::ReportSyncRequest* req,
                                      v1::Source* resp) {
  CallLog log("Admin.ReportSync", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(log);
  if (!who.ok()) return log.Finish(who.status());
  if (absl::Status s = MayWrite(*who, req->source()); !s.ok()) return log.Finish(s);
  absl::StatusOr<directory::SourceInfo> s = dir_.ReportSync(req->source(), FromProto(req->run()));
  if (!s.ok()) return log.Finish(s.status());
  ToProto(*s, resp);
  return log.Finish(absl::OkStatus());
}

grpc::Status AdminService::Stats(grpc::ServerContext* ctx, const v1::StatsRequest*,
                                 v1::StatsResponse* resp) {
  CallLog log("Admin.Stats", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(log);
  if (!who.ok()) return log.Finish(who.status());
  absl::StatusOr<directory::Stats> st = dir_.GetStats();
  if (!st.ok()) return log.Finish(st.status());
  ToProto(*st, resp);
  const directory::ReplicaStatus r = dir_.Replication();
  if (r.replicated) {
    v1::ReplicaState* out = resp->mutable_replica();
    out->set_replicated(true);
    out->set_node(r.node);
    out->set_position(r.applied);
    out->set_log_last(r.log_last);
    out->set_lag(r.lag);
    out->set_log_reachable(r.log_reachable);
    out->set_lagging(r.lagging);
    out->set_stopped(r.stopped);
  }
  return log.Finish(absl::OkStatus());
}

grpc::Status AdminService::ListConflicts(grpc::ServerContext* ctx,
                                         const v1::ListConflictsRequest* req,
                                         v1::ListConflictsResponse* resp) {
  CallLog log("Admin.ListConflicts", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(log);
  if (!who.ok()) return log.Finish(who.status());
  if (req->page_token().size() > 1024)
    return log.Finish(absl::InvalidArgumentError("page_token is too long"));
  absl::StatusOr<directory::ConflictPage> page =
      dir_.ListConflicts(req->page_size(), req->page_token());
  if (!page.ok()) return log.Finish(page.status());
  for (const directory::ConflictView& c : page->conflicts) ToProto(c, resp->add_conflicts());
  resp->set_next_page_token(page->next_page_token);
  return log.Finish(absl::OkStatus());
}

grpc::Status AdminService::GetFragment(grpc::ServerContext* ctx, const v1::FragmentRef* req,
                                       v1::GetFragmentResponse* resp) {
  CallLog log("Admin.GetFragment", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(log);
  if (!who.ok()) return log.Finish(who.status());
  if (req->source().size() > 64 || req->external_id().size() > 4096) {
    return log.Finish(absl::InvalidArgumentError("source or external_id is too long"));
  }
  absl::StatusOr<directory::FragmentView> f = dir_.GetFragment({req->source(), req->external_id()});
  if (!f.ok()) return log.Finish(f.status());
  ToProto(f->stored, resp->mutable_fragment());
  resp->set_profile_id(f->stored.entity);
  resp->set_deleted(f->deleted);
  return log.Finish(absl::OkStatus());
}

grpc::Status AdminService::Merge(grpc::ServerContext* ctx, const v1::MergeRequest* req,
                                 v1::MergeResponse* resp) {
  CallLog log("Admin.Merge", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(log);
  if (!who.ok()) return log.Finish(who.status());
  const std::vector<uint64_t> ids(req->profile_ids().begin(), req->profile_ids().end());
  absl::StatusOr<directory::MergeResult> r = dir_.Merge(ids, req->reason(), now_ms_());
  if (!r.ok()) return log.Finish(r.status());
  ToProto(r->profile, /*provenance=*/false, resp->mutable_profile());
  resp->set_rule_id(r->rule_id);
  return log.Finish(absl::OkStatus());
}

grpc::Status AdminService::Split(grpc::ServerContext* ctx, const v1::SplitRequest* req,
                                 v1::SplitResponse* resp) {
  CallLog log("Admin.Split", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(log);
  if (!who.ok()) return log.Finish(who.status());
  if (req->fragments_size() > 10'000)
    return log.Finish(absl::InvalidArgumentError("split names at most 10000 fragments"));
  absl::StatusOr<directory::SplitResult> r =
      dir_.Split(req->profile_id(), NamesFromProto(req->fragments()), req->reason(), now_ms_());
  if (!r.ok()) return log.Finish(r.status());
  for (uint64_t id : r->profile_ids) resp->add_profile_ids(id);
  resp->set_rule_id(r->rule_id);
  return log.Finish(absl::OkStatus());
}

grpc::Status AdminService::ListRules(grpc::ServerContext* ctx, const v1::ListRulesRequest* req,
                                     v1::ListRulesResponse* resp) {
  return ToGrpcStatus(Call(CallerOf(ctx), *req, resp));
}

absl::Status AdminService::Call(const gate::Caller& caller, const v1::ListRulesRequest&,
                                v1::ListRulesResponse* resp) {
  return RunCall(gate_, "Admin.ListRules", caller, [&](const access::Principal*, gate::CallLog&) {
    for (const directory::RuleView& r : dir_.ListRules()) ToProto(r, resp->add_rules());
    return absl::OkStatus();
  });
}

grpc::Status AdminService::DeleteRule(grpc::ServerContext* ctx, const v1::DeleteRuleRequest* req,
                                      v1::DeleteRuleResponse*) {
  CallLog log("Admin.DeleteRule", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(log);
  if (!who.ok()) return log.Finish(who.status());
  return log.Finish(dir_.DeleteRule(req->id()));
}

grpc::Status AdminService::Backup(grpc::ServerContext* ctx, const v1::BackupRequest* req,
                                  v1::BackupResponse* resp) {
  CallLog log("Admin.Backup", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(log);
  if (!who.ok()) return log.Finish(who.status());
  absl::StatusOr<uint64_t> seq = dir_.Backup(req->path());
  if (!seq.ok()) return log.Finish(seq.status());
  resp->set_path(req->path());
  resp->set_sequence(*seq);
  return log.Finish(absl::OkStatus());
}

grpc::Status AdminService::Rebuild(grpc::ServerContext* ctx, const v1::RebuildRequest*,
                                   v1::RebuildResponse* resp) {
  CallLog log("Admin.Rebuild", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(log);
  if (!who.ok()) return log.Finish(who.status());
  const auto start = std::chrono::steady_clock::now();
  if (scim_ != nullptr) {
    absl::StatusOr<scim::RederiveResult> s = scim_->Rederive();
    if (!s.ok()) return log.Finish(s.status());
    resp->set_scim_resources(s->resources);
    resp->set_scim_identical(s->identical);
    resp->set_scim_rewritten(s->rewritten);
  }
  absl::StatusOr<directory::RebuildResult> r = dir_.Rebuild();
  if (!r.ok()) return log.Finish(r.status());
  resp->set_fragments(r->fragments);
  resp->set_profiles(r->profiles);
  resp->set_digest_before(r->digest_before);
  resp->set_digest_after(r->digest_after);
  resp->set_identical(r->digest_before == r->digest_after);
  resp->set_duration_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count());
  return log.Finish(absl::OkStatus());
}

grpc::Status AdminService::Compact(grpc::ServerContext* ctx, const v1::CompactRequest*,
                                   v1::CompactResponse* resp) {
  CallLog log("Admin.Compact", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(log);
  if (!who.ok()) return log.Finish(who.status());
  const auto start = std::chrono::steady_clock::now();
  if (absl::Status s = dir_.Compact(); !s.ok()) return log.Finish(s);
  resp->set_duration_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count());
  if (absl::StatusOr<directory::Stats> st = dir_.GetStats(); st.ok())
    resp->set_disk_bytes(st->disk_bytes);
  return log.Finish(absl::OkStatus());
}

grpc::Status AdminService::Erase(grpc::ServerContext* ctx, const v1::EraseRequest* req,
                                 v1::EraseResponse* resp) {
  CallLog log("Admin.Erase", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(log);
  if (!who.ok()) return log.Finish(who.status());
  if (req->reason().empty() || req->reason().size() > kMaxReasonBytes) {
    return log.Finish(absl::InvalidArgumentError(
        "an erasure needs a reason of 1.." + std::to_string(kMaxReasonBytes) +
        " bytes (e.g. the request's ticket), kept in the audit log"));
  }
  directory::ProfileRef ref =
      RefFromProto(req->id(), req->has_identifier() ? &req->identifier() : nullptr);
  // Recorded in the erasure's own write, audit on or off: it is the proof it was done.
  directory::AuditEntry entry =
      gate::AuditEntryOf(log.caller(), "Admin.Erase", *who, absl::OkStatus(), now_ms_());
  entry.reason = req->reason();
  absl::StatusOr<directory::EraseResult> r = dir_.Erase(ref, std::move(entry));
  if (!r.ok()) return log.Finish(r.status());
  log.AuditWritten();
  resp->set_profile_id(r->profile);
  resp->set_fragments(r->fragments);
  resp->set_related(r->related);
  resp->set_provisioning_rows(r->side_rows);
  for (const std::string& h : r->suppressed) resp->add_suppressed(h);
  resp->set_audit_sequence(r->audit_sequence);
  return log.Finish(absl::OkStatus());
}

grpc::Status AdminService::ReadAudit(grpc::ServerContext* ctx, const v1::ReadAuditRequest* req,
                                     v1::ReadAuditResponse* resp) {
  CallLog log("Admin.ReadAudit", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(log);
  if (!who.ok()) return log.Finish(who.status());
  absl::StatusOr<directory::AuditPage> page =
      dir_.ReadAudit(req->after_sequence(), req->page_size());
  if (!page.ok()) return log.Finish(page.status());
  for (const directory::AuditEntry& e : page->entries) {
    v1::AuditEntry* out = resp->add_entries();
    out->set_sequence(e.sequence);
    out->set_time_unix_ms(e.time_ms);
    out->set_principal(e.principal);
    out->set_peer(e.peer);
    out->set_method(e.method);
    out->set_outcome(e.outcome);
    out->set_reason(e.reason);
    for (uint64_t id : e.profiles) out->add_profile_ids(id);
    out->set_detail(e.detail);
  }
  resp->set_next_after_sequence(page->next_after);
  return log.Finish(absl::OkStatus());
}

}  // namespace tessera::api
