#pragma once

// The SCIM 2.0 schemas Tessera serves (RFC 7643 §4: User, the enterprise extension,
// Group), as attribute definitions the rest of server/scim checks input against, and
// the discovery documents (/Schemas, /ResourceTypes, /ServiceProviderConfig) made
// from the same definitions. Attribute names are case-insensitive (RFC 7643 §2.1):
// `Find` takes any case and the definition gives the canonical spelling.

#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"

namespace tessera::scim {

using Json = nlohmann::ordered_json;

inline constexpr char kUserSchema[] = "urn:ietf:params:scim:schemas:core:2.0:User";
inline constexpr char kEnterpriseSchema[] =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
inline constexpr char kGroupSchema[] = "urn:ietf:params:scim:schemas:core:2.0:Group";
inline constexpr char kListSchema[] = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
inline constexpr char kErrorSchema[] = "urn:ietf:params:scim:api:messages:2.0:Error";
inline constexpr char kPatchSchema[] = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

enum class Type { kString, kBoolean, kComplex, kReference, kDateTime };
enum class Mutability { kReadWrite, kReadOnly, kWriteOnly, kImmutable };

struct Attr {
  std::string name;  // canonical spelling
  Type type = Type::kString;
  bool multi = false;
  bool required = false;
  bool case_exact = false;
  Mutability mutability = Mutability::kReadWrite;
  std::vector<Attr> sub;  // of a complex attribute
  std::string description;

  // The sub-attribute named `name` in any case, or null.
  const Attr* Find(std::string_view name) const;
};

enum class Resource { kUser, kGroup };

struct Schema {
  std::string id;  // URN
  std::string name, description;
  std::vector<Attr> attrs;
  const Attr* Find(std::string_view name) const;
};

// The core schema of a resource type, and its extension (null: none).
const Schema& CoreSchema(Resource r);
const Schema* ExtensionSchema(Resource r);
// Case-insensitive ASCII equality, for attribute names and URNs.
bool SameName(std::string_view a, std::string_view b);
std::string AsciiLower(std::string_view s);

// Discovery documents, for a server whose SCIM base URL is `base` (for `location`).
Json ServiceProviderConfig(std::string_view base, size_t max_results, size_t max_body_bytes);
Json ResourceTypes(std::string_view base);
Json Schemas(std::string_view base);
// One schema by URN, or null when unknown.
Json SchemaById(std::string_view base, std::string_view id);

}  // namespace tessera::scim
