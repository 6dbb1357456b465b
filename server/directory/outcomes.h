#pragma once

// Private to server/directory: who handles a case (Expertise.RecordOutcome): hand-overs,
// resolutions and their withdrawal, written as fragments of source kOutcomeSource
// through ingest, and cases created from a customer's message (source
// kHandoverSource).

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/directory/directory.h"
#include "server/directory/ids.h"

namespace tessera::directory {

class Admin;
class Ingester;
class ReadPath;

// Thread-safe (each step is an ingest or an admin write); what it is given outlives it.
class Outcomes {
 public:
  Outcomes(const DirectoryOptions& options, const store::Store& store, const ReadPath& reads,
           Ingester& ingester, Admin& admin)
      : options_(options), store_(store), reads_(reads), ingester_(ingester), admin_(admin) {}

  // Directory::RecordOutcome.
  absl::StatusOr<OutcomeResult> Record(const CaseOutcome& outcome);

 private:
  // Status "withdrawn": takes back an open hand-over.
  absl::StatusOr<OutcomeResult> Withdraw(const CaseOutcome& outcome);
  // The people holding case `case_id` (expertise/cases.h Holds), by id.
  absl::StatusOr<std::vector<index::PersonSummary>> Holders(const store::Reader& reader,
                                                            ProfileId case_id) const;
  // Registers source `id` unless it is.
  [[nodiscard]] absl::Status EnsureSource(const char* id, const char* kind, int32_t priority,
                                          const char* what);
  // Creates the case a hand-over names from its message.
  [[nodiscard]] absl::Status CreateCase(const CaseOutcome& o, const std::string& case_value);

  const DirectoryOptions& options_;
  const store::Store& store_;
  const ReadPath& reads_;
  Ingester& ingester_;
  Admin& admin_;
};

}  // namespace tessera::directory
