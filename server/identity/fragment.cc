#include "server/identity/fragment.h"

#include <algorithm>
#include <array>
#include <set>
#include <utility>

#include "server/store/coding.h"
#include "server/text/text.h"

namespace tessera::identity {
namespace {

constexpr uint8_t kRecordVersion = 1;
constexpr uint8_t kFlagTombstone = 1;

constexpr std::array<std::pair<std::string_view, EntityClass>, 7> kKinds = {{
    {"employee", EntityClass::kPerson},
    {"customer", EntityClass::kPerson},
    {"contact", EntityClass::kPerson},
    {"team", EntityClass::kTeam},
    {"case", EntityClass::kCase},
    {"document", EntityClass::kDocument},
    {"conversation", EntityClass::kConversation},
}};

absl::Status Invalid(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(field + ": " + what);
}

std::string Quote(std::string_view s) {
  constexpr size_t kShown = 80;  // keep messages readable for huge values
  if (s.size() <= kShown) return "'" + std::string(s) + "'";
  return "'" + std::string(s.substr(0, kShown)) + "...' (" + std::to_string(s.size()) + " bytes)";
}

// [a-z] then [a-z0-9] plus `extra`, at most `max` bytes.
bool IsName(std::string_view s, size_t max, std::string_view extra, bool digit_first = false) {
  if (s.empty() || s.size() > max) return false;
  auto ok = [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  };
  if (!((s[0] >= 'a' && s[0] <= 'z') || (digit_first && s[0] >= '0' && s[0] <= '9'))) return false;
  return std::all_of(s.begin(), s.end(), ok);
}

absl::Status CheckText(const std::string& field, std::string_view value, size_t max) {
  if (value.size() > max) {
    return Invalid(field, "is " + std::to_string(value.size()) + " bytes, the limit is " +
                              std::to_string(max));
  }
  if (value.find('\0') != std::string_view::npos) return Invalid(field, "contains a NUL byte");
  if (!text::IsValidUtf8(value)) return Invalid(field, Quote(value) + " is not valid UTF-8");
  return absl::OkStatus();
}

absl::Status NormaliseIdentifier(const std::string& field, Identifier& id,
                                 const NormaliseOptions& options) {
  std::optional<IdType> tag = ParseIdType(id.type);
  if (!tag) {
    return Invalid(field, "unknown identifier type " + Quote(id.type) +
                              " (known: " + std::string(IdTypeList()) + ")");
  }
  if (id.value.size() > 320) {
    return Invalid(field, "'" + id.type + "' value is " + std::to_string(id.value.size()) +
                              " bytes, the limit is 320");
  }
  absl::StatusOr<std::string> norm = Normalise(*tag, id.value, options);
  if (!norm.ok()) {
    return Invalid(field, "'" + id.type + "' value " + std::string(norm.status().message()));
  }
  id.tag = *tag;
  id.raw = (*norm == id.value) ? std::string() : std::move(id.value);
  id.value = *std::move(norm);
  return absl::OkStatus();
}

absl::Status ValidateHeader(const Fragment& f, const Limits& limits) {
  if (!IsName(f.source, 64, "_-", /*digit_first=*/true)) {
    return Invalid("source",
                   Quote(f.source) + " is not a source id ([a-z0-9][a-z0-9_-]*, at most 64 bytes)");
  }
  if (f.external_id.empty()) return Invalid("external_id", "is empty");
  if (absl::Status s = CheckText("external_id", f.external_id, limits.max_external_id_bytes);
      !s.ok()) {
    return s;
  }
  if (f.version == 0) return Invalid("version", "must be at least 1");
  return absl::OkStatus();
}

absl::Status ValidateAttributes(Fragment& f, const Limits& limits) {
  if (f.attributes.size() > limits.max_attributes) {
    return Invalid("attributes", std::to_string(f.attributes.size()) + " given, the limit is " +
                                     std::to_string(limits.max_attributes));
  }
  for (size_t i = 0; i < f.attributes.size(); ++i) {
    Attribute& a = f.attributes[i];
    const std::string field = "attributes[" + std::to_string(i) + "]";
    if (!IsName(a.name, 64, "_.-")) {
      return Invalid(field,
                     "name " + Quote(a.name) + " is not [a-z][a-z0-9_.-]*, at most 64 bytes");
    }
    if (absl::Status s =
            CheckText(field + " '" + a.name + "'", a.value, limits.max_attribute_value_bytes);
        !s.ok()) {
      return s;
    }
    a.value = text::Nfc(text::TrimAscii(a.value));
  }
  // Empty values carry nothing ("no end date"): drop them.
  std::erase_if(f.attributes, [](const Attribute& a) { return a.value.empty(); });
  return absl::OkStatus();
}

absl::Status ValidateIdentifiers(Fragment& f, const Limits& limits, const NormaliseOptions& o) {
  if (f.identifiers.size() > limits.max_identifiers) {
    return Invalid("identifiers", std::to_string(f.identifiers.size()) + " given, the limit is " +
                                      std::to_string(limits.max_identifiers));
  }
  for (size_t i = 0; i < f.identifiers.size(); ++i) {
    if (absl::Status s =
            NormaliseIdentifier("identifiers[" + std::to_string(i) + "]", f.identifiers[i], o);
        !s.ok()) {
      return s;
    }
  }
  // The same identifier written twice is one identifier.
  std::set<std::pair<IdType, std::string>> seen;
  std::erase_if(f.identifiers,
                [&](const Identifier& id) { return !seen.emplace(id.tag, id.value).second; });
  return absl::OkStatus();
}

absl::Status ValidateRelations(Fragment& f, const Limits& limits, const NormaliseOptions& o) {
  if (f.relations.size() > limits.max_relations) {
    return Invalid("relations", std::to_string(f.relations.size()) + " given, the limit is " +
                                    std::to_string(limits.max_relations));
  }
  for (size_t i = 0; i < f.relations.size(); ++i) {
    Relation& r = f.relations[i];
    const std::string field = "relations[" + std::to_string(i) + "]";
    if (!IsName(r.type, 48, "_")) {
      return Invalid(field, "type " + Quote(r.type) + " is not [a-z][a-z0-9_]*, at most 48 bytes");
    }
    if (absl::Status s = NormaliseIdentifier(field + ".target", r.target, o); !s.ok()) return s;
  }
  std::set<std::tuple<std::string, IdType, std::string>> seen;
  std::erase_if(f.relations, [&](const Relation& r) {
    return !seen.emplace(r.type, r.target.tag, r.target.value).second;
  });
  return absl::OkStatus();
}

absl::Status ValidateEvidence(Fragment& f, const Limits& limits) {
  if (f.evidence.size() > limits.max_evidence) {
    return Invalid("evidence", std::to_string(f.evidence.size()) + " given, the limit is " +
                                   std::to_string(limits.max_evidence));
  }
  for (size_t i = 0; i < f.evidence.size(); ++i) {
    Evidence& e = f.evidence[i];
    const std::string field = "evidence[" + std::to_string(i) + "]";
    if (!IsName(e.kind, 32, "_")) {
      return Invalid(field + ".kind", Quote(e.kind) + " is not [a-z][a-z0-9_]*, at most 32 bytes");
    }
    if (!e.role.empty() && !IsName(e.role, 48, "_")) {
      return Invalid(field + ".role", Quote(e.role) + " is not a relation type");
    }
    if (e.language.size() > 16 || !std::all_of(e.language.begin(), e.language.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-';
        })) {
      return Invalid(field + ".language", Quote(e.language) + " is not a BCP 47 language tag");
    }
    if (absl::Status s = CheckText(field + ".title", e.title, 512); !s.ok()) return s;
    if (absl::Status s = CheckText(field + ".text", e.text, limits.max_evidence_text_bytes);
        !s.ok()) {
      return s;
    }
    if (e.text.empty() && e.title.empty()) return Invalid(field, "has neither title nor text");
    e.language = text::AsciiLower(e.language);
  }
  return absl::OkStatus();
}

size_t FragmentBytes(const Fragment& f) {
  size_t n = f.source.size() + f.external_id.size() + f.kind.size();
  for (const auto& a : f.attributes) n += a.name.size() + a.value.size();
  for (const auto& i : f.identifiers) n += i.type.size() + i.value.size();
  for (const auto& r : f.relations)
    n += r.type.size() + r.target.type.size() + r.target.value.size();
  for (const auto& e : f.evidence) {
    n += e.kind.size() + e.role.size() + e.title.size() + e.text.size() + e.language.size();
  }
  return n;
}

void PutIdentifier(std::string& out, const Identifier& id) {
  out.push_back(static_cast<char>(id.tag));
  store::PutLengthPrefixed(out, id.value);
  store::PutLengthPrefixed(out, id.raw);
}

bool GetIdentifier(store::Decoder& d, Identifier* id) {
  const uint8_t tag = d.Byte();
  if (tag < 1 || tag > kMaxIdTag) return false;
  id->tag = static_cast<IdType>(tag);
  id->type = std::string(IdTypeName(id->tag));
  id->value = std::string(d.LengthPrefixed());
  id->raw = std::string(d.LengthPrefixed());
  return d.ok();
}

}  // namespace

bool ClassOfKind(std::string_view kind, EntityClass* cls) {
  for (const auto& [name, c] : kKinds) {
    if (name == kind) {
      *cls = c;
      return true;
    }
  }
  return false;
}

bool IsPersonKind(std::string_view kind) {
  EntityClass c;
  return ClassOfKind(kind, &c) && c == EntityClass::kPerson;
}

absl::Status Validate(Fragment& f, const Limits& limits, const NormaliseOptions& options) {
  if (absl::Status s = ValidateHeader(f, limits); !s.ok()) return s;
  if (f.tombstone) return absl::OkStatus();  // only the key and version matter
  EntityClass cls;
  if (!ClassOfKind(f.kind, &cls)) {
    return Invalid("kind", Quote(f.kind) +
                               " is not a known kind (employee, customer, contact, team, case, "
                               "document, conversation)");
  }
  if (f.updated_at_ms < 0) return Invalid("updated_at", "is before 1970");
  if (const size_t n = FragmentBytes(f); n > limits.max_fragment_bytes) {
    return Invalid("fragment", "is " + std::to_string(n) + " bytes, the limit is " +
                                   std::to_string(limits.max_fragment_bytes));
  }
  if (absl::Status s = ValidateAttributes(f, limits); !s.ok()) return s;
  if (absl::Status s = ValidateIdentifiers(f, limits, options); !s.ok()) return s;
  if (absl::Status s = ValidateRelations(f, limits, options); !s.ok()) return s;
  return ValidateEvidence(f, limits);
}

std::string FragmentKey(uint32_t source_num, std::string_view external_id) {
  std::string key;
  key.reserve(4 + external_id.size());
  store::PutFixed32BE(key, source_num);
  key.append(external_id);
  return key;
}

bool ParseFragmentKey(std::string_view key, uint32_t* source_num, std::string_view* external_id) {
  if (key.size() < 5) return false;
  *source_num = store::DecodeFixed32BE(key.data());
  *external_id = key.substr(4);
  return true;
}

std::string EncodeFragment(const StoredFragment& sf) {
  const Fragment& f = sf.fragment;
  std::string out;
  out.reserve(64 + FragmentBytes(f));
  out.push_back(static_cast<char>(kRecordVersion));
  out.push_back(static_cast<char>(f.tombstone ? kFlagTombstone : 0));
  store::PutVarint64(out, f.version);
  store::PutVarint64(out, sf.fno);
  store::PutVarint64(out, sf.entity);
  store::PutVarsint64(out, f.updated_at_ms);
  store::PutLengthPrefixed(out, f.source);
  store::PutLengthPrefixed(out, f.external_id);
  store::PutLengthPrefixed(out, f.kind);
  store::PutVarint64(out, f.attributes.size());
  for (const auto& a : f.attributes) {
    store::PutLengthPrefixed(out, a.name);
    store::PutLengthPrefixed(out, a.value);
  }
  store::PutVarint64(out, f.identifiers.size());
  for (const auto& id : f.identifiers) PutIdentifier(out, id);
  store::PutVarint64(out, f.relations.size());
  for (const auto& r : f.relations) {
    store::PutLengthPrefixed(out, r.type);
    PutIdentifier(out, r.target);
  }
  store::PutVarint64(out, f.evidence.size());
  for (const auto& e : f.evidence) {
    store::PutLengthPrefixed(out, e.kind);
    store::PutLengthPrefixed(out, e.role);
    store::PutLengthPrefixed(out, e.title);
    store::PutLengthPrefixed(out, e.text);
    store::PutLengthPrefixed(out, e.language);
    store::PutVarsint64(out, e.time_ms);
  }
  store::PutVarint64(out, sf.origin);  // appended later: absent from older records
  return out;
}

absl::Status DecodeFragment(std::string_view data, StoredFragment* sf) {
  const auto corrupt = [] { return absl::DataLossError("corrupt fragment record"); };
  store::Decoder d(data);
  if (d.Byte() != kRecordVersion) return corrupt();
  Fragment& f = sf->fragment;
  f = Fragment();
  f.tombstone = (d.Byte() & kFlagTombstone) != 0;
  f.version = d.Varint64();
  sf->fno = d.Varint64();
  sf->entity = d.Varint64();
  f.updated_at_ms = d.Varsint64();
  f.source = std::string(d.LengthPrefixed());
  f.external_id = std::string(d.LengthPrefixed());
  f.kind = std::string(d.LengthPrefixed());
  const auto count = [&d]() -> size_t { return d.Count(); };
  f.attributes.resize(count());
  for (auto& a : f.attributes) {
    a.name = std::string(d.LengthPrefixed());
    a.value = std::string(d.LengthPrefixed());
  }
  f.identifiers.resize(count());
  for (auto& id : f.identifiers) {
    if (!GetIdentifier(d, &id)) return corrupt();
  }
  f.relations.resize(count());
  for (auto& r : f.relations) {
    r.type = std::string(d.LengthPrefixed());
    if (!GetIdentifier(d, &r.target)) return corrupt();
  }
  f.evidence.resize(count());
  for (auto& e : f.evidence) {
    e.kind = std::string(d.LengthPrefixed());
    e.role = std::string(d.LengthPrefixed());
    e.title = std::string(d.LengthPrefixed());
    e.text = std::string(d.LengthPrefixed());
    e.language = std::string(d.LengthPrefixed());
    e.time_ms = d.Varsint64();
  }
  sf->origin = d.ok() && !d.done() ? d.Varint64() : sf->entity;
  if (!d.ok() || !d.done()) return corrupt();
  return absl::OkStatus();
}

}  // namespace tessera::identity
