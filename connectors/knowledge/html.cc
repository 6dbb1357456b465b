#include "connectors/knowledge/html.h"

#include <cstdint>
#include <string_view>

namespace tessera::connect::knowledge {
namespace {

constexpr size_t kNpos = std::string_view::npos;

// Named entities decoded: XML's five, &nbsp; (as a space) and those French and English
// pages use most.
constexpr std::pair<std::string_view, std::string_view> kEntities[] = {
    {"amp", "&"},    {"lt", "<"},     {"gt", ">"},     {"quot", "\""}, {"apos", "'"},
    {"nbsp", " "},   {"eacute", "é"}, {"egrave", "è"}, {"ecirc", "ê"}, {"euml", "ë"},
    {"agrave", "à"}, {"acirc", "â"},  {"ccedil", "ç"}, {"icirc", "î"}, {"iuml", "ï"},
    {"ocirc", "ô"},  {"ugrave", "ù"}, {"ucirc", "û"},  {"uuml", "ü"},  {"Eacute", "É"},
    {"Egrave", "È"}, {"Agrave", "À"}, {"Ccedil", "Ç"}, {"oelig", "œ"}, {"laquo", "«"},
    {"raquo", "»"},  {"euro", "€"},   {"hellip", "…"}, {"mdash", "—"}, {"ndash", "–"},
    {"lsquo", "‘"},  {"rsquo", "’"},  {"ldquo", "“"},  {"rdquo", "”"}, {"copy", "©"},
    {"deg", "°"},
};

// Elements whose content is not page text.
constexpr std::string_view kHidden[] = {"script", "style", "noscript", "template", "title"};

// Elements that start or end a line of text.
constexpr std::string_view kBlocks[] = {
    "address", "article",    "aside",   "blockquote", "body", "br", "dd",   "div", "dl",
    "dt",      "figcaption", "figure",  "footer",     "form", "h1", "h2",   "h3",  "h4",
    "h5",      "h6",         "header",  "hr",         "html", "li", "main", "nav", "ol",
    "p",       "pre",        "section", "table",      "td",   "th", "tr",   "ul",
};

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

template <size_t N>
bool OneOf(std::string_view name, const std::string_view (&set)[N]) {
  for (std::string_view s : set) {
    if (s == name) return true;
  }
  return false;
}

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The code point of "#233" or "#xE9"; false when it is not a number.
bool CodePoint(std::string_view ref, uint32_t* cp) {
  const bool hex = ref.size() > 1 && (ref[1] == 'x' || ref[1] == 'X');
  ref.remove_prefix(hex ? 2 : 1);
  if (ref.empty() || ref.size() > 7) return false;
  uint32_t v = 0;
  for (char c : ref) {
    const char l = Lower(c);
    if (IsDigit(c)) {
      v = v * (hex ? 16 : 10) + static_cast<uint32_t>(c - '0');
    } else if (hex && l >= 'a' && l <= 'f') {
      v = v * 16 + static_cast<uint32_t>(l - 'a' + 10);
    } else {
      return false;
    }
  }
  const bool valid = v != 0 && v <= 0x10FFFF && (v < 0xD800 || v > 0xDFFF);
  *cp = valid ? v : 0xFFFD;
  return true;
}

// Decodes the reference at s[pos] == '&' onto `out`; returns the position after it.
size_t DecodeEntityAt(std::string_view s, size_t pos, std::string& out) {
  // A reference is at most 9 characters and its ';': look no further, or a page of
  // '&' without one would be read in quadratic time.
  const size_t in_reach = s.substr(pos + 1, 10).find(';');
  const size_t semi = in_reach == kNpos ? kNpos : pos + 1 + in_reach;
  if (semi != kNpos && semi > pos + 1 && semi - pos <= 10) {
    const std::string_view ref = s.substr(pos + 1, semi - pos - 1);
    if (uint32_t cp = 0; ref[0] == '#' && CodePoint(ref, &cp)) {
      AppendUtf8(cp, out);
      return semi + 1;
    }
    for (const auto& [name, value] : kEntities) {
      if (name == ref) {
        out += value;
        return semi + 1;
      }
    }
  }
  out += '&';
  return pos + 1;
}

struct Tag {
  std::string name;  // lower-case
  bool end = false;
  std::vector<std::pair<std::string, std::string>> attributes;  // lower-case name, decoded value

  std::string_view Attribute(std::string_view name) const {
    for (const auto& [n, v] : attributes) {
      if (n == name) return v;
    }
    return {};
  }
};

// Reads an attribute value at html[i] (quoted or not) and returns the position after it.
size_t AttributeValue(std::string_view html, size_t i, std::string& value) {
  if (i < html.size() && (html[i] == '"' || html[i] == '\'')) {
    const size_t close = html.find(html[i], i + 1);
    const size_t stop = close == kNpos ? html.size() : close;
    value = DecodeEntities(html.substr(i + 1, stop - i - 1));
    return close == kNpos ? html.size() : close + 1;
  }
  const size_t start = i;
  while (i < html.size() && !IsSpace(html[i]) && html[i] != '>') ++i;
  value = DecodeEntities(html.substr(start, i - start));
  return i;
}

// Parses the tag at html[pos] == '<'. Returns the position after its '>' (the end of
// the input when it is never closed), or kNpos when this '<' does not open a tag.
size_t ParseTag(std::string_view html, size_t pos, Tag& tag) {
  const size_t n = html.size();
  size_t i = pos + 1;
  tag = Tag();
  if (i < n && html[i] == '/') {
    tag.end = true;
    ++i;
  }
  if (i >= n || !IsAlpha(html[i])) return kNpos;
  while (i < n && (IsAlpha(html[i]) || IsDigit(html[i]) || html[i] == '-' || html[i] == ':')) {
    tag.name += Lower(html[i++]);
  }
  while (i < n) {
    while (i < n && IsSpace(html[i])) ++i;
    if (i >= n) break;
    if (html[i] == '>') return i + 1;
    if (html[i] == '/') {
      ++i;
      continue;
    }
    std::string name, value;
    while (i < n && !IsSpace(html[i]) && html[i] != '=' && html[i] != '>' && html[i] != '/') {
      name += Lower(html[i++]);
    }
    while (i < n && IsSpace(html[i])) ++i;
    if (i < n && html[i] == '=') {
      ++i;
      while (i < n && IsSpace(html[i])) ++i;
      i = AttributeValue(html, i, value);
    }
    if (!name.empty()) tag.attributes.emplace_back(std::move(name), std::move(value));
  }
  return n;
}

// Where the element `name` opened before `from` closes: the position of its "</name",
// or the end of the input.
size_t FindClose(std::string_view html, size_t from, std::string_view name) {
  for (size_t i = html.find("</", from); i != kNpos; i = html.find("</", i + 2)) {
    const size_t after = i + 2 + name.size();
    if (after > html.size()) break;
    bool same = true;
    for (size_t k = 0; k < name.size() && same; ++k) same = Lower(html[i + 2 + k]) == name[k];
    if (same && (after == html.size() || IsSpace(html[after]) || html[after] == '>')) return i;
  }
  return html.size();
}

// Skips a comment, <!DOCTYPE ...> or <?xml ...?> at html[i]; returns the position after
// it, or kNpos when there is none there.
size_t SkipDeclaration(std::string_view html, size_t i) {
  if (html.compare(i, 4, "<!--") == 0) {
    const size_t end = html.find("-->", i + 4);
    return end == kNpos ? html.size() : end + 3;
  }
  if (i + 1 < html.size() && (html[i + 1] == '!' || html[i + 1] == '?')) {
    const size_t end = html.find('>', i);
    return end == kNpos ? html.size() : end + 1;
  }
  return kNpos;
}

// Handles a start tag whose '>' ends before `i`; returns where reading goes on.
size_t StartTag(const Tag& tag, std::string_view html, size_t i, HtmlDocument& doc,
                std::string& text) {
  if (tag.name == "meta") {
    std::string name(tag.Attribute("name"));
    if (name.empty()) name = tag.Attribute("http-equiv");
    for (char& c : name) c = Lower(c);
    const std::string_view content = tag.Attribute("content");
    if (!name.empty() && !content.empty()) doc.meta.emplace_back(std::move(name), content);
  } else if (tag.name == "html") {
    doc.language = tag.Attribute("lang");
  }
  if (OneOf(tag.name, kHidden)) {
    const size_t close = FindClose(html, i, tag.name);
    if (tag.name == "title" && doc.title.empty()) {
      doc.title = CollapseSpace(DecodeEntities(html.substr(i, close - i)));
    }
    if (close == html.size()) return close;
    Tag end;
    return ParseTag(html, close, end);
  }
  if (OneOf(tag.name, kBlocks)) text += '\n';
  return i;
}

}  // namespace

std::string DecodeEntities(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const size_t amp = s.find('&', i);
    out.append(s.substr(i, (amp == kNpos ? s.size() : amp) - i));
    if (amp == kNpos) break;
    i = DecodeEntityAt(s, amp, out);
  }
  return out;
}

std::string CollapseSpace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (!IsSpace(s[i])) {
      out += s[i++];
      continue;
    }
    bool line = false;
    for (; i < s.size() && IsSpace(s[i]); ++i) line |= s[i] == '\n';
    if (!out.empty() && i < s.size()) out += line ? '\n' : ' ';
  }
  return out;
}

HtmlDocument ParseHtml(std::string_view html) {
  HtmlDocument doc;
  std::string text;
  Tag tag;
  size_t i = 0;
  while (i < html.size()) {
    const size_t next = html.find_first_of("<&", i);
    text.append(html.substr(i, (next == kNpos ? html.size() : next) - i));
    if (next == kNpos) break;
    i = next;
    if (html[i] == '&') {
      i = DecodeEntityAt(html, i, text);
    } else if (const size_t skipped = SkipDeclaration(html, i); skipped != kNpos) {
      i = skipped;
    } else if (const size_t after = ParseTag(html, i, tag); after == kNpos) {
      text += '<';  // a '<' in text, as in "a < b"
      ++i;
    } else if (tag.end) {
      if (OneOf(tag.name, kBlocks)) text += '\n';
      i = after;
    } else {
      i = StartTag(tag, html, after, doc, text);
    }
  }
  doc.text = CollapseSpace(text);
  return doc;
}

}  // namespace tessera::connect::knowledge
