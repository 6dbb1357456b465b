#define BOOST_TEST_MODULE text
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "server/text/analyzer.h"
#include "server/text/text.h"

namespace bdata = boost::unit_test::data;
using namespace tessera::text;

const char* kIn[] = {"Élodie", "ELODIE", "Müller", "ﬁnance", "Straße", "Ça"};
const char* kFolded[] = {"elodie", "elodie", "muller", "finance", "strasse", "ca"};

BOOST_DATA_TEST_CASE(fold_is_case_and_accent_insensitive, bdata::make(kIn) ^ bdata::make(kFolded), in, out) {
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
  BOOST_TEST(!IsValidUtf8("\xed\xa0\x80"));  // a surrogate
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

BOOST_AUTO_TEST_CASE(analyzer_picks_language_from_tag_or_stop_words) {
  Analyzer a(AnalyzerOptions{Language::kEnglish});
  BOOST_TEST(static_cast<int>(a.Pick("fr-CA", "whatever")) == static_cast<int>(Language::kFrench));
  BOOST_TEST(static_cast<int>(a.Pick("", "Bonjour, je ne peux pas me connecter à mon compte")) ==
             static_cast<int>(Language::kFrench));
  BOOST_TEST(static_cast<int>(a.Pick("", "I cannot log in to my account since the update")) ==
             static_cast<int>(Language::kEnglish));
  BOOST_TEST(static_cast<int>(a.Pick("de", "xyz")) == static_cast<int>(Language::kEnglish));  // default
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
