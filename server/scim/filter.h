#pragma once

// SCIM filters (RFC 7644 §3.4.2.2): the whole grammar is parsed — attribute paths with
// schema URNs and sub-attributes, the ten operators, and/or/not, parentheses, value
// paths `emails[type eq "work"]` — plus two forms identity providers send that the
// grammar lacks: a value path followed by a comparison (Entra's
// `emails[type eq "work"].value eq "x"`) and a bare unquoted comparison value
// (`externalId eq jyoung`). A parsed filter can be evaluated against a resource's JSON;
// the service only runs one whose top-level `and` chain holds an indexed `eq`
// (`IndexedEq`), so no request scans a whole source.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/scim/schema.h"

namespace tessera::scim {

struct AttrPath {
  std::string urn;   // schema URN when the path was qualified, else empty
  std::string attr;  // as written
  std::string sub;   // sub-attribute, as written (empty: none)
  std::string Text() const;
};

struct Filter {
  enum class Kind { kCompare, kPresent, kAnd, kOr, kNot, kValuePath };
  Kind kind = Kind::kCompare;
  AttrPath path;
  std::string op;  // "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"; kValuePath: empty or a
                   // comparison
  Json value;      // the comparison's value
  std::unique_ptr<Filter> left,
      right;  // and/or: both; not: left; value path: left = the filter in brackets
};

// INVALID_ARGUMENT naming what is wrong, at which character, when `text` is not a filter.
// Sizes: at most 4,096 bytes and 64 levels of nesting.
absl::StatusOr<std::unique_ptr<Filter>> ParseFilter(std::string_view text);

// Whether `resource` (a rendered SCIM resource of type `r`) matches.
bool Matches(const Filter& f, const Json& resource, Resource r);

// Whether one element of a multi-valued attribute (defined by `def`, may be null)
// matches the filter of a value path (`type eq "work"`: names are its sub-attributes).
bool MatchesElement(const Filter& f, const Json& element, const Attr* def);

// An `eq` on one of the indexed attributes, found in the filter's top-level `and`
// chain: `attr` is "id", "username", "externalid", "emails.value", "displayname" or
// "members.value" (lower-case).
struct IndexedEq {
  std::string attr;
  std::string value;
};
std::optional<IndexedEq> FindIndexedEq(const Filter& f, Resource r);

}  // namespace tessera::scim
