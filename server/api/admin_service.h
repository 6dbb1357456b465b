#pragma once

// The Admin gRPC service: sources, statistics, conflicts, rules, backup, rebuild,
// erasure and the audit log.

#include <chrono>
#include <functional>

#include "server/api/gate.h"
#include "server/directory/directory.h"
#include "server/scim/service.h"
#include "tessera/v1/admin.grpc.pb.h"

namespace tessera::api {

// Thread-safe; `dir` outlives it.
class AdminService final : public v1::Admin::Service {
 public:
  // `scim` (may be null) re-derives SCIM-made fragments before a Rebuild.
  AdminService(directory::Directory& dir, const Gate& gate, std::function<int64_t()> now_ms,
               scim::Service* scim = nullptr)
      : dir_(dir), gate_(gate), now_ms_(std::move(now_ms)), scim_(scim) {}

  grpc::Status PutSource(grpc::ServerContext* ctx, const v1::Source* req,
                         v1::Source* resp) override;
  grpc::Status ListSources(grpc::ServerContext* ctx, const v1::ListSourcesRequest* req,
                           v1::ListSourcesResponse* resp) override;
  // The same call for another transport (the JSON API): `caller` goes through the gate.
  [[nodiscard]] absl::Status Call(const gate::Caller& caller, const v1::ListSourcesRequest& req,
                                  v1::ListSourcesResponse* resp);
  absl::Status Call(const gate::Caller& caller, const v1::ListRulesRequest& req,
                    v1::ListRulesResponse* resp);
  grpc::Status ReportSync(grpc::ServerContext* ctx, const v1::ReportSyncRequest* req,
                          v1::Source* resp) override;
  grpc::Status Stats(grpc::ServerContext* ctx, const v1::StatsRequest* req,
                     v1::StatsResponse* resp) override;
  grpc::Status ListConflicts(grpc::ServerContext* ctx, const v1::ListConflictsRequest* req,
                             v1::ListConflictsResponse* resp) override;
  grpc::Status GetFragment(grpc::ServerContext* ctx, const v1::FragmentRef* req,
                           v1::GetFragmentResponse* resp) override;
  grpc::Status Merge(grpc::ServerContext* ctx, const v1::MergeRequest* req,
                     v1::MergeResponse* resp) override;
  grpc::Status Split(grpc::ServerContext* ctx, const v1::SplitRequest* req,
                     v1::SplitResponse* resp) override;
  grpc::Status ListRules(grpc::ServerContext* ctx, const v1::ListRulesRequest* req,
                         v1::ListRulesResponse* resp) override;
  grpc::Status DeleteRule(grpc::ServerContext* ctx, const v1::DeleteRuleRequest* req,
                          v1::DeleteRuleResponse* resp) override;
  grpc::Status Backup(grpc::ServerContext* ctx, const v1::BackupRequest* req,
                      v1::BackupResponse* resp) override;
  grpc::Status Rebuild(grpc::ServerContext* ctx, const v1::RebuildRequest* req,
                       v1::RebuildResponse* resp) override;
  grpc::Status Compact(grpc::ServerContext* ctx, const v1::CompactRequest* req,
                       v1::CompactResponse* resp) override;
  grpc::Status Erase(grpc::ServerContext* ctx, const v1::EraseRequest* req,
                     v1::EraseResponse* resp) override;
  grpc::Status ReadAudit(grpc::ServerContext* ctx, const v1::ReadAuditRequest* req,
                         v1::ReadAuditResponse* resp) override;

 private:
  directory::Directory& dir_;
  const Gate& gate_;
  std::function<int64_t()> now_ms_;
  scim::Service* scim_;
};

}  // namespace tessera::api
