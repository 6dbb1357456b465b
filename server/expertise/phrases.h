#pragma once

// The words FindExperts' answers are written in: the one-line reason (`why`), the
// relationship to the customer and the notes on how the request was read, in English
// or French (Query::reply_language), so a French-speaking community manager reads
// the console in French throughout. Names and titles are quoted as stored.

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tessera::expertise {

enum class Reply : uint8_t { kEnglish, kFrench };

// "" or "en…": English; "fr…": French; another tag is INVALID_ARGUMENT.
absl::StatusOr<Reply> ReplyLanguage(std::string_view tag);

// "solved 3 similar cases", "a écrit 1 page sur le sujet"...
std::string KindPhrase(Reply r, std::string_view kind, size_t n);
// ` (best match: "title")`, clipped title given.
std::string BestMatch(Reply r, std::string_view title);
std::string ThisCustomer(Reply r);
std::string ManagerOf(Reply r, std::string_view customer);
// cases: earlier cases of theirs handled; answered: an earlier message of theirs answered.
std::string HandledEarlier(Reply r, size_t cases, bool answered, std::string_view customer);
std::string HasLeft(Reply r);
std::string Away(Reply r);  // short, for people to inform
std::string AwayRankedLower(Reply r);
std::string Busy(Reply r, size_t open_cases);
// Notes.
std::string MessageCut(Reply r, size_t total_bytes, size_t read_bytes);
// `also`: the language the words were also stemmed in when no stop words told
// (ranker.cc, AddOtherStems), or empty.
std::string LanguageGuessed(Reply r, std::string_view language, std::string_view also = {});
std::string CustomerUnknown(Reply r, std::string_view identifier);
std::string CustomerFoundInText(Reply r, std::string_view identifier, std::string_view name);

}  // namespace tessera::expertise
