#include "connectors/common/record.h"

#include <algorithm>

namespace tessera::connect {

std::string_view Record::First(std::string_view field) const {
  auto it = fields.find(field);
  return it == fields.end() || it->second.empty() ? std::string_view()
                                                  : std::string_view(it->second.front());
}

void Record::Add(std::string_view field, std::string value) {
  auto it = fields.find(field);
  if (it == fields.end()) it = fields.emplace(std::string(field), std::vector<std::string>()).first;
  it->second.push_back(std::move(value));
}

std::string_view Trim(std::string_view s) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string ClipText(std::string_view s, size_t max_bytes) {
  constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // "…"
  constexpr size_t kWordSlackBytes = 64;                  // cut at a space this close to the limit
  if (s.size() <= max_bytes) return std::string(s);
  size_t cut = max_bytes - kEllipsis.size();
  // s[cut] is the first byte left out: it must start a character.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  const size_t space = s.substr(0, cut + 1).find_last_of(" \t\n");
  if (space != std::string_view::npos && space + kWordSlackBytes >= cut) cut = space;
  std::string out(s.substr(0, cut));
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t' || out.back() == '\n'))
    out.pop_back();
  return out + std::string(kEllipsis);
}

std::string_view Utf8Prefix(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t cut = max_bytes;
  // s[cut] is the first byte left out: back up while it continues a character.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut);
}

bool IsLanguageTag(std::string_view t) {
  auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
  };
  return !t.empty() && t.size() <= 16 && std::all_of(t.begin(), t.end(), ok) && t[0] != '-';
}

absl::StatusOr<std::string> PersonTarget(std::string_view v, std::string_view what) {
  v = Trim(v);
  const size_t colon = v.find(':'), at = v.find('@');
  if (colon != std::string_view::npos && colon > 0 &&
      (at == std::string_view::npos || colon < at)) {
    const std::string type = AsciiLower(Trim(v.substr(0, colon)));
    const std::string_view value = Trim(v.substr(colon + 1));
    const bool word = std::all_of(type.begin(), type.end(),
                                  [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
    if (type == "mailto") return PersonTarget(value, what);
    if (word && !value.empty()) return type + ":" + std::string(value);
  }
  const size_t lt = v.find('<'), gt = v.rfind('>');
  if (lt != std::string_view::npos && gt != std::string_view::npos && lt < gt)
    v = v.substr(lt + 1, gt - lt - 1);
  if (PlausibleEmail(v)) return "email:" + std::string(v);
  return absl::InvalidArgumentError(std::string(what) + " '" + std::string(Utf8Prefix(v, 80)) +
                                    "' is neither type:value nor an e-mail address");
}

absl::Status CheckUtf8Values(std::string_view attribute, const std::vector<std::string>& values) {
  for (const std::string& v : values) {
    if (!IsUtf8Text(v)) {
      return absl::InvalidArgumentError("attribute '" + std::string(attribute) +
                                        "' has a value that is not UTF-8 text");
    }
  }
  return absl::OkStatus();
}

bool IsUtf8Text(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0, min = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

bool PlausibleEmail(std::string_view e) {
  const size_t at = e.find('@');
  return at != std::string_view::npos && at > 0 && at + 1 < e.size() &&
         e.find('@', at + 1) == std::string_view::npos &&
         e.find_first_of(" \t,;<>") == std::string_view::npos;
}

absl::StatusOr<v1::Fragment> MapRecordWith(
    const Mapping& m, const Record& r,
    const std::function<absl::Status(const Record&, v1::Fragment&)>& extend,
    std::vector<std::string>* warnings) {
  absl::StatusOr<v1::Fragment> f = MapRecord(m, r, warnings);
  if (!f.ok() || !extend) return f;
  if (absl::Status s = extend(r, *f); !s.ok()) return s;
  return f;
}

absl::Status CheckFields(const Mapping& m, const std::vector<std::string>& header,
                         std::string_view what) {
  for (const std::string& f : m.required_fields) {
    if (std::find(header.begin(), header.end(), f) == header.end()) {
      return absl::InvalidArgumentError(std::string(what) + " has no field '" + f +
                                        "' named by the mapping");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Fragment> MapRecord(const Mapping& m, const Record& r,
                                       std::vector<std::string>* warnings) {
  v1::Fragment f;
  const std::string id(Trim(r.First(m.external_id)));
  if (id.empty()) return absl::InvalidArgumentError("no " + m.external_id + " (the record key)");
  f.set_external_id(id);
  f.set_kind(m.kind);
  auto values = [&](const std::string& field) -> const std::vector<std::string>* {
    auto it = r.fields.find(field);
    return it == r.fields.end() ? nullptr : &it->second;
  };
  for (const auto& [name, field] : m.attributes) {
    const std::vector<std::string>* vs = values(field);
    if (vs == nullptr) continue;
    for (const std::string& v : *vs) {
      std::string_view t = Trim(v);
      if (t.empty()) continue;
      v1::Attribute* a = f.add_attributes();
      a->set_name(name);
      a->set_value(std::string(t));
    }
  }
  for (const auto& [type, field] : m.identifiers) {
    const std::vector<std::string>* vs = values(field);
    if (vs == nullptr) continue;
    for (const std::string& v : *vs) {
      std::string_view t = Trim(v);
      if (t.empty()) continue;
      if (type == "email" && !PlausibleEmail(t)) {
        warnings->push_back(r.locator + ": " + field + " '" + std::string(Utf8Prefix(t, 80)) +
                            "' is not an e-mail address; left out");
        continue;
      }
      v1::Identifier* i = f.add_identifiers();
      i->set_type(type);
      i->set_value(std::string(t));
    }
  }
  for (const RelationSpec& spec : m.relations) {
    const std::vector<std::string>* vs = values(spec.field);
    if (vs == nullptr) continue;
    for (const std::string& v : *vs) {
      std::string_view t = Trim(v);
      if (t.empty()) continue;
      v1::Relation* rel = f.add_relations();
      rel->set_type(spec.type);
      // "type:value" names its own type; a bare value has the spec's target type.
      const size_t colon = t.find(':');
      const bool typed = colon != std::string_view::npos && colon > 0 && colon + 1 < t.size() &&
                         std::all_of(t.begin(), t.begin() + colon,
                                     [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
      const std::string_view email =
          typed ? (t.substr(0, colon) == "email" ? t.substr(colon + 1) : std::string_view())
                : (spec.target_type == "email" ? t : std::string_view());
      if (!email.empty() && !PlausibleEmail(email)) {
        f.mutable_relations()->RemoveLast();
        warnings->push_back(r.locator + ": " + spec.field + " '" + std::string(Utf8Prefix(t, 80)) +
                            "' is not an e-mail address; relation left out");
        continue;
      }
      if (!typed && !spec.target_type.empty()) {
        rel->mutable_target()->set_type(spec.target_type);
        rel->mutable_target()->set_value(std::string(t));
        continue;
      }
      if (!typed) {
        return absl::InvalidArgumentError(
            spec.field + " '" + std::string(Utf8Prefix(t, 80)) +
            "' is not type:value (or set target_type in the mapping)");
      }
      rel->mutable_target()->set_type(AsciiLower(t.substr(0, colon)));
      rel->mutable_target()->set_value(std::string(t.substr(colon + 1)));
    }
  }
  return f;
}

}  // namespace tessera::connect
