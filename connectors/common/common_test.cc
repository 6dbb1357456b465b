// The sync runtime's pieces without a server: configuration errors, record mapping,
// the checkpoint file.

#define BOOST_TEST_MODULE connect_common
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>

#include "connectors/common/config.h"
#include "connectors/common/connector.h"
#include "connectors/common/inputs.h"
#include "connectors/common/record.h"
#include "connectors/common/state.h"

namespace tessera::connect {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/connect_common_XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

bool TestDefaults(const std::string& kind, Mapping* m) {
  if (kind != "people") return false;
  m->kind = "employee";
  m->external_id = "id";
  m->identifiers = {{"email", "mail"}};
  return true;
}

BOOST_AUTO_TEST_CASE(config_errors_name_the_key) {
  TempDir d;
  auto load = [&](const std::string& text) {
    return LoadConfig(d.Write("c.json", text), &TestDefaults);
  };
  BOOST_TEST(load(R"({"source": {"id": "hr", "kind": "people"}})").ok());
  absl::StatusOr<SourceConfig> c = load(R"({"source": {"id": "hr", "kind": "nope"}})");
  BOOST_TEST(!c.ok());
  BOOST_TEST(std::string(c.status().message()).find("unknown connector kind 'nope'") !=
             std::string::npos);
  c = load(R"({"source": {"id": "hr", "kind": "people"}, "batch_size": 9000})");
  BOOST_TEST(std::string(c.status().message()).find("\"batch_size\"") != std::string::npos);
  c = load(R"({"source": {"id": "hr", "kind": "people"}, "colour": 1})");
  BOOST_TEST(std::string(c.status().message()).find("\"colour\": unknown key") !=
             std::string::npos);
  c = load(R"({"source": {"kind": "people"}})");
  BOOST_TEST(std::string(c.status().message()).find("source.id") != std::string::npos);
  c = load(
      R"({"source": {"id": "hr", "kind": "people"}, "mapping": {"relations": {"reports_to": 3}}})");
  BOOST_TEST(std::string(c.status().message()).find("mapping.relations.reports_to") !=
             std::string::npos);
  c = load("{ not json");
  BOOST_TEST(std::string(c.status().message()).find("not a JSON object") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(mapping_overrides_and_paths) {
  TempDir d;
  const std::string file = d.Write("c.json", R"({
    "source": {"id": "hr", "kind": "people", "priority": 70},
    "state_dir": "state",
    "mapping": {"attributes": {"display_name": "cn"}, "relations": {"reports_to": {"field": "boss", "target_type": "employee_id"}}}
  })");
  absl::StatusOr<SourceConfig> c = LoadConfig(file, &TestDefaults);
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(c->priority == 70);
  BOOST_TEST(c->mapping.external_id == "id");       // kept from the defaults
  BOOST_TEST(c->mapping.identifiers.size() == 1u);  // kept
  BOOST_TEST(c->mapping.attributes.size() == 1u);   // replaced
  BOOST_TEST(c->StateFile() == (d.path / "state" / "hr.state").string());
  BOOST_TEST(c->Resolve("x.csv") == (d.path / "x.csv").string());
  // Fields the config names must exist in the export.
  BOOST_TEST(!CheckFields(c->mapping, {"id", "mail", "cn"}, "h").ok());
  BOOST_TEST(CheckFields(c->mapping, {"id", "mail", "cn", "boss"}, "h").ok());
}

BOOST_AUTO_TEST_CASE(records_map_to_fragments) {
  Mapping m;
  m.kind = "employee";
  m.external_id = "id";
  m.attributes = {{"team", "team"}, {"skills", "skills"}};
  m.identifiers = {{"email", "mail"}};
  m.relations = {{"reports_to", "boss", "employee_id"}, {"member_of", "groups", ""}};
  Record r;
  r.locator = "x:2";
  r.Set("id", " E1 ");
  r.Set("team", "Cards");
  r.fields["skills"] = {"sepa", " ", "cards"};
  r.fields["mail"] = {"a@b.example", "not-an-address"};
  r.Set("boss", "E0");
  r.fields["groups"] = {"team:cards"};
  std::vector<std::string> warnings;
  absl::StatusOr<v1::Fragment> f = MapRecord(m, r, &warnings);
  BOOST_REQUIRE(f.ok());
  BOOST_TEST(f->external_id() == "E1");
  BOOST_TEST(f->attributes_size() == 3);  // team + two skills, the blank one skipped
  BOOST_TEST(f->identifiers_size() == 1);
  BOOST_REQUIRE(warnings.size() == 1u);
  BOOST_TEST(warnings[0].find("not-an-address") != std::string::npos);
  BOOST_REQUIRE(f->relations_size() == 2);
  BOOST_TEST(f->relations(0).target().type() == "employee_id");
  BOOST_TEST(f->relations(1).target().type() == "team");
  BOOST_TEST(f->relations(1).target().value() == "cards");
  // Junk e-mails as relation targets are left out, not the record.
  Mapping cases = m;
  cases.relations = {{"resolved_by", "who", "email"}};
  r.fields["who"] = {"ok@x.example", "x@y@localhost", "email:=", "employee_id:E9"};
  warnings.clear();
  absl::StatusOr<v1::Fragment> c = MapRecord(cases, r, &warnings);
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(c->relations_size() == 2);
  BOOST_TEST(c->relations(1).target().type() == "employee_id");
  BOOST_TEST(warnings.size() == 3u);  // the bad mail identifier and two bad targets
  r.fields["groups"] = {"cards"};
  BOOST_TEST(!MapRecord(m, r, &warnings).ok());  // a bare value with no target_type
  r.Set("id", "");
  BOOST_TEST(!MapRecord(m, r, &warnings).ok());
}

BOOST_AUTO_TEST_CASE(json_records_flatten) {
  Record r;
  BOOST_REQUIRE(RecordFromJson(
                    R"({"a": "x", "n": 3, "l": ["p", "q"], "o": {"k": true}, "m": [{"t": 1}]})", &r)
                    .ok());
  BOOST_TEST(r.First("a") == "x");
  BOOST_TEST(r.First("n") == "3");
  BOOST_TEST(r.fields["l"].size() == 2u);
  BOOST_TEST(r.First("o.k") == "true");
  BOOST_TEST(r.First("m") == R"({"t":1})");
  Record bad;
  BOOST_TEST(!RecordFromJson("[1]", &bad).ok());
  BOOST_TEST(!RecordFromJson("{", &bad).ok());
}

BOOST_AUTO_TEST_CASE(state_round_trips_and_detects_damage) {
  TempDir d;
  const std::string path = (d.path / "s" / "hr.state").string();
  absl::StatusOr<SyncState> empty = LoadState(path);
  BOOST_REQUIRE(empty.ok());
  BOOST_TEST(empty->records.empty());
  SyncState st;
  st.cursor = std::string(
      "\x01\x00"
      "cookie",
      8);  // "\x00c" would be one byte, 0x0c
  st.records["uid=a, ou=people"] = {17, 0xdeadbeef};
  st.records["E 2"] = {1, 2};
  BOOST_REQUIRE(SaveState(path, st).ok());
  absl::StatusOr<SyncState> back = LoadState(path);
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(back->cursor == st.cursor);
  BOOST_TEST(back->records.size() == 2u);
  BOOST_TEST(back->records["uid=a, ou=people"].version == 17u);
  BOOST_TEST(back->records["uid=a, ou=people"].hash == 0xdeadbeefu);
  std::ofstream(path, std::ios::app) << "garbage\n";
  absl::StatusOr<SyncState> bad = LoadState(path);
  BOOST_TEST(!bad.ok());
  BOOST_TEST(std::string(bad.status().message()).find(":5:") != std::string::npos);
  BOOST_TEST(ContentHash("a") != ContentHash("b"));
}

}  // namespace
}  // namespace tessera::connect
