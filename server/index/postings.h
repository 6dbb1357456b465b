#pragma once

// Evidence postings in the `postings` column family, kept up to date with merge
// operands (no read-modify-write at ingest):
//
//   0x00 · u64be epoch · term · 0x00 · u64be block
//                               ->  block: the postings of the documents of `epoch`
//                                   numbered block·2^18 ... block·2^18 + 2^18 − 1,
//                                   by document id; epoch = the evidence's day / 2^7
//   0x01 · term                 ->  document frequency
//   0x02 · u64be epoch          ->  documents in the epoch (the epochs a query visits)
//   0x03 · identkey · term      ->  a person's term frequency (person_terms.h)
//   0x04 · identkey             ->  a person's length (person_terms.h)
//
// Keys are grouped by epoch first, term second, and an epoch is 128 days of the
// evidence's own dates, not of its arrival. A query visits epochs newest first, and
// stops when an epoch's recency bound cannot beat the k-th score: how well it prunes
// does not depend on the order the evidence arrived in (a back-fill, a source synced
// late). Evidence mostly arrives dated "now", so new postings fall in the newest
// epoch's key range: compactions rewrite that range and leave older epochs' files
// alone, which keeps compaction's write amplification that of one epoch's worth of
// index however large the index grows. A query pays one seek per term and epoch
// visited. Back-filled evidence (dates spread over years in every batch) splits each
// term's operands over several epochs, so it ingests slower than evidence dated as it
// arrives. 128 days was measured against 64 and 256 (README, issue 17): narrower
// epochs decode fewer postings but walk more, smaller blocks.
//
// A document id is (fragment number << 6) | evidence ordinal, so one fragment's
// evidence is adjacent and ids grow with ingest. Each posting carries what scoring
// needs besides the term: frequency, document length, evidence kind and day, so a
// query reads nothing but postings until it has its top documents.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "server/store/store.h"

namespace tessera::index {

inline constexpr int kOrdinalBits = 6;    // so at most 64 evidence items per fragment
inline constexpr int kBlockBits = 18;     // 262,144 document ids (4,096 fragments) per block
inline constexpr int kEpochDayBits = 7;   // 128 days of evidence dates per epoch
inline constexpr size_t kLeadTerms = 16;  // DocTerms::lead

// Names the postings layout (key scheme, block size, value encoding). A database whose
// index was written under another layout has its derived data rebuilt at open.
inline constexpr char kPostingsLayout[] = "postings-v3-day-epochs-7-blocks-18";

inline uint64_t DocId(uint64_t fno, uint32_t ordinal) { return (fno << kOrdinalBits) | ordinal; }
// The epoch of evidence dated `day` (days since 1970-01-01), and its last day.
inline uint64_t EpochOfDay(uint32_t day) { return day >> kEpochDayBits; }
inline uint64_t LastDayOf(uint64_t epoch) { return ((epoch + 1) << kEpochDayBits) - 1; }

// Evidence kinds with a scoring weight; disk values, do not change.
enum class EvidenceKind : uint8_t {
  kOther = 0,
  kCase = 1,
  kDocument = 2,
  kAnswer = 3,
  kConversation = 4,
  kSkill = 5,
  kBio = 6,
};
inline constexpr int kEvidenceKinds = 7;
EvidenceKind KindOf(std::string_view kind);

struct Posting {
  uint64_t doc = 0;
  uint32_t tf = 0;
  uint32_t length = 0;  // document length in terms
  EvidenceKind kind = EvidenceKind::kOther;
  uint32_t day = 0;  // days since 1970-01-01 of the evidence
};

// What the index holds for one document.
struct DocTerms {
  uint64_t doc = 0;
  uint32_t length = 0;
  EvidenceKind kind = EvidenceKind::kOther;
  uint32_t day = 0;
  std::vector<std::pair<std::string, uint32_t>> terms;  // sorted, unique, with frequency
  // The same for the first kLeadTerms terms of the text (title and first sentence: its
  // subject), what a person's language sums (person_terms.h).
  std::vector<std::pair<std::string, uint32_t>> lead;
  uint32_t lead_length = 0;

  static DocTerms From(uint64_t doc, EvidenceKind kind, uint32_t day,
                       const std::vector<std::string>& terms);
};

std::string BlockKey(std::string_view term, uint64_t epoch, uint64_t block);
std::string DfKey(std::string_view term);
std::string EpochKey(uint64_t epoch);
// The first bytes of every block key of `term` in `epoch`.
std::string BlockPrefix(std::string_view term, uint64_t epoch);
// The epochs holding documents, oldest first.
absl::StatusOr<std::vector<uint64_t>> ReadEpochs(const store::Reader& reader);

// Adds to `batch` the merge operands that turn document `before` into `after` (either
// may be null: added or removed). Returns the change in document count and length.
struct CorpusDelta {
  int64_t docs = 0;
  int64_t length = 0;
};
CorpusDelta UpdatePostings(store::Batch& batch, const DocTerms* before, const DocTerms* after);

// Removing a document leaves its terms' blocks and document frequencies in place,
// empty (merges are blind). Deletes, through `batch`, those of `docs`' terms that are
// now empty in `reader`, so no key keeps a word of removed text; returns how many.
// Only safe while nothing else writes postings.
absl::StatusOr<size_t> DropEmptyPostings(const store::Reader& reader, store::Batch& batch,
                                         const std::vector<DocTerms>& docs);

// The merge operator the store must use for the postings column family.
std::shared_ptr<const store::MergeOperator> PostingsMergeOperator();

// One stored block, read lazily: the header at once (enough to bound the block's best
// score), document ids on first use, a posting's other fields by index. Borrows the
// value it parses. Thread-compatible.
class BlockView {
 public:
  // DATA_LOSS when `value` is not a block; `block` makes document ids absolute.
  [[nodiscard]] absl::Status Parse(std::string_view value, uint64_t block);
  size_t size() const { return size_; }
  uint32_t max_tf() const { return max_tf_; }
  uint32_t min_length() const { return min_length_; }
  uint32_t max_day() const { return max_day_; }
  // Bit k: some posting has EvidenceKind k.
  uint8_t kinds() const { return kinds_; }
  const std::vector<uint64_t>& docs();
  // Fields of posting i (0 <= i < size()); tf is capped at 255, length and day at 65535.
  // Inline: a query reads them in its innermost loop.
  uint32_t tf(size_t i) const { return Byte(i); }
  uint32_t length(size_t i) const { return U16(size_ + 2 * i); }
  EvidenceKind kind(size_t i) const { return static_cast<EvidenceKind>(Byte(3 * size_ + i)); }
  uint32_t day(size_t i) const { return U16(4 * size_ + 2 * i); }

 private:
  uint32_t Byte(size_t at) const { return static_cast<uint8_t>(columns_[at]); }
  uint32_t U16(size_t at) const { return Byte(at) | Byte(at + 1) << 8; }

  size_t size_ = 0;
  uint32_t max_tf_ = 0, min_length_ = 0, max_day_ = 0;
  uint8_t kinds_ = 0;
  uint64_t base_ = 0;
  std::string_view deltas_, columns_;
  std::vector<uint64_t> docs_;
};

// Decodes a stored block entirely (document ids made absolute with `block`).
[[nodiscard]] absl::Status DecodeBlock(std::string_view value, uint64_t block,
                                       std::vector<Posting>* out);
// The document frequency stored under DfKey (0 when absent).
absl::StatusOr<uint64_t> ReadDf(const store::Reader& reader, std::string_view term);

// Counters of this column family (a document frequency, an epoch's documents, a
// person's term sums): a merge operand adding `delta` to the counter at `key`, and the
// counter's value (0 when absent or not above 0; DATA_LOSS naming `what` when the value
// is not a counter).
void AddToCount(store::Batch& batch, std::string_view key, int64_t delta);
absl::StatusOr<uint64_t> ReadCount(const store::Reader& reader, std::string_view key,
                                   std::string_view what);
// A counter's value as ReadCount reads it; false when `value` is not a counter.
bool ParseCount(std::string_view value, int64_t* n);

}  // namespace tessera::index
