#include "server/text/lexicon.h"

#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace tessera::text {
namespace {

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// dictd's index numbers: base 64, most significant digit first.
bool DecodeNumber(std::string_view s, size_t* out) {
  size_t n = 0;
  for (char c : s) {
    const size_t d = kBase64.find(c);
    if (d == std::string_view::npos || n > (SIZE_MAX >> 6)) return false;
    n = n * 64 + d;
  }
  *out = n;
  return !s.empty();
}

// The whole (dictzip-compressed, gzip-compatible) data file.
absl::StatusOr<std::string> ReadData(const std::string& prefix) {
  const std::string dz = prefix + ".dict.dz";
  if (gzFile f = gzopen(dz.c_str(), "rb"); f != nullptr) {
    std::string out;
    char buf[65536];
    int n = 0;
    while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    const bool failed = n < 0;
    gzclose(f);
    if (failed) return absl::DataLossError(dz + ": not a readable dictzip file");
    return out;
  }
  std::ifstream in(prefix + ".dict", std::ios::binary);
  if (!in) return absl::NotFoundError(prefix + ".dict.dz: cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The translations an entry gives, first sense first: sense lines ("1. map", "card,
// menu") split at ',' and ';', parentheses and grammar lines ("<n, fem>") dropped,
// phrases of at most two words.
std::vector<std::string> Senses(std::string_view body) {
  std::vector<std::string> out;
  std::istringstream lines{std::string(body)};
  std::string line;
  std::getline(lines, line);  // the headword and its pronunciation
  while (std::getline(lines, line)) {
    std::string clean;
    int depth = 0;
    for (char c : line) {
      if (c == '(' || c == '<') ++depth;
      if (depth == 0) clean.push_back(c);
      if ((c == ')' || c == '>') && depth > 0) --depth;
    }
    size_t start = clean.find_first_not_of(" \t0123456789.");
    if (start == std::string::npos) continue;
    std::stringstream parts(clean.substr(start));
    std::string part;
    while (std::getline(parts, part, ',')) {
      for (std::string piece; !part.empty();) {
        const size_t semi = part.find(';');
        piece = part.substr(0, semi);
        part = semi == std::string::npos ? "" : part.substr(semi + 1);
        const size_t b = piece.find_first_not_of(' '), e = piece.find_last_not_of(' ');
        if (b == std::string::npos) continue;
        piece = piece.substr(b, e - b + 1);
        if (std::count(piece.begin(), piece.end(), ' ') <= 1) out.push_back(piece);
      }
    }
  }
  return out;
}

}  // namespace

void Lexicon::Add(Language from, const std::string& term, const std::string& translation) {
  std::vector<std::string>& v = (from == Language::kFrench ? from_fr_ : from_en_)[term];
  if (v.size() < kMaxTranslations && translation != term &&
      std::find(v.begin(), v.end(), translation) == v.end()) {
    v.push_back(translation);
  }
}

absl::StatusOr<Lexicon> Lexicon::Load(const std::vector<DictionaryFile>& files,
                                      const Analyzer& analyzer) {
  Lexicon lex;
  // Each file feeds both directions: its own first, then (second pass) the reverse.
  for (int pass = 0; pass < 2; ++pass) {
    for (const DictionaryFile& file : files) {
      absl::StatusOr<std::string> data = ReadData(file.prefix);
      if (!data.ok()) return data.status();
      std::ifstream index(file.prefix + ".index");
      if (!index) return absl::NotFoundError(file.prefix + ".index: cannot be read");
      std::string line;
      while (std::getline(index, line)) {
        const size_t t1 = line.find('\t'),
                     t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
        size_t offset = 0, length = 0;
        if (t2 == std::string::npos || !DecodeNumber(line.substr(t1 + 1, t2 - t1 - 1), &offset) ||
            !DecodeNumber(line.substr(t2 + 1), &length) || offset + length > data->size()) {
          return absl::DataLossError(file.prefix + ".index: bad line '" + line.substr(0, 60) + "'");
        }
        const std::string headword = line.substr(0, t1);
        if (headword.rfind("00", 0) == 0) continue;  // the dictionary's own description
        const std::vector<std::string> head = analyzer.Terms(headword, file.from);
        if (head.size() != 1) continue;  // phrases and stop words
        for (const std::string& sense : Senses(std::string_view(*data).substr(offset, length))) {
          for (const std::string& term : analyzer.Terms(sense, file.to)) {
            if (pass == 0) {
              lex.Add(file.from, head[0], term);
            } else {
              lex.Add(file.to, term, head[0]);
            }
          }
        }
      }
    }
  }
  return lex;
}

const std::vector<std::string>* Lexicon::Translate(Language from, std::string_view term) const {
  const auto& m = from == Language::kFrench ? from_fr_ : from_en_;
  auto it = m.find(std::string(term));
  return it == m.end() ? nullptr : &it->second;
}

}  // namespace tessera::text
