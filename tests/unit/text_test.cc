#define BOOST_TEST_MODULE text
#include "server/text/text.h"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <fstream>

#include "server/text/analyzer.h"
#include "server/text/lexicon.h"
#include "tests/unit/temp_dir.h"

namespace bdata = boost::unit_test::data;
using namespace tessera::text;

const char* const kIn[] = {"Élodie", "ELODIE", "Müller", "ﬁnance", "Straße", "Ça"};
const char* const kFolded[] = {"elodie", "elodie", "muller", "finance", "strasse", "ca"};

BOOST_DATA_TEST_CASE(fold_is_case_and_accent_insensitive, bdata::make(kIn) ^ bdata::make(kFolded),
                     in, out) {
  BOOST_TEST(Fold(in) == out);
}

BOOST_AUTO_TEST_CASE(words_drop_spaces_and_punctuation) {
  const std::vector<std::string> want = {"jean", "luc", "o'neil", "42"};
  BOOST_TEST(FoldedWords("Jean-Luc  O'Neil, 42!") == want);
}

BOOST_AUTO_TEST_CASE(utf8_validation_and_nfc) {
  BOOST_TEST(IsValidUtf8("plain"));
  BOOST_TEST(IsValidUtf8("é"));
  BOOST_TEST(!IsValidUtf8("\xc3"));
  BOOST_TEST(!IsValidUtf8("\xed\xa0\x80"));    // a surrogate
  BOOST_TEST(Nfc("e\xcc\x81") == "\xc3\xa9");  // e + combining acute -> é
  BOOST_TEST(Lower("ANDRÉ") == "andré");
  BOOST_TEST(TrimAscii("  x y \t") == "x y");
}

BOOST_AUTO_TEST_CASE(analyzer_stems_folds_and_drops_stop_words) {
  Analyzer a;
  const std::vector<std::string> en = {"card", "block", "abroad", "transfer"};
  BOOST_TEST(a.Terms("The card was BLOCKED abroad after the transfers", Language::kEnglish) == en);
  // French: elision, accents folded before stemming, stop words.
  const std::vector<std::string> fr = {"cart", "bloque", "etrang"};
  BOOST_TEST(a.Terms("Ma carte est bloquée à l'étranger", Language::kFrench) == fr);
  // Typed without accents, the same terms.
  BOOST_TEST(a.Terms("ma carte est bloquee a l'etranger", Language::kFrench) == fr);
  // Technical words split at '.', '_', ':' and '/'.
  const std::vector<std::string> code = {"np", "array", "api", "linalg"};
  BOOST_TEST(a.Terms("np.array_api linalg", Language::kEnglish) == code);
}

// Phones and word processors type the apostrophe as "’" (U+2019), some keyboards as
// "ʼ" (U+02BC): elided words split there as at "'", and "c’est" is stop words, so
// the text reads as French. "œ" and "æ" are written out, as most keyboards type them.
BOOST_AUTO_TEST_CASE(typographic_apostrophes_and_ligatures_give_the_typed_terms) {
  Analyzer a(AnalyzerOptions{Language::kEnglish});
  const std::vector<std::string> shown = {"affichag", "pag"};
  BOOST_TEST(a.Terms("l'affichage des pages", Language::kFrench) == shown);
  BOOST_TEST(a.Terms("l\u2019affichage des pages", Language::kFrench) == shown);
  BOOST_TEST(a.Terms("l\u02bcaffichage des pages", Language::kFrench) == shown);
  BOOST_TEST(static_cast<int>(a.Pick("", "aujourd\u2019hui c\u2019est cass\u00e9")) ==
             static_cast<int>(Language::kFrench));
  BOOST_TEST(a.Terms("C\u0153ur de l\u2019\u0152uvre", Language::kFrench) ==
             a.Terms("coeur de l'oeuvre", Language::kFrench));
  const std::vector<std::string> words = {"coeur", "oeuvr"};
  BOOST_TEST(a.Terms("coeur de l'oeuvre", Language::kFrench) == words);
  // What an explanation shows as matched is the word without its elided article.
  const std::vector<Analyzer::Word> w = a.Words("l\u2019import", Language::kFrench);
  BOOST_REQUIRE(w.size() == 1u);
  BOOST_TEST(w[0].surface == "import");
}

BOOST_AUTO_TEST_CASE(analyzer_picks_language_from_tag_or_stop_words) {
  Analyzer a(AnalyzerOptions{Language::kEnglish});
  BOOST_TEST(static_cast<int>(a.Pick("fr-CA", "whatever")) == static_cast<int>(Language::kFrench));
  BOOST_TEST(static_cast<int>(a.Pick("", "Bonjour, je ne peux pas me connecter à mon compte")) ==
             static_cast<int>(Language::kFrench));
  BOOST_TEST(static_cast<int>(a.Pick("", "I cannot log in to my account since the update")) ==
             static_cast<int>(Language::kEnglish));
  BOOST_TEST(static_cast<int>(a.Pick("de", "xyz")) ==
             static_cast<int>(Language::kEnglish));  // default
  // Whether the default was taken for want of stop words: a title, a commit subject.
  bool undecided = false;
  BOOST_TEST(static_cast<int>(a.Pick("", "pages utilisateur vides", &undecided)) ==
             static_cast<int>(Language::kEnglish));
  BOOST_TEST(undecided);
  a.Pick("", "les pages sont vides", &undecided);
  BOOST_TEST(!undecided);
  a.Pick("fr", "pages utilisateur vides", &undecided);  // a tag decides
  BOOST_TEST(!undecided);
}

// "Hi Sofia!" says nothing of a message's subject or language: greetings are never
// terms (so a French "hier", stemmed as English, cannot match them), and do not vote.
BOOST_AUTO_TEST_CASE(greetings_are_no_terms_and_no_language) {
  Analyzer a(AnalyzerOptions{Language::kEnglish});
  const std::vector<std::string> sofia = {"sofia", "card", "declin"};
  BOOST_TEST(a.Terms("Hi Sofia! Thanks, card declined. Regards", Language::kEnglish) == sofia);
  // Snowball stems "hier" to "hi": English evidence saying "Hi" must not hold that term.
  const std::vector<std::string> fr = {"cart", "refuse", "hi"};
  BOOST_TEST(a.Terms("Bonjour, carte refusée hier. Merci, cordialement", Language::kFrench) == fr);
  // Without the greetings' votes, the French words decide.
  BOOST_TEST(static_cast<int>(a.Pick("", "Hi, hello, thanks: ma carte est refusée depuis hier")) ==
             static_cast<int>(Language::kFrench));
}

namespace {

// A dictd index number: base 64, most significant digit first.
std::string B64(size_t n) {
  static const char* const kDigits =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s;
  do {
    s.insert(s.begin(), kDigits[n % 64]);
    n /= 64;
  } while (n > 0);
  return s;
}

// Writes a dictd dictionary (plain .dict) of `entries` (headword, body) at `prefix`.
void WriteDictionary(const std::string& prefix,
                     const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string data, index;
  for (const auto& [head, body] : entries) {
    const std::string text = head + " /x/\n" + body;
    index += head + "\t" + B64(data.size()) + "\t" + B64(text.size()) + "\n";
    data += text;
  }
  std::ofstream(prefix + ".dict", std::ios::binary) << data;
  std::ofstream(prefix + ".index", std::ios::binary) << index;
}

}  // namespace

// FreeDict entries keyed by stems, both directions feeding each language: "cartes"
// finds "carte"'s entry, and an English-French entry translates French too. (Snowball
// stems some forms apart: "refusée" gives "refuse", "refuser" gives "refus".)
BOOST_AUTO_TEST_CASE(lexicon_reads_dictd_files_both_ways) {
  tessera::testing::TempDir tmp;
  WriteDictionary(tmp.Sub("fra-eng"), {{"00-database-info", "about this dictionary"},
                                       {"carte", "<n, fem>\n1. map\n2. card, menu\n"},
                                       {"refuser", "<v>\nrefuse, reject\n"},
                                       {"virement", "<n, masc>\n(bank) transfer\n"}});
  WriteDictionary(tmp.Sub("eng-fra"), {{"rate", "<n>\ntaux\n"}});
  Analyzer a;
  absl::StatusOr<Lexicon> lex =
      Lexicon::Load({{tmp.Sub("fra-eng"), Language::kFrench, Language::kEnglish},
                     {tmp.Sub("eng-fra"), Language::kEnglish, Language::kFrench}},
                    a);
  BOOST_REQUIRE_MESSAGE(lex.ok(), lex.status());
  auto tr = [&](Language from, const std::string& word) {
    const std::vector<std::string> t = a.Terms(word, from);
    const std::vector<std::string>* out = lex->Translate(from, t.at(0));
    std::string s;
    for (const std::string& x : out == nullptr ? std::vector<std::string>() : *out)
      s += (s.empty() ? "" : " ") + x;
    return s;
  };
  BOOST_TEST(tr(Language::kFrench, "cartes") ==
             "map card menu");  // at most three, first sense first
  BOOST_TEST(tr(Language::kFrench, "refuse") ==
             "reject");  // "refus", the same stem in English, is searched anyway
  BOOST_TEST(tr(Language::kFrench, "virement") == "transfer");  // "(bank)" is a gloss, not a sense
  BOOST_TEST(tr(Language::kFrench, "taux") == "rate");          // from the English-French file
  BOOST_TEST(tr(Language::kEnglish, "cards") == "cart");        // and the reverse
  BOOST_TEST(lex->Translate(Language::kFrench, "zzz") == nullptr);
  BOOST_TEST(Lexicon::Load({{tmp.Sub("nope"), Language::kFrench, Language::kEnglish}}, a)
                 .status()
                 .code() == absl::StatusCode::kNotFound);
}
