#include "server/expertise/cases.h"

#include <algorithm>

#include "server/text/text.h"

namespace tessera::expertise {

CaseState CaseStateOf(const identity::Profile& p, const ExpertiseOptions& o) {
  CaseState s;
  s.is_case = std::find(p.kinds.begin(), p.kinds.end(), "case") != p.kinds.end();
  if (!s.is_case) return s;
  if (const std::string* status = p.Attr("status"); status != nullptr) {
    const std::string folded = text::Fold(*status);
    s.open =
        std::find(o.open_statuses.begin(), o.open_statuses.end(), folded) != o.open_statuses.end();
  }
  for (const identity::Member& m : p.members) {
    if (m.source == kOutcomeSource) s.outcome_fragkey = m.fragkey;
  }
  return s;
}

}  // namespace tessera::expertise
