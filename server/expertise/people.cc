#include "server/expertise/people.h"

namespace tessera::expertise {

index::PersonSummary SummaryOf(const identity::Profile& p) {
  index::PersonSummary s;
  s.id = p.id;
  s.kind = p.kind;
  s.display_name = p.display_name;
  if (const std::string* email = p.FirstIdentifier(identity::IdType::kEmail)) s.email = *email;
  if (const std::string* v = p.Attr("team")) s.team = *v;
  if (const std::string* v = p.Attr("title")) s.title = *v;
  if (const std::string* v = p.Attr("location")) s.location = *v;
  return s;
}

}  // namespace tessera::expertise
