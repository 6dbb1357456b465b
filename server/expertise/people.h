#pragma once

#include "server/identity/profile.h"
#include "server/index/names.h"

namespace tessera::expertise {

// The short form of a profile shown in lists: name, kind, first e-mail, team, title,
// location (displayed values).
index::PersonSummary SummaryOf(const identity::Profile& p);

}  // namespace tessera::expertise
