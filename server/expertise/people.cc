#include "server/expertise/people.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "server/text/text.h"

namespace tessera::expertise {
namespace {

// "2025-09-30" -> days since 1970, or -1.
int64_t DayOf(std::string_view date) {
  int y = 0, m = 0, d = 0;
  if (date.size() < 10 ||
      sscanf(std::string(date.substr(0, 10)).c_str(), "%4d-%2d-%2d", &y, &m, &d) != 3)
    return -1;
  if (m < 1 || m > 12 || d < 1 || d > 31) return -1;
  // Days from civil (proleptic Gregorian).
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<int64_t>(era) * 146097 + doe - 719468;
}

}  // namespace

bool HasLeft(const identity::Profile& p, int64_t today) {
  static const char* const kLeft[] = {"left", "terminated", "inactive", "former"};
  const std::string* end = p.Attr("end_date");
  if (end != nullptr && DayOf(*end) >= 0 && DayOf(*end) < today) return true;
  const std::string* status = p.Attr("status");
  if (status == nullptr) return false;
  const std::string folded = text::Fold(*status);
  return std::any_of(std::begin(kLeft), std::end(kLeft),
                     [&](const char* s) { return folded == s; });
}

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
