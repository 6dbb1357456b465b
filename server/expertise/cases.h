#pragma once

// What a case's profile says about who holds it. Cases come from a helpdesk (assignees
// and resolvers as relations) and from Expertise.RecordOutcome, whose fragment lives in
// source kOutcomeSource with the highest priority. Once a case has an outcome, that
// outcome decides: a hand-over (status open) moves the case to its new holder, whose
// load it becomes, and the people the helpdesk named hold it no longer; a closing
// outcome credits its resolver only. An open case is load, never expertise: its text
// becomes evidence for its resolvers when it is closed.

#include <string>
#include <string_view>

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

// Whether an edge of a load relation from fragment `fragkey` makes its target hold the
// case: the case is open and, once it has an outcome, the edge is the outcome's.
inline bool Holds(const CaseState& c, std::string_view fragkey) {
  return c.open && (c.outcome_fragkey.empty() || fragkey == c.outcome_fragkey);
}

}  // namespace tessera::expertise
