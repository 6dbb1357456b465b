// Fuzz target for what HTTP callers' bytes reach: the SCIM filter grammar
// (scim::ParseFilter, then FindIndexedEq and Matches), SCIM bodies (Canonicalise, and
// PATCH applied to a user), and the console's Cookie header (http::CookieValue).
//
// The first byte picks the reader (mod 3); the rest is its input. Properties checked:
//  - nothing crashes, whatever the bytes;
//  - a filter over 4,096 bytes is refused;
//  - a canonical resource is a JSON object;
//  - a PATCH that fails leaves the resource exactly as it was (atomic);
//  - a cookie value is a part of the header holding no ';'.
//
// Built like message_fuzz: a libFuzzer binary with clang++ (TESSERA_FUZZ=ON) and
// http_fuzz_replay, which runs tests/fuzz/http_corpus under CTest.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/http/session.h"
#include "server/scim/filter.h"
#include "server/scim/resource.h"

namespace {

using namespace tessera;

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "fuzz property violated: %s\n", what);
    abort();
  }
}

const scim::Json& SampleUser() {
  static const scim::Json* user = [] {
    const scim::Json body = scim::Json::parse(R"({
      "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann@example.com",
      "name": {"givenName": "Ann", "familyName": "Lee"}, "active": true, "title": "Adviser",
      "emails": [{"value": "ann@example.com", "type": "work", "primary": true}],
      "phoneNumbers": [{"value": "+33 1 42 68 53 29", "type": "work"}]})");
    absl::StatusOr<scim::Canonical> c = scim::Canonicalise(body, scim::Resource::kUser, {});
    Check(c.ok(), "the sample user is not canonical");
    return new scim::Json(std::move(c->resource));
  }();
  return *user;
}

void CheckFilter(std::string_view text) {
  absl::StatusOr<std::unique_ptr<scim::Filter>> f = scim::ParseFilter(text);
  if (!f.ok()) return;
  Check(text.size() <= 4096, "a filter over 4,096 bytes was accepted");
  for (scim::Resource r : {scim::Resource::kUser, scim::Resource::kGroup}) {
    (void)scim::FindIndexedEq(**f, r);
    (void)scim::Matches(**f, SampleUser(), r);
  }
}

void CheckBody(std::string_view text) {
  const scim::Json body = scim::Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return;
  for (scim::Resource r : {scim::Resource::kUser, scim::Resource::kGroup}) {
    absl::StatusOr<scim::Canonical> c = scim::Canonicalise(body, r, {});
    if (c.ok()) Check(c->resource.is_object(), "a canonical resource is not an object");
  }
  scim::Json user = SampleUser();
  scim::MemberOps members;
  if (!scim::Patch(body, scim::Resource::kUser, {}, user, members).ok()) {
    Check(user == SampleUser(), "a failed PATCH changed the resource");
  } else {
    Check(user.is_object(), "a patched resource is not an object");
  }
}

void CheckCookie(const std::string& header) {
  const std::string value = http::CookieValue(header, "tessera_session");
  Check(value.find(';') == std::string::npos, "a cookie value holds ';'");
  Check(value.empty() || header.find(value) != std::string::npos,
        "a cookie value is not in the header");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      CheckFilter(input);
      break;
    case 1:
      CheckBody(input);
      break;
    default:
      CheckCookie(input);
      break;
  }
  return 0;
}
