// The knowledge-base connector (kind "knowledge"): one document fragment per page of a
// folder of Markdown or HTML files, `authored_by` its authors, with the page's text as
// evidence of what they know. Formats, mapping and limits: connectors/knowledge/README.md.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "client/lib/text_formats.h"
#include "connectors/common/connector.h"
#include "connectors/knowledge/page.h"
#include "nlohmann/json.hpp"

namespace tessera::connect {
namespace {

namespace fs = std::filesystem;

constexpr uintmax_t kMaxPageBytes = 1 << 20;
constexpr size_t kMaxTitleBytes = 512;       // Evidence.title's limit
constexpr size_t kMaxTextBytes = 64 * 1024;  // Evidence.text's limit (tesserad's default)
constexpr std::string_view kSideFileSuffix = ".meta.json";

Mapping KnowledgeMapping() {
  Mapping m;
  m.kind = "document";
  m.external_id = "path";
  for (const char* a : {"title", "language", "updated"}) m.attributes.emplace_back(a, a);
  m.identifiers.emplace_back("document", "path");
  m.relations.push_back({"authored_by", "author", ""});
  return m;
}

struct Settings {
  fs::path root;                        // the pages' folder
  std::vector<std::string> extensions;  // lower-case, with the dot
};

std::string Extension(const fs::path& p) { return AsciiLower(p.extension().string()); }

bool IsHtml(const fs::path& p) {
  const std::string ext = Extension(p);
  return ext == ".html" || ext == ".htm" || ext == ".xhtml";
}

// The pages under the root, relative to it with '/' separators, sorted. Hidden files
// and folders (".git") and side files are skipped.
absl::StatusOr<std::vector<std::string>> ListPages(const Settings& s) {
  std::error_code ec;
  if (!fs::is_directory(s.root, ec)) {
    if (fs::exists(s.root, ec)) {
      return absl::InvalidArgumentError(s.root.string() + ": not a folder");
    }
    return absl::NotFoundError(s.root.string() + ": no such folder");
  }
  std::vector<std::string> pages;
  fs::recursive_directory_iterator it(s.root, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code entry_ec;
    if (name.starts_with(".")) {
      if (it->is_directory(entry_ec)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(entry_ec) || name.ends_with(kSideFileSuffix)) continue;
    const std::string ext = Extension(it->path());
    if (std::find(s.extensions.begin(), s.extensions.end(), ext) == s.extensions.end()) continue;
    pages.push_back(it->path().lexically_relative(s.root).generic_string());
  }
  if (ec) return absl::UnavailableError(s.root.string() + ": " + ec.message());
  std::sort(pages.begin(), pages.end());
  return pages;
}

absl::StatusOr<std::string> ReadFile(const fs::path& p) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(p, ec);
  if (ec) return absl::UnavailableError("cannot read: " + ec.message());
  if (size > kMaxPageBytes) {
    return absl::InvalidArgumentError("is " + std::to_string(size) + " bytes, the limit is 1 MiB");
  }
  std::ifstream in(p, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) return absl::UnavailableError("cannot read");
  if (bytes.size() > kMaxPageBytes) return absl::InvalidArgumentError("is larger than 1 MiB");
  if (!IsUtf8Text(bytes)) return absl::InvalidArgumentError("is not UTF-8 text");
  return bytes;
}

int64_t ModifiedMs(const fs::path& p) {
  std::error_code ec;
  const fs::file_time_type t = fs::last_write_time(p, ec);
  if (ec) return 0;
  const auto sys = std::chrono::file_clock::to_sys(t);
  return std::chrono::duration_cast<std::chrono::milliseconds>(sys.time_since_epoch()).count();
}

// The authors of `author` and `authors` (each maybe a comma-separated list) as
// identifiers; at least one.
absl::StatusOr<std::vector<std::string>> Authors(const Record& r) {
  std::vector<std::string> authors;
  for (const char* key : {"author", "authors"}) {
    auto it = r.fields.find(key);
    if (it == r.fields.end()) continue;
    for (const std::string& value : it->second) {
      for (size_t start = 0; start <= value.size();) {
        const size_t comma = std::min(value.find(',', start), value.size());
        const std::string_view one = Trim(std::string_view(value).substr(start, comma - start));
        start = comma + 1;
        if (one.empty()) continue;
        absl::StatusOr<std::string> id = PersonTarget(one, "author");
        if (!id.ok()) return id.status();
        authors.push_back(*std::move(id));
      }
    }
  }
  if (authors.empty()) {
    return absl::InvalidArgumentError(
        "no author (front matter author:, <meta name=\"author\"> or .meta.json)");
  }
  return authors;
}

// Checks and normalises a page's header in `r`: authors as identifiers, the title (the
// file name when none), the language tag and the update time.
absl::Status CheckHeader(const fs::path& file, Record& r, int64_t* time_ms) {
  absl::StatusOr<std::vector<std::string>> authors = Authors(r);
  if (!authors.ok()) return authors.status();
  r.fields.erase("authors");
  r.fields["author"] = *std::move(authors);

  std::string title(Trim(r.First("title")));
  if (title.empty()) title = file.stem().string();
  r.Set("title", ClipText(title, kMaxTitleBytes));

  if (std::string language(Trim(r.First("language"))); !language.empty()) {
    std::replace(language.begin(), language.end(), '_', '-');  // fr_FR
    if (!IsLanguageTag(language)) {
      return absl::InvalidArgumentError("language '" +
                                        std::string(Utf8Prefix(Trim(r.First("language")), 40)) +
                                        "' is not a language tag like fr or en-CA");
    }
    r.Set("language", language);
  }
  *time_ms = ModifiedMs(file);
  if (const std::string updated(Trim(r.First("updated"))); !updated.empty()) {
    absl::StatusOr<int64_t> t = client::ParseTime(updated);
    if (!t.ok()) return absl::InvalidArgumentError("updated: " + std::string(t.status().message()));
    *time_ms = *t;
  }
  return absl::OkStatus();
}

struct PageRecord {
  Record record;
  std::string text;  // clipped to the evidence limit
  int64_t time_ms = 0;
};

absl::StatusOr<PageRecord> ReadPage(const fs::path& root, const std::string& rel) {
  const fs::path file = root / rel;
  if (!IsUtf8Text(rel)) return absl::InvalidArgumentError("the file name is not UTF-8");
  absl::StatusOr<std::string> bytes = ReadFile(file);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<knowledge::Page> page =
      IsHtml(file) ? knowledge::ParseHtmlPage(*bytes) : knowledge::ParseMarkdown(*bytes);
  if (!page.ok()) return page.status();
  const fs::path side = file.string() + std::string(kSideFileSuffix);
  if (std::error_code ec; fs::exists(side, ec)) {
    absl::StatusOr<std::string> json = ReadFile(side);
    absl::Status s = json.ok() ? knowledge::ApplySideFile(*json, *page) : json.status();
    if (!s.ok()) {
      return absl::Status(s.code(), side.filename().string() + ": " + std::string(s.message()));
    }
  }
  PageRecord out;
  out.record.fields = std::move(page->header);
  if (absl::Status s = CheckHeader(file, out.record, &out.time_ms); !s.ok()) return s;
  out.record.Set("path", rel);
  out.text = ClipText(page->text, kMaxTextBytes);
  return out;
}

class KnowledgeConnector final : public Connector {
 public:
  explicit KnowledgeConnector(Settings settings) : settings_(std::move(settings)) {}

  absl::StatusOr<ReadResult> Read(const ReadRequest&, Sink& sink) override {
    absl::StatusOr<std::vector<std::string>> pages = ListPages(settings_);
    if (!pages.ok()) return pages.status();
    for (const std::string& rel : *pages) {
      const std::string locator = (settings_.root / rel).string();
      absl::StatusOr<PageRecord> page = ReadPage(settings_.root, rel);
      if (!page.ok()) {
        sink.Reject(locator, std::string(page.status().message()));
        continue;
      }
      page->record.locator = locator;
      auto add_evidence = [&page](const Record& r, v1::Fragment& f) {
        f.set_updated_at_unix_ms(page->time_ms);
        v1::Evidence* e = f.add_evidence();
        e->set_kind("document");
        e->set_role("authored_by");
        e->set_title(std::string(r.First("title")));
        e->set_text(page->text);
        e->set_language(std::string(r.First("language")));
        e->set_time_unix_ms(page->time_ms);
        return absl::OkStatus();
      };
      if (absl::Status s = sink.EmitRecord(page->record, add_evidence); !s.ok()) return s;
    }
    return ReadResult{true, ""};
  }

 private:
  const Settings settings_;
};

absl::StatusOr<std::unique_ptr<Connector>> MakeKnowledge(const SourceConfig& c) {
  const nlohmann::json in = nlohmann::json::parse(c.input_json);
  Settings s;
  s.extensions = {".md", ".html"};
  for (const auto& [key, v] : in.items()) {
    if (key == "path") {
      if (!v.is_string() || v.get<std::string>().empty()) {
        return absl::InvalidArgumentError("\"input.path\": must be the pages' folder");
      }
      s.root = fs::path(c.Resolve(v.get<std::string>())).lexically_normal();
      if (!s.root.has_filename()) s.root = s.root.parent_path();  // "pages/"
    } else if (key == "extensions") {
      if (!v.is_array() || v.empty()) {
        return absl::InvalidArgumentError(
            "\"input.extensions\": must be a list like [\".md\", \".html\"]");
      }
      s.extensions.clear();
      for (const nlohmann::json& e : v) {
        if (!e.is_string() || e.get<std::string>().size() < 2 || e.get<std::string>()[0] != '.') {
          return absl::InvalidArgumentError(
              "\"input.extensions\": each must be a file ending like \".md\"");
        }
        s.extensions.push_back(AsciiLower(e.get<std::string>()));
      }
    } else {
      return absl::InvalidArgumentError("\"input." + key +
                                        "\": unknown key (expected path, extensions)");
    }
  }
  if (s.root.empty()) {
    return absl::InvalidArgumentError("\"input.path\": the pages' folder is required");
  }
  return std::make_unique<KnowledgeConnector>(std::move(s));
}

TESSERA_REGISTER_CONNECTOR(
    knowledge, ConnectorKind{"knowledge",
                             "knowledge pages: Markdown/HTML files and their authors (input.path)",
                             KnowledgeMapping, MakeKnowledge});

}  // namespace
}  // namespace tessera::connect
