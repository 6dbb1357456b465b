#pragma once

// The one text analyser used both to index evidence and to read queries, so the two
// always agree: ICU word breaking, case and accent folding, technical words split at
// '.', '_', ':' and '/', stop words dropped, Snowball stemming per language.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::text {

// Disk values (postings keep terms, not languages, but evidence records keep these).
enum class Language : uint8_t { kEnglish = 1, kFrench = 2 };

std::string_view LanguageName(Language lang);  // "en", "fr"

// The supported language a BCP 47 tag names ("fr", "fr-CA", "fra", "en", "eng"), if any.
std::optional<Language> LanguageOfTag(std::string_view tag);

struct AnalyzerOptions {
  // For text whose language is neither given nor recognisable from its stop words.
  Language default_language = Language::kEnglish;
};

// Thread-safe (stemmers are per thread).
class Analyzer {
 public:
  explicit Analyzer(AnalyzerOptions options = {}) : options_(options) {}

  // The language for `text`: the BCP 47 tag when it names a supported one ("fr",
  // "fr-CA", "en"), else the language whose stop words `text` uses most, else the
  // default.
  // `undecided` (optional) is set when neither was found: no tag, and as many stop
  // words of each language (often none: a title, a commit subject).
  Language Pick(std::string_view tag, std::string_view text, bool* undecided = nullptr) const;

  // The index terms of `text`, in order, repeats kept (term frequencies count them).
  std::vector<std::string> Terms(std::string_view text, Language lang) const;

  // The folded words of `text` that Terms would keep before stemming, each with the
  // term it becomes: what an explanation shows as "matched".
  struct Word {
    std::string surface;  // folded word as written
    std::string term;     // its index term
  };
  std::vector<Word> Words(std::string_view text, Language lang) const;

  // The language of text whose language is neither given nor recognisable.
  Language default_language() const { return options_.default_language; }

 private:
  AnalyzerOptions options_;
};

// Whether `folded_word` is a stop word of `lang` (words are compared folded: "à" as "a").
bool IsStopWord(std::string_view folded_word, Language lang);

}  // namespace tessera::text
