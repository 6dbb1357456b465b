#include "server/text/analyzer.h"

#include <libstemmer.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <string>
#include <unordered_set>

#include "absl/container/flat_hash_map.h"
#include "server/text/text.h"

namespace tessera::text {
namespace {

// Function words that carry no topic, folded (no accents, lower case). Written for
// Tessera; short on purpose: a word missing here only costs a little precision.
constexpr const char* kEnglishStop[] = {
    "a",       "about",   "above",  "after",     "again",   "against", "all",        "also",
    "am",      "an",      "and",    "any",       "are",     "as",      "at",         "be",
    "because", "been",    "before", "being",     "below",   "between", "both",       "but",
    "by",      "can",     "could",  "did",       "do",      "does",    "doing",      "done",
    "down",    "during",  "each",   "either",    "else",    "ever",    "few",        "for",
    "from",    "further", "get",    "got",       "had",     "has",     "have",       "having",
    "he",      "her",     "here",   "hers",      "herself", "him",     "himself",    "his",
    "how",     "i",       "if",     "in",        "into",    "is",      "it",         "its",
    "itself",  "just",    "let",    "like",      "may",     "me",      "might",      "more",
    "most",    "much",    "must",   "my",        "myself",  "no",      "nor",        "not",
    "now",     "of",      "off",    "on",        "once",    "only",    "or",         "other",
    "ought",   "our",     "ours",   "ourselves", "out",     "over",    "own",        "please",
    "same",    "shall",   "she",    "should",    "so",      "some",    "still",      "such",
    "than",    "that",    "the",    "their",     "theirs",  "them",    "themselves", "then",
    "there",   "these",   "they",   "this",      "those",   "though",  "through",    "thus",
    "to",      "too",     "under",  "until",     "up",      "upon",    "us",         "very",
    "was",     "we",      "were",   "what",      "when",    "where",   "whether",    "which",
    "while",   "who",     "whom",   "whose",     "why",     "will",    "with",       "within",
    "without", "would",   "yet",    "you",       "your",    "yours",   "yourself",   "yourselves",
    "s",       "t",       "d",      "ll",        "m",       "re",      "ve",         "don",
    "doesn",   "didn",    "isn",    "wasn",      "aren",    "weren",   "won",        "wouldn",
    "couldn",  "shouldn", "hasn",   "haven",     "hadn"};

constexpr const char* kFrenchStop[] = {
    "a",       "afin",     "ai",      "aie",      "aient",  "ainsi",     "ait",     "alors",
    "as",      "au",       "aucun",   "aucune",   "aupres", "auquel",    "aussi",   "autre",
    "autres",  "aux",      "avaient", "avais",    "avait",  "avant",     "avec",    "avez",
    "aviez",   "avions",   "avoir",   "avons",    "ayant",  "c",         "ca",      "ce",
    "ceci",    "cela",     "celle",   "celles",   "celui",  "cependant", "ces",     "cet",
    "cette",   "ceux",     "chaque",  "chez",     "ci",     "comme",     "comment", "d",
    "dans",    "de",       "des",     "deja",     "depuis", "donc",      "dont",    "du",
    "elle",    "elles",    "en",      "encore",   "entre",  "es",        "est",     "et",
    "etaient", "etais",    "etait",   "etant",    "ete",    "etes",      "etiez",   "etions",
    "etre",    "eu",       "eux",     "fait",     "faites", "fois",      "font",    "ici",
    "il",      "ils",      "j",       "je",       "jusqu",  "l",         "la",      "laquelle",
    "le",      "lequel",   "les",     "lesquels", "leur",   "leurs",     "lors",    "lui",
    "m",       "ma",       "mais",    "me",       "meme",   "memes",     "mes",     "moi",
    "mon",     "n",        "ne",      "ni",       "nos",    "notre",     "nous",    "on",
    "ont",     "ou",       "par",     "parce",    "pas",    "peu",       "peut",    "plus",
    "pour",    "pourquoi", "puis",    "qu",       "quand",  "que",       "quel",    "quelle",
    "quelles", "quels",    "qui",     "quoi",     "s",      "sa",        "sans",    "se",
    "sera",    "serait",   "ses",     "si",       "sinon",  "soi",       "soit",    "sommes",
    "son",     "sont",     "sous",    "suis",     "sur",    "t",         "ta",      "te",
    "tes",     "toi",      "ton",     "tous",     "tout",   "toute",     "toutes",  "tres",
    "tu",      "un",       "une",     "unes",     "uns",    "vers",      "via",     "voici",
    "voila",   "vos",      "votre",   "vous",     "y"};

// Greetings and sign-offs, in either language: a message's first and last words say
// nothing about its subject ("Hi Sofia!"), and in a message of the other language they
// would be stemmed into a false match ("hier" -> "hi"). Never terms, and no vote for a
// text's language either.
constexpr const char* kGreetings[] = {
    "hi",      "hello",   "hey",   "dear",  "thanks", "thank",        "regards", "cheers",
    "bonjour", "bonsoir", "salut", "merci", "coucou", "cordialement", "madame",  "monsieur"};

bool IsGreeting(std::string_view w) {
  static const auto* set =
      new std::unordered_set<std::string_view>(std::begin(kGreetings), std::end(kGreetings));
  return set->count(w) != 0;
}

const std::unordered_set<std::string_view>& StopSet(Language lang) {
  static const auto* en =
      new std::unordered_set<std::string_view>(std::begin(kEnglishStop), std::end(kEnglishStop));
  static const auto* fr =
      new std::unordered_set<std::string_view>(std::begin(kFrenchStop), std::end(kFrenchStop));
  return lang == Language::kFrench ? *fr : *en;
}

// libstemmer objects are not thread-safe: one per thread and language.
sb_stemmer* Stemmer(Language lang) {
  struct Deleter {
    void operator()(sb_stemmer* s) const { sb_stemmer_delete(s); }
  };
  thread_local std::unique_ptr<sb_stemmer, Deleter> en(sb_stemmer_new("english", "UTF_8"));
  thread_local std::unique_ptr<sb_stemmer, Deleter> fr(sb_stemmer_new("french", "UTF_8"));
  sb_stemmer* s = lang == Language::kFrench ? fr.get() : en.get();
  if (s == nullptr) std::abort();  // the Debian package always has both
  return s;
}

std::string StemUncached(std::string_view word, Language lang) {
  sb_stemmer* s = Stemmer(lang);
  const sb_symbol* out = sb_stemmer_stem(s, reinterpret_cast<const sb_symbol*>(word.data()),
                                         static_cast<int>(word.size()));
  if (out == nullptr) return std::string(word);  // out of memory: keep the word
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(sb_stemmer_length(s)));
}

constexpr size_t kMaxWordBytes = 64;

// Word frequencies follow Zipf's law, so most words a thread stems it has stemmed
// before: a bounded per-thread memo, per language, emptied when full.
constexpr size_t kStemMemoWords = 1 << 14;  // at most ~2 MiB per thread and language

std::string Stem(std::string_view word, Language lang) {
  // One memo per Language value; a value added later without growing this array is
  // stemmed without a memo rather than sharing another language's.
  thread_local absl::flat_hash_map<std::string, std::string> memo[3];
  const size_t index = static_cast<size_t>(lang);
  if (index >= std::size(memo)) return StemUncached(word, lang);
  auto& m = memo[index];
  if (auto it = m.find(absl::string_view(word.data(), word.size())); it != m.end()) {
    return it->second;
  }
  std::string stem = StemUncached(word, lang);
  if (m.size() >= kStemMemoWords) m.clear();
  m.emplace(word, stem);
  return stem;
}

// The bytes at `i` of `w` that end a part of a word (their length; 0: none): '.',
// '_', ':', '/' split technical words ("np.array_api" gives "np", "array", "api"),
// and an apostrophe elided words, typed straight or typographic as phones and word
// processors write it (U+2019 "’", U+02BC "ʼ"): "l’affichage" is "l", "affichage".
size_t SeparatorAt(std::string_view w, size_t i) {
  switch (w[i]) {
    case '.':
    case '_':
    case ':':
    case '/':
    case '\'':
      return 1;
    default:
      break;
  }
  if (w.substr(i, 3) == "\xe2\x80\x99") return 3;  // U+2019
  if (w.substr(i, 2) == "\xca\xbc") return 2;      // U+02BC
  return 0;
}

// Folded words of `text`, split at SeparatorAt; the ligatures "œ" and "æ" are
// written out ("cœur" and "coeur" are one word, as most keyboards type it).
template <typename Emit>
void ForEachWord(std::string_view text, Emit emit) {
  std::string part;
  auto emit_part = [&](std::string_view p) {
    if (p.find("\xc5\x93") == std::string_view::npos &&
        p.find("\xc3\xa6") == std::string_view::npos) {
      emit(p);
      return;
    }
    part.assign(p);
    for (auto [lig, out] : {std::pair{"\xc5\x93", "oe"}, {"\xc3\xa6", "ae"}}) {
      for (size_t at; (at = part.find(lig)) != std::string::npos;) part.replace(at, 2, out);
    }
    emit(std::string_view(part));
  };
  for (const std::string& w : FoldedWords(text)) {
    size_t start = 0;
    for (size_t i = 0; i <= w.size();) {
      const size_t sep = i < w.size() ? SeparatorAt(w, i) : 1;
      if (sep == 0) {
        ++i;
        continue;
      }
      if (i > start) emit_part(std::string_view(w).substr(start, i - start));
      i += sep;
      start = i;
    }
  }
}

bool Keep(std::string_view w, Language lang) {
  if (w.size() < 2 || w.size() > kMaxWordBytes) return false;
  return !IsStopWord(w, lang) && !IsGreeting(w);
}

}  // namespace

std::string_view LanguageName(Language lang) { return lang == Language::kFrench ? "fr" : "en"; }

bool IsStopWord(std::string_view folded_word, Language lang) {
  return StopSet(lang).count(folded_word) != 0;
}

std::optional<Language> LanguageOfTag(std::string_view tag) {
  const std::string t = AsciiLower(tag.substr(0, tag.find_first_of("-_")));
  if (t == "fr" || t == "fra" || t == "fre") return Language::kFrench;
  if (t == "en" || t == "eng") return Language::kEnglish;
  return std::nullopt;
}

Language Analyzer::Pick(std::string_view tag, std::string_view text, bool* undecided) const {
  if (undecided != nullptr) *undecided = false;
  if (std::optional<Language> given = LanguageOfTag(tag)) return *given;
  int en = 0, fr = 0;
  ForEachWord(text.substr(0, 2000), [&](std::string_view w) {
    if (IsGreeting(w)) return;
    en += IsStopWord(w, Language::kEnglish) ? 1 : 0;
    fr += IsStopWord(w, Language::kFrench) ? 1 : 0;
  });
  if (en == fr) {
    if (undecided != nullptr) *undecided = true;
    return options_.default_language;
  }
  return fr > en ? Language::kFrench : Language::kEnglish;
}

std::vector<std::string> Analyzer::Terms(std::string_view text, Language lang) const {
  std::vector<std::string> terms;
  ForEachWord(text, [&](std::string_view w) {
    if (Keep(w, lang)) terms.push_back(Stem(w, lang));
  });
  return terms;
}

std::vector<Analyzer::Word> Analyzer::Words(std::string_view text, Language lang) const {
  std::vector<Word> words;
  ForEachWord(text, [&](std::string_view w) {
    if (Keep(w, lang)) words.push_back({std::string(w), Stem(w, lang)});
  });
  return words;
}

}  // namespace tessera::text
