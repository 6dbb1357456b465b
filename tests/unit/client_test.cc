#define BOOST_TEST_MODULE client
#include <boost/test/unit_test.hpp>
#include <sstream>

#include "client/lib/csv.h"
#include "client/lib/text_formats.h"

using namespace tessera;

namespace {

std::vector<std::vector<std::string>> ReadAll(const std::string& text) {
  std::istringstream in(text);
  client::CsvReader csv(in);
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  while (true) {
    absl::StatusOr<bool> more = csv.Next(&row);
    BOOST_REQUIRE_MESSAGE(more.ok(), more.status());
    if (!*more) break;
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(Csv)

BOOST_AUTO_TEST_CASE(quotes_commas_newlines_crlf_and_bom) {
  const auto rows = ReadAll(
      "\xEF\xBB\xBFid,name,note\r\nE1,\"Martin, Alice\",\"said \"\"hi\"\"\nthen "
      "left\"\r\nE2,Bo,\n");
  BOOST_REQUIRE(rows.size() == 3u);
  BOOST_TEST(rows[0][0] == "id");  // the byte-order mark is gone
  BOOST_TEST(rows[1][1] == "Martin, Alice");
  BOOST_TEST(rows[1][2] == "said \"hi\"\nthen left");
  BOOST_TEST((rows[2] == std::vector<std::string>{"E2", "Bo", ""}));
}

BOOST_AUTO_TEST_CASE(unclosed_quote_names_its_line) {
  std::istringstream in("a,b\n1,\"never closed\n2,3\n");
  client::CsvReader csv(in);
  std::vector<std::string> row;
  BOOST_REQUIRE(*csv.Next(&row));
  absl::StatusOr<bool> bad = csv.Next(&row);
  BOOST_TEST(bad.status().code() == absl::StatusCode::kInvalidArgument);
  BOOST_TEST(std::string(bad.status().message()).find("line 2") == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(TextFormats)

BOOST_AUTO_TEST_CASE(times_parse_and_format) {
  BOOST_TEST(*client::ParseTime("1970-01-01T00:00:00Z") == 0);
  BOOST_TEST(*client::ParseTime("2026-03-01T09:00:00Z") == 1772355600000);
  BOOST_TEST(*client::ParseTime("2026-03-01T11:00:00.250+02:00") == 1772355600250);
  BOOST_TEST(*client::ParseTime("2026-03-01") == 1772323200000);
  BOOST_TEST(client::FormatTime(1772355600250) == "2026-03-01T09:00:00.250Z");
  BOOST_TEST(client::FormatTime(1772355600000) == "2026-03-01T09:00:00Z");
  BOOST_TEST(!client::ParseTime("yesterday").ok());
  BOOST_TEST(!client::ParseTime("2026-13-01").ok());
}

BOOST_AUTO_TEST_CASE(identifiers_and_profile_names) {
  absl::StatusOr<v1::Identifier> id = client::ParseIdentifier("ldap_dn:uid=a,dc=x");
  BOOST_REQUIRE(id.ok());
  BOOST_TEST(id->type() == "ldap_dn");
  BOOST_TEST(id->value() == "uid=a,dc=x");
  BOOST_TEST(!client::ParseIdentifier("nocolon").ok());
  BOOST_TEST(client::ParseProfileName("42")->id == 42u);
  BOOST_TEST(client::ParseProfileName("email:a@b.example")->identifier.type() == "email");
  BOOST_TEST(!client::ParseProfileName("0").ok());
}

BOOST_AUTO_TEST_CASE(fragment_json_reads_the_documented_format) {
  absl::StatusOr<v1::Fragment> f = client::ParseFragmentJson(
      R"({"source":"hr","external_id":"E1","version":3,"kind":"employee","updated_at":"2026-03-01T09:00:00Z",)"
      R"("attributes":{"display_name":"Alice","skills":["SEPA","cards"]},"identifiers":["email:A@x.example",{"type":"phone","value":"+33 1"}],)"
      R"("relations":[{"type":"reports_to","target":"employee_id:E0"}],"evidence":[{"kind":"skill","text":"SEPA","time":5}]})");
  BOOST_REQUIRE_MESSAGE(f.ok(), f.status());
  BOOST_TEST(f->version() == 3u);
  BOOST_TEST(f->attributes_size() == 3);
  BOOST_TEST(f->identifiers(1).value() == "+33 1");
  BOOST_TEST(f->relations(0).target().value() == "E0");
  BOOST_TEST(f->evidence(0).time_unix_ms() == 5);
  BOOST_TEST(f->updated_at_unix_ms() == 1772355600000);
}

BOOST_AUTO_TEST_CASE(fragment_json_errors_name_the_field) {
  auto err = [](const std::string& json) {
    return std::string(client::ParseFragmentJson(json).status().message());
  };
  BOOST_TEST(err("[1]") == "expected a JSON object");
  BOOST_TEST(err("{oops") == "not valid JSON");
  BOOST_TEST(
      err(R"({"source":"hr","external_id":"E1","version":1,"kind":"employee","identifers":[]})")
          .find("identifers: unknown key") == 0);
  BOOST_TEST(err(R"({"source":"hr","external_id":"E1","version":-1,"kind":"employee"})")
                 .find("version: expected a positive integer") == 0);
  BOOST_TEST(err(R"({"source":"hr","external_id":"E1","version":1})") == "kind: is missing");
  BOOST_TEST(
      err(R"({"source":"hr","external_id":"E1","version":1,"kind":"employee","identifiers":["nocolon"]})")
          .find("identifiers[0]:") == 0);
  BOOST_TEST(client::ParseFragmentJson(
                 R"({"source":"hr","external_id":"E1","version":2,"tombstone":true})")
                 .ok());
}

BOOST_AUTO_TEST_SUITE_END()
