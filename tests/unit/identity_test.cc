#define BOOST_TEST_MODULE identity
#include <algorithm>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <map>
#include <string>
#include <vector>

#include "server/identity/cluster.h"
#include "server/identity/fragment.h"
#include "server/identity/identifier.h"
#include "server/identity/mentions.h"
#include "server/identity/profile.h"
#include "server/identity/source.h"

namespace bdata = boost::unit_test::data;
using namespace tessera::identity;

namespace {

NormaliseOptions Fr() { return NormaliseOptions{"FR"}; }

std::string Norm(const char* type, const std::string& raw) {
  absl::StatusOr<std::string> v = Normalise(*ParseIdType(type), raw, Fr());
  return v.ok() ? *v : "ERROR: " + std::string(v.status().message());
}

}  // namespace

// Each row: type, value as a source might write it, normalised form.
const char* const kType[] = {"email",    "email",    "email",       "email",       "upn",
                             "phone",    "phone",    "phone",       "phone",       "twitter",
                             "twitter",  "twitter",  "instagram",   "facebook",    "whatsapp",
                             "whatsapp", "whatsapp", "employee_id", "customer_id", "ldap_dn",
                             "ldap_dn",  "team",     "case",        "ad_guid",     "ad_guid"};
const char* const kRaw[] = {"  Alice.Martin@Example.COM ",
                            "Alice Martin <alice.martin@example.com>",
                            "mailto:BOB@x.example",
                            "ANDRÉ@exemple.fr",
                            "AMartin@Corp.Example",
                            "+33 1 42 68 53 00",
                            "01 42 68 53 00",
                            "+1 (650) 253-0000",
                            "0033 6 12 34 56 78",
                            "@Alice",
                            "https://twitter.com/Alice_M?lang=fr",
                            "x.com/alice_m/",
                            "@Camille.R",
                            "facebook.com/julie.blanc",
                            "+33 6 12 34 56 78",
                            "@Some_Shop",
                            "https://wa.me/33612345678",
                            " e1001 ",
                            "c-20001",
                            "UID=amartin, OU=People,DC=Banque-Lumen,DC=example",
                            "cn=Doe\\, John,ou=people,dc=example",
                            "  Customer   Care ",
                            " HD-5001 ",
                            "{B43B8D37-5B43-4A69-B12F-2C654EE5F5EA}",
                            "83aabab1-d65a-494a-a5b0-242532bf0cc5"};
const char* const kNorm[] = {"alice.martin@example.com",
                             "alice.martin@example.com",
                             "bob@x.example",
                             "andré@exemple.fr",
                             "amartin@corp.example",
                             "+33142685300",
                             "+33142685300",
                             "+16502530000",
                             "+33612345678",
                             "alice",
                             "alice_m",
                             "alice_m",
                             "camille.r",
                             "julie.blanc",
                             "+33612345678",
                             "some_shop",
                             "+33612345678",
                             "E1001",
                             "C-20001",
                             "uid=amartin,ou=people,dc=banque-lumen,dc=example",
                             "cn=doe\\2C john,ou=people,dc=example",
                             "customer care",
                             "HD-5001",
                             "b43b8d37-5b43-4a69-b12f-2c654ee5f5ea",
                             "83aabab1-d65a-494a-a5b0-242532bf0cc5"};

BOOST_DATA_TEST_CASE(identifier_normalises,
                     bdata::make(kType) ^ bdata::make(kRaw) ^ bdata::make(kNorm), type, raw, norm) {
  BOOST_TEST(Norm(type, raw) == norm);
}

const char* const kBadType[] = {"phone",   "phone",   "email",       "email",   "email",
                                "twitter", "ldap_dn", "employee_id", "ad_guid", "ad_guid",
                                "team",    "ldap_dn", "phone",       "ldap_dn"};
const char* const kBadRaw[] = {
    "12ab", "hello", "alice", "a@b@c", "alice @x.example", "not a handle!", "no dn here", "   ",
    "83aabab1d65a494aa5b0242532bf0cc5", "83aabab1-d65a-494a-a5b0-242532bf0cg5",
    // A combining mark alone (U+05C1) folds to nothing (fuzz).
    "\u05c1",
    // libldap writes this as "a=#", which it cannot read back (fuzz).
    "a=#\t\n=\x03",
    // Formats as +200003638562, which reads back as +20003638562 (fuzz).
    "002//////////000003638562~2622",
    // Sorted, the vertical tab ends the DN, where reading it back trims it (fuzz).
    "b=x\v+a=y"};

BOOST_DATA_TEST_CASE(bad_identifier_is_rejected_with_reason,
                     bdata::make(kBadType) ^ bdata::make(kBadRaw), type, raw) {
  absl::StatusOr<std::string> v = Normalise(*ParseIdType(type), raw, Fr());
  BOOST_TEST(!v.ok());
  BOOST_TEST(v.status().code() == absl::StatusCode::kInvalidArgument);
  BOOST_TEST(std::string(v.status().message()).find(raw) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(phone_error_names_value_and_region) {
  Fragment f{.source = "hr", .external_id = "e1", .version = 1, .kind = "employee"};
  f.identifiers.push_back({"phone", "12ab"});
  absl::Status s = Validate(f, Limits(), Fr());
  BOOST_TEST(s.code() == absl::StatusCode::kInvalidArgument);
  BOOST_TEST(std::string(s.message()) ==
             "identifiers[0]: 'phone' value '12ab' is not a phone number (default region FR)");
}

BOOST_AUTO_TEST_CASE(validation_names_field_for_each_limit) {
  Limits limits;
  limits.max_identifiers = 1;
  limits.max_attribute_value_bytes = 4;
  Fragment f{.source = "hr", .external_id = "e1", .version = 1, .kind = "employee"};
  f.identifiers = {{"email", "a@x.example"}, {"email", "b@x.example"}};
  BOOST_TEST(std::string(Validate(f, limits, Fr()).message()) ==
             "identifiers: 2 given, the limit is 1");
  f.identifiers.resize(1);
  f.attributes = {{"title", "Engineer"}};
  BOOST_TEST(std::string(Validate(f, limits, Fr()).message()) ==
             "attributes[0] 'title': is 8 bytes, the limit is 4");
  f.attributes = {{"Title", "x"}};
  BOOST_TEST(std::string(Validate(f, limits, Fr()).message()).find("attributes[0]: name 'Title'") ==
             0);
  f.attributes.clear();
  f.kind = "robot";
  BOOST_TEST(
      std::string(Validate(f, limits, Fr()).message()).find("kind: 'robot' is not a known kind") ==
      0);
  f.kind = "employee";
  f.version = 0;
  BOOST_TEST(std::string(Validate(f, limits, Fr()).message()) == "version: must be at least 1");
  f.version = 1;
  f.relations = {{"reports_to", {"fax", "123"}}};
  BOOST_TEST(std::string(Validate(f, limits, Fr()).message())
                 .find("relations[0].target: unknown identifier type 'fax'") == 0);
}

BOOST_AUTO_TEST_CASE(validation_normalises_and_dedupes_identifiers) {
  Fragment f{.source = "crm", .external_id = "C-1", .version = 2, .kind = "customer"};
  f.identifiers = {{"twitter", "@JulieB"}, {"twitter", "julieb"}, {"email", "J@X.example"}};
  f.attributes = {{"end_date", ""}, {"city", " Lyon "}};
  BOOST_REQUIRE(Validate(f, Limits(), Fr()).ok());
  BOOST_TEST(f.identifiers.size() == 2u);
  BOOST_TEST(f.identifiers[0].value == "julieb");
  BOOST_TEST(f.identifiers[0].raw == "@JulieB");
  BOOST_TEST(f.identifiers[1].value == "j@x.example");
  BOOST_TEST(f.attributes.size() == 1u);  // empty values carry nothing
  BOOST_TEST(f.attributes[0].value == "Lyon");
}

BOOST_AUTO_TEST_CASE(fragment_record_round_trips) {
  StoredFragment sf;
  sf.fragment = Fragment{.source = "hr", .external_id = "E1", .version = 7, .kind = "employee"};
  sf.fragment.updated_at_ms = -5;
  sf.fragment.attributes = {{"display_name", "Élodie Durand"}};
  sf.fragment.identifiers = {{"email", "e@x.example", "E@X.example", IdType::kEmail}};
  sf.fragment.relations = {{"reports_to", {"employee_id", "E0", "", IdType::kEmployeeId}}};
  sf.fragment.evidence = {{"skill", "", "", "SEPA", "fr", 42}};
  sf.fno = 9;
  sf.entity = 12;
  StoredFragment back;
  BOOST_REQUIRE(DecodeFragment(EncodeFragment(sf), &back).ok());
  BOOST_TEST(EncodeFragment(back) == EncodeFragment(sf));
  BOOST_TEST(back.fragment.identifiers[0].raw == "E@X.example");
  BOOST_TEST(back.fragment.relations[0].target.type == "employee_id");
  std::string corrupt = EncodeFragment(sf);
  corrupt.resize(corrupt.size() - 3);
  BOOST_TEST(DecodeFragment(corrupt, &back).code() == absl::StatusCode::kDataLoss);
}

namespace {

Fragment Person(const std::string& id, std::vector<Identifier> ids,
                const std::string& kind = "employee") {
  Fragment f{.source = "s", .external_id = id, .version = 1, .kind = kind};
  for (auto& i : ids) {
    i.tag = *ParseIdType(i.type);
    f.identifiers.push_back(i);
  }
  return f;
}

// Cluster index of each item, as a string like "0 0 1".
std::string Shape(const std::vector<Fragment>& fs, const std::vector<const Rule*>& rules = {}) {
  std::vector<ClusterItem> items;
  items.reserve(fs.size());
  for (const auto& f : fs) items.push_back({f.external_id, &f});
  Clustering c = Cluster(items, rules);
  std::string out;
  for (size_t i = 0; i < fs.size(); ++i) out += (i ? " " : "") + std::to_string(c.cluster_of[i]);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(shared_identifier_links_across_sources) {
  std::vector<Fragment> fs = {Person("a", {{"email", "x@e"}}),
                              Person("b", {{"email", "x@e"}, {"phone", "+1"}}),
                              Person("c", {{"phone", "+1"}}), Person("d", {{"email", "y@e"}})};
  BOOST_TEST(Shape(fs) == "0 0 0 1");
}

BOOST_AUTO_TEST_CASE(two_employee_ids_are_a_conflict_not_a_merge) {
  std::vector<Fragment> fs = {Person("a", {{"employee_id", "E1"}, {"email", "x@e"}}),
                              Person("b", {{"employee_id", "E2"}, {"email", "x@e"}}),
                              Person("c", {{"employee_id", "E2"}, {"email", "x@e"}})};
  std::vector<ClusterItem> items;
  items.reserve(fs.size());
  for (const auto& f : fs) items.push_back({f.external_id, &f});
  Clustering c = Cluster(items, {});
  BOOST_TEST(Shape(fs) == "0 1 1");  // b and c agree, a stays apart
  BOOST_REQUIRE(c.conflicts.size() == 1u);
  BOOST_TEST(c.conflicts[0].type == "employee_id");
  BOOST_TEST((c.conflicts[0].values == std::vector<std::string>{"E1", "E2"}));
  BOOST_TEST(c.conflicts[0].via_value == "x@e");
}

BOOST_AUTO_TEST_CASE(person_and_team_never_merge) {
  std::vector<Fragment> fs = {Person("a", {{"email", "care@e"}}),
                              Person("b", {{"email", "care@e"}}, "team")};
  std::vector<ClusterItem> items;
  items.reserve(fs.size());
  for (const auto& f : fs) items.push_back({f.external_id, &f});
  Clustering c = Cluster(items, {});
  BOOST_TEST(Shape(fs) == "0 1");
  BOOST_REQUIRE(c.conflicts.size() == 1u);
  BOOST_TEST(c.conflicts[0].type == "kind");
}

BOOST_AUTO_TEST_CASE(merge_rule_joins_and_split_rule_separates) {
  std::vector<Fragment> fs = {Person("a", {{"employee_id", "E1"}}),
                              Person("b", {{"employee_id", "E2"}}), Person("c", {{"email", "x@e"}}),
                              Person("d", {{"email", "x@e"}})};
  Rule merge{1, Rule::Type::kMerge, {"a", "b"}, {}, "", 0};
  Rule split{2, Rule::Type::kSplit, {"d"}, {"c"}, "", 0};
  BOOST_TEST(Shape(fs) == "0 1 2 2");
  BOOST_TEST(Shape(fs, {&merge}) == "0 0 1 1");
  BOOST_TEST(Shape(fs, {&merge, &split}) == "0 0 1 2");
}

BOOST_AUTO_TEST_CASE(survivorship_prefers_priority_then_recency) {
  SourceRegistry sources;
  sources.Put({"hr", "csv", 90, "", 0});
  sources.Put({"ldap", "ldap", 50, "", 0});
  sources.Put({"crm", "crm", 50, "", 0});
  auto frag = [](const char* src, const char* title, int64_t t) {
    StoredFragment sf;
    sf.fragment = Fragment{.source = src, .external_id = "x", .version = 1, .kind = "employee"};
    sf.fragment.attributes = {{"title", title}};
    sf.fragment.updated_at_ms = t;
    return sf;
  };
  StoredFragment ldap = frag("ldap", "Dev", 300), crm = frag("crm", "Developer", 200),
                 hr = frag("hr", "Engineer", 100);
  std::vector<std::pair<std::string, const StoredFragment*>> members = {
      {"k1", &ldap}, {"k2", &crm}, {"k3", &hr}};
  Profile p = Materialise(5, members, sources);
  BOOST_TEST(*p.Attr("title") == "Engineer");  // priority beats recency
  BOOST_REQUIRE(p.attributes[0].values.size() == 3u);
  BOOST_TEST(p.attributes[0].values[1].value == "Dev");  // then the newer of equal priority
  BOOST_TEST(p.members[p.attributes[0].values[1].member].source == "ldap");
  Profile back;
  BOOST_REQUIRE(DecodeProfile(EncodeProfile(p), &back).ok());
  BOOST_TEST(EncodeProfile(back) == EncodeProfile(p));
}

// What a customer leaves in a message: "type:value (span)" per identifier found.
std::string MentionsOf(const std::string& text) {
  std::string out;
  for (const Mention& m : FindMentions(text, {"FR"})) {
    out += (out.empty() ? "" : " ") + std::string(m.handle ? "@" : IdTypeName(m.type)) + ":" +
           m.value + " (" + text.substr(m.begin, m.end - m.begin) + ")";
  }
  return out;
}

BOOST_AUTO_TEST_CASE(identifiers_are_found_in_free_text) {
  BOOST_TEST(MentionsOf("Écrivez à Camille.Roussel@Courriel.example. Merci") ==
             "email:camille.roussel@courriel.example (Camille.Roussel@Courriel.example)");
  BOOST_TEST(MentionsOf("@BanqueLumen mon numéro : 06 71 24 38 95 !") ==
             "@:banquelumen (@BanqueLumen) phone:+33671243895 (06 71 24 38 95)");
  BOOST_TEST(MentionsOf("call +1 650-253-0000 or me@x") == "phone:+16502530000 (+1 650-253-0000)");
  BOOST_TEST(MentionsOf("a@b@c, 3 cartes, 12 euros, 2026-12-04") == "");
  // Two addresses run together are one mention at most, never two overlapping ones
  // (found by message_fuzz).
  BOOST_TEST(MentionsOf("ecrire a cam@courriel.exampcam@courriel.example") ==
             "email:cam@courriel.exampcam (cam@courriel.exampcam)");
  BOOST_TEST(MentionsOf("") == "");
}

BOOST_AUTO_TEST_CASE(a_bare_value_is_guessed) {
  auto guess = [](const std::string& raw, const std::string& channel) {
    std::string out;
    for (const auto& [type, value] : GuessIdentifiers(raw, channel, {"FR"})) {
      out += (out.empty() ? "" : " ") + IdentText(type, value);
    }
    return out;
  };
  BOOST_TEST(guess(" Camille@Courriel.example ", "") == "email:camille@courriel.example");
  BOOST_TEST(guess("06 71 24 38 95", "") == "phone:+33671243895");
  BOOST_TEST(guess("@Camille_R", "") == "twitter:camille_r instagram:camille_r facebook:camille_r");
  BOOST_TEST(guess("@Camille_R", "Instagram") == "instagram:camille_r");
  BOOST_TEST(guess("@Camille_R", "X") == "twitter:camille_r");
  BOOST_TEST(guess("not an id", "") == "");
  IdType alias;
  BOOST_TEST((AliasOf(IdType::kWhatsapp, "+33671243895", &alias) && alias == IdType::kPhone));
  BOOST_TEST((AliasOf(IdType::kPhone, "+33671243895", &alias) && alias == IdType::kWhatsapp));
  BOOST_TEST(!AliasOf(IdType::kWhatsapp, "camille", &alias));
  BOOST_TEST(!AliasOf(IdType::kEmail, "+33@x.example", &alias));
}
