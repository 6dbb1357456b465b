#define BOOST_TEST_MODULE text
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

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
