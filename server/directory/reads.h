#pragma once

// Private to server/directory: the read side of the Directory: profiles, people
// search, graph walks, fragments, the change feed, a customer's history and
// FindExperts. Every call reads one snapshot (or the latest state for point reads)
// and the published state; none takes the write lock.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/directory/directory.h"
#include "server/directory/ids.h"
#include "server/directory/write_path.h"
#include "server/expertise/cases.h"
#include "server/expertise/language.h"
#include "server/text/analyzer.h"

namespace tessera::directory {

// Implemented over reads.cc (profiles, search, walks, fragments), feed.cc (change
// feed), history.cc and expertise.cc (FindExperts). Thread-safe; what it is given
// outlives it.
class ReadPath {
 public:
  ReadPath(const WritePath& write, const DirectoryOptions& options, const text::Analyzer& analyzer)
      : write_(write), options_(options), analyzer_(analyzer) {}

  // The Directory calls of the same names (directory.h says what each answers).
  absl::StatusOr<ProfileView> GetProfile(const ProfileRef& ref) const;
  absl::StatusOr<index::NamePage> SearchPeople(index::NameQuery query) const;
  absl::StatusOr<NeighborsView> Neighbors(const NeighborsQuery& query) const;
  absl::StatusOr<FragmentView> GetFragment(const FragmentName& name) const;
  absl::StatusOr<bool> Linked(ProfileId a, ProfileId b,
                              const std::vector<std::string>& relations) const;
  absl::StatusOr<ChangesPage> ReadChanges(const ChangesQuery& query) const;
  Sequence WaitForChanges(Sequence after, absl::Duration timeout) const {
    return write_.WaitForSequence(after, timeout);
  }
  absl::StatusOr<HistoryView> History(const HistoryQuery& query) const;
  absl::StatusOr<expertise::Ranking> FindExperts(const expertise::Query& query) const;
  // FindExperts without the timing.
  absl::StatusOr<expertise::Ranking> Rank(const expertise::Query& query) const;

  // The profile `ref` names (by id, unchecked, or by identifier: NOT_FOUND when none
  // carries it, FAILED_PRECONDITION when several do). `absent`, when given, receives
  // the NOT_FOUND message for `ref` naming no profile.
  absl::StatusOr<ProfileId> Resolve(const store::Reader& reader, const ProfileRef& ref,
                                    std::string* absent = nullptr) const;
  // The profile `ref` names, if present and visible under ref.visible; else NOT_FOUND
  // worded as for an absent one.
  absl::StatusOr<identity::Profile> ReadVisible(const store::Reader& reader, const ProfileRef& ref,
                                                ProfileId* id) const;
  // A fragment key as (source id, external id); an unknown source number as "#N".
  FragmentName NameOf(std::string_view fragkey) const;
  std::vector<FragmentName> NamesOf(const std::vector<std::string>& fragkeys) const;

 private:
  absl::StatusOr<ProfileView> GetProfileFrom(const store::Reader& reader,
                                             const ProfileRef& ref) const;
  absl::StatusOr<std::vector<ConflictView>> ConflictsOf(const store::Reader& reader,
                                                        ProfileId id) const;

  const WritePath& write_;
  const DirectoryOptions& options_;
  const text::Analyzer& analyzer_;
  // Case states FindExperts read, for the queries after it on the same data.
  mutable expertise::CaseCache case_cache_;
  mutable expertise::PersonLengthCache person_lengths_;
};

}  // namespace tessera::directory
