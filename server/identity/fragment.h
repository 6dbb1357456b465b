#pragma once

// Fragments: one record from one source, the unit of ingest, in plain structs. The
// API layer fills them from requests; `Validate` checks every caller-controlled size
// and normalises identifiers in place, so nothing past it sees raw input.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "server/identity/identifier.h"

namespace tessera::identity {

struct Identifier {
  std::string type;             // as given: "email"
  std::string value;            // as given; normalised by Validate
  std::string raw;              // set by Validate to the given value when it differs from `value`
  IdType tag = IdType::kEmail;  // set by Validate
};

struct Attribute {
  std::string name;
  std::string value;
};

struct Relation {
  std::string type;
  Identifier target;
};

struct Evidence {
  std::string kind;
  std::string role;  // a relation type naming the people it speaks for; empty = self
  std::string title;
  std::string text;
  std::string language;
  int64_t time_ms = 0;
};

struct Fragment {
  std::string source;
  std::string external_id;
  uint64_t version = 0;
  std::string kind;
  std::vector<Attribute> attributes;
  std::vector<Identifier> identifiers;
  std::vector<Relation> relations;
  std::vector<Evidence> evidence;
  int64_t updated_at_ms = 0;
  bool tombstone = false;
};

// Sizes a caller controls, with the defaults the API documents. A knob each, so an
// organisation with larger records can raise one without touching the others.
struct Limits {
  size_t max_fragment_bytes = 256 * 1024;  // sum of every string of one fragment
  size_t max_external_id_bytes = 512;
  size_t max_attributes = 256;
  size_t max_attribute_value_bytes = 4096;
  size_t max_identifiers = 64;
  size_t max_relations = 256;
  size_t max_evidence = 64;
  size_t max_evidence_text_bytes = 64 * 1024;
  size_t max_batch_fragments = 5000;
  // Linking never builds a profile from more fragments than this; the batch that
  // would is rejected naming the identifier (usually a shared mailbox or phone).
  size_t max_profile_fragments = 10000;
  size_t max_prefix_bytes = 128;
  size_t max_page_size = 500;
  size_t max_neighbors = 1000;
};

// What an entity is. Fragments link only within one class: a team's mailing list
// address never merges a team into a person.
enum class EntityClass : uint8_t { kPerson, kTeam, kCase, kDocument, kConversation };

// Known kinds: employee, customer, contact (persons), team, case, document,
// conversation. False for anything else.
bool ClassOfKind(std::string_view kind, EntityClass* cls);
bool IsPersonKind(std::string_view kind);

// Checks `f` against `limits` and normalises its identifiers and relation targets in
// place. The error names the field and value: "identifiers[2]: 'phone' value '12ab'
// is not a phone number (default region FR)". The source's existence is not checked.
[[nodiscard]] absl::Status Validate(Fragment& f, const Limits& limits,
                                    const NormaliseOptions& options);

// A fragment as stored: the validated fragment plus what ingest assigned to it.
struct StoredFragment {
  Fragment fragment;
  uint64_t fno = 0;     // fragment number, stable across versions; names evidence
  uint64_t entity = 0;  // the profile it belongs to; 0 for a tombstone
  // The profile it was first linked to: when a merge that moved it is undone, it goes
  // back to that id. Records written before it existed read it as `entity`.
  uint64_t origin = 0;
};

// Key of a fragment: u32be source number · external_id.
std::string FragmentKey(uint32_t source_num, std::string_view external_id);
bool ParseFragmentKey(std::string_view key, uint32_t* source_num, std::string_view* external_id);

std::string EncodeFragment(const StoredFragment& f);
// DATA_LOSS when `data` is not a fragment record.
[[nodiscard]] absl::Status DecodeFragment(std::string_view data, StoredFragment* f);

}  // namespace tessera::identity
