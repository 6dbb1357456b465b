#pragma once

// Private to server/directory: the Admin calls: sources and their sync runs,
// statistics, conflicts, merge and split rules, backup, rebuild and the digest of
// derived data. Writes take the write path's Writer (pipeline drained first).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/directory/directory.h"
#include "server/directory/ids.h"
#include "server/directory/write_path.h"

namespace tessera::directory {

class Ingester;
class ReadPath;

// Implemented over admin.cc and rebuild.cc. Thread-safe; what it is given outlives it.
class Admin {
 public:
  Admin(WritePath& write, const Ingester& ingester, const ReadPath& reads,
        const DirectoryOptions& options)
      : write_(write), ingester_(ingester), reads_(reads), options_(options) {}

  // The Directory calls of the same names (directory.h says what each answers).
  absl::StatusOr<SourceInfo> PutSource(identity::Source source, bool priority_if_new);
  std::vector<SourceInfo> ListSources() const;
  bool HasSource(std::string_view id) const;
  absl::StatusOr<SourceInfo> ReportSync(std::string_view source_id, SyncRun run);
  absl::StatusOr<Stats> GetStats() const;
  absl::StatusOr<ConflictPage> ListConflicts(size_t page_size, const std::string& page_token) const;
  absl::StatusOr<MergeResult> Merge(const std::vector<ProfileId>& ids, const std::string& reason,
                                    int64_t now_ms);
  absl::StatusOr<SplitResult> Split(ProfileId id, const std::vector<FragmentName>& fragments,
                                    const std::string& reason, int64_t now_ms);
  std::vector<RuleView> ListRules() const;
  [[nodiscard]] absl::Status DeleteRule(uint64_t id);
  absl::StatusOr<Sequence> Backup(const std::string& path);
  absl::StatusOr<RebuildResult> Rebuild();
  // Rebuild with the write lock already held (at open).
  absl::StatusOr<RebuildResult> Rebuild(WritePath::Writer& w);
  absl::StatusOr<std::string> DerivedDigest() const;

 private:
  WritePath& write_;
  const Ingester& ingester_;
  const ReadPath& reads_;
  const DirectoryOptions& options_;
};

}  // namespace tessera::directory
