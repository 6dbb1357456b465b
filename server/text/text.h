#pragma once

// Unicode text handling shared by the indexes and identity: validation, NFC,
// accent- and case-insensitive folding, and word breaking (ICU). Thread-safe.

#include <string>
#include <string_view>
#include <vector>

namespace tessera::text {

// Whether `s` is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Unicode NFC of `utf8`, which must be valid UTF-8.
std::string Nfc(std::string_view utf8);

// The search form of `utf8`: compatibility-decomposed, accents (non-spacing marks)
// removed, case-folded, recomposed. "Élodie" and "ELODIE" both give "elodie";
// "ﬁ" gives "fi". `utf8` must be valid UTF-8.
std::string Fold(std::string_view utf8);

// The words of `utf8` by ICU's word-break rules (UAX #29), folded; spaces and
// punctuation are dropped, so "Jean-Luc O'Neil" gives {"jean", "luc", "o'neil"}.
std::vector<std::string> FoldedWords(std::string_view utf8);

// Unicode lower-case (root locale) of `utf8`, accents kept: "ANDRÉ" gives "andré".
std::string Lower(std::string_view utf8);

// ASCII lower-case of `s`; other bytes unchanged.
std::string AsciiLower(std::string_view s);
// `s` without leading and trailing ASCII white space.
std::string_view TrimAscii(std::string_view s);

// The start of UTF-8 `s` in at most `max_bytes`: cut at the last space when one is in
// the second half, else before the character that would not fit.
std::string_view CutBetweenWords(std::string_view s, size_t max_bytes);

// `s` on one line (line breaks and tabs as single spaces), cut between words to at
// most `max_bytes` with "…" appended when cut: a title or an excerpt.
std::string Excerpt(std::string_view s, size_t max_bytes);

}  // namespace tessera::text
