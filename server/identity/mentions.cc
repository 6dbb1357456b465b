#include "server/identity/mentions.h"

#include <phonenumbers/phonenumbermatch.h>
#include <phonenumbers/phonenumbermatcher.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <cctype>

namespace tessera::identity {
namespace {

using i18n::phonenumbers::PhoneNumberMatch;
using i18n::phonenumbers::PhoneNumberMatcher;
using i18n::phonenumbers::PhoneNumberUtil;

// Phone numbers tried per text: bounds the matcher's work on a long paste.
constexpr int kMaxPhoneTries = 64;
constexpr size_t kMaxHandleBytes = 30;

bool IsLocalChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '%' ||
         c == '+' || c == '-';
}
bool IsDomainChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-';
}
bool IsHandleChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.';
}

// An e-mail address around the '@' at `at`, starting at `floor` or later (after the
// mention before it), or false.
bool EmailAt(std::string_view text, size_t at, size_t floor, size_t* begin, size_t* end) {
  size_t b = at, e = at + 1;
  while (b > floor && IsLocalChar(text[b - 1])) --b;
  while (e < text.size() && IsDomainChar(text[e])) ++e;
  while (e > at + 1 && (text[e - 1] == '.' || text[e - 1] == '-')) --e;  // sentence punctuation
  while (b < at && text[b] == '.') ++b;
  const std::string_view domain = text.substr(at + 1, e - at - 1);
  if (b == at || domain.size() < 3) return false;
  const size_t dot = domain.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 2 > domain.size()) return false;
  *begin = b;
  *end = e;
  return true;
}

void AddEmailsAndHandles(std::string_view text, const NormaliseOptions& options,
                         std::vector<Mention>& out) {
  size_t floor = 0;  // mentions never overlap: "a@b.example@c.example" is one at most
  for (size_t at = text.find('@'); at != std::string_view::npos; at = text.find('@', at + 1)) {
    size_t b = 0, e = 0;
    if (at < floor) continue;
    if (EmailAt(text, at, floor, &b, &e)) {
      absl::StatusOr<std::string> v = Normalise(IdType::kEmail, text.substr(b, e - b), options);
      if (v.ok()) out.push_back({IdType::kEmail, false, *v, b, e});
      floor = e;
      at = e - 1;
      continue;
    }
    // An @handle starts a word.
    if (at > 0 && (IsHandleChar(text[at - 1]) || text[at - 1] == '@')) continue;
    e = at + 1;
    while (e < text.size() && IsHandleChar(text[e]) && e - at <= kMaxHandleBytes) ++e;
    while (e > at + 1 && text[e - 1] == '.') --e;
    if (e == at + 1 || e - at > kMaxHandleBytes) continue;
    absl::StatusOr<std::string> v = Normalise(IdType::kTwitter, text.substr(at, e - at), options);
    if (v.ok()) out.push_back({IdType::kTwitter, true, *v, at, e}), floor = e;
  }
}

void AddPhones(std::string_view text, const NormaliseOptions& options, std::vector<Mention>& out) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumberMatcher matcher(util, std::string(text), options.default_region,
                             PhoneNumberMatcher::VALID, kMaxPhoneTries);
  PhoneNumberMatch match;
  while (matcher.HasNext() && matcher.Next(&match)) {
    const size_t b = static_cast<size_t>(match.start()), e = b + match.raw_string().size();
    // A number inside an address already found ("+33..."@x) is not a phone of its own.
    const bool inside = std::any_of(out.begin(), out.end(),
                                    [&](const Mention& m) { return b < m.end && e > m.begin; });
    if (inside) continue;
    std::string e164;
    util.Format(match.number(), PhoneNumberUtil::E164, &e164);
    out.push_back({IdType::kPhone, false, e164, b, e});
  }
}

IdType PlatformOf(std::string_view channel, bool* known) {
  std::string c;
  for (char ch : channel)
    c.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  *known = true;
  if (c == "twitter" || c == "x") return IdType::kTwitter;
  if (c == "instagram") return IdType::kInstagram;
  if (c == "facebook" || c == "messenger") return IdType::kFacebook;
  if (c == "whatsapp") return IdType::kWhatsapp;
  *known = false;
  return IdType::kTwitter;
}

}  // namespace

std::vector<Mention> FindMentions(std::string_view text, const NormaliseOptions& options) {
  std::vector<Mention> out;
  AddEmailsAndHandles(text, options, out);
  AddPhones(text, options, out);
  std::sort(out.begin(), out.end(),
            [](const Mention& a, const Mention& b) { return a.begin < b.begin; });
  return out;
}

std::vector<std::pair<IdType, std::string>> GuessIdentifiers(std::string_view raw,
                                                             std::string_view channel,
                                                             const NormaliseOptions& options) {
  std::vector<std::pair<IdType, std::string>> out;
  while (!raw.empty() && raw.front() == ' ') raw.remove_prefix(1);
  while (!raw.empty() && raw.back() == ' ') raw.remove_suffix(1);
  if (raw.empty()) return out;
  auto add = [&](IdType type) {
    absl::StatusOr<std::string> v = Normalise(type, raw, options);
    if (v.ok()) out.emplace_back(type, *v);
  };
  if (raw.front() == '@') {
    bool known = false;
    const IdType platform = PlatformOf(channel, &known);
    if (known) {
      add(platform);
    } else {
      for (IdType t : kHandleTypes) add(t);
    }
    return out;
  }
  if (raw.find('@') != std::string_view::npos) {
    add(IdType::kEmail);
    return out;
  }
  add(IdType::kPhone);
  return out;
}

bool AliasOf(IdType type, std::string_view normalised, IdType* alias) {
  if (normalised.empty() || normalised.front() != '+') return false;  // only E.164 numbers
  if (type == IdType::kPhone)
    *alias = IdType::kWhatsapp;
  else if (type == IdType::kWhatsapp)
    *alias = IdType::kPhone;
  else
    return false;
  return true;
}

}  // namespace tessera::identity
