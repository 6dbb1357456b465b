#include "connectors/ad/ad_values.h"

#include <cstdio>
#include <ctime>

#include "connectors/common/record.h"

namespace tessera::connect::ad {
namespace {

constexpr char kHex[] = "0123456789abcdef";
// Byte order of the string form: Data1 (4 bytes), Data2, Data3 little-endian, then
// Data4 as stored.
constexpr int kOrder[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
constexpr int64_t kNever = 0x7FFFFFFFFFFFFFFFll;
constexpr int64_t kFileTimeToUnix = 11644473600ll;  // seconds from 1601 to 1970

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool Dash(size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

std::optional<int64_t> Integer(std::string_view v) {
  v = Trim(v);
  if (v.empty() || v.size() > 20) return std::nullopt;
  int64_t n = 0;
  bool negative = false;
  size_t i = 0;
  if (v[0] == '-') {
    negative = true;
    i = 1;
  }
  if (i == v.size()) return std::nullopt;
  for (; i < v.size(); ++i) {
    if (v[i] < '0' || v[i] > '9') return std::nullopt;
    const int d = v[i] - '0';
    if (n > (kNever - d) / 10) return std::nullopt;
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

std::string DateOf(int64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  tm parts{};
  gmtime_r(&t, &parts);
  char buf[40];  // room for any int the compiler cannot rule out
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", parts.tm_year + 1900, parts.tm_mon + 1,
                parts.tm_mday);
  return buf;
}

// Lower case, without the spaces after the separating commas.
std::string Canonical(std::string_view dn) {
  std::string out;
  bool after_comma = false;
  for (char c : dn) {
    if (after_comma && c == ' ') continue;
    after_comma = c == ',';
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

}  // namespace

std::optional<std::string> GuidString(std::string_view bytes) {
  if (bytes.size() != 16) return std::nullopt;
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    const auto b = static_cast<unsigned char>(bytes[kOrder[i]]);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::optional<std::string> GuidBytes(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::string digits;
  for (size_t i = 0; i < text.size(); ++i) {
    if (Dash(i)) {
      if (text[i] != '-') return std::nullopt;
    } else if (HexValue(text[i]) < 0) {
      return std::nullopt;
    } else {
      digits.push_back(text[i]);
    }
  }
  std::string out(16, '\0');
  for (int i = 0; i < 16; ++i) {
    out[kOrder[i]] = static_cast<char>(HexValue(digits[2 * i]) * 16 + HexValue(digits[2 * i + 1]));
  }
  return out;
}

ExtendedDn ParseExtendedDn(std::string_view value) {
  ExtendedDn out;
  while (!value.empty() && value.front() == '<') {
    const size_t close = value.find('>');
    if (close == std::string_view::npos) break;
    const std::string_view part = value.substr(1, close - 1);
    if (part.size() > 5 && AsciiLower(part.substr(0, 5)) == "guid=") {
      // Windows may print the GUID as 32 hex digits without dashes (flag 0); this asks
      // for the string form, but accept both.
      std::string_view g = part.substr(5);
      std::string dashed;
      if (g.size() == 32) {
        // Flag 0 is the hex of the raw bytes: rebuild them, then the string form.
        std::string bytes;
        for (size_t i = 0; i + 1 < g.size(); i += 2) {
          const int hi = HexValue(g[i]), lo = HexValue(g[i + 1]);
          if (hi < 0 || lo < 0) break;
          bytes.push_back(static_cast<char>(hi * 16 + lo));
        }
        dashed = GuidString(bytes).value_or("");
      } else if (GuidBytes(g).has_value()) {
        dashed = AsciiLower(g);
      }
      out.guid = dashed;
    }
    value.remove_prefix(close + 1);
    if (!value.empty() && value.front() == ';') value.remove_prefix(1);
  }
  out.dn = std::string(value);
  return out;
}

std::optional<int64_t> FileTimeUnix(std::string_view value) {
  const std::optional<int64_t> n = Integer(value);
  if (!n.has_value() || *n <= 0 || *n == kNever) return std::nullopt;
  return *n / 10000000 - kFileTimeToUnix;
}

std::optional<std::string> FileTimeDate(std::string_view value) {
  const std::optional<int64_t> t = FileTimeUnix(value);
  if (!t.has_value()) return std::nullopt;
  return DateOf(*t);
}

std::optional<std::string> GeneralizedDate(std::string_view value) {
  if (value.size() < 8) return std::nullopt;
  for (size_t i = 0; i < 8; ++i) {
    if (value[i] < '0' || value[i] > '9') return std::nullopt;
  }
  return std::string(value.substr(0, 4)) + "-" + std::string(value.substr(4, 2)) + "-" +
         std::string(value.substr(6, 2));
}

std::string EndDate(const LeaverRule& rule, std::string_view user_account_control,
                    std::string_view account_expires, std::string_view when_changed) {
  std::string end;
  if (rule.expired) end = FileTimeDate(account_expires).value_or("");
  const std::optional<int64_t> uac = Integer(user_account_control);
  if (rule.disabled && uac.has_value() && (*uac & 0x2) != 0) {
    const std::string changed = GeneralizedDate(when_changed).value_or("");
    if (!changed.empty() && (end.empty() || changed < end)) end = changed;
  }
  return end;
}

std::vector<std::string> SmtpAddresses(const std::vector<std::string>& proxy_addresses) {
  std::vector<std::string> primary, aliases;
  for (const std::string& p : proxy_addresses) {
    if (p.size() <= 5 || AsciiLower(std::string_view(p).substr(0, 5)) != "smtp:") continue;
    (p.compare(0, 5, "SMTP:") == 0 ? primary : aliases).push_back(p.substr(5));
  }
  primary.insert(primary.end(), aliases.begin(), aliases.end());
  return primary;
}

std::string DnsDomainOf(std::string_view dn) {
  std::string out;
  size_t start = 0;
  while (start <= dn.size()) {
    size_t comma = dn.find(',', start);
    if (comma == std::string_view::npos) comma = dn.size();
    const std::string_view rdn = Trim(dn.substr(start, comma - start));
    if (rdn.size() > 3 && AsciiLower(rdn.substr(0, 3)) == "dc=") {
      if (!out.empty()) out.push_back('.');
      out += AsciiLower(rdn.substr(3));
    }
    start = comma + 1;
  }
  return out;
}

bool DnWithin(std::string_view dn, std::string_view base) {
  const std::string d = Canonical(dn), b = Canonical(base);
  if (d.size() < b.size() || d.compare(d.size() - b.size(), b.size(), b) != 0) return false;
  return d.size() == b.size() || d[d.size() - b.size() - 1] == ',';
}

}  // namespace tessera::connect::ad
