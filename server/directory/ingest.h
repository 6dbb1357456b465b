#pragma once

// Private to server/directory: ingest, and the linking every write shares. A batch is
// validated without a lock, applied under the write lock (decide each fragment's
// outcome, link it, derive edges, evidence, name index and change log: derive.cc),
// then committed in ticket order by the write path.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/directory/directory.h"
#include "server/directory/ids.h"
#include "server/directory/state.h"
#include "server/directory/write_path.h"
#include "server/identity/linker.h"
#include "server/text/analyzer.h"

namespace tessera::directory {

class AnalysedTexts;
class Suppressions;

// What one write works on; committed together.
struct WriteContext {
  store::Batch& batch;
  MetaState& state;
  const identity::SourceRegistry& sources;
  const identity::RuleSet& rules;
  int64_t time_ms;
  bool log_changes;
  // Evidence texts of the batch analysed before the write lock was taken (may be null).
  AnalysedTexts* analysed = nullptr;
};

// Thread-safe; what it is given outlives it.
class Ingester {
 public:
  Ingester(WritePath& write, const DirectoryOptions& options, const text::Analyzer& analyzer,
           const Suppressions& suppressions)
      : write_(write), options_(options), analyzer_(analyzer), suppressions_(suppressions) {}

  // Directory::Ingest and IngestWith.
  absl::StatusOr<BatchResult> Ingest(std::vector<identity::Fragment> fragments,
                                     int64_t batch_time_ms) {
    return IngestWith(std::move(fragments), batch_time_ms, {});
  }
  absl::StatusOr<BatchResult> IngestWith(std::vector<identity::Fragment> fragments,
                                         int64_t batch_time_ms, const std::vector<SideWrite>& side);

  // Links `changes` and derives the graph, indexes and change log from the result,
  // into ctx.batch.
  absl::StatusOr<identity::LinkResult> Relink(WriteContext& ctx,
                                              std::span<const identity::Change> changes) const;
  // Relinks every live fragment in `fragkeys` with the writer's rules and sources,
  // committing in chunks.
  [[nodiscard]] absl::Status RelinkFragments(WritePath::Writer& w,
                                             const std::vector<std::string>& fragkeys,
                                             bool log_changes, int64_t time_ms) const;

 private:
  // Applies the validated batch under the stage's write lock, into its batch.
  [[nodiscard]] absl::Status Apply(WritePath::Stage& stage,
                                   std::vector<identity::Fragment>& fragments,
                                   int64_t batch_time_ms, const std::vector<SideWrite>& side,
                                   AnalysedTexts& analysed, BatchResult& result) const;
  // Analyses, without a lock, the evidence of the fragments the batch may store.
  void AnalyseAhead(const std::vector<identity::Fragment>& fragments,
                    AnalysedTexts& analysed) const;
  [[nodiscard]] absl::Status ApplyOne(WriteContext& ctx, identity::Fragment& f, uint32_t source_num,
                                      Outcome* outcome, ProfileId* profile_id) const;
  // derive.cc: keeps edges, references, evidence, the name index, counters and the
  // change log in step with a linking result.
  [[nodiscard]] absl::Status Derive(WriteContext& ctx, const identity::LinkResult& link) const;

  WritePath& write_;
  const DirectoryOptions& options_;
  const text::Analyzer& analyzer_;
  const Suppressions& suppressions_;
};

}  // namespace tessera::directory
