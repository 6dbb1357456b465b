#pragma once

// SCIM resources as Tessera keeps them: checked against the schema, attribute names in
// their canonical spelling (clients may write any case), values exactly as sent except
// booleans sent as strings ("True") and a manager sent as a bare id, both put in the
// schema's form. Read-only attributes (id, meta, groups) and passwords are dropped;
// null and "" mean absent. A group's members are not kept in its JSON but in an index
// (service.h), so they come out separately. `Patch` applies a PatchOp (RFC 7644
// §3.5.2) to a copy, with the dialects Entra ID and Okta send (BRIEF.md Q1–Q13).

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/scim/schema.h"

namespace tessera::scim {

// Sizes a caller controls.
struct Limits {
  size_t max_string_bytes = 4096;         // one attribute value
  size_t max_values = 64;                 // values of one multi-valued attribute (members aside)
  size_t max_resource_bytes = 64 << 10;   // a resource's JSON as kept
  size_t max_operations = 1000;           // operations in one PATCH
  size_t max_members_per_request = 4000;  // member changes one request may make
};

// The scimType of an error, carried as a payload of the status.
inline constexpr char kScimTypePayload[] = "type.tessera.dev/scim-type";
// A status with a scimType: 400 for INVALID_ARGUMENT, 409 ALREADY_EXISTS...
[[nodiscard]] absl::Status ScimError(absl::StatusCode code, std::string_view scim_type,
                                     const std::string& detail);
std::string ScimTypeOf(const absl::Status& s);

// Member changes a request asks for, in order.
struct MemberOps {
  bool clear = false;  // every current member removed first (replace, or remove all)
  std::vector<std::pair<std::string, bool>> changes;  // user id, member after this request?
  bool replaced = false;  // the request replaced the whole list (Okta's full push)
};

struct Canonical {
  Json resource;                                    // an object
  std::optional<std::vector<std::string>> members;  // groups: the members sent, if any
};

// `in` (a request body) as kept, or INVALID_ARGUMENT with scimType invalidValue or
// invalidSyntax naming the attribute.
absl::StatusOr<Canonical> Canonicalise(const Json& in, Resource r, const Limits& limits);

// Applies a PatchOp body to `resource` (canonical, members aside) atomically: on error
// `resource` is unchanged. Member operations of a group go to `members`.
[[nodiscard]] absl::Status Patch(const Json& body, Resource r, const Limits& limits, Json& resource,
                                 MemberOps& members);

}  // namespace tessera::scim
