// Fuzz target for the knowledge connector's page readers (connectors/knowledge): HTML
// (knowledge::ParseHtmlPage over ParseHtml, DecodeEntities, CollapseSpace) and
// Markdown (knowledge::ParseMarkdown: front matter, first heading), a side file
// (knowledge::ApplySideFile), then the same bytes read by the real connector from a
// folder (kind "knowledge": the page's header checked, authors, language, update time,
// the mapping and its evidence).
//
// Input: one option byte, then the page.
//   byte 0, bit 0: the page is HTML (page.html), else Markdown (page.md);
//   byte 0, bit 1: the page is followed by a NUL byte and its side file's JSON
//   (page.<ext>.meta.json).
//
// Properties:
//  - nothing crashes, whatever the bytes;
//  - from UTF-8 bytes (the connector reads no others) come UTF-8 text and header
//    values, and CollapseSpace's text, which has no blank at either end and is its
//    own CollapseSpace;
//  - the connector's fragments and messages (tests/fuzz/connector_sink.h), and its
//    evidence within its limits (title 512 bytes, text 64 KiB).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "connectors/knowledge/html.h"
#include "connectors/knowledge/page.h"
#include "nlohmann/json.hpp"
#include "tests/fuzz/connector_sink.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace tessera;
using fuzz::Check;
namespace knowledge = connect::knowledge;

void CheckCollapsed(std::string_view in) {
  const std::string out = knowledge::CollapseSpace(in);
  Check(fuzz::ValidUtf8(out), "CollapseSpace of UTF-8 is not UTF-8");
  if (!out.empty()) {
    Check(out.front() != ' ' && out.front() != '\n' && out.back() != ' ' && out.back() != '\n',
          "CollapseSpace leaves a blank at an end");
  }
  Check(knowledge::CollapseSpace(out) == out, "CollapseSpace is not its own fixed point");
}

void CheckPage(const absl::StatusOr<knowledge::Page>& page) {
  if (!page.ok()) {
    Check(fuzz::ValidUtf8(std::string(page.status().message())), "a page error is not UTF-8");
    return;
  }
  Check(fuzz::ValidUtf8(page->text), "a page's text is not UTF-8");
  for (const auto& [key, values] : page->header) {
    Check(fuzz::ValidUtf8(key), "a page's header key is not UTF-8");
    for (const std::string& v : values) Check(fuzz::ValidUtf8(v), "a header value is not UTF-8");
  }
}

void ReadPure(std::string_view page, bool html, const std::string_view* side) {
  absl::StatusOr<knowledge::Page> parsed =
      html ? knowledge::ParseHtmlPage(page) : knowledge::ParseMarkdown(page);
  const bool utf8 = fuzz::ValidUtf8(page);
  if (utf8) CheckPage(parsed);
  if (html) {
    const knowledge::HtmlDocument doc = knowledge::ParseHtml(page);
    if (utf8) {
      Check(fuzz::ValidUtf8(doc.text) && fuzz::ValidUtf8(doc.title), "HTML text is not UTF-8");
      Check(fuzz::ValidUtf8(knowledge::DecodeEntities(page)), "decoded entities are not UTF-8");
      CheckCollapsed(page);
    }
  }
  if (side != nullptr && parsed.ok()) {
    (void)knowledge::ApplySideFile(*side, *parsed);
    if (utf8 && fuzz::ValidUtf8(*side)) CheckPage(parsed);
  }
}

void ReadByConnector(std::string_view page, bool html, const std::string_view* side) {
  const std::filesystem::path root = fuzz::ScratchDir() / "pages";
  std::filesystem::create_directories(root);
  const std::string name = html ? "page.html" : "page.md";
  fuzz::WriteFile(root / name, page);
  const std::filesystem::path side_path = root / (name + ".meta.json");
  if (side != nullptr) {
    fuzz::WriteFile(side_path, *side);
  } else {
    std::error_code ec;
    std::filesystem::remove(side_path, ec);
  }
  std::error_code ec;
  std::filesystem::remove(root / (html ? "page.md" : "page.html"), ec);
  fuzz::RunConnector("knowledge", {{"path", root.string()}}, [](const v1::Fragment& f) {
    for (const v1::Evidence& e : f.evidence()) {
      Check(e.title().size() <= 512, "a page's title is over 512 bytes");
      Check(e.text().size() <= 64 * 1024, "a page's text is over 64 KiB");
    }
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool html = (data[0] & 1) != 0;
  std::string_view page(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string_view side;
  const std::string_view* side_ptr = nullptr;
  if ((data[0] & 2) != 0) {
    const size_t nul = page.find('\0');
    if (nul != std::string_view::npos) {
      side = page.substr(nul + 1);
      page = page.substr(0, nul);
      side_ptr = &side;
    }
  }
  ReadPure(page, html, side_ptr);
  ReadByConnector(page, html, side_ptr);
  return 0;
}
