#pragma once

// Active Directory's value formats, as plain functions (connectors/ad/README.md):
// objectGUID bytes, extended DNs, FILETIME and generalized time, the leaver rule,
// proxyAddresses and the implicit UPN.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::connect::ad {

// The 16 bytes of an objectGUID in AD's canonical string form, lower case:
// "83aabab1-d65a-494a-a5b0-242532bf0cc5" (the first three groups little-endian, as
// Windows prints them). nullopt when `bytes` is not 16 bytes long.
std::optional<std::string> GuidString(std::string_view bytes);
// The reverse; nullopt when `text` is not a GUID in that form.
std::optional<std::string> GuidBytes(std::string_view text);

// "<GUID=83aa...>;<SID=S-1-5-...>;CN=Ann,OU=Staff,DC=x" (extended DN, string form):
// the GUID, and the plain DN after the prefixes. A value without prefixes is a plain
// DN with no GUID.
struct ExtendedDn {
  std::string guid;  // canonical form, "" when absent
  std::string dn;
};
ExtendedDn ParseExtendedDn(std::string_view value);

// accountExpires (100-ns intervals since 1601-01-01 UTC) as "YYYY-MM-DD"; nullopt for
// "never" (0 or 0x7FFFFFFFFFFFFFFF) and for a value that is not a number.
std::optional<std::string> FileTimeDate(std::string_view value);
// accountExpires as Unix seconds; nullopt as above.
std::optional<int64_t> FileTimeUnix(std::string_view value);
// whenChanged ("20261205121315.0Z") as "YYYY-MM-DD"; nullopt when malformed.
std::optional<std::string> GeneralizedDate(std::string_view value);

// Which AD states mean the person has left (input.left_when).
struct LeaverRule {
  bool disabled = true;  // userAccountControl has ACCOUNTDISABLE (0x2)
  bool expired = true;   // accountExpires is set (past: left; future: leaving that day)
};
// The end date of an account under `rule`, "" when none: accountExpires' date, and for
// a disabled account the day AD last changed it (AD keeps no "disabled on" date); the
// earlier of the two when both apply.
std::string EndDate(const LeaverRule& rule, std::string_view user_account_control,
                    std::string_view account_expires, std::string_view when_changed);

// The e-mail addresses of proxyAddresses: "SMTP:" (primary) first, then "smtp:"
// aliases; other types (X500:, SIP:) are not e-mail and are skipped.
std::vector<std::string> SmtpAddresses(const std::vector<std::string>& proxy_addresses);

// The DNS domain of a DN's DC= components: "CN=a,DC=Lumen,DC=example" -> "lumen.example".
std::string DnsDomainOf(std::string_view dn);

// Whether `dn` is `base` or below it (case-insensitive, spaces after commas ignored).
bool DnWithin(std::string_view dn, std::string_view base);

}  // namespace tessera::connect::ad
