#include "server/identity/identifier.h"

#include <ldap.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <array>
#include <utility>

#include "server/text/text.h"

namespace tessera::identity {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

constexpr std::array<std::pair<IdType, std::string_view>, kMaxIdTag> kTypes = {{
    {IdType::kEmployeeId, "employee_id"},
    {IdType::kCustomerId, "customer_id"},
    {IdType::kUpn, "upn"},
    {IdType::kEmail, "email"},
    {IdType::kPhone, "phone"},
    {IdType::kTwitter, "twitter"},
    {IdType::kFacebook, "facebook"},
    {IdType::kInstagram, "instagram"},
    {IdType::kWhatsapp, "whatsapp"},
    {IdType::kLdapDn, "ldap_dn"},
    {IdType::kTeam, "team"},
    {IdType::kCase, "case"},
    {IdType::kDocument, "document"},
    {IdType::kScimId, "scim_id"},
    {IdType::kAdGuid, "ad_guid"},
}};

absl::Status Bad(std::string_view raw, std::string_view why) {
  return absl::InvalidArgumentError("'" + std::string(raw) + "' " + std::string(why));
}

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::string CollapseSpaces(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

absl::StatusOr<std::string> NormaliseEmail(std::string_view raw, std::string_view what) {
  std::string_view v = text::TrimAscii(raw);
  if (const size_t lt = v.find('<'); lt != std::string_view::npos) {
    const size_t gt = v.find('>', lt);
    if (gt == std::string_view::npos) return Bad(raw, "has '<' without '>'");
    v = text::TrimAscii(v.substr(lt + 1, gt - lt - 1));
  }
  if (text::AsciiLower(v.substr(0, 7)) == "mailto:") v.remove_prefix(7);
  const size_t at = v.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == v.size() ||
      v.find('@', at + 1) != std::string_view::npos) {
    return Bad(raw,
               "is not " + std::string(what) + " (expected one '@' between a name and a domain)");
  }
  if (std::any_of(v.begin(), v.end(), [](char c) { return c == ' ' || c == ','; }) ||
      HasControl(v)) {
    return Bad(raw,
               "is not " + std::string(what) + " (contains a space, comma or control character)");
  }
  if (v.size() > 254) return Bad(raw, "is longer than 254 bytes");
  return text::Lower(text::Nfc(v));
}

absl::StatusOr<std::string> NormalisePhone(std::string_view raw, const NormaliseOptions& o) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  const std::string input(text::TrimAscii(raw));
  if (input.empty() ||
      util.Parse(input, o.default_region, &number) != PhoneNumberUtil::NO_PARSING_ERROR ||
      !util.IsPossibleNumber(number)) {
    return Bad(raw, "is not a phone number (default region " + o.default_region + ")");
  }
  std::string e164;
  util.Format(number, PhoneNumberUtil::E164, &e164);
  // Some numbers with zeros after the country code format to an E.164 string
  // that parses as a different number ("+200003638562" reads back as
  // "+20003638562"). A stored value must name itself when looked up again. Input
  // already in that form was just read as itself: parsing is half of a person's
  // ingest, so it is not read twice.
  if (input == e164) return e164;
  PhoneNumber again;
  std::string e164_again;
  if (util.Parse(e164, o.default_region, &again) == PhoneNumberUtil::NO_PARSING_ERROR) {
    util.Format(again, PhoneNumberUtil::E164, &e164_again);
  }
  if (e164_again != e164) {
    return Bad(raw, "is not a phone number (its E.164 form " + e164 + " does not read back)");
  }
  return e164;
}

bool LooksLikePhone(std::string_view v) {
  v = text::TrimAscii(v);
  const bool has_digit =
      std::any_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
  return has_digit && std::all_of(v.begin(), v.end(), [](char c) {
           return (c >= '0' && c <= '9') || c == '+' || c == ' ' || c == '-' || c == '(' ||
                  c == ')' || c == '.';
         });
}

// The handle in "@Alice", "alice" or "https://twitter.com/Alice?lang=fr": "Alice".
std::string_view ExtractHandle(std::string_view raw) {
  std::string_view v = text::TrimAscii(raw);
  if (v.find('/') != std::string_view::npos) {
    v = v.substr(0, v.find_first_of("?#"));
    while (!v.empty() && v.back() == '/') v.remove_suffix(1);
    v = v.substr(v.rfind('/') + 1);
  }
  if (!v.empty() && v.front() == '@') v.remove_prefix(1);
  return v;
}

absl::StatusOr<std::string> NormaliseHandle(std::string_view raw, IdType type) {
  std::string out = text::AsciiLower(ExtractHandle(raw));
  if (out.empty() || out.size() > 100) {
    return Bad(raw, "is not a " + std::string(IdTypeName(type)) + " handle (1 to 100 characters)");
  }
  for (char c : out) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) {
      return Bad(raw, "is not a " + std::string(IdTypeName(type)) +
                          " handle (letters, digits, '_', '.' and '-' only)");
    }
  }
  return out;
}

// RFC 4514 string form through OpenLDAP's DN parser; ASCII letters of attribute
// types and values lower-cased (the usual attributes match case-insensitively),
// multi-valued RDNs sorted by attribute type.
absl::StatusOr<std::string> NormaliseDnOnce(std::string_view raw) {
  const std::string input(text::TrimAscii(raw));
  LDAPDN dn = nullptr;
  if (input.empty() || ldap_str2dn(input.c_str(), &dn, LDAP_DN_FORMAT_LDAP) != LDAP_SUCCESS ||
      dn == nullptr) {
    if (dn != nullptr) ldap_dnfree(dn);
    return Bad(raw, "is not an LDAP distinguished name");
  }
  auto lower = [](berval& bv) {
    for (ber_len_t i = 0; i < bv.bv_len; ++i) {
      char& c = bv.bv_val[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
  };
  for (LDAPRDN* rdn = dn; *rdn != nullptr; ++rdn) {
    size_t n = 0;
    for (LDAPAVA** ava = *rdn; *ava != nullptr; ++ava, ++n) {
      lower((*ava)->la_attr);
      if (((*ava)->la_flags & LDAP_AVA_BINARY) == 0) lower((*ava)->la_value);
    }
    std::sort(*rdn, *rdn + n, [](const LDAPAVA* a, const LDAPAVA* b) {
      return std::string_view(a->la_attr.bv_val, a->la_attr.bv_len) <
             std::string_view(b->la_attr.bv_val, b->la_attr.bv_len);
    });
  }
  char* out = nullptr;
  const int rc = ldap_dn2str(dn, &out, LDAP_DN_FORMAT_LDAPV3);
  ldap_dnfree(dn);
  if (rc != LDAP_SUCCESS || out == nullptr) return Bad(raw, "is not an LDAP distinguished name");
  std::string result = text::Nfc(out);
  ldap_memfree(out);
  return result;
}

// libldap writes some values in a form it cannot read back ("a=#" from an empty hex
// value), or in one that reads back as another DN (a value ending in a vertical tab,
// which it neither trims nor escapes, loses it to the trimming of the input when it
// ends the DN): a DN stored that way could never be looked up again, so the result
// must normalise to itself.
absl::StatusOr<std::string> NormaliseDn(std::string_view raw) {
  absl::StatusOr<std::string> once = NormaliseDnOnce(raw);
  if (!once.ok()) return once;
  absl::StatusOr<std::string> again = NormaliseDnOnce(*once);
  if (!again.ok() || *again != *once) {
    return Bad(raw, "is not an LDAP distinguished name (its normal form does not read back)");
  }
  return once;
}

// "{C0F3B2A1-5D2E-4B8A-9E61-0A1B2C3D4E5F}" -> "c0f3b2a1-5d2e-4b8a-9e61-0a1b2c3d4e5f".
absl::StatusOr<std::string> NormaliseGuid(std::string_view raw) {
  std::string_view v = text::TrimAscii(raw);
  if (v.size() == 38 && v.front() == '{' && v.back() == '}') v = v.substr(1, 36);
  std::string out(v);
  bool ok = out.size() == 36;
  for (size_t i = 0; ok && i < out.size(); ++i) {
    char& c = out[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      ok = c == '-';
    } else if (c >= 'A' && c <= 'F') {
      c = static_cast<char>(c - 'A' + 'a');
    } else {
      ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    }
  }
  if (!ok) return Bad(raw, "is not a GUID (expected 8-4-4-4-12 hexadecimal digits)");
  return out;
}

absl::StatusOr<std::string> NormalisePlainId(std::string_view raw, bool upper) {
  std::string_view v = text::TrimAscii(raw);
  if (v.empty()) return Bad(raw, "is empty");
  if (HasControl(v)) return Bad(raw, "contains a control character");
  if (v.size() > 256) return Bad(raw, "is longer than 256 bytes");
  std::string out = text::Nfc(v);
  if (upper) {
    for (char& c : out) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return out;
}

}  // namespace

std::optional<IdType> ParseIdType(std::string_view name) {
  for (const auto& [type, n] : kTypes) {
    if (n == name) return type;
  }
  return std::nullopt;
}

std::string_view IdTypeName(IdType type) {
  for (const auto& [t, n] : kTypes) {
    if (t == type) return n;
  }
  return "unknown";
}

std::string_view IdTypeList() {
  return "employee_id, customer_id, upn, email, phone, twitter, facebook, instagram, whatsapp, "
         "ldap_dn, team, case, document, scim_id, ad_guid";
}

bool IsSingleValued(IdType type) {
  return type == IdType::kEmployeeId || type == IdType::kCustomerId || type == IdType::kUpn;
}

absl::StatusOr<std::string> Normalise(IdType type, std::string_view raw,
                                      const NormaliseOptions& options) {
  if (raw.find('\0') != std::string_view::npos) return Bad(raw, "contains a NUL byte");
  if (!text::IsValidUtf8(raw)) return absl::InvalidArgumentError("value is not valid UTF-8");
  switch (type) {
    case IdType::kEmail:
      return NormaliseEmail(raw, "an e-mail address");
    case IdType::kUpn:
      return NormaliseEmail(raw, "a user principal name");
    case IdType::kPhone:
      return NormalisePhone(raw, options);
    case IdType::kWhatsapp: {
      // A phone number (wa.me links write it without '+'), else a handle.
      const std::string_view handle = ExtractHandle(raw);
      if (!LooksLikePhone(handle)) return NormaliseHandle(raw, type);
      const bool wa_link = raw.find("wa.me/") != std::string_view::npos && handle.front() != '+';
      return NormalisePhone(wa_link ? "+" + std::string(handle) : std::string(handle), options);
    }
    case IdType::kTwitter:
    case IdType::kFacebook:
    case IdType::kInstagram:
      return NormaliseHandle(raw, type);
    case IdType::kLdapDn:
      return NormaliseDn(raw);
    case IdType::kEmployeeId:
    case IdType::kCustomerId:
      return NormalisePlainId(raw, /*upper=*/true);
    case IdType::kTeam: {
      absl::StatusOr<std::string> v = NormalisePlainId(raw, /*upper=*/false);
      if (!v.ok()) return v;
      // Folding drops marks: a name of combining marks alone folds to nothing.
      std::string folded = CollapseSpaces(text::Fold(*v));
      if (folded.empty()) return Bad(raw, "is empty once case and accents are folded");
      return folded;
    }
    case IdType::kCase:
    case IdType::kDocument:
      return NormalisePlainId(raw, /*upper=*/false);
    case IdType::kScimId: {
      // Exact: SCIM ids are case-sensitive (RFC 7643 §3.1).
      if (raw.empty()) return Bad(raw, "is empty");
      if (HasControl(raw)) return Bad(raw, "contains a control character");
      if (raw.size() > 512) return Bad(raw, "is longer than 512 bytes");
      return std::string(raw);
    }
    case IdType::kAdGuid:
      return NormaliseGuid(raw);
  }
  return absl::InvalidArgumentError("unknown identifier type");
}

std::string IdentKey(IdType type, std::string_view normalised) {
  std::string key;
  key.reserve(normalised.size() + 2);
  key.push_back(static_cast<char>(type));
  key.append(normalised);
  key.push_back('\0');
  return key;
}

bool ParseIdentKey(std::string_view key, IdType* type, std::string_view* value) {
  if (key.size() < 2 || key.back() != '\0') return false;
  const auto tag = static_cast<uint8_t>(key.front());
  if (tag < 1 || tag > kMaxIdTag) return false;
  *type = static_cast<IdType>(tag);
  *value = key.substr(1, key.size() - 2);
  return true;
}

std::string IdentText(IdType type, std::string_view value) {
  std::string out(IdTypeName(type));
  out.push_back(':');
  out.append(value);
  return out;
}

}  // namespace tessera::identity
