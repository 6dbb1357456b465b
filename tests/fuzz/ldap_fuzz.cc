// Fuzz target for how LDAP and Active Directory entries become fragments, without a
// server: entries made of the input bytes go through the "ldap" kind's
// connect::LdapRecord (connectors/ldap/ldap_record.h) and the "ad" kind's
// ad::EntryRecord for users and groups (connectors/ad/ad_record.h: objectGUID, extended
// DNs, UPN from sAMAccountName, proxyAddresses, employeeID, the leaver rule over
// userAccountControl, accountExpires and whenChanged, manager and memberOf GUIDs), then
// their kinds' mappings (connect::MapRecord).
//
// Input: one option byte, then entries written as LDIF (RFC 2849) without its
// version line: "name: value" lines, "name:: <base64>" for any bytes, a line starting
// with one space continuing the previous one, entries apart by a blank line, "dn"
// first. Attribute names are lower-cased and their options (";binary",
// ";range=0-1499") dropped, as libldap's entries are read (ldap_util.h's ToEntry).
//   byte 0, bit 0: the leaver rule counts disabled accounts; bit 1: expired ones.
//
// Properties (tests/fuzz/connector_sink.h): the fragments survive protobuf and the
// messages are UTF-8; an AD record's objectguid is the entry's objectGUID in string
// form, which reads back to the same 16 bytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/ad/ad_record.h"
#include "connectors/ad/ad_values.h"
#include "connectors/common/connector.h"
#include "connectors/ldap/ldap_record.h"
#include "tests/fuzz/connector_sink.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace tessera;
using connect::LdapEntry;
using fuzz::Check;

// RFC 4648 base64; characters outside the alphabet are skipped, as in LDIF folding.
std::string Base64(std::string_view in) {
  std::string out;
  uint32_t bits = 0;
  int n = 0;
  for (char c : in) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '+'             ? 62
            : c == '/'             ? 63
                                   : -1;
    if (v < 0) continue;
    bits = bits << 6 | static_cast<uint32_t>(v);
    n += 6;
    if (n >= 8) {
      n -= 8;
      out.push_back(static_cast<char>(bits >> n & 0xFF));
    }
  }
  return out;
}

void AddValue(LdapEntry& e, std::string name, std::string value) {
  for (char& c : name) c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  if (name == "dn") {
    e.dn = std::move(value);
    return;
  }
  name.resize(std::min(name.find(';'), name.size()));
  for (auto& [n, values] : e.attributes) {
    if (n == name) {
      values.push_back(std::move(value));
      return;
    }
  }
  e.attributes.emplace_back(std::move(name), std::vector<std::string>{std::move(value)});
}

// The entries of LDIF-like `text`.
std::vector<LdapEntry> Entries(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    const size_t end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty() && line[0] == ' ' && !lines.empty() && !lines.back().empty()) {
      lines.back() += line.substr(1);
    } else {
      lines.emplace_back(line);
    }
  }
  std::vector<LdapEntry> entries(1);
  for (const std::string& line : lines) {
    if (line.empty()) {
      if (!entries.back().dn.empty() || !entries.back().attributes.empty()) entries.emplace_back();
      continue;
    }
    if (line[0] == '#') continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) continue;
    std::string value;
    if (line.compare(colon, 2, "::") == 0) {
      value = Base64(std::string_view(line).substr(colon + 2));
    } else {
      value = line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    }
    AddValue(entries.back(), line.substr(0, colon), std::move(value));
  }
  return entries;
}

connect::Mapping DefaultMapping(const char* kind) {
  connect::Mapping m;
  Check(connect::DefaultMapping(kind, &m), "a connector kind is not linked in");
  return m;
}

void MapLdap(const LdapEntry& e) {
  static const connect::Mapping kMapping = DefaultMapping("ldap");
  static const connect::FieldSpellings kFields = connect::LdapFields(kMapping);
  fuzz::CheckingSink sink(kMapping);
  absl::StatusOr<connect::Record> r = connect::LdapRecord(e, kFields);
  if (!r.ok()) {
    sink.Reject(e.dn, std::string(r.status().message()));
    return;
  }
  (void)sink.EmitRecord(*r, {});
}

void MapAd(const LdapEntry& e, const connect::ad::LeaverRule& leavers) {
  static const connect::Mapping kUsers = DefaultMapping("ad");
  static const connect::FieldSpellings kUserFields = connect::ad::UserFields(kUsers);
  static const connect::Mapping kGroups = connect::ad::GroupMapping();
  const std::vector<std::string>* guid = e.Values("objectguid");
  for (const bool group : {false, true}) {
    fuzz::CheckingSink sink(group ? kGroups : kUsers);
    absl::StatusOr<connect::Record> r =
        connect::ad::EntryRecord(e, group ? connect::ad::GroupFields() : kUserFields, leavers);
    if (!r.ok()) {
      sink.Reject(e.dn, std::string(r.status().message()));
      continue;
    }
    Check(guid != nullptr && !guid->empty(), "an AD record without an objectGUID");
    const std::string_view key = r->First("objectguid");
    Check(connect::ad::GuidString(guid->front()) == key, "objectguid is not the entry's GUID");
    Check(connect::ad::GuidBytes(key) == guid->front(), "a GUID does not read back");
    (void)sink.EmitRecord(*r, {});
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  connect::ad::LeaverRule leavers;
  leavers.disabled = (data[0] & 1) != 0;
  leavers.expired = (data[0] & 2) != 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (const LdapEntry& e : Entries(text)) {
    MapLdap(e);
    MapAd(e, leavers);
  }
  return 0;
}
