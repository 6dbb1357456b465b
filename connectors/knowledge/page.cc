#include "connectors/knowledge/page.h"

#include <cstdint>

#include "connectors/common/record.h"
#include "connectors/knowledge/html.h"
#include "nlohmann/json.hpp"

namespace tessera::connect::knowledge {
namespace {

using Header = std::map<std::string, std::vector<std::string>, std::less<>>;

constexpr size_t kNpos = std::string_view::npos;

// The next line of `s` from `*pos`, without its line break; false at the end.
bool NextLine(std::string_view s, size_t* pos, std::string_view* line) {
  if (*pos >= s.size()) return false;
  const size_t end = std::min(s.find('\n', *pos), s.size());
  *line = s.substr(*pos, end - *pos);
  if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
  *pos = end + 1;
  return true;
}

// A YAML scalar without its quotes: "a \"b\"" and 'it''s' as YAML reads them.
std::string Unquote(std::string_view v) {
  std::string out;
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    for (size_t i = 1; i + 1 < v.size(); ++i) {
      if (v[i] == '\\' && i + 2 < v.size()) {
        const char e = v[++i];
        out += e == 'n' ? '\n' : e == 't' ? '\t' : e;
      } else {
        out += v[i];
      }
    }
  } else if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') {
    for (size_t i = 1; i + 1 < v.size(); ++i) {
      out += v[i];
      if (v[i] == '\'' && v[i + 1] == '\'') ++i;
    }
  } else {
    out = v;
  }
  return out;
}

// The items of a flow list's inside ("a, 'b, c'"): split at commas outside quotes.
std::vector<std::string> FlowList(std::string_view inner) {
  std::vector<std::string> items;
  char quote = 0;
  size_t start = 0;
  for (size_t i = 0; i <= inner.size(); ++i) {
    const char c = i < inner.size() ? inner[i] : ',';
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == ',' || i == inner.size()) {
      std::string item = Unquote(Trim(inner.substr(start, i - start)));
      if (!item.empty()) items.push_back(std::move(item));
      start = i + 1;
    }
  }
  return items;
}

bool IsKey(std::string_view k) {
  if (k.empty() || k[0] < 'a' || k[0] > 'z') return false;
  for (char c : k) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.')) {
      return false;
    }
  }
  return true;
}

// Reads `key: value` lines; `- item` lines add to the list of the key above them.
void ParseFrontMatter(std::string_view block, Header& header) {
  std::string list_key;
  size_t pos = 0;
  std::string_view line;
  while (NextLine(block, &pos, &line)) {
    const std::string_view t = Trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (t[0] == '-' && (t.size() == 1 || t[1] == ' ')) {
      std::string item = Unquote(Trim(t.substr(1)));
      if (!list_key.empty() && !item.empty()) header[list_key].push_back(std::move(item));
      continue;
    }
    if (line[0] == ' ' || line[0] == '\t') continue;  // a nested value: not read
    list_key.clear();
    const size_t colon = t.find(':');
    if (colon == kNpos) continue;
    const std::string key = AsciiLower(Trim(t.substr(0, colon)));
    if (!IsKey(key)) continue;
    const std::string_view value = Trim(t.substr(colon + 1));
    std::vector<std::string>& values = header[key];
    values.clear();
    if (value.empty()) {
      list_key = key;
    } else if (value.front() == '[' && value.back() == ']') {
      values = FlowList(value.substr(1, value.size() - 2));
    } else {
      values.push_back(Unquote(value));
    }
  }
  std::erase_if(header, [](const auto& kv) { return kv.second.empty(); });
}

// Reads the front matter at the start of `content` into `header`; returns the rest.
absl::StatusOr<std::string_view> SplitFrontMatter(std::string_view content, Header& header) {
  if (content.rfind("\xEF\xBB\xBF", 0) == 0) content.remove_prefix(3);
  size_t pos = 0;
  std::string_view line;
  if (!NextLine(content, &pos, &line) || Trim(line) != "---") return content;
  const size_t start = pos;
  for (size_t end = pos; NextLine(content, &pos, &line); end = pos) {
    const std::string_view t = Trim(line);
    if (t == "---" || t == "...") {
      ParseFrontMatter(content.substr(start, end - start), header);
      return pos >= content.size() ? std::string_view() : content.substr(pos);
    }
  }
  return absl::InvalidArgumentError("the front matter opened by '---' on line 1 is never closed");
}

// The text of the first "# " heading of a Markdown text, or "".
std::string FirstHeading(std::string_view text) {
  size_t pos = 0;
  std::string_view line;
  while (NextLine(text, &pos, &line)) {
    if (line.rfind("# ", 0) != 0) continue;
    std::string_view title = Trim(line.substr(2));
    while (!title.empty() && title.back() == '#') title.remove_suffix(1);  // "# Title #"
    return std::string(Trim(title));
  }
  return "";
}

std::string Scalar(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();
}

}  // namespace

absl::StatusOr<Page> ParseMarkdown(std::string_view content) {
  Page page;
  absl::StatusOr<std::string_view> body = SplitFrontMatter(content, page.header);
  if (!body.ok()) return body.status();
  page.text = std::string(Trim(*body));
  if (!page.header.contains("title")) {
    if (std::string heading = FirstHeading(page.text); !heading.empty()) {
      page.header["title"] = {std::move(heading)};
    }
  }
  return page;
}

absl::StatusOr<Page> ParseHtmlPage(std::string_view content) {
  Page page;
  absl::StatusOr<std::string_view> body = SplitFrontMatter(content, page.header);
  if (!body.ok()) return body.status();
  HtmlDocument doc = ParseHtml(*body);
  page.text = std::move(doc.text);
  const Header from_front_matter = page.header;
  for (auto& [name, value] : doc.meta) {
    if (!from_front_matter.contains(name)) page.header[name].push_back(std::move(value));
  }
  auto fill = [&](const char* key, std::string_view value) {
    if (!value.empty() && !page.header.contains(key)) page.header[key] = {std::string(value)};
  };
  fill("title", doc.title);
  fill("language", doc.language);
  constexpr std::pair<const char*, const char*> kAliases[] = {
      {"content-language", "language"}, {"last-modified", "updated"}, {"date", "updated"}};
  for (const auto& [alias, key] : kAliases) {
    auto it = page.header.find(alias);
    if (it != page.header.end()) fill(key, it->second.front());
  }
  return page;
}

absl::Status ApplySideFile(std::string_view json, Page& page) {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("not a JSON object");
  for (const auto& [key, v] : j.items()) {
    const std::string name = AsciiLower(key);
    if (v.is_null()) {
      page.header.erase(name);
      continue;
    }
    std::vector<std::string> values;
    for (const nlohmann::json& e : v.is_array() ? v : nlohmann::json::array({v})) {
      if (e.is_object() || e.is_array()) {
        return absl::InvalidArgumentError("\"" + key +
                                          "\": expected a string, a number or a list of them");
      }
      if (!e.is_null()) values.push_back(Scalar(e));
    }
    page.header[name] = std::move(values);
  }
  return absl::OkStatus();
}

}  // namespace tessera::connect::knowledge
