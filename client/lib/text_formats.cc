#include "client/lib/text_formats.h"

#include <cstdio>
#include <limits>

#include "nlohmann/json.hpp"

namespace tessera::client {
namespace {

using nlohmann::json;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's civil algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

absl::Status Bad(const std::string& field, const std::string& why) {
  return absl::InvalidArgumentError(field + ": " + why);
}

absl::StatusOr<std::string> String(const json& v, const std::string& field) {
  if (!v.is_string()) return Bad(field, "expected a string, got " + v.dump());
  return v.get<std::string>();
}

absl::StatusOr<int64_t> Time(const json& v, const std::string& field) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (!v.is_string())
    return Bad(field, "expected an RFC 3339 time or milliseconds, got " + v.dump());
  absl::StatusOr<int64_t> t = ParseTime(v.get<std::string>());
  if (!t.ok()) return Bad(field, std::string(t.status().message()));
  return t;
}

absl::Status AddIdentifier(const json& v, const std::string& field, v1::Identifier* out) {
  if (v.is_object()) {
    for (const auto& [k, x] : v.items()) {
      if (k != "type" && k != "value") return Bad(field, "unknown key '" + k + "'");
      if (!x.is_string()) return Bad(field + "." + k, "expected a string");
    }
    out->set_type(v.value("type", ""));
    out->set_value(v.value("value", ""));
    return absl::OkStatus();
  }
  if (!v.is_string()) return Bad(field, "expected \"type:value\"");
  absl::StatusOr<v1::Identifier> id = ParseIdentifier(v.get<std::string>());
  if (!id.ok()) return Bad(field, std::string(id.status().message()));
  *out = *std::move(id);
  return absl::OkStatus();
}

absl::Status Attributes(const json& v, v1::Fragment& f) {
  if (!v.is_object()) return Bad("attributes", "expected an object of name: value");
  for (const auto& [name, value] : v.items()) {
    const std::string field = "attributes." + name;
    if (value.is_array()) {
      for (const json& one : value) {
        absl::StatusOr<std::string> s = String(one, field);
        if (!s.ok()) return s.status();
        v1::Attribute* a = f.add_attributes();
        a->set_name(name);
        a->set_value(*s);
      }
      continue;
    }
    if (value.is_null()) continue;
    v1::Attribute* a = f.add_attributes();
    a->set_name(name);
    a->set_value(value.is_string() ? value.get<std::string>() : value.dump());
  }
  return absl::OkStatus();
}

absl::Status Relations(const json& v, v1::Fragment& f) {
  if (!v.is_array()) return Bad("relations", "expected an array");
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string field = "relations[" + std::to_string(i) + "]";
    const json& r = v[i];
    if (!r.is_object()) return Bad(field, "expected {\"type\": ..., \"target\": \"type:value\"}");
    v1::Relation* rel = f.add_relations();
    for (const auto& [k, x] : r.items()) {
      if (k == "type") {
        absl::StatusOr<std::string> s = String(x, field + ".type");
        if (!s.ok()) return s.status();
        rel->set_type(*s);
      } else if (k == "target") {
        if (absl::Status s = AddIdentifier(x, field + ".target", rel->mutable_target()); !s.ok())
          return s;
      } else {
        return Bad(field, "unknown key '" + k + "'");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status EvidenceItems(const json& v, v1::Fragment& f) {
  if (!v.is_array()) return Bad("evidence", "expected an array");
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string field = "evidence[" + std::to_string(i) + "]";
    if (!v[i].is_object()) return Bad(field, "expected an object");
    v1::Evidence* e = f.add_evidence();
    for (const auto& [k, x] : v[i].items()) {
      if (k == "time") {
        absl::StatusOr<int64_t> t = Time(x, field + ".time");
        if (!t.ok()) return t.status();
        e->set_time_unix_ms(*t);
        continue;
      }
      std::string* target = k == "kind"       ? e->mutable_kind()
                            : k == "role"     ? e->mutable_role()
                            : k == "title"    ? e->mutable_title()
                            : k == "text"     ? e->mutable_text()
                            : k == "language" ? e->mutable_language()
                                              : nullptr;
      if (target == nullptr) return Bad(field, "unknown key '" + k + "'");
      absl::StatusOr<std::string> s = String(x, field + "." + k);
      if (!s.ok()) return s.status();
      *target = *s;
    }
  }
  return absl::OkStatus();
}

absl::Status Field(const std::string& key, const json& v, v1::Fragment& f) {
  if (key == "source" || key == "external_id" || key == "kind") {
    absl::StatusOr<std::string> s = String(v, key);
    if (!s.ok()) return s.status();
    if (key == "source") f.set_source(*s);
    if (key == "external_id") f.set_external_id(*s);
    if (key == "kind") f.set_kind(*s);
  } else if (key == "version") {
    if (!v.is_number_unsigned())
      return Bad("version", "expected a positive integer, got " + v.dump());
    f.set_version(v.get<uint64_t>());
  } else if (key == "updated_at") {
    absl::StatusOr<int64_t> t = Time(v, key);
    if (!t.ok()) return t.status();
    f.set_updated_at_unix_ms(*t);
  } else if (key == "tombstone") {
    if (!v.is_boolean()) return Bad("tombstone", "expected true or false");
    f.set_tombstone(v.get<bool>());
  } else if (key == "attributes") {
    return Attributes(v, f);
  } else if (key == "identifiers") {
    if (!v.is_array()) return Bad("identifiers", "expected an array of \"type:value\"");
    for (size_t i = 0; i < v.size(); ++i) {
      if (absl::Status s =
              AddIdentifier(v[i], "identifiers[" + std::to_string(i) + "]", f.add_identifiers());
          !s.ok()) {
        return s;
      }
    }
  } else if (key == "relations") {
    return Relations(v, f);
  } else if (key == "evidence") {
    return EvidenceItems(v, f);
  } else {
    return Bad(key,
               "unknown key (known: source, external_id, version, kind, updated_at, "
               "attributes, identifiers, relations, evidence, tombstone)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::Identifier> ParseIdentifier(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return absl::InvalidArgumentError(
        "'" + std::string(text) +
        "' is not an identifier: expected type:value, e.g. email:alice@example.com");
  }
  v1::Identifier id;
  id.set_type(std::string(text.substr(0, colon)));
  id.set_value(std::string(text.substr(colon + 1)));
  return id;
}

absl::StatusOr<ProfileName> ParseProfileName(std::string_view text) {
  ProfileName name;
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
    if (text.size() > 19)
      return absl::InvalidArgumentError("profile id '" + std::string(text) + "' is too large");
    name.id = std::stoull(std::string(text));
    if (name.id == 0) return absl::InvalidArgumentError("profile ids start at 1");
    return name;
  }
  absl::StatusOr<v1::Identifier> id = ParseIdentifier(text);
  if (!id.ok()) {
    return absl::InvalidArgumentError(
        "'" + std::string(text) +
        "' is neither a profile id nor an identifier like email:alice@example.com");
  }
  name.identifier = *std::move(id);
  return name;
}

absl::StatusOr<int64_t> ParseTime(std::string_view text) {
  const std::string s(text);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, consumed = 0;
  const auto bad = absl::InvalidArgumentError(
      "'" + s + "' is not an RFC 3339 time (like 2026-03-01T09:00:00Z) or date (2026-03-01)");
  if (sscanf(s.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &consumed) != 3 || consumed != 10) return bad;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return bad;
  int64_t ms = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86'400'000;
  std::string_view rest = std::string_view(s).substr(10);
  if (rest.empty()) return ms;
  if (rest[0] != 'T' && rest[0] != 't' && rest[0] != ' ') return bad;
  if (sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d:%2d%n", &h, &mi, &sec, &consumed) != 3 ||
      consumed != 8 || h > 23 || mi > 59 || sec > 60) {
    return bad;
  }
  ms += (h * 3600 + mi * 60 + sec) * 1000LL;
  rest.remove_prefix(9);
  if (!rest.empty() && rest[0] == '.') {
    size_t n = 1;
    int64_t frac = 0, scale = 1000;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') {
      if (scale > 1) frac = frac * 10 + (rest[n] - '0'), scale /= 10;
      ++n;
    }
    if (n == 1) return bad;
    ms += frac * scale;
    rest.remove_prefix(n);
  }
  if (rest == "Z" || rest == "z") return ms;
  int oh = 0, om = 0;
  if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') &&
      sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &oh, &om) == 2) {
    const int64_t offset = (oh * 60 + om) * 60'000LL;
    return rest[0] == '+' ? ms - offset : ms + offset;
  }
  return bad;
}

std::string FormatTime(int64_t ms) {
  int64_t days = ms >= 0 ? ms / 86'400'000 : (ms - 86'399'999) / 86'400'000;
  int64_t rem = ms - days * 86'400'000;
  // Civil date from days (inverse of DaysFromCivil).
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  char buf[64];
  const int64_t secs = rem / 1000, millis = rem % 1000;
  if (millis != 0) {
    snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
             static_cast<long long>(y), m, d, static_cast<long long>(secs / 3600),
             static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60),
             static_cast<long long>(millis));
  } else {
    snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(y),
             m, d, static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
             static_cast<long long>(secs % 60));
  }
  return buf;
}

absl::StatusOr<v1::Fragment> ParseFragmentJson(std::string_view line) {
  json doc = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError("not valid JSON");
  if (!doc.is_object()) return absl::InvalidArgumentError("expected a JSON object");
  v1::Fragment f;
  for (const auto& [key, value] : doc.items()) {
    if (absl::Status s = Field(key, value, f); !s.ok()) return s;
  }
  for (const char* required : {"source", "external_id", "version"}) {
    if (!doc.contains(required)) return Bad(required, "is missing");
  }
  if (!f.tombstone() && !doc.contains("kind")) return Bad("kind", "is missing");
  return f;
}

}  // namespace tessera::client
