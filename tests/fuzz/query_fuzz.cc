// Fuzz target for the query analyser: what FindExperts does to a pasted message before
// any search (server/expertise/ranker.cc): the message cut between words at
// expertise.max_query_bytes (text::CutBetweenWords), e-mail addresses, phone numbers
// and handles blanked (identity::FindMentions), the language given or guessed
// (text::Analyzer::Pick over ICU word breaking and the stop words), then the index
// terms (Analyzer::Terms: folding, technical words split, Snowball stemming) and the
// words as typed (Analyzer::Words); with the folding and tags underneath (text::Fold,
// text::LanguageOfTag).
//
// Input: one option byte, then the message.
//   byte 0 (mod 6): the language given: none, "en", "fr", "fr-CA", "eng", or the
//   message's first 16 bytes as a tag.
//
// Properties, for UTF-8 messages (FindExperts refuses others first):
//  - nothing crashes, whatever the bytes;
//  - terms and words are UTF-8, not empty, at most 64 bytes before stemming;
//  - every word's term is among the terms, in the same order;
//  - folding is idempotent: Fold(Fold(x)) == Fold(x), so folded text finds itself.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/identity/mentions.h"
#include "server/text/analyzer.h"
#include "server/text/text.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace tessera;
using fuzz::Check;

constexpr size_t kMaxQueryBytes = 8 * 1024;  // expertise.max_query_bytes' default
const char* const kTags[] = {"", "en", "fr", "fr-CA", "eng"};

void Analyse(std::string_view message, std::string_view tag) {
  std::string text(text::CutBetweenWords(message, kMaxQueryBytes));
  Check(text.size() <= kMaxQueryBytes, "the cut message is over the limit");
  for (const identity::Mention& m : identity::FindMentions(text, {"FR"})) {
    Check(m.begin <= m.end && m.end <= text.size(), "a mention outside the text");
    std::fill(text.begin() + m.begin, text.begin() + m.end, ' ');
  }
  Check(text::IsValidUtf8(text), "blanking mentions broke the text's UTF-8");
  const text::Analyzer analyzer;
  const text::Language lang = analyzer.Pick(tag, text);
  Check(lang == text::Language::kEnglish || lang == text::Language::kFrench, "no language");
  const std::vector<std::string> terms = analyzer.Terms(text, lang);
  for (const std::string& t : terms) {
    Check(!t.empty() && text::IsValidUtf8(t), "a term is empty or not UTF-8");
  }
  size_t next = 0;
  for (const text::Analyzer::Word& w : analyzer.Words(text, lang)) {
    Check(!w.surface.empty() && w.surface.size() <= 64, "a word is empty or over 64 bytes");
    Check(text::IsValidUtf8(w.surface) && text::IsValidUtf8(w.term), "a word is not UTF-8");
    while (next < terms.size() && terms[next] != w.term) ++next;
    Check(next < terms.size(), "a word's term is not among the terms, in order");
    ++next;
  }
  const std::string folded = text::Fold(text);
  Check(text::IsValidUtf8(folded), "folded text is not UTF-8");
  Check(text::Fold(folded) == folded, "folding is not idempotent");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view message(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string_view tag = data[0] % 6 < 5 ? kTags[data[0] % 6] : message.substr(0, 16);
  (void)text::LanguageOfTag(tag);
  if (!text::IsValidUtf8(message)) return 0;  // FindExperts: "text is not valid UTF-8"
  Analyse(message, tag);
  return 0;
}
