#pragma once

// Evidence records: what FindExperts needs to know about an evidence document once it
// is among the best (who it belongs to and how to show it). The text itself stays in
// the fragment. Key: u64be document id (postings.h).

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace tessera::index {

struct EvidenceRecord {
  uint64_t entity = 0;   // the profile of the fragment stating it (a case, a person...)
  std::string fragkey;   // that fragment, for the text
  uint32_t ordinal = 0;  // which of its evidence items
  std::string kind;      // case, document, skill, ...
  std::string role;      // relation naming its people (resolved_by); empty: the entity itself
  std::string title;
  std::string language;  // "en", "fr"
  int64_t time_ms = 0;

  bool operator==(const EvidenceRecord&) const = default;
};

std::string EvidenceKey(uint64_t doc);
std::string EncodeEvidence(const EvidenceRecord& r);
[[nodiscard]] absl::Status DecodeEvidence(std::string_view data, EvidenceRecord* r);

}  // namespace tessera::index
