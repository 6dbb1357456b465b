#include "server/scim/schema.h"

namespace tessera::scim {
namespace {

Attr S(std::string name, std::string description, bool case_exact = false) {
  Attr a;
  a.name = std::move(name);
  a.description = std::move(description);
  a.case_exact = case_exact;
  return a;
}

Attr B(std::string name, std::string description) {
  Attr a = S(std::move(name), std::move(description));
  a.type = Type::kBoolean;
  return a;
}

Attr C(std::string name, std::string description, std::vector<Attr> sub, bool multi = false) {
  Attr a = S(std::move(name), std::move(description));
  a.type = Type::kComplex;
  a.sub = std::move(sub);
  a.multi = multi;
  return a;
}

Attr Ro(Attr a) {
  a.mutability = Mutability::kReadOnly;
  return a;
}

// The sub-attributes of a multi-valued attribute such as emails (RFC 7643 §2.4).
std::vector<Attr> MultiSub(std::string value_description) {
  return {S("value", std::move(value_description)), S("display", "A human-readable name"),
          S("type", "A label: 'work', 'home', 'other'..."), B("primary", "The preferred value")};
}

Schema MakeUser() {
  Schema s;
  s.id = kUserSchema;
  s.name = "User";
  s.description = "User Account";
  Attr user_name =
      S("userName", "Unique identifier for the User, unique per source (case-insensitive)");
  user_name.required = true;
  Attr password = S("password", "Accepted and dropped: Tessera never stores a password");
  password.mutability = Mutability::kWriteOnly;
  Attr ref = S("$ref", "The URI of the resource", true);
  ref.type = Type::kReference;
  s.attrs = {
      Ro(S("id", "Unique identifier issued by Tessera", true)),
      S("externalId", "Identifier issued by the provisioning client", true),
      user_name,
      C("name", "The components of the user's name",
        {S("formatted", "Full name"), S("familyName", "Family name"), S("givenName", "Given name"),
         S("middleName", "Middle name"), S("honorificPrefix", "Honorific prefix"),
         S("honorificSuffix", "Honorific suffix")}),
      S("displayName", "The name displayed to end users"),
      S("nickName", "Casual name"),
      S("profileUrl", "URL of the user's online profile"),
      S("title", "Job title"),
      S("userType", "Relationship to the organisation"),
      S("preferredLanguage", "Preferred language (e.g. 'fr-FR')"),
      S("locale", "Default location for localisation"),
      S("timezone", "Time zone (IANA)"),
      B("active", "Whether the account is active; false means the person left"),
      password,
      C("emails", "E-mail addresses", MultiSub("E-mail address"), true),
      C("phoneNumbers", "Phone numbers, returned exactly as sent", MultiSub("Phone number"), true),
      C("ims", "Instant messaging addresses", MultiSub("Address"), true),
      C("photos", "URLs of photos", MultiSub("URL"), true),
      C("addresses", "Physical addresses",
        {S("formatted", "Full address"), S("streetAddress", "Street"), S("locality", "City"),
         S("region", "State or region"), S("postalCode", "Postal code"), S("country", "Country"),
         S("type", "'work', 'home', 'other'"), B("primary", "The preferred address")},
        true),
      Ro(C("groups", "Groups the user belongs to (read-only: set through /Groups)",
           {S("value", "Group id", true), ref, S("display", "Group name"), S("type", "direct")},
           true)),
      C("entitlements", "Accepted and ignored", MultiSub("Entitlement"), true),
      C("roles", "Accepted and ignored", MultiSub("Role"), true),
      C("x509Certificates", "Certificates", MultiSub("DER certificate, base64"), true),
  };
  return s;
}

Schema MakeEnterprise() {
  Schema s;
  s.id = kEnterpriseSchema;
  s.name = "EnterpriseUser";
  s.description = "Enterprise User";
  Attr ref = S("$ref", "The URI of the manager", true);
  ref.type = Type::kReference;
  s.attrs = {
      S("employeeNumber", "Employee number (an employee_id identifier)"),
      S("costCenter", "Cost center"),
      S("organization", "Organisation"),
      S("division", "Division"),
      S("department", "Department"),
      C("manager",
        "The user's manager: a user id of the same source (a bare id string is accepted)",
        {S("value", "The manager's id", true), ref, Ro(S("displayName", "The manager's name"))}),
  };
  return s;
}

Schema MakeGroup() {
  Schema s;
  s.id = kGroupSchema;
  s.name = "Group";
  s.description = "Group";
  Attr display = S("displayName", "Group name, unique per source (case-insensitive)");
  display.required = true;
  Attr ref = S("$ref", "The URI of the member", true);
  ref.type = Type::kReference;
  s.attrs = {
      Ro(S("id", "Unique identifier issued by Tessera", true)),
      S("externalId", "Identifier issued by the provisioning client", true),
      display,
      C("members", "Users in the group",
        {S("value", "User id", true), ref, S("display", "Name"), S("type", "User")}, true),
  };
  return s;
}

const char* TypeName(Type t) {
  switch (t) {
    case Type::kString:
      return "string";
    case Type::kBoolean:
      return "boolean";
    case Type::kComplex:
      return "complex";
    case Type::kReference:
      return "reference";
    case Type::kDateTime:
      return "dateTime";
  }
  return "string";
}

const char* MutabilityName(Mutability m) {
  switch (m) {
    case Mutability::kReadWrite:
      return "readWrite";
    case Mutability::kReadOnly:
      return "readOnly";
    case Mutability::kWriteOnly:
      return "writeOnly";
    case Mutability::kImmutable:
      return "immutable";
  }
  return "readWrite";
}

Json Describe(const Attr& a) {
  Json j = {{"name", a.name},
            {"type", TypeName(a.type)},
            {"multiValued", a.multi},
            {"description", a.description},
            {"required", a.required},
            {"caseExact", a.case_exact},
            {"mutability", MutabilityName(a.mutability)},
            {"returned", a.mutability == Mutability::kWriteOnly ? "never" : "default"},
            {"uniqueness", a.name == "id" || a.name == "userName" ? "server" : "none"}};
  if (a.type == Type::kComplex) {
    Json sub = Json::array();
    for (const Attr& s : a.sub) sub.push_back(Describe(s));
    j["subAttributes"] = sub;
  }
  return j;
}

Json DescribeSchema(std::string_view base, const Schema& s) {
  Json attrs = Json::array();
  for (const Attr& a : s.attrs) attrs.push_back(Describe(a));
  return {
      {"schemas", {"urn:ietf:params:scim:schemas:core:2.0:Schema"}},
      {"id", s.id},
      {"name", s.name},
      {"description", s.description},
      {"attributes", attrs},
      {"meta", {{"resourceType", "Schema"}, {"location", std::string(base) + "/Schemas/" + s.id}}}};
}

Json ListOf(Json resources) {
  const size_t n = resources.size();
  return {{"schemas", {kListSchema}},
          {"totalResults", n},
          {"itemsPerPage", n},
          {"startIndex", 1},
          {"Resources", std::move(resources)}};
}

}  // namespace

bool SameName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

const Attr* Attr::Find(std::string_view n) const {
  for (const Attr& a : sub) {
    if (SameName(a.name, n)) return &a;
  }
  return nullptr;
}

const Attr* Schema::Find(std::string_view n) const {
  for (const Attr& a : attrs) {
    if (SameName(a.name, n)) return &a;
  }
  return nullptr;
}

const Schema& CoreSchema(Resource r) {
  static const Schema* user = new Schema(MakeUser());
  static const Schema* group = new Schema(MakeGroup());
  return r == Resource::kUser ? *user : *group;
}

const Schema* ExtensionSchema(Resource r) {
  static const Schema* enterprise = new Schema(MakeEnterprise());
  return r == Resource::kUser ? enterprise : nullptr;
}

Json ServiceProviderConfig(std::string_view base, size_t max_results, size_t max_body_bytes) {
  return {
      {"schemas", {"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"}},
      {"patch", {{"supported", true}}},
      {"bulk", {{"supported", false}, {"maxOperations", 0}, {"maxPayloadSize", 0}}},
      {"filter", {{"supported", true}, {"maxResults", max_results}}},
      {"changePassword", {{"supported", false}}},
      {"sort", {{"supported", false}}},
      {"etag", {{"supported", true}}},
      {"authenticationSchemes",
       {{{"type", "oauthbearertoken"},
         {"name", "Bearer token"},
         {"description",
          "A token made with `tesserad --new-token NAME --roles connector --sources SOURCE`, "
          "sent as 'Authorization: Bearer <token>'"},
         {"primary", true}}}},
      {"maxRequestBytes", max_body_bytes},
      {"meta",
       {{"resourceType", "ServiceProviderConfig"},
        {"location", std::string(base) + "/ServiceProviderConfig"}}},
  };
}

Json ResourceTypes(std::string_view base) {
  Json user = {{"schemas", {"urn:ietf:params:scim:schemas:core:2.0:ResourceType"}},
               {"id", "User"},
               {"name", "User"},
               {"endpoint", "/Users"},
               {"description", "User Account"},
               {"schema", kUserSchema},
               {"schemaExtensions", {{{"schema", kEnterpriseSchema}, {"required", false}}}},
               {"meta",
                {{"resourceType", "ResourceType"},
                 {"location", std::string(base) + "/ResourceTypes/User"}}}};
  Json group = {{"schemas", {"urn:ietf:params:scim:schemas:core:2.0:ResourceType"}},
                {"id", "Group"},
                {"name", "Group"},
                {"endpoint", "/Groups"},
                {"description", "Group"},
                {"schema", kGroupSchema},
                {"meta",
                 {{"resourceType", "ResourceType"},
                  {"location", std::string(base) + "/ResourceTypes/Group"}}}};
  return ListOf(Json::array({user, group}));
}

Json Schemas(std::string_view base) {
  return ListOf(Json::array({DescribeSchema(base, CoreSchema(Resource::kUser)),
                             DescribeSchema(base, *ExtensionSchema(Resource::kUser)),
                             DescribeSchema(base, CoreSchema(Resource::kGroup))}));
}

Json SchemaById(std::string_view base, std::string_view id) {
  for (const Schema* s : {&CoreSchema(Resource::kUser), ExtensionSchema(Resource::kUser),
                          &CoreSchema(Resource::kGroup)}) {
    if (SameName(s->id, id)) return DescribeSchema(base, *s);
  }
  return nullptr;
}

}  // namespace tessera::scim
