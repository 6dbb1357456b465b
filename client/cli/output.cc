#include "client/cli/output.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "client/lib/text_formats.h"
#include "google/protobuf/util/json_util.h"

namespace tessera::cli {

// Pads by code points, so accented names line up.
void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  auto width = [](const std::string& s) {
    return static_cast<size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xc0) != 0x80; }));
  };
  std::vector<size_t> w;
  for (const auto& row : rows) {
    w.resize(std::max(w.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) w[i] = std::max(w[i], width(row[i]));
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(w[i] - width(row[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    printf("%s\n", line.c_str());
  }
}

namespace {

std::string Prov(const v1::Provenance& p) {
  std::string s = p.source() + "/" + p.external_id() + " v" + std::to_string(p.version()) + " " +
                  client::FormatTime(p.time_unix_ms());
  if (!p.raw().empty()) s += " as \"" + p.raw() + "\"";
  return s;
}

std::string Ids(const google::protobuf::RepeatedField<uint64_t>& ids) {
  std::string s;
  for (uint64_t id : ids) s += (s.empty() ? "" : ", ") + std::to_string(id);
  return s;
}

std::string ConflictLine(const v1::Conflict& c) {
  std::string values;
  for (const auto& v : c.values()) values += (values.empty() ? "" : " vs ") + v;
  std::string frags;
  for (const auto& f : c.fragments()) frags += (frags.empty() ? "" : ", ") + FragmentText(f);
  return c.type() + " " + values + ", both with " + IdentifierText(c.via()) + ": profiles " +
         Ids(c.profile_ids()) + " (" + frags + ")";
}

}  // namespace

std::string IdentifierText(const v1::Identifier& id) { return id.type() + ":" + id.value(); }
std::string FragmentText(const v1::FragmentRef& f) { return f.source() + "/" + f.external_id(); }

void PrintJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  o.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  printf("%s", out.c_str());
  if (out.empty() || out.back() != '\n') printf("\n");
}

void PrintJsonLine(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  printf("%s\n", out.c_str());
}

void PrintProfile(const v1::Profile& p, bool provenance) {
  std::string kinds;
  for (const auto& k : p.kinds()) {
    if (k != p.kind()) kinds += (kinds.empty() ? "; also " : ", ") + k;
  }
  printf("Profile %llu  %s  (%s%s)\n", static_cast<unsigned long long>(p.id()),
         p.display_name().c_str(), p.kind().c_str(), kinds.c_str());
  printf("  updated %s\n", client::FormatTime(p.updated_at_unix_ms()).c_str());
  printf("Attributes\n");
  std::vector<std::vector<std::string>> rows;
  for (const auto& a : p.attributes()) {
    rows.push_back({"  " + a.name(), a.value()});
    if (!provenance) continue;
    for (const auto& v : a.values())
      rows.push_back({"", "  " + v.value() + "  <- " + Prov(v.provenance())});
  }
  PrintTable(rows);
  printf("Identifiers\n");
  rows.clear();
  for (const auto& id : p.identifiers()) {
    rows.push_back({"  " + id.type(), id.value()});
    for (const auto& prov : id.provenance()) rows.push_back({"", "  <- " + Prov(prov)});
  }
  PrintTable(rows);
  printf("Fragments (%d)\n", p.fragments_size());
  for (const auto& f : p.fragments()) printf("  %s\n", Prov(f).c_str());
  if (p.conflicts_size() > 0) {
    printf("Conflicts\n");
    for (const auto& c : p.conflicts()) printf("  %s\n", ConflictLine(c).c_str());
  }
  if (p.redacted_size() > 0) {
    // Not absent: held back from this caller by the server's visibility rules.
    std::string fields;
    for (const auto& f : p.redacted()) fields += (fields.empty() ? "" : ", ") + f;
    printf("Withheld from you: %s\n", fields.c_str());
  }
}

void PrintSearch(const v1::SearchPeopleResponse& r) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "KIND", "NAME", "EMAIL", "TEAM", "TITLE", "LOCATION"}};
  for (const auto& s : r.people()) {
    rows.push_back({std::to_string(s.id()), s.kind(), s.display_name(), s.email(), s.team(),
                    s.title(), s.location()});
  }
  PrintTable(rows);
  if (r.people_size() == 0) printf("(no match)\n");
  if (!r.next_page_token().empty()) printf("more: --page-token %s\n", r.next_page_token().c_str());
  if (r.truncated()) printf("(too many matches to scan: type more characters)\n");
}

void PrintNeighbors(const v1::NeighborsResponse& r) {
  std::vector<std::vector<std::string>> rows = {
      {"DIR", "TYPE", "PROFILE", "NAME", "VIA", "STATED BY"}};
  for (const auto& e : r.edges()) {
    std::string by;
    for (const auto& f : e.stated_by()) by += (by.empty() ? "" : ", ") + FragmentText(f);
    rows.push_back({e.direction() == v1::IN ? "in" : "out", e.type(),
                    e.profile_id() == 0 ? "-" : std::to_string(e.profile_id()),
                    e.profile_id() == 0 ? "(not in the directory yet)" : e.other().display_name(),
                    IdentifierText(e.target()), by});
  }
  PrintTable(rows);
  if (!r.next_page_token().empty()) printf("more: --page-token %s\n", r.next_page_token().c_str());
}

void PrintStats(const v1::StatsResponse& s) {
  std::vector<std::vector<std::string>> rows = {
      {"live fragments", std::to_string(s.live_fragments())},
      {"tombstones", std::to_string(s.tombstones())},
      {"profiles", std::to_string(s.profiles())},
      {"  from several fragments", std::to_string(s.linked_profiles())},
  };
  std::vector<std::pair<std::string, uint64_t>> kinds(s.profiles_by_kind().begin(),
                                                      s.profiles_by_kind().end());
  std::sort(kinds.begin(), kinds.end());
  for (const auto& [k, n] : kinds) rows.push_back({"  " + k, std::to_string(n)});
  rows.push_back({"conflicts", std::to_string(s.conflicts())});
  rows.push_back({"rules", std::to_string(s.rules())});
  rows.push_back({"sources", std::to_string(s.sources())});
  rows.push_back({"change sequence", std::to_string(s.sequence())});
  rows.push_back({"identifiers (estimate)", std::to_string(s.identifiers_estimate())});
  rows.push_back({"edges (estimate)", std::to_string(s.edges_estimate())});
  rows.push_back({"disk bytes (SST files)", std::to_string(s.disk_bytes())});
  rows.push_back({"keys written since start", std::to_string(s.keys_written_since_start())});
  rows.push_back({"batch bytes since start", std::to_string(s.batch_bytes_since_start())});
  rows.push_back({"flushed bytes since start", std::to_string(s.flushed_bytes_since_start())});
  rows.push_back({"compacted bytes since start", std::to_string(s.compacted_bytes_since_start())});
  rows.push_back({"block cache in use (bytes)", std::to_string(s.block_cache_usage_bytes())});
  rows.push_back({"memtables (bytes, in the cache)", std::to_string(s.memtable_bytes())});
  rows.push_back({"table readers (bytes)", std::to_string(s.table_readers_bytes())});
  if (s.replica().replicated()) {
    const v1::ReplicaState& r = s.replica();
    rows.push_back({"replica", r.node()});
    rows.push_back({"  log position applied", std::to_string(r.position())});
    rows.push_back({"  lag (positions)", std::to_string(r.lag())});
    rows.push_back({"  log reachable", r.log_reachable() ? "yes" : "no (writes fail)"});
    if (!r.stopped().empty()) rows.push_back({"  STOPPED", r.stopped()});
  }
  PrintTable(rows);
}

void PrintConflicts(const v1::ListConflictsResponse& r) {
  if (r.conflicts_size() == 0) printf("no conflicts\n");
  for (const auto& c : r.conflicts()) printf("%s\n", ConflictLine(c).c_str());
  if (!r.next_page_token().empty()) printf("more: --page-token %s\n", r.next_page_token().c_str());
}

void PrintSources(const v1::ListSourcesResponse& r) {
  std::vector<std::vector<std::string>> rows = {{"SOURCE", "KIND", "PRIORITY", "FRAGMENTS",
                                                 "LAST RUN", "STATE",
                                                 "READ/ADD/UPD/SAME/DEL/REJ/SUP", "DESCRIPTION"}};
  for (const auto& s : r.sources()) {
    std::string when = "never", state = "-", counts = "-";
    if (s.has_last_run()) {
      const v1::SyncRun& run = s.last_run();
      when = client::FormatTime(run.finished_unix_ms()) + " " + run.mode();
      state = run.state();
      counts = std::to_string(run.read()) + "/" + std::to_string(run.added()) + "/" +
               std::to_string(run.updated()) + "/" + std::to_string(run.unchanged()) + "/" +
               std::to_string(run.deleted()) + "/" + std::to_string(run.rejected()) + "/" +
               std::to_string(run.suppressed());
    }
    rows.push_back({s.id(), s.kind(), std::to_string(s.priority()), std::to_string(s.fragments()),
                    when, state, counts, s.description()});
  }
  PrintTable(rows);
  // Why the last runs were not clean, one line each.
  for (const auto& s : r.sources()) {
    if (!s.has_last_run()) continue;
    const v1::SyncRun& run = s.last_run();
    if (!run.failure().empty()) printf("%s: failed: %s\n", s.id().c_str(), run.failure().c_str());
    if (!run.errors().empty()) {
      printf("%s: %d error%s, first: %s\n", s.id().c_str(), run.errors_size(),
             run.errors_size() > 1 ? "s" : "", run.errors(0).c_str());
    }
    if (run.state() != "ok" && s.last_success_unix_ms() > 0) {
      printf("%s: last clean run %s\n", s.id().c_str(),
             client::FormatTime(s.last_success_unix_ms()).c_str());
    }
  }
}

void PrintRules(const v1::ListRulesResponse& r) {
  if (r.rules_size() == 0) printf("no rules\n");
  for (const auto& rule : r.rules()) {
    std::string a, b;
    for (const auto& f : rule.fragments()) a += (a.empty() ? "" : ", ") + FragmentText(f);
    for (const auto& f : rule.apart_from()) b += (b.empty() ? "" : ", ") + FragmentText(f);
    if (rule.type() == v1::Rule::MERGE) {
      printf("%llu  merge  %s", static_cast<unsigned long long>(rule.id()), a.c_str());
    } else {
      printf("%llu  split  %s  apart from  %s", static_cast<unsigned long long>(rule.id()),
             a.c_str(), b.c_str());
    }
    printf("%s%s\n", rule.reason().empty() ? "" : "  reason: ", rule.reason().c_str());
  }
}

void PrintFragment(const v1::GetFragmentResponse& r) {
  const v1::Fragment& f = r.fragment();
  printf("%s/%s v%llu%s  profile %llu\n", f.source().c_str(), f.external_id().c_str(),
         static_cast<unsigned long long>(f.version()), r.deleted() ? " (deleted)" : "",
         static_cast<unsigned long long>(r.profile_id()));
  if (r.deleted()) return;
  printf("  kind %s, updated %s\n", f.kind().c_str(),
         client::FormatTime(f.updated_at_unix_ms()).c_str());
  for (const auto& a : f.attributes()) printf("  %s = %s\n", a.name().c_str(), a.value().c_str());
  for (const auto& id : f.identifiers()) printf("  %s\n", IdentifierText(id).c_str());
  for (const auto& rel : f.relations()) {
    printf("  %s -> %s\n", rel.type().c_str(), IdentifierText(rel.target()).c_str());
  }
  for (const auto& e : f.evidence()) {
    printf("  evidence %s%s%s: %s\n", e.kind().c_str(), e.role().empty() ? "" : " for ",
           e.role().c_str(),
           e.title().empty() ? e.text().substr(0, 80).c_str() : e.title().c_str());
  }
}

}  // namespace tessera::cli
