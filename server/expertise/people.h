#pragma once

#include <cstdint>

#include "server/identity/profile.h"
#include "server/index/names.h"

namespace tessera::expertise {

// The short form of a profile shown in lists: name, kind, first e-mail, team, title,
// location (displayed values).
index::PersonSummary SummaryOf(const identity::Profile& p);

// Whether the person has left as of `today` (days since 1970-01-01): their end_date
// (YYYY-MM-DD) has passed, or their status says so (left, terminated, inactive,
// former).
bool HasLeft(const identity::Profile& p, int64_t today);

}  // namespace tessera::expertise
