#pragma once

// How the "ad" kind turns an Active Directory object into a record its mapping reads:
// pure functions, no connection (the connector calls them on each user and group;
// tests/fuzz/ldap_fuzz.cc on entries made of bytes).

#include "absl/status/statusor.h"
#include "connectors/ad/ad_values.h"
#include "connectors/common/config.h"
#include "connectors/common/record.h"
#include "connectors/ldap/ldap_record.h"
#include "connectors/ldap/ldap_session.h"

namespace tessera::connect::ad {

// The fields a user mapping `m` reads, objectguid always among them.
FieldSpellings UserFields(const Mapping& m);
// The fields of a group (the fixed GroupMapping's).
const FieldSpellings& GroupFields();
// Groups become team fragments with this fixed mapping.
Mapping GroupMapping();

// The record of an AD object `e` (its DN in extended form, "<GUID=...>;<SID=...>;CN=..."):
// the attributes `fields` names, plus the fields derived from several attributes
// (objectguid as a string, dn, display_name, upn, email_addresses, employee_id, end_date
// under `leavers`, manager_guid, member_of_guids). Errors: no objectGUID, a value that
// is not UTF-8.
absl::StatusOr<Record> EntryRecord(const LdapEntry& e, const FieldSpellings& fields,
                                   const LeaverRule& leavers);

}  // namespace tessera::connect::ad
