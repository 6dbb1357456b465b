#include "server/text/text.h"

#include <memory>

#include "unicode/brkiter.h"
#include "unicode/normalizer2.h"
#include "unicode/uchar.h"
#include "unicode/unistr.h"
#include "unicode/utf8.h"

namespace tessera::text {
namespace {

const icu::Normalizer2& Nfkd() {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = icu::Normalizer2::getNFKDInstance(status);
  // ICU's built-in data always has NFKD; failing here means a broken install.
  if (U_FAILURE(status) || n == nullptr) std::abort();
  return *n;
}

const icu::Normalizer2& NfcInstance() {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status) || n == nullptr) std::abort();
  return *n;
}

std::string ToUtf8(const icu::UnicodeString& u) {
  std::string out;
  u.toUTF8String(out);
  return out;
}

icu::UnicodeString FoldUnicode(const icu::UnicodeString& in) {
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString decomposed = Nfkd().normalize(in, status);
  if (U_FAILURE(status)) return in;
  icu::UnicodeString kept;
  for (int32_t i = 0; i < decomposed.length();) {
    const UChar32 c = decomposed.char32At(i);
    i += U16_LENGTH(c);
    if (u_charType(c) == U_NON_SPACING_MARK) continue;
    kept.append(c);
  }
  kept.foldCase(U_FOLD_CASE_DEFAULT);  // full folding: "ß" -> "ss"
  icu::UnicodeString out = NfcInstance().normalize(kept, status);
  return U_FAILURE(status) ? kept : out;
}

// ICU break iterators are expensive to create and not thread-safe: one per thread.
icu::BreakIterator* WordBreaker() {
  thread_local std::unique_ptr<icu::BreakIterator> it = [] {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::BreakIterator> b(
        icu::BreakIterator::createWordInstance(icu::Locale::getRoot(), status));
    if (U_FAILURE(status)) std::abort();
    return b;
  }();
  return it.get();
}

bool IsAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  if (IsAscii(s)) return true;
  int32_t i = 0;
  const auto n = static_cast<int32_t>(s.size());
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  while (i < n) {
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (c < 0) return false;
  }
  return true;
}

std::string Nfc(std::string_view utf8) {
  if (IsAscii(utf8)) return std::string(utf8);  // ASCII is always in NFC
  UErrorCode status = U_ZERO_ERROR;
  const icu::UnicodeString in = icu::UnicodeString::fromUTF8(
      icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
  if (NfcInstance().isNormalized(in, status) && U_SUCCESS(status)) return std::string(utf8);
  status = U_ZERO_ERROR;
  icu::UnicodeString out = NfcInstance().normalize(in, status);
  return U_FAILURE(status) ? std::string(utf8) : ToUtf8(out);
}

std::string Fold(std::string_view utf8) {
  if (IsAscii(utf8)) return AsciiLower(utf8);  // plain ASCII needs only lower-casing
  return ToUtf8(FoldUnicode(icu::UnicodeString::fromUTF8(
      icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())))));
}

std::vector<std::string> FoldedWords(std::string_view utf8) {
  // Folding ASCII is lower-casing it (no decomposition, no marks): skip ICU's
  // normalisers for the text most evidence is.
  const icu::UnicodeString folded = IsAscii(utf8)
                                        ? icu::UnicodeString::fromUTF8(AsciiLower(utf8))
                                        : FoldUnicode(icu::UnicodeString::fromUTF8(icu::StringPiece(
                                              utf8.data(), static_cast<int32_t>(utf8.size()))));
  std::vector<std::string> words;
  icu::BreakIterator* bi = WordBreaker();
  bi->setText(folded);
  int32_t start = bi->first();
  for (int32_t end = bi->next(); end != icu::BreakIterator::DONE; start = end, end = bi->next()) {
    if (bi->getRuleStatus() == UBRK_WORD_NONE) continue;  // spaces, punctuation
    icu::UnicodeString w;
    folded.extractBetween(start, end, w);
    words.push_back(ToUtf8(w));
  }
  return words;
}

std::string Lower(std::string_view utf8) {
  if (IsAscii(utf8)) return AsciiLower(utf8);
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(
      icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
  return ToUtf8(u.toLower(icu::Locale::getRoot()));
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view TrimAscii(std::string_view s) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view CutBetweenWords(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // whole characters
  if (const size_t space = s.rfind(' ', cut);
      space != std::string_view::npos && space > max_bytes / 2)
    cut = space;
  return s.substr(0, cut);
}

std::string Excerpt(std::string_view s, size_t max_bytes) {
  std::string line;
  for (char c : TrimAscii(s)) {
    const bool blank = c == '\n' || c == '\r' || c == '\t' || c == ' ';
    if (blank && !line.empty() && line.back() == ' ') continue;
    line.push_back(blank ? ' ' : c);
  }
  if (line.size() <= max_bytes) return line;
  return std::string(CutBetweenWords(line, max_bytes)) + "\u2026";
}

}  // namespace tessera::text
