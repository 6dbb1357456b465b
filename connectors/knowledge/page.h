#pragma once

// One knowledge page as the knowledge connector reads it: a header (what the page says
// about itself) and its plain text. No file access here: the connector reads the files
// and hands their bytes in. Formats: connectors/knowledge/README.md.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tessera::connect::knowledge {

struct Page {
  // Lower-case key -> values: title, author, language, updated, and whatever else the
  // front matter, <meta> tags or side file say.
  std::map<std::string, std::vector<std::string>, std::less<>> header;
  std::string text;
};

// A Markdown (or plain text) page: optional YAML-style front matter between "---"
// lines (`key: value`, `key: [a, b]`, `key:` then `- a` lines; quotes removed; nested
// values ignored), then the body, kept as written. Without a title in the front
// matter, the first "# " heading is the title. Error: front matter never closed.
absl::StatusOr<Page> ParseMarkdown(std::string_view content);

// An HTML page: front matter as above if it starts with one, then <title>, <html lang>
// and <meta name="author|language|updated|last-modified|date">; text = visible text.
// The front matter wins over the tags.
absl::StatusOr<Page> ParseHtmlPage(std::string_view content);

// Applies a side file (`<page>.meta.json`, a JSON object of strings, numbers or lists
// of them; null removes a key) over `page.header`: its keys replace the page's own.
[[nodiscard]] absl::Status ApplySideFile(std::string_view json, Page& page);

}  // namespace tessera::connect::knowledge
