#pragma once

// A record as a source yields it (a CSV row, a JSON object, an LDAP entry), and its
// mapping to a fragment.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/common/config.h"
#include "tessera/v1/types.pb.h"

namespace tessera::connect {

struct Record {
  std::string locator;  // where it came from, for error reports: "hr.csv:12", a DN
  std::map<std::string, std::vector<std::string>, std::less<>> fields;

  // The first value of `field`, or "" when absent.
  std::string_view First(std::string_view field) const;
  void Set(std::string field, std::string value) { fields[std::move(field)] = {std::move(value)}; }
  void Add(std::string_view field, std::string value);
};

// Builds the fragment of `r`: kind, external id, attributes (a field with several
// values gives the attribute several times), identifiers and relations. Empty values are skipped;
// an e-mail (identifier or relation target) that cannot be an address is left out and named in
// `*warnings` rather than losing the whole record. Error (the record is skipped) when the external
// id is empty.
absl::StatusOr<v1::Fragment> MapRecord(const Mapping& m, const Record& r,
                                       std::vector<std::string>* warnings);

// MapRecord, then `extend` (a connector's own additions; may be empty) on the fragment:
// what Sink::EmitRecord sends. Either one's error is the reason the record is rejected.
absl::StatusOr<v1::Fragment> MapRecordWith(
    const Mapping& m, const Record& r,
    const std::function<absl::Status(const Record&, v1::Fragment&)>& extend,
    std::vector<std::string>* warnings);

// Whether `header` (a record source's field names) has every field the config named.
[[nodiscard]] absl::Status CheckFields(const Mapping& m, const std::vector<std::string>& header,
                                       std::string_view what);

// `s` without leading and trailing ASCII white space.
std::string_view Trim(std::string_view s);
std::string AsciiLower(std::string_view s);

// `s` if it fits in `max_bytes`, else its start cut at a UTF-8 character boundary,
// between words when one is near, followed by "…"; at most `max_bytes` (>= 16) long.
std::string ClipText(std::string_view s, size_t max_bytes);

// The start of `s` in at most `max_bytes`, not cutting a UTF-8 character: what a
// message quotes of a value. Messages travel to tesserad in SyncRun.errors, a protobuf
// string, which must be UTF-8: one cut character fails the whole report.
std::string_view Utf8Prefix(std::string_view s, size_t max_bytes);

// A BCP 47-looking language tag ("fr", "en-CA"): letters, digits, '-', at most 16.
bool IsLanguageTag(std::string_view t);

// A person named by a source as a relation target "type:value": "type:value" kept
// (lower-case type), an e-mail address ("a@b", "mailto:a@b", "Name <a@b>") made
// "email:a@b". `what` names the field in the error.
absl::StatusOr<std::string> PersonTarget(std::string_view v, std::string_view what);

// Well-formed UTF-8 (no overlong forms, surrogates or NUL): text a fragment may carry.
bool IsUtf8Text(std::string_view s);

// OK when every value of directory attribute `attribute` is IsUtf8Text, else an error
// naming the attribute (not the value, which may be binary): how the LDAP and AD
// mappings refuse an entry that cannot become a fragment.
[[nodiscard]] absl::Status CheckUtf8Values(std::string_view attribute,
                                           const std::vector<std::string>& values);

// Loose syntax check for an e-mail address: one '@' with text on both sides, no spaces.
bool PlausibleEmail(std::string_view e);

}  // namespace tessera::connect
