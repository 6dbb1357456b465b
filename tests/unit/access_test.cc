#define BOOST_TEST_MODULE access
#include "server/access/access.h"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <string>

using namespace tessera;
using access::Principals;
using access::Role;

namespace {

std::string Error(std::string_view json) {
  absl::StatusOr<Principals> p = Principals::Parse(json, "p.json");
  return p.ok() ? "" : std::string(p.status().message());
}

}  // namespace

BOOST_AUTO_TEST_CASE(sha256_matches_the_standard_vector) {
  // FIPS 180-2 test vector for "abc".
  BOOST_TEST(access::Sha256Hex("abc") ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

BOOST_AUTO_TEST_CASE(tokens_are_found_by_hash_and_expire) {
  const std::string json = std::string(R"({"tokens": [
      {"principal": "desk", "sha256": ")") +
                           access::Sha256Hex("s3cret") + R"(", "roles": ["agent", "reader"]},
      {"principal": "old", "sha256": ")" +
                           access::Sha256Hex("gone") +
                           R"(", "roles": ["admin"], "expires": "2026-01-01"}]})";
  absl::StatusOr<Principals> p = Principals::Parse(json, "p.json");
  BOOST_REQUIRE_MESSAGE(p.ok(), p.status());
  absl::StatusOr<const access::Principal*> desk = p->ByToken("s3cret", 0);
  BOOST_REQUIRE(desk.ok());
  BOOST_TEST((*desk)->name == "desk");
  BOOST_TEST((*desk)->Has(Role::kAgent));
  BOOST_TEST(!(*desk)->Has(Role::kAdmin));
  BOOST_TEST(p->ByToken("s3cret ", 0).status().code() == absl::StatusCode::kUnauthenticated);
  const int64_t day = 86'400'000;
  BOOST_TEST(p->ByToken("gone", 20453 * day).ok());                                    // 2025-12-31
  absl::StatusOr<const access::Principal*> expired = p->ByToken("gone", 20454 * day);  // 2026-01-01
  BOOST_TEST(expired.status().code() == absl::StatusCode::kUnauthenticated);
  BOOST_TEST(std::string(expired.status().message()).find("expired") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_entries_are_named) {
  const std::string hash = access::Sha256Hex("t");
  BOOST_TEST(
      Error(R"({"tokens": [{"principal": "a", "sha256": ")" + hash + R"(", "roles": ["boss"]}]})")
          .find("p.json: tokens[0]: unknown role \"boss\"") != std::string::npos);
  BOOST_TEST(Error(R"({"tokens": [{"principal": "a", "sha256": "abc", "roles": ["reader"]}]})")
                 .find("tokens[0]: 'sha256' must be") != std::string::npos);
  BOOST_TEST(Error(R"({"tokens": [{"principal": "a", "sha256": ")" + hash +
                   R"(", "roles": ["connector"]}]})")
                 .find("must be bound") != std::string::npos);
  BOOST_TEST(Error(R"({"certificates": [{"roles": ["reader"]}]})")
                 .find("certificates[0]: 'common_name'") != std::string::npos);
  BOOST_TEST(
      Error(R"({"tokens": [{"principal": "a", "sha256": ")" + hash + R"(", "roles": ["reader"],
                       "expires": "soon"}]})")
          .find("YYYY-MM-DD") != std::string::npos);
  BOOST_TEST(Error(R"({"users": []})").find("unknown field 'users'") != std::string::npos);
  BOOST_TEST(Error("not json").find("not a JSON object") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(certificates_and_source_bindings) {
  absl::StatusOr<Principals> p = Principals::Parse(
      R"({"certificates": [{"common_name": "hr-sync", "roles": ["connector"], "sources": ["hr", "ldap"]}]})",
      "p.json");
  BOOST_REQUIRE_MESSAGE(p.ok(), p.status());
  const access::Principal* hr = p->ByCertificate("hr-sync");
  BOOST_REQUIRE(hr != nullptr);
  BOOST_TEST(hr->name == "hr-sync");
  BOOST_TEST(hr->MayWrite("ldap"));
  BOOST_TEST(!hr->MayWrite("crm"));
  BOOST_TEST(p->ByCertificate("someone") == nullptr);
}

BOOST_AUTO_TEST_CASE(new_tokens_load_and_work) {
  absl::StatusOr<access::NewToken> t = access::MakeToken("desk", {Role::kAgent}, {}, "2030-01-01");
  BOOST_REQUIRE_MESSAGE(t.ok(), t.status());
  BOOST_TEST(t->token.size() >= 40u);
  absl::StatusOr<Principals> p = Principals::Parse(R"({"tokens": [)" + t->entry + "]}", "p.json");
  BOOST_REQUIRE_MESSAGE(p.ok(), p.status());
  BOOST_TEST(p->ByToken(t->token, 0).ok());
  BOOST_TEST(t->entry.find(t->token) == std::string::npos);  // only the hash is stored
  absl::StatusOr<access::NewToken> other = access::MakeToken("desk", {Role::kAgent}, {}, "");
  BOOST_TEST(other->token != t->token);
}

BOOST_AUTO_TEST_CASE(every_method_has_roles) {
  BOOST_TEST(access::RolesFor("Directory.GetProfile") ==
             (access::Bit(Role::kReader) | access::Bit(Role::kAgent)));
  BOOST_TEST(access::RolesFor("Expertise.FindExperts") == access::Bit(Role::kAgent));
  BOOST_TEST(access::RolesFor("Admin.Nope") == 0u);
  BOOST_TEST(access::DescribeRoles(access::RolesFor("Admin.PutSource")) == "connector or admin");
}

BOOST_AUTO_TEST_CASE(visibility_by_role_and_kind) {
  access::Visibility v = access::Visibility::Default();
  access::Principal reader{"r", access::Bit(Role::kReader), {}, 0};
  access::Principal agent{"a", access::Bit(Role::kAgent), {}, 0};
  access::Principal both{
      "b", access::Bit(Role::kReader) | access::Bit(Role::kConnector), {"hr"}, 0};
  BOOST_TEST(v.MaySee(reader, {"employee"}));
  BOOST_TEST(!v.MaySee(reader, {"customer"}));
  BOOST_TEST(v.MaySee(reader, {"customer", "employee"}));  // one visible kind suffices
  BOOST_TEST(v.SeesAll(agent));
  BOOST_TEST(!v.SeesAll(both));
  BOOST_TEST(
      !v.MaySee(access::Principal{"c", access::Bit(Role::kConnector), {"hr"}, 0}, {"employee"}));
  v.Set(Role::kReader, {"employee", "customer"});
  BOOST_TEST(v.MaySee(reader, {"customer"}));
  BOOST_TEST(v.KindsFor(both) == (std::vector<std::string>{"employee", "customer"}));
}

BOOST_AUTO_TEST_CASE(person_relationships_and_sensitive_fields) {
  const std::string hash = access::Sha256Hex("t");
  absl::StatusOr<Principals> p =
      Principals::Parse(R"({"tokens": [{"principal": "marc", "sha256": ")" + hash +
                            R"(", "roles": ["reader"], "person": "employee_id:E1029"}]})",
                        "p.json");
  BOOST_REQUIRE_MESSAGE(p.ok(), p.status());
  BOOST_TEST((*p->ByToken("t", 0))->person == "employee_id:E1029");
  BOOST_TEST(Error(R"({"tokens": [{"principal": "a", "sha256": ")" + hash +
                   R"(", "roles": ["reader"], "person": "marc"}]})")
                 .find("tokens[0]: 'person' must be the caller's own identifier") !=
             std::string::npos);

  access::Visibility v = access::Visibility::Default();
  BOOST_TEST((v.Via("customer") == std::vector<std::string>{"account_manager", "managed_by"}));
  BOOST_TEST(v.Via("employee").empty());
  const access::Principal reader{"r", access::Bit(Role::kReader), {}, 0};
  const access::Principal agent{"a", access::Bit(Role::kAgent), {}, 0};
  const std::vector<std::string> employee = v.Redacted(&reader, {"employee"});
  const std::vector<std::string> customer = v.Redacted(&reader, {"customer"});
  BOOST_TEST(std::count(employee.begin(), employee.end(), "personal_phone") == 1);
  BOOST_TEST(std::count(employee.begin(), employee.end(), "twitter") == 1);
  BOOST_TEST(std::count(employee.begin(), employee.end(), "phone") ==
             0);  // a work phone is not sensitive
  BOOST_TEST(std::count(customer.begin(), customer.end(), "phone") == 1);
  BOOST_TEST(std::count(customer.begin(), customer.end(), "email") == 1);
  BOOST_TEST(v.Redacted(&agent, {"customer"}).empty());
  BOOST_TEST(v.Redacted(nullptr, {"customer"}).empty());  // authentication off
  v.ClearSensitive();
  v.SetSensitive("employee", {"salary"});
  BOOST_TEST((v.Redacted(&reader, {"employee"}) == std::vector<std::string>{"salary"}));
  BOOST_TEST(v.Redacted(&reader, {"customer"}).empty());
  v.SetSeeSensitive(access::Bit(Role::kReader));
  BOOST_TEST(v.Redacted(&reader, {"employee"}).empty());
}
