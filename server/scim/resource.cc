#include "server/scim/resource.h"

#include <algorithm>
#include <memory>

#include "absl/strings/cord.h"
#include "server/scim/filter.h"

namespace tessera::scim {
namespace {

absl::Status Invalid(const std::string& detail) {
  return ScimError(absl::StatusCode::kInvalidArgument, "invalidValue", detail);
}

absl::Status InvalidPath(const std::string& detail) {
  return ScimError(absl::StatusCode::kInvalidArgument, "invalidPath", detail);
}

bool IsUrn(std::string_view key) { return key.size() > 4 && SameName(key.substr(0, 4), "urn:"); }

Json* FindKey(Json& object, std::string_view name) {
  if (!object.is_object()) return nullptr;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (SameName(it.key(), name)) return &it.value();
  }
  return nullptr;
}

// `v` as attribute `def` keeps it; nullopt: absent (null, "", an empty list or object).
absl::StatusOr<std::optional<Json>> CanonValue(const Attr& def, const Json& v,
                                               const std::string& where, const Limits& limits,
                                               bool element = false);

absl::StatusOr<std::optional<Json>> CanonComplex(const Attr& def, const Json& v,
                                                 const std::string& where, const Limits& limits) {
  if (v.is_string() && def.Find("value") != nullptr) {
    // A bare value for a complex attribute: Entra sends the manager's id as a string.
    if (v.get<std::string>().empty()) return std::optional<Json>();
    return CanonComplex(def, Json{{"value", v}}, where, limits);
  }
  if (v.is_array() && !def.multi && v.size() == 1) return CanonComplex(def, v[0], where, limits);
  if (!v.is_object()) return Invalid(where + " must be an object");
  Json out = Json::object();
  for (auto it = v.begin(); it != v.end(); ++it) {
    const Attr* sub = def.Find(it.key());
    if (sub == nullptr) return Invalid(where + " has no sub-attribute '" + it.key() + "'");
    if (sub->mutability == Mutability::kReadOnly && def.name == "manager") continue;
    absl::StatusOr<std::optional<Json>> c =
        CanonValue(*sub, it.value(), where + "." + sub->name, limits);
    if (!c.ok()) return c.status();
    if (*c) out[sub->name] = **c;
  }
  if (out.empty()) return std::optional<Json>();
  return std::optional<Json>(std::move(out));
}

absl::StatusOr<std::optional<Json>> CanonValue(const Attr& def, const Json& v,
                                               const std::string& where, const Limits& limits,
                                               bool element) {
  if (v.is_null()) return std::optional<Json>();
  if (def.multi && !element) {
    const Json list = v.is_array() ? v : Json::array({v});
    if (list.size() > limits.max_values && def.name != "members") {
      return Invalid(where + " has " + std::to_string(list.size()) + " values, the limit is " +
                     std::to_string(limits.max_values));
    }
    Json out = Json::array();
    for (size_t i = 0; i < list.size(); ++i) {
      absl::StatusOr<std::optional<Json>> c =
          CanonValue(def, list[i], where + "[" + std::to_string(i) + "]", limits, /*element=*/true);
      if (!c.ok()) return c.status();
      if (*c) out.push_back(**c);
    }
    if (out.empty()) return std::optional<Json>();
    return std::optional<Json>(std::move(out));
  }
  switch (def.type) {
    case Type::kComplex:
      return CanonComplex(def, v, where, limits);
    case Type::kBoolean:
      if (v.is_boolean()) return std::optional<Json>(v);
      // Entra's default job sends "True" / "False".
      if (v.is_string() && SameName(v.get<std::string>(), "true")) return std::optional<Json>(true);
      if (v.is_string() && SameName(v.get<std::string>(), "false"))
        return std::optional<Json>(false);
      return Invalid(where + " must be a boolean, not " + v.dump());
    case Type::kString:
    case Type::kReference:
    case Type::kDateTime: {
      if (!v.is_string())
        return Invalid(where + " must be a string, not " + std::string(v.type_name()));
      const std::string& s = v.get_ref<const std::string&>();
      if (s.empty()) return std::optional<Json>();
      if (s.find('\0') != std::string::npos) return Invalid(where + " contains a NUL character");
      if (s.size() > limits.max_string_bytes) {
        return Invalid(where + " is " + std::to_string(s.size()) + " bytes, the limit is " +
                       std::to_string(limits.max_string_bytes));
      }
      return std::optional<Json>(v);
    }
  }
  return Invalid(where + ": unsupported type");
}

// The user ids of a members value: [{"value": id}, ...] or bare ids.
absl::StatusOr<std::vector<std::string>> MemberIds(const Json& v, const Limits& limits) {
  std::vector<std::string> ids;
  if (v.is_null()) return ids;
  const Json list = v.is_array() ? v : Json::array({v});
  if (list.size() > limits.max_members_per_request) {
    return Invalid("members: " + std::to_string(list.size()) +
                   " values, the limit per request is " +
                   std::to_string(limits.max_members_per_request));
  }
  for (const Json& m : list) {
    const Json* id = m.is_object() ? FindKey(const_cast<Json&>(m), "value") : &m;
    if (id == nullptr || !id->is_string() || id->get<std::string>().empty()) {
      return Invalid("members: each member needs a \"value\" (a user id), not " + m.dump());
    }
    ids.push_back(id->get<std::string>());
  }
  return ids;
}

// Where a PATCH path points.
struct Target {
  const Attr* def = nullptr;       // the attribute (null: the whole extension object)
  bool extension = false;          // inside the enterprise extension object
  std::unique_ptr<Filter> filter;  // value path filter, when given
  const Attr* sub = nullptr;       // sub-attribute, when given
};

absl::StatusOr<Target> ParsePath(std::string_view path, Resource r) {
  Target t;
  const Schema* core = &CoreSchema(r);
  const Schema* ext = ExtensionSchema(r);
  const Schema* schema = core;
  std::string_view rest = path;
  if (IsUrn(path)) {
    if (ext != nullptr && path.size() >= ext->id.size() &&
        SameName(path.substr(0, ext->id.size()), ext->id)) {
      rest = path.substr(ext->id.size());
      t.extension = true;
      schema = ext;
      if (rest.empty()) return t;  // the whole extension
    } else if (path.size() > core->id.size() &&
               SameName(path.substr(0, core->id.size()), core->id)) {
      rest = path.substr(core->id.size());
    } else {
      return InvalidPath("path '" + std::string(path) + "' names an unknown schema");
    }
    if (rest.empty() || rest[0] != ':')
      return InvalidPath("path '" + std::string(path) + "' is not an attribute path");
    rest.remove_prefix(1);
  }
  const size_t bracket = rest.find('[');
  const size_t name_end = std::min(bracket, rest.find('.'));
  const std::string_view name = rest.substr(0, name_end);
  t.def = schema->Find(name);
  if (t.def == nullptr && schema == core && ext != nullptr && ext->Find(name) != nullptr) {
    t.def = ext->Find(name);
    t.extension = true;
  }
  if (t.def == nullptr)
    return InvalidPath("path '" + std::string(path) + "': no attribute '" + std::string(name) +
                       "'");
  std::string_view tail =
      name_end == std::string_view::npos ? std::string_view() : rest.substr(name_end);
  if (!tail.empty() && tail[0] == '[') {
    const size_t close = tail.rfind(']');
    if (close == std::string_view::npos)
      return InvalidPath("path '" + std::string(path) + "': no closing ']'");
    if (!t.def->multi)
      return InvalidPath("path '" + std::string(path) +
                         "': a filter needs a multi-valued attribute");
    absl::StatusOr<std::unique_ptr<Filter>> f = ParseFilter(tail.substr(1, close - 1));
    if (!f.ok())
      return InvalidPath("path '" + std::string(path) + "': " + std::string(f.status().message()));
    t.filter = *std::move(f);
    tail = tail.substr(close + 1);
  }
  if (!tail.empty()) {
    if (tail[0] != '.' || t.def->type != Type::kComplex) {
      return InvalidPath("path '" + std::string(path) + "' is not an attribute path");
    }
    t.sub = t.def->Find(tail.substr(1));
    if (t.sub == nullptr) {
      return InvalidPath("path '" + std::string(path) + "': '" + t.def->name +
                         "' has no sub-attribute '" + std::string(tail.substr(1)) + "'");
    }
  }
  return t;
}

// The `eq` pairs of a value filter (`type eq "work"`), to create the element it names.
void EqPairs(const Filter& f, const Attr& def, Json& out) {
  if (f.kind == Filter::Kind::kAnd) {
    EqPairs(*f.left, def, out);
    EqPairs(*f.right, def, out);
  } else if (f.kind == Filter::Kind::kCompare && f.op == "eq" && f.path.sub.empty()) {
    const Attr* sub = def.Find(f.path.attr);
    if (sub != nullptr) out[sub->name] = f.value;
  }
}

bool SameElement(const Json& a, const Json& b) {
  if (a.is_object() && b.is_object() && a.contains("value") && b.contains("value")) {
    return a["value"] == b["value"] && a.value("type", Json()) == b.value("type", Json());
  }
  return a == b;
}

class Patcher {
 public:
  Patcher(Resource r, const Limits& limits, Json& resource, MemberOps& members)
      : r_(r), limits_(limits), res_(resource), members_(members) {}

  absl::Status Apply(std::string_view op, std::optional<std::string_view> path, const Json& value) {
    if (!path) {
      if (op == "remove") {
        return ScimError(absl::StatusCode::kInvalidArgument, "noTarget",
                         "a remove operation needs a path");
      }
      // No path: the value's attributes, each as if named by a path (Q6, Q8).
      if (!value.is_object()) return Invalid("an operation without a path needs an object value");
      for (auto it = value.begin(); it != value.end(); ++it) {
        const std::string& key = it.key();
        if (SameName(key, "schemas") || SameName(key, "meta") || SameName(key, "id")) continue;
        const Schema* ext = ExtensionSchema(r_);
        if (ext != nullptr && SameName(key, ext->id) && it.value().is_object()) {
          for (auto sub = it.value().begin(); sub != it.value().end(); ++sub) {
            if (absl::Status s = Apply(op, ext->id + ":" + sub.key(), sub.value()); !s.ok())
              return s;
          }
          continue;
        }
        if (absl::Status s = Apply(op, std::string_view(key), it.value()); !s.ok()) return s;
      }
      return absl::OkStatus();
    }
    absl::StatusOr<Target> t = ParsePath(*path, r_);
    if (!t.ok()) return t.status();
    if (t->def == nullptr) {
      // The whole extension object.
      if (op == "remove") {
        res_.erase(ExtensionSchema(r_)->id);
        return absl::OkStatus();
      }
      return Apply(op, std::nullopt, Json{{ExtensionSchema(r_)->id, value}});
    }
    if (r_ == Resource::kGroup && t->def->name == "members") return ApplyMembers(op, *t, value);
    if (t->def->mutability == Mutability::kReadOnly) {
      if (t->def->name == "id") return absl::OkStatus();  // Okta sends the id it already has
      return ScimError(absl::StatusCode::kInvalidArgument, "mutability",
                       "'" + t->def->name + "' is read-only");
    }
    if (t->def->mutability == Mutability::kWriteOnly)
      return absl::OkStatus();  // a password: dropped
    Json& container = t->extension ? Container(ExtensionSchema(r_)->id) : res_;
    const std::string where(*path);
    if (t->filter != nullptr) return ApplyFiltered(op, *t, container, value, where);
    if (t->sub != nullptr) {
      if (t->def->multi)
        return InvalidPath("path '" + where +
                           "': a sub-attribute of a multi-valued attribute needs a filter");
      Json& object = container[t->def->name];
      if (!object.is_object()) object = Json::object();
      if (absl::Status s = SetOrErase(op, *t->sub, object, value, where); !s.ok()) return s;
      if (object.empty()) container.erase(t->def->name);
      return absl::OkStatus();
    }
    if (op == "remove") {
      if (t->def->multi && !value.is_null() && container.contains(t->def->name)) {
        // Remove with a value: only those values (as Entra removes members, Q3).
        absl::StatusOr<std::optional<Json>> gone = CanonValue(*t->def, value, where, limits_);
        if (!gone.ok()) return gone.status();
        Json& list = container[t->def->name];
        if (*gone) {
          for (const Json& g : **gone) {
            for (auto e = list.begin(); e != list.end();)
              e = SameElement(*e, g) ? list.erase(e) : e + 1;
          }
        }
        if (list.empty()) container.erase(t->def->name);
        return absl::OkStatus();
      }
      container.erase(t->def->name);
      return absl::OkStatus();
    }
    absl::StatusOr<std::optional<Json>> v = CanonValue(*t->def, value, where, limits_);
    if (!v.ok()) return v.status();
    if (!*v) {
      if (op == "replace" || !t->def->multi) container.erase(t->def->name);
      return absl::OkStatus();
    }
    if (t->def->multi && op == "add" && container.contains(t->def->name)) {
      Json& list = container[t->def->name];
      for (const Json& e : **v) {
        bool present = false;
        for (const Json& have : list) present = present || SameElement(have, e);
        if (!present) list.push_back(e);
      }
      return absl::OkStatus();
    }
    if (t->def->type == Type::kComplex && !t->def->multi && container.contains(t->def->name) &&
        container[t->def->name].is_object()) {
      // A complex value merges: sub-attributes not given keep their values (RFC 7644 §3.5.2.3).
      for (auto it = (*v)->begin(); it != (*v)->end(); ++it)
        container[t->def->name][it.key()] = it.value();
      return absl::OkStatus();
    }
    container[t->def->name] = **v;
    return absl::OkStatus();
  }

 private:
  Json& Container(const std::string& key) {
    Json& c = res_[key];
    if (!c.is_object()) c = Json::object();
    return c;
  }

  absl::Status SetOrErase(std::string_view op, const Attr& def, Json& object, const Json& value,
                          const std::string& where) {
    if (op == "remove") {
      object.erase(def.name);
      return absl::OkStatus();
    }
    absl::StatusOr<std::optional<Json>> v = CanonValue(def, value, where, limits_);
    if (!v.ok()) return v.status();
    if (*v) {
      object[def.name] = **v;
    } else {
      object.erase(def.name);
    }
    return absl::OkStatus();
  }

  // `emails[type eq "work"]` and `emails[type eq "work"].value`: on every element the
  // filter matches; add and replace create the element when none does (Q4, Q5).
  absl::Status ApplyFiltered(std::string_view op, const Target& t, Json& container,
                             const Json& value, const std::string& where) {
    Json& list = container[t.def->name];
    if (!list.is_array()) list = Json::array();
    bool matched = false;
    for (auto e = list.begin(); e != list.end();) {
      if (!MatchesElement(*t.filter, *e, t.def)) {
        ++e;
        continue;
      }
      matched = true;
      if (op == "remove" && t.sub == nullptr) {
        e = list.erase(e);
        continue;
      }
      if (t.sub != nullptr) {
        if (absl::Status s = SetOrErase(op, *t.sub, *e, value, where); !s.ok()) return s;
      } else {
        absl::StatusOr<std::optional<Json>> v =
            CanonValue(*t.def, value, where, limits_, /*element=*/true);
        if (!v.ok()) return v.status();
        if (*v) {
          for (auto it = (*v)->begin(); it != (*v)->end(); ++it) (*e)[it.key()] = it.value();
        }
      }
      ++e;
    }
    if (!matched && op != "remove") {
      Json element = Json::object();
      EqPairs(*t.filter, *t.def, element);
      if (t.sub != nullptr) {
        if (absl::Status s = SetOrErase(op, *t.sub, element, value, where); !s.ok()) return s;
      } else {
        absl::StatusOr<std::optional<Json>> v =
            CanonValue(*t.def, value, where, limits_, /*element=*/true);
        if (!v.ok()) return v.status();
        if (*v) {
          for (auto it = (*v)->begin(); it != (*v)->end(); ++it) element[it.key()] = it.value();
        }
      }
      if (!element.empty()) list.push_back(std::move(element));
    }
    // An element left with nothing but its filter's labels (`type`) carries no value.
    Json labels = Json::object();
    EqPairs(*t.filter, *t.def, labels);
    for (auto e = list.begin(); e != list.end();) {
      bool only_labels = true;
      for (auto it = e->begin(); it != e->end(); ++it)
        only_labels = only_labels && labels.contains(it.key());
      e = only_labels ? list.erase(e) : e + 1;
    }
    if (list.size() > limits_.max_values) {
      return Invalid(where + ": more than " + std::to_string(limits_.max_values) + " values");
    }
    if (list.empty()) container.erase(t.def->name);
    return absl::OkStatus();
  }

  absl::Status ApplyMembers(std::string_view op, const Target& t, const Json& value) {
    if (t.sub != nullptr)
      return InvalidPath("members' sub-attributes cannot be changed; add or remove members");
    if (t.filter != nullptr) {
      // members[value eq "id"]: the form Entra and Okta send.
      const Filter& f = *t.filter;
      if (op != "remove" || f.kind != Filter::Kind::kCompare || f.op != "eq" ||
          !SameName(f.path.attr, "value") || !f.value.is_string()) {
        return InvalidPath(
            "members filters other than remove members[value eq \"id\"] are not supported");
      }
      members_.changes.emplace_back(f.value.get<std::string>(), false);
      return absl::OkStatus();
    }
    absl::StatusOr<std::vector<std::string>> ids = MemberIds(value, limits_);
    if (!ids.ok()) return ids.status();
    if (op == "replace" || (op == "remove" && value.is_null())) {
      members_.clear = true;
      members_.replaced = op == "replace";
      members_.changes.clear();
    }
    const bool member = op != "remove";
    for (std::string& id : *ids) members_.changes.emplace_back(std::move(id), member);
    if (members_.changes.size() > limits_.max_members_per_request) {
      return Invalid("members: more than " + std::to_string(limits_.max_members_per_request) +
                     " changes in one request");
    }
    return absl::OkStatus();
  }

  Resource r_;
  const Limits& limits_;
  Json& res_;
  MemberOps& members_;
};

}  // namespace

absl::Status ScimError(absl::StatusCode code, std::string_view scim_type,
                       const std::string& detail) {
  absl::Status s(code, detail);
  if (!scim_type.empty()) s.SetPayload(kScimTypePayload, absl::Cord(std::string(scim_type)));
  return s;
}

std::string ScimTypeOf(const absl::Status& s) {
  auto t = s.GetPayload(kScimTypePayload);
  return t ? std::string(*t) : std::string();
}

absl::StatusOr<Canonical> Canonicalise(const Json& in, Resource r, const Limits& limits) {
  if (!in.is_object())
    return ScimError(absl::StatusCode::kInvalidArgument, "invalidSyntax",
                     "the body must be a JSON object");
  const Schema& core = CoreSchema(r);
  const Schema* ext = ExtensionSchema(r);
  Canonical out;
  out.resource = Json::object();
  for (auto it = in.begin(); it != in.end(); ++it) {
    const std::string& key = it.key();
    const Json& v = it.value();
    if (SameName(key, "schemas")) {
      if (!v.is_array() ||
          !std::all_of(v.begin(), v.end(), [](const Json& s) { return s.is_string(); })) {
        return ScimError(absl::StatusCode::kInvalidArgument, "invalidSyntax",
                         "'schemas' must be a list of URNs");
      }
      continue;
    }
    if (SameName(key, "meta") || v.is_null()) continue;
    if (IsUrn(key)) {
      if (ext == nullptr || !SameName(key, ext->id)) {
        return Invalid("unknown schema extension '" + key +
                       "' (known: " + (ext != nullptr ? ext->id : "none") + ")");
      }
      if (!v.is_object()) return Invalid("'" + ext->id + "' must be an object");
      Json object = Json::object();
      for (auto sub = v.begin(); sub != v.end(); ++sub) {
        const Attr* def = ext->Find(sub.key());
        if (def == nullptr)
          return Invalid("unknown attribute '" + sub.key() + "' of the enterprise extension");
        absl::StatusOr<std::optional<Json>> c = CanonValue(*def, sub.value(), def->name, limits);
        if (!c.ok()) return c.status();
        if (*c) object[def->name] = **c;
      }
      if (!object.empty()) out.resource[ext->id] = std::move(object);
      continue;
    }
    const Attr* def = core.Find(key);
    if (def == nullptr)
      return Invalid("unknown attribute '" + key + "' (not in the " + core.name + " schema)");
    if (r == Resource::kGroup && def->name == "members") {
      absl::StatusOr<std::vector<std::string>> ids = MemberIds(v, limits);
      if (!ids.ok()) return ids.status();
      out.members = *std::move(ids);
      continue;
    }
    if (def->mutability == Mutability::kReadOnly || def->mutability == Mutability::kWriteOnly)
      continue;
    absl::StatusOr<std::optional<Json>> c = CanonValue(*def, v, def->name, limits);
    if (!c.ok()) return c.status();
    if (*c) out.resource[def->name] = **c;
  }
  for (const Attr& a : core.attrs) {
    if (a.required && !out.resource.contains(a.name))
      return Invalid("'" + a.name + "' is required");
  }
  const size_t bytes = out.resource.dump().size();
  if (bytes > limits.max_resource_bytes) {
    return ScimError(absl::StatusCode::kResourceExhausted, "",
                     "the resource is " + std::to_string(bytes) + " bytes of JSON, the limit is " +
                         std::to_string(limits.max_resource_bytes));
  }
  return out;
}

absl::Status Patch(const Json& body, Resource r, const Limits& limits, Json& resource,
                   MemberOps& members) {
  if (!body.is_object())
    return ScimError(absl::StatusCode::kInvalidArgument, "invalidSyntax",
                     "the body must be a JSON object");
  const Json* ops = FindKey(const_cast<Json&>(body), "Operations");
  if (ops == nullptr || !ops->is_array() || ops->empty()) {
    return ScimError(absl::StatusCode::kInvalidArgument, "invalidSyntax",
                     "a PatchOp needs a non-empty \"Operations\" list");
  }
  if (ops->size() > limits.max_operations) {
    return Invalid("a PatchOp has " + std::to_string(ops->size()) + " operations, the limit is " +
                   std::to_string(limits.max_operations));
  }
  Json work = resource;
  MemberOps m;
  Patcher patcher(r, limits, work, m);
  for (size_t i = 0; i < ops->size(); ++i) {
    const Json& o = (*ops)[i];
    const std::string where = "Operations[" + std::to_string(i) + "]";
    const Json* op = o.is_object() ? FindKey(const_cast<Json&>(o), "op") : nullptr;
    if (op == nullptr || !op->is_string()) {
      return ScimError(absl::StatusCode::kInvalidArgument, "invalidSyntax",
                       where + " needs an \"op\"");
    }
    // Entra writes Add / Replace / Remove (Q1).
    const std::string name = AsciiLower(op->get<std::string>());
    if (name != "add" && name != "remove" && name != "replace") {
      return ScimError(
          absl::StatusCode::kInvalidArgument, "invalidSyntax",
          where + ": op '" + op->get<std::string>() + "' is not add, remove or replace");
    }
    const Json* path = FindKey(const_cast<Json&>(o), "path");
    if (path != nullptr && !path->is_null() && !path->is_string())
      return InvalidPath(where + ": path must be a string");
    const Json* value = FindKey(const_cast<Json&>(o), "value");
    std::optional<std::string_view> p;
    if (path != nullptr && path->is_string() && !path->get_ref<const std::string&>().empty()) {
      p = path->get_ref<const std::string&>();
    }
    absl::Status s = patcher.Apply(name, p, value != nullptr ? *value : Json());
    if (!s.ok()) {
      absl::Status out(s.code(), where + ": " + std::string(s.message()));
      if (auto t = s.GetPayload(kScimTypePayload)) out.SetPayload(kScimTypePayload, *t);
      return out;
    }
  }
  // The result must still be a valid resource (required attributes, sizes).
  absl::StatusOr<Canonical> checked = Canonicalise(work, r, limits);
  if (!checked.ok()) return checked.status();
  resource = std::move(checked->resource);
  members = std::move(m);
  return absl::OkStatus();
}

}  // namespace tessera::scim
