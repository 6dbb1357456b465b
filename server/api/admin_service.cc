#include "server/api/admin_service.h"

#include <chrono>

#include "server/api/call_log.h"
#include "server/api/convert.h"

namespace tessera::api {

grpc::Status AdminService::PutSource(grpc::ServerContext* ctx, const v1::Source* req, v1::Source* resp) {
  const CallLog log("Admin.PutSource", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(ctx, "Admin.PutSource");
  if (!who.ok()) return log.Finish(who.status());
  if (absl::Status s = MayWrite(*who, req->id()); !s.ok()) return log.Finish(s);
  absl::StatusOr<directory::SourceInfo> s =
      dir_.PutSource({req->id(), req->kind(), req->priority(), req->description(), 0});
  if (!s.ok()) return log.Finish(s.status());
  ToProto(*s, resp);
  return log.Finish(absl::OkStatus());
}

grpc::Status AdminService::ListSources(grpc::ServerContext* ctx, const v1::ListSourcesRequest*,
                                       v1::ListSourcesResponse* resp) {
  const CallLog log("Admin.ListSources", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(ctx, "Admin.ListSources");
  if (!who.ok()) return log.Finish(who.status());
  for (const directory::SourceInfo& s : dir_.ListSources()) ToProto(s, resp->add_sources());
  return log.Finish(absl::OkStatus());
}

grpc::Status AdminService::ReportSync(grpc::ServerContext* ctx, const v1::ReportSyncRequest* req,
                                      v1::Source* resp) {
  const CallLog log("Admin.ReportSync", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(ctx, "Admin.ReportSync");
  if (!who.ok()) return log.Finish(who.status());
  if (absl::Status s = MayWrite(*who, req->source()); !s.ok()) return log.Finish(s);
  absl::StatusOr<directory::SourceInfo> s = dir_.ReportSync(req->source(), FromProto(req->run()));
  if (!s.ok()) return log.Finish(s.status());
  ToProto(*s, resp);
  return log.Finish(absl::OkStatus());
}

grpc::Status AdminService::Stats(grpc::ServerContext* ctx, const v1::StatsRequest*,
                                 v1::StatsResponse* resp) {
  const CallLog log("Admin.Stats", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(ctx, "Admin.Stats");
  if (!who.ok()) return log.Finish(who.status());
  absl::StatusOr<directory::Stats> st = dir_.GetStats();
  if (!st.ok()) return log.Finish(st.status());
  ToProto(*st, resp);
  return log.Finish(absl::OkStatus());
}

grpc::Status AdminService::ListConflicts(grpc::ServerContext* ctx, const v1::ListConflictsRequest* req,
                                         v1::ListConflictsResponse* resp) {
  const CallLog log("Admin.ListConflicts", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(ctx, "Admin.ListConflicts");
  if (!who.ok()) return log.Finish(who.status());
  if (req->page_token().size() > 1024) return log.Finish(absl::InvalidArgumentError("page_token is too long"));
  absl::StatusOr<directory::ConflictPage> page = dir_.ListConflicts(req->page_size(), req->page_token());
  if (!page.ok()) return log.Finish(page.status());
  for (const directory::ConflictView& c : page->conflicts) ToProto(c, resp->add_conflicts());
  resp->set_next_page_token(page->next_page_token);
  return log.Finish(absl::OkStatus());
}

grpc::Status AdminService::GetFragment(grpc::ServerContext* ctx, const v1::FragmentRef* req,
                                       v1::GetFragmentResponse* resp) {
  const CallLog log("Admin.GetFragment", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(ctx, "Admin.GetFragment");
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
  const CallLog log("Admin.Merge", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(ctx, "Admin.Merge");
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
  const CallLog log("Admin.Split", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(ctx, "Admin.Split");
  if (!who.ok()) return log.Finish(who.status());
  if (req->fragments_size() > 10'000) return log.Finish(absl::InvalidArgumentError("split names at most 10000 fragments"));
  absl::StatusOr<directory::SplitResult> r =
      dir_.Split(req->profile_id(), NamesFromProto(req->fragments()), req->reason(), now_ms_());
  if (!r.ok()) return log.Finish(r.status());
  for (uint64_t id : r->profile_ids) resp->add_profile_ids(id);
  resp->set_rule_id(r->rule_id);
  return log.Finish(absl::OkStatus());
}

grpc::Status AdminService::ListRules(grpc::ServerContext* ctx, const v1::ListRulesRequest*,
                                     v1::ListRulesResponse* resp) {
  const CallLog log("Admin.ListRules", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(ctx, "Admin.ListRules");
  if (!who.ok()) return log.Finish(who.status());
  for (const directory::RuleView& r : dir_.ListRules()) ToProto(r, resp->add_rules());
  return log.Finish(absl::OkStatus());
}

grpc::Status AdminService::DeleteRule(grpc::ServerContext* ctx, const v1::DeleteRuleRequest* req,
                                      v1::DeleteRuleResponse*) {
  const CallLog log("Admin.DeleteRule", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(ctx, "Admin.DeleteRule");
  if (!who.ok()) return log.Finish(who.status());
  return log.Finish(dir_.DeleteRule(req->id()));
}

grpc::Status AdminService::Backup(grpc::ServerContext* ctx, const v1::BackupRequest* req,
                                  v1::BackupResponse* resp) {
  const CallLog log("Admin.Backup", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(ctx, "Admin.Backup");
  if (!who.ok()) return log.Finish(who.status());
  absl::StatusOr<uint64_t> seq = dir_.Backup(req->path());
  if (!seq.ok()) return log.Finish(seq.status());
  resp->set_path(req->path());
  resp->set_sequence(*seq);
  return log.Finish(absl::OkStatus());
}

grpc::Status AdminService::Rebuild(grpc::ServerContext* ctx, const v1::RebuildRequest*,
                                   v1::RebuildResponse* resp) {
  const CallLog log("Admin.Rebuild", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(ctx, "Admin.Rebuild");
  if (!who.ok()) return log.Finish(who.status());
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<directory::RebuildResult> r = dir_.Rebuild();
  if (!r.ok()) return log.Finish(r.status());
  resp->set_fragments(r->fragments);
  resp->set_profiles(r->profiles);
  resp->set_digest_before(r->digest_before);
  resp->set_digest_after(r->digest_after);
  resp->set_identical(r->digest_before == r->digest_after);
  resp->set_duration_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start).count());
  return log.Finish(absl::OkStatus());
}

grpc::Status AdminService::Compact(grpc::ServerContext* ctx, const v1::CompactRequest*, v1::CompactResponse* resp) {
  const CallLog log("Admin.Compact", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(ctx, "Admin.Compact");
  if (!who.ok()) return log.Finish(who.status());
  const auto start = std::chrono::steady_clock::now();
  if (absl::Status s = dir_.Compact(); !s.ok()) return log.Finish(s);
  resp->set_duration_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start).count());
  if (absl::StatusOr<directory::Stats> st = dir_.GetStats(); st.ok()) resp->set_disk_bytes(st->disk_bytes);
  return log.Finish(absl::OkStatus());
}

}  // namespace tessera::api
