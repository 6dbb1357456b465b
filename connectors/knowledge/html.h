#pragma once

// Reading an HTML page without a full parser: its visible text, its <title>, its
// <meta name=... content=...> tags and <html lang>. Tolerant of sloppy markup: an
// unclosed tag or a stray '<' never loses the rest of the page.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tessera::connect::knowledge {

struct HtmlDocument {
  std::string text;      // visible text; blocks on their own lines, blanks collapsed
  std::string title;     // <title>, entities decoded, blanks collapsed
  std::string language;  // <html lang="...">
  // <meta> tags with a name (or http-equiv): lower-case name -> content, in page order.
  std::vector<std::pair<std::string, std::string>> meta;
};

// Comments, <script>, <style>, <noscript>, <template> and the <title> are not text;
// block elements (p, div, li, h1, br, td...) end a line; entities are decoded.
HtmlDocument ParseHtml(std::string_view html);

// Decodes &amp; &lt; &gt; &quot; &#39; &apos; &nbsp; (as a space), numeric references
// (&#233; &#xE9;; invalid code points become U+FFFD) and the common accented letters
// (&eacute; ...). Anything else is kept as written.
std::string DecodeEntities(std::string_view s);

// Each run of white space becomes one space, or one line break when it held one;
// no white space at either end.
std::string CollapseSpace(std::string_view s);

}  // namespace tessera::connect::knowledge
