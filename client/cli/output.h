#pragma once

// How the tessera CLI prints results: readable text by default, protobuf JSON with
// --json (field names as in the .proto files).

#include <string>
#include <vector>

#include "google/protobuf/message.h"
#include "tessera/v1/admin.pb.h"
#include "tessera/v1/directory.pb.h"

namespace tessera::cli {

// Prints rows as columns padded to the widest cell.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

// One JSON document on stdout.
void PrintJson(const google::protobuf::Message& m);
// One line of JSON (for streams of messages: JSON Lines).
void PrintJsonLine(const google::protobuf::Message& m);

void PrintProfile(const v1::Profile& p, bool provenance);
void PrintSearch(const v1::SearchPeopleResponse& r);
void PrintNeighbors(const v1::NeighborsResponse& r);
void PrintStats(const v1::StatsResponse& s);
void PrintConflicts(const v1::ListConflictsResponse& r);
void PrintSources(const v1::ListSourcesResponse& r);
void PrintRules(const v1::ListRulesResponse& r);
void PrintFragment(const v1::GetFragmentResponse& r);

std::string IdentifierText(const v1::Identifier& id);
std::string FragmentText(const v1::FragmentRef& f);

}  // namespace tessera::cli
