#pragma once

// Mapping between the public protobuf messages and the core's plain structs.

#include <vector>

#include "server/directory/directory.h"
#include "tessera/v1/admin.pb.h"
#include "tessera/v1/directory.pb.h"
#include "tessera/v1/expertise.pb.h"

namespace tessera::api {

identity::Fragment FromProto(const v1::Fragment& in);
directory::ProfileRef RefFromProto(uint64_t id, const v1::Identifier* identifier);
std::vector<directory::FragmentName> NamesFromProto(
    const google::protobuf::RepeatedPtrField<v1::FragmentRef>& refs);

void ToProto(const directory::BatchResult& in, v1::BatchResult* out);
void ToProto(const store::Store::BulkFigures& in, v1::BulkLoadResult* out);
void ToProto(const directory::ProfileView& in, bool provenance, v1::Profile* out);
void ToProto(const directory::ConflictView& in, v1::Conflict* out);
void ToProto(const index::PersonSummary& in, v1::ProfileSummary* out);
void ToProto(const directory::HistoryView& in, v1::CustomerHistoryResponse* out);
void ToProto(const directory::NeighborView& in, v1::Edge* out);
void ToProto(const directory::SourceInfo& in, v1::Source* out);
directory::SyncRun FromProto(const v1::SyncRun& in);
void ToProto(const directory::Stats& in, v1::StatsResponse* out);
void ToProto(const directory::RuleView& in, v1::Rule* out);
void ToProto(const identity::StoredFragment& in, v1::Fragment* out);
expertise::Query QueryFromProto(const v1::FindExpertsRequest& in);
void ToProto(const expertise::Ranking& in, v1::FindExpertsResponse* out);

}  // namespace tessera::api
