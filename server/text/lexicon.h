#pragma once

// A bilingual lexicon, so that a message in one language can reach evidence written in
// the other: "carte" also searches "card". Read from FreeDict dictionaries in dictd
// format (Debian's dict-freedict-fra-eng and dict-freedict-eng-fra), both directions
// feeding each language pair, and keyed by index terms (stems), so "refusée" finds the
// entry of "refuser". Dictionaries give a word's senses, not the one meant: the
// translations are searched with a lower weight (expertise.translation_weight).

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "server/text/analyzer.h"

namespace tessera::text {

struct DictionaryFile {
  std::string prefix;  // PREFIX.index and PREFIX.dict.dz (dictzip, or plain PREFIX.dict)
  Language from = Language::kFrench, to = Language::kEnglish;
};

// Immutable once loaded; thread-safe.
class Lexicon {
 public:
  // Translations kept per term; the first senses of an entry come first.
  static constexpr size_t kMaxTranslations = 3;

  // Reads the dictionaries; NOT_FOUND or DATA_LOSS naming the file that cannot be read.
  static absl::StatusOr<Lexicon> Load(const std::vector<DictionaryFile>& files,
                                      const Analyzer& analyzer);

  // Index terms of the other language for `term`, an index term of `from`; nullptr if none.
  const std::vector<std::string>* Translate(Language from, std::string_view term) const;
  size_t size() const { return from_fr_.size() + from_en_.size(); }

 private:
  void Add(Language from, const std::string& term, const std::string& translation);
  std::unordered_map<std::string, std::vector<std::string>> from_fr_, from_en_;
};

}  // namespace tessera::text
