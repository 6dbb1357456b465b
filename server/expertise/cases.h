#pragma once

// What a case's profile says about who holds it. Cases come from a helpdesk (assignees
// and resolvers as relations) and from Expertise.RecordOutcome, whose fragment lives in
// source kOutcomeSource with the highest priority. Once a case has an outcome, that
// outcome decides: a hand-over (status open) moves the case to its new holder, whose
// load it becomes, and the people the helpdesk named hold it no longer; a closing
// outcome credits its resolver only. An open case is load, never expertise: its text
// becomes evidence for its resolvers when it is closed.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/expertise/options.h"
#include "server/identity/profile.h"

namespace tessera::expertise {

// The source RecordOutcome writes to. Do not change: it names stored fragments.
inline constexpr char kOutcomeSource[] = "tessera-outcomes";

struct CaseState {
  bool is_case = false;
  bool open = false;  // its status is one of open_statuses
  // The fragment key of its outcome, when one was recorded: only that fragment's
  // relations say who holds (or resolved) it. Empty otherwise.
  std::string outcome_fragkey;

  bool operator==(const CaseState&) const = default;
};

CaseState CaseStateOf(const identity::Profile& p, const ExpertiseOptions& o);

// Case states shared by the queries that read the same data: FindExperts looks up the
// state of every case in its evidence pool, and a profile read each costs ~10% of a
// query. Entries hold for one `generation` (the directory's change sequence): a query
// on newer data clears them. Bounded; thread-safe.
class CaseCache {
 public:
  bool Get(uint64_t generation, uint64_t id, CaseState* out) const {
    absl::MutexLock l(&mu_);
    if (generation != generation_) return false;
    auto it = states_.find(id);
    if (it == states_.end()) return false;
    *out = it->second;
    return true;
  }
  void Put(uint64_t generation, uint64_t id, const CaseState& s) {
    absl::MutexLock l(&mu_);
    if (generation != generation_ || states_.size() >= kMaxEntries) {
      if (generation < generation_) return;  // an older query's answer
      states_.clear();
      generation_ = generation;
    }
    states_.emplace(id, s);
  }

 private:
  static constexpr size_t kMaxEntries = 1 << 18;
  mutable absl::Mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::unordered_map<uint64_t, CaseState> states_ ABSL_GUARDED_BY(mu_);
};

// Whether an edge of a load relation from fragment `fragkey` makes its target hold the
// case: the case is open and, once it has an outcome, the edge is the outcome's.
inline bool Holds(const CaseState& c, std::string_view fragkey) {
  return c.open && (c.outcome_fragkey.empty() || fragkey == c.outcome_fragkey);
}

}  // namespace tessera::expertise
