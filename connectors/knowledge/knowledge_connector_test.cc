// The knowledge connector: page reading (front matter, HTML, side files, clipping) on
// its own, then against a real tesserad: a folder of pages synced, its authors found by
// FindExperts, a page edited and one deleted (tombstoned), malformed pages reported and
// skipped, an incremental run, and bad configuration.

#define BOOST_TEST_MODULE knowledge_connector
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <stdexcept>

#include "client/lib/text_formats.h"
#include "connectors/common/connector_testing.h"
#include "connectors/common/record.h"
#include "connectors/knowledge/html.h"
#include "connectors/knowledge/page.h"
#include "tessera/v1/expertise.pb.h"

namespace {

using tessera::testing::ConnectorFixture;
namespace knowledge = tessera::connect::knowledge;
namespace v1 = tessera::v1;

// A header key's values joined with '|', "-" when absent.
std::string Values(const knowledge::Page& p, const std::string& key) {
  auto it = p.header.find(key);
  if (it == p.header.end()) return "-";
  std::string out;
  for (const std::string& v : it->second) out += (out.empty() ? "" : "|") + v;
  return out;
}

int64_t Ms(const std::string& time) { return *tessera::client::ParseTime(time); }

BOOST_AUTO_TEST_SUITE(PageReading)

BOOST_AUTO_TEST_CASE(front_matter_gives_the_header_and_the_body_is_the_text) {
  auto page = knowledge::ParseMarkdown(
      "\xEF\xBB\xBF---\n"
      "title: \"SEPA Instant : plafonds\"\n"
      "Author: email:a@bank.example, employee_id:E2\n"
      "tags: [sepa, 'virement, instantané']\n"
      "reviewers:\n"
      "  - bob\n"
      "  - 'it''s me'\n"
      "menu:\n"
      "  main: {weight: 2}\n"
      "# a comment\n"
      "language: fr\r\n"
      "---\n"
      "\n"
      "# Heading\n"
      "Le virement instantané.\n");
  BOOST_REQUIRE_MESSAGE(page.ok(), page.status());
  BOOST_TEST(Values(*page, "title") == "SEPA Instant : plafonds");
  BOOST_TEST(Values(*page, "author") == "email:a@bank.example, employee_id:E2");
  BOOST_TEST(Values(*page, "tags") == "sepa|virement, instantané");
  BOOST_TEST(Values(*page, "reviewers") == "bob|it's me");
  BOOST_TEST(Values(*page, "menu") == "-");
  BOOST_TEST(Values(*page, "main") == "-");
  BOOST_TEST(Values(*page, "language") == "fr");
  BOOST_TEST(page->text == "# Heading\nLe virement instantané.");
}

BOOST_AUTO_TEST_CASE(without_front_matter_the_first_heading_is_the_title) {
  auto page = knowledge::ParseMarkdown("Intro line\n\n# Card controls #\nFreeze a card.\n");
  BOOST_REQUIRE(page.ok());
  BOOST_TEST(Values(*page, "title") == "Card controls");
  BOOST_TEST(page->text == "Intro line\n\n# Card controls #\nFreeze a card.");
  BOOST_TEST(std::string(knowledge::ParseMarkdown("---\ntitle: x\nno end\n").status().message()) ==
             "the front matter opened by '---' on line 1 is never closed");
}

BOOST_AUTO_TEST_CASE(html_gives_visible_text_title_and_meta) {
  auto page = knowledge::ParseHtmlPage(
      "<!DOCTYPE html>\n<html lang=\"fr\"><head><title>Opposition &amp; fraude</title>\n"
      "<meta name=\"author\" content=\"employee_id:E2\"><META NAME=Author "
      "CONTENT='ines@bank.example'>\n"
      "<meta http-equiv=\"last-modified\" content=\"2026-03-12\">\n"
      "<style>p { color: red }</style><script>var secret = \"<p>hidden</p>\";</script></head>\n"
      "<body><h1>Carte bloqu&eacute;e</h1><p>Plafond&nbsp;: 1&#160;000&#x20AC; &lt;max&gt; "
      "&quot;ok&quot; "
      "&#39;x&#39; &unknown; a < b &#0;</p><!-- <p>comment</p> -->"
      "<ul><li>un</li><li><b>de</b>ux</li></ul><SCRIPT>alert(1)</SCRIPT></body></html>");
  BOOST_REQUIRE(page.ok());
  BOOST_TEST(page->text ==
             "Carte bloquée\nPlafond : 1\xC2\xA0"
             "000€ <max> \"ok\" 'x' &unknown; a < b \xEF\xBF\xBD\nun\ndeux");
  BOOST_TEST(Values(*page, "title") == "Opposition & fraude");
  BOOST_TEST(Values(*page, "author") == "employee_id:E2|ines@bank.example");
  BOOST_TEST(Values(*page, "language") == "fr");
  BOOST_TEST(Values(*page, "updated") == "2026-03-12");
}

BOOST_AUTO_TEST_CASE(html_front_matter_wins_over_meta_tags) {
  auto page = knowledge::ParseHtmlPage(
      "---\nauthor: employee_id:E9\n---\n<title>T</title><meta name=\"author\" "
      "content=\"x@y.example\">Body");
  BOOST_REQUIRE(page.ok());
  BOOST_TEST(Values(*page, "author") == "employee_id:E9");
  BOOST_TEST(Values(*page, "title") == "T");
  BOOST_TEST(page->text == "Body");
}

BOOST_AUTO_TEST_CASE(a_side_file_replaces_header_keys) {
  knowledge::Page page =
      *knowledge::ParseMarkdown("---\ntitle: Old\ndraft: yes\nlanguage: en\n---\nText");
  const char* side = R"({"Author": ["a@bank.example", "employee_id:E1"], "title": "New",
                          "draft": null, "weight": 3})";
  BOOST_REQUIRE(knowledge::ApplySideFile(side, page).ok());
  BOOST_TEST(Values(page, "author") == "a@bank.example|employee_id:E1");
  BOOST_TEST(Values(page, "title") == "New");
  BOOST_TEST(Values(page, "draft") == "-");
  BOOST_TEST(Values(page, "weight") == "3");
  BOOST_TEST(Values(page, "language") == "en");
  BOOST_TEST(!knowledge::ApplySideFile("{oops", page).ok());
  BOOST_TEST(
      std::string(knowledge::ApplySideFile(R"({"author": {"email": "a@b"}})", page).message()) ==
      "\"author\": expected a string, a number or a list of them");
}

BOOST_AUTO_TEST_CASE(clipping_keeps_whole_characters_and_words) {
  std::string accents;
  while (accents.size() < 80'000) accents += "é";
  const std::string clipped = tessera::connect::ClipText(accents, 65'536);
  BOOST_TEST(clipped.size() <= 65'536u);
  BOOST_TEST(clipped.size() > 65'000u);
  BOOST_TEST(tessera::connect::IsUtf8Text(clipped));
  BOOST_TEST(clipped.ends_with("é…"));

  const std::string words = tessera::connect::ClipText("alpha beta gamma delta", 16);
  BOOST_TEST(words == "alpha beta…");
  BOOST_TEST(tessera::connect::ClipText("short", 16) == "short");
  BOOST_TEST(tessera::connect::IsUtf8Text("plain é € 😀"));
  BOOST_TEST(!tessera::connect::IsUtf8Text("cut \xC3"));
  BOOST_TEST(!tessera::connect::IsUtf8Text(std::string("nul\0byte", 8)));
  BOOST_TEST(!tessera::connect::IsUtf8Text("latin-1 caf\xE9"));
  BOOST_TEST(!tessera::connect::IsUtf8Text("surrogate \xED\xA0\x80"));
}

BOOST_AUTO_TEST_SUITE_END()

// Employees from an HR export (the csv connector), and the wiki's configuration.
class WikiFixture : public ConnectorFixture {
 public:
  WikiFixture() {
    SyncEmployees(
        "employee_id,display_name,email,team\n"
        "E1,Pauline Robert,pauline.robert@bank.example,Payments\n"
        "E2,Inès Bouchard,ines.bouchard@bank.example,Cards\n"
        "E3,Hugo Girard,hugo.girard@bank.example,Payments\n");
    // A page of four goes away in these tests: max_delete_share lets it.
    config = Write("wiki.json", R"({"source": {"id": "wiki", "kind": "knowledge", "priority": 40},
      "max_delete_share": 0.5, "input": {"path": "pages/"}})");
  }

  void WritePage(const std::string& rel, const std::string& content) {
    std::filesystem::create_directories(
        std::filesystem::path(tmp.Sub("pages/" + rel)).parent_path());
    Write("pages/" + rel, content);
  }
  // Attribute `name` of the profile `identifier` names; "" when there is none.
  std::string AttrOf(const std::string& identifier, const std::string& name) const {
    auto p = Get(identifier);
    return p.ok() ? Attr(*p, name) : "";
  }
  void Remove(const std::string& rel) { std::filesystem::remove(tmp.Sub("pages/" + rel)); }

  std::string config;
};

constexpr char kSepaInstant[] =
    "---\n"
    "title: \"SEPA Instant : plafonds et disponibilité\"\n"
    "author: email:Pauline.Robert@Bank.example\n"
    "language: fr\n"
    "updated: 2026-02-10T09:00:00Z\n"
    "---\n"
    "Le virement SEPA Instant est crédité en moins de dix secondes. Le plafond par opération "
    "est de 15 000 € pour les particuliers.\n";

constexpr char kOpposition[] =
    "<!DOCTYPE html><html lang=\"fr\"><head><title>Opposition carte &amp; fraude</title>"
    "<meta name=\"author\" content=\"employee_id:e2\"><meta name=\"updated\" "
    "content=\"2026-03-12T10:30:00Z\">"
    "<script>var tracking = 'secretword';</script><style>body { color: grey }</style></head>"
    "<body><h1>Opposition</h1><p>Une carte bloqu&eacute;e apr&egrave;s trois codes faux n'est pas "
    "en "
    "opposition&nbsp;: elle se d&eacute;bloque au prochain retrait.</p></body></html>";

BOOST_FIXTURE_TEST_CASE(pages_sync_and_make_their_authors_experts, WikiFixture) {
  WritePage("kb/sepa-instant.md", kSepaInstant);
  WritePage("kb/opposition-carte.html", kOpposition);
  WritePage(
      "kb/iban.md",
      "# A heading the side file overrides\nAn IBAN identifies an account; the BIC identifies the "
      "bank.\n");
  WritePage("kb/iban.md.meta.json", R"({"author": ["hugo.girard@bank.example", "employee_id:E1"],
    "title": "IBAN, BIC and RIB explained", "language": "en", "updated": "2026-01-19"})");
  std::string long_text = "---\nauthor: employee_id:E3\nlanguage: fr\n---\n";
  while (long_text.size() < 90'000) long_text += "Prélèvement ";
  WritePage("long.md", long_text);
  WritePage("notes.txt", "not a page");
  WritePage(".drafts/secret.md", "---\nauthor: employee_id:E1\n---\nhidden");

  auto r = Connect("--config " + config);
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(r.out.find("read 4, added 4, updated 0, unchanged 0, deleted 0, rejected 0") !=
             std::string::npos);

  auto sepa = Get("document:kb/sepa-instant.md");
  BOOST_REQUIRE(sepa.ok());
  BOOST_TEST(sepa->kind() == "document");
  BOOST_TEST(Attr(*sepa, "title") == "SEPA Instant : plafonds et disponibilité");
  BOOST_TEST(Attr(*sepa, "language") == "fr");
  BOOST_TEST(AttrOf("document:kb/opposition-carte.html", "title") == "Opposition carte & fraude");
  BOOST_TEST(AttrOf("document:kb/iban.md", "title") == "IBAN, BIC and RIB explained");
  BOOST_TEST(AttrOf("document:long.md", "title") == "long");
  BOOST_TEST(Get("document:notes.txt").status().code() == absl::StatusCode::kNotFound);
  BOOST_TEST(Get("document:.drafts/secret.md").status().code() == absl::StatusCode::kNotFound);

  const v1::Fragment f = Fragment("wiki", "kb/sepa-instant.md");
  BOOST_REQUIRE(f.evidence_size() == 1);
  BOOST_TEST(f.evidence(0).kind() == "document");
  BOOST_TEST(f.evidence(0).role() == "authored_by");
  BOOST_TEST(f.evidence(0).title() == "SEPA Instant : plafonds et disponibilité");
  BOOST_TEST(f.evidence(0).language() == "fr");
  BOOST_TEST(f.evidence(0).time_unix_ms() == Ms("2026-02-10T09:00:00Z"));
  BOOST_TEST(f.evidence(0).text().starts_with("Le virement SEPA Instant est crédité"));
  BOOST_TEST(f.updated_at_unix_ms() == Ms("2026-02-10T09:00:00Z"));
  BOOST_REQUIRE(f.relations_size() == 1);
  BOOST_TEST(f.relations(0).type() == "authored_by");
  BOOST_TEST(f.relations(0).target().value() == "pauline.robert@bank.example");

  const v1::Evidence html = Fragment("wiki", "kb/opposition-carte.html").evidence(0);
  BOOST_TEST(
      html.text() ==
      "Opposition\nUne carte bloquée après trois codes faux n'est pas en opposition : elle se "
      "débloque au prochain retrait.");
  BOOST_TEST(html.time_unix_ms() == Ms("2026-03-12T10:30:00Z"));
  BOOST_TEST(Fragment("wiki", "kb/iban.md").relations_size() == 2);
  BOOST_TEST(Fragment("wiki", "kb/iban.md").evidence(0).time_unix_ms() == Ms("2026-01-19"));
  const std::string clipped = Fragment("wiki", "long.md").evidence(0).text();
  BOOST_TEST(clipped.size() <= 65'536u);
  BOOST_TEST(clipped.size() > 65'000u);
  BOOST_TEST(clipped.ends_with("Prélèvement…"));

  // Each page makes its authors the experts of its subject, in French and English.
  BOOST_TEST(
      Experts("Quel est le plafond d'un virement instantané ?").starts_with("Pauline Robert"));
  BOOST_TEST(Experts("Ma carte est bloquée après trois codes faux").starts_with("Inès Bouchard"));
  const std::string iban = Experts("What is the BIC of my IBAN?");
  BOOST_TEST(iban.find("Hugo Girard") != std::string::npos);
  BOOST_TEST(iban.find("Pauline Robert") != std::string::npos);

  // The same pages again: nothing changes.
  r = Connect("--config " + config);
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out.find("added 0, updated 0, unchanged 4, deleted 0") != std::string::npos);

  // SEPA Instant changes author, the opposition page goes, two pages are malformed.
  std::string edited = kSepaInstant;
  const std::string author = "email:Pauline.Robert@Bank.example";
  edited.replace(edited.find(author), author.size(), "employee_id:E3");
  WritePage("kb/sepa-instant.md", edited);
  Remove("kb/opposition-carte.html");
  WritePage("kb/draft.md", "---\ntitle: Draft\n---\nNobody wrote this.");
  WritePage("big.md", "---\nauthor: employee_id:E1\n---\n" + std::string(1'100'000, 'x'));
  r = Connect("--config " + config);
  BOOST_TEST_INFO(r.err);
  BOOST_TEST(r.exit == 3);  // finished, with rejected pages
  BOOST_TEST_INFO(r.out);
  BOOST_TEST(r.out.find("read 6, added 0, updated 1, unchanged 2, deleted 1, rejected 2") !=
             std::string::npos);
  BOOST_TEST(r.err.find("pages/kb/draft.md: no author") != std::string::npos);
  BOOST_TEST(r.err.find("pages/big.md: is 1100031 bytes, the limit is 1 MiB") != std::string::npos);
  BOOST_TEST(Get("document:kb/opposition-carte.html").status().code() ==
             absl::StatusCode::kNotFound);
  BOOST_TEST(Get("document:kb/draft.md").status().code() == absl::StatusCode::kNotFound);
  BOOST_TEST(Experts("Ma carte est bloquée après trois codes faux").find("Inès Bouchard") ==
             std::string::npos);
  const std::string sepa_experts = Experts("Quel est le plafond d'un virement instantané ?");
  BOOST_TEST(sepa_experts.starts_with("Hugo Girard"));
  BOOST_TEST(sepa_experts.find("Pauline Robert") == std::string::npos);
  BOOST_TEST(Source("wiki").last_run().state() == "partial");
  BOOST_TEST(Source("wiki").last_run().rejected() == 2u);

  // The draft gets an author (a bare e-mail), the big page goes: only the draft travels.
  WritePage("kb/draft.md",
            "---\ntitle: Draft\nauthor: ines.bouchard@bank.example\n---\nCarte bloquée.");
  Remove("big.md");
  r = Connect("--config " + config + " --incremental");
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(
      r.out.find("incremental sync ok: read 4, added 1, updated 0, unchanged 3, deleted 0") !=
      std::string::npos);
  BOOST_TEST(Fragment("wiki", "kb/draft.md").relations(0).target().value() ==
             "ines.bouchard@bank.example");
  BOOST_TEST(Source("wiki").last_run().state() == "ok");
}

BOOST_FIXTURE_TEST_CASE(bad_headers_are_rejected_with_their_path, WikiFixture) {
  WritePage("a.md", "---\nauthor: Pauline Robert\n---\nText");
  WritePage("b.md", "---\nauthor: employee_id:E1\nupdated: 31/12/2026\n---\nText");
  WritePage("c.md", "---\nauthor: employee_id:E1\nlanguage: français\n---\nText");
  WritePage("d.md", "---\nauthor: employee_id:E1\n");
  WritePage("e.md", "caf\xE9");
  WritePage("f.md", "Text");
  WritePage("f.md.meta.json", "{\"author\": ");
  WritePage("ok.md", "---\nauthor: employee_id:E1\n---\nText");
  auto r = Connect("--config " + config);
  BOOST_TEST(r.exit == 3);
  BOOST_TEST_INFO(r.out);
  BOOST_TEST(r.out.find("read 7, added 1, updated 0, unchanged 0, deleted 0, rejected 6") !=
             std::string::npos);
  BOOST_TEST(
      r.err.find("a.md: author 'Pauline Robert' is neither type:value nor an e-mail address") !=
      std::string::npos);
  BOOST_TEST(r.err.find("b.md: updated: '31/12/2026' is not an RFC 3339 time") !=
             std::string::npos);
  BOOST_TEST(r.err.find("c.md: language 'français' is not a language tag") != std::string::npos);
  BOOST_TEST(r.err.find("d.md: the front matter opened by '---' on line 1 is never closed") !=
             std::string::npos);
  BOOST_TEST(r.err.find("e.md: is not UTF-8 text") != std::string::npos);
  BOOST_TEST(r.err.find("f.md: f.md.meta.json: not a JSON object") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(clear_configuration_errors, WikiFixture) {
  auto r = Connect("--config " + config);  // no pages/ folder
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(r.err.find("pages: no such folder") != std::string::npos);

  const std::string no_path =
      Write("p.json", R"({"source": {"id": "wiki", "kind": "knowledge"}, "input": {}})");
  r = Connect("--config " + no_path);
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(r.err.find("\"input.path\": the pages' folder is required") != std::string::npos);

  const std::string bad_ext = Write("e.json", R"({"source": {"id": "wiki", "kind": "knowledge"},
    "input": {"path": "pages", "extensions": ["md"]}})");
  r = Connect("--config " + bad_ext);
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(r.err.find("\"input.extensions\"") != std::string::npos);

  const std::string typo = Write("t.json", R"({"source": {"id": "wiki", "kind": "knowledge"},
    "input": {"path": "pages", "extension": [".md"]}})");
  r = Connect("--config " + typo);
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(r.err.find("\"input.extension\": unknown key") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(extensions_choose_the_pages, WikiFixture) {
  WritePage("a.md", "---\nauthor: employee_id:E1\n---\nText");
  WritePage("b.HTM", "<meta name=author content=employee_id:E2><title>B</title><p>Text</p>");
  WritePage("c.txt", "---\nauthor: employee_id:E3\n---\nText");
  const std::string cfg = Write("x.json", R"({"source": {"id": "wiki", "kind": "knowledge"},
    "input": {"path": "pages", "extensions": [".htm", ".TXT"]}})");
  auto r = Connect("--config " + cfg);
  BOOST_TEST_INFO(r.err);
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(Get("document:a.md").status().code() == absl::StatusCode::kNotFound);
  BOOST_TEST(AttrOf("document:b.HTM", "title") == "B");
  BOOST_TEST(Get("document:c.txt").ok());
}

}  // namespace
