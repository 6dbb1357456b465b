#pragma once

// How the "ldap" kind turns an entry into a record its mapping reads: pure functions,
// no connection (the connector calls them on each entry; tests/fuzz/ldap_fuzz.cc on
// entries made of bytes).

#include <map>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "connectors/common/config.h"
#include "connectors/common/record.h"
#include "connectors/ldap/ldap_session.h"

namespace tessera::connect {

// A record field, lower-cased as attribute names are -> the spellings the mapping
// uses for it (attribute names match case-insensitively).
using FieldSpellings = std::map<std::string, std::set<std::string>>;

// The fields `m` reads: its key, attributes, identifiers and relations.
FieldSpellings LdapFields(const Mapping& m);

// The record of `e`: the attributes `fields` names under the mapping's spellings, plus
// the derived fields "dn" (the entry's DN) and "display_name" (displayName, else the
// first cn). Error: a value of one of them that is not UTF-8 text.
absl::StatusOr<Record> LdapRecord(const LdapEntry& e, const FieldSpellings& fields);

}  // namespace tessera::connect
