#include "server/index/postings.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "server/store/coding.h"

namespace tessera::index {
namespace {

// Value tags. Disk values.
constexpr char kBlockTag = 'B';  // a block of postings
constexpr char kOpsTag = 'O';    // merge operand: block changes
constexpr char kCountTag = 'C';  // a document frequency
constexpr char kDeltaTag = 'D';  // merge operand: frequency change
constexpr uint8_t kAdd = 1, kRemove = 2;
// Key tags: every block key sorts before every frequency key, and those before the
// epoch counts.
constexpr char kBlockKeyTag = '\0';
constexpr char kDfKeyTag = '\x01';
constexpr char kEpochKeyTag = '\x02';
constexpr uint64_t kLowMask = (1ull << kBlockBits) - 1;

struct Entry {
  uint32_t low;
  uint32_t tf, length, day;
  uint8_t kind;
};

bool DecodeEntries(std::string_view value, std::vector<Entry>* out) {
  BlockView view;
  if (!view.Parse(value, 0).ok()) return false;
  const std::vector<uint64_t>& docs = view.docs();
  out->clear();
  out->reserve(docs.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    out->push_back({static_cast<uint32_t>(docs[i]), view.tf(i), view.length(i), view.day(i),
                    static_cast<uint8_t>(view.kind(i))});
  }
  return true;
}

void PutU16(std::string& out, uint32_t v) {
  v = std::min<uint32_t>(v, 0xffff);
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}

// Block layout: 'B' · varint n · varint max tf · varint min length · varint max day ·
// u8 kind mask · varint bytes of deltas · varint id deltas × n · u8 tf × n ·
// u16le length × n · u8 kind × n · u16le day × n. The header lets a query bound the
// block's best score without decoding it; fixed-width columns let it read one
// posting's fields without decoding the others.
void EncodeEntries(const std::vector<Entry>& entries, std::string* out) {
  uint32_t max_tf = 0, min_len = UINT32_MAX, max_day = 0;
  uint8_t kinds = 0;
  std::string deltas;
  uint32_t prev = 0;
  for (const Entry& e : entries) {
    max_tf = std::max(max_tf, std::min<uint32_t>(e.tf, 255));
    min_len = std::min(min_len, std::min<uint32_t>(e.length, 0xffff));
    max_day = std::max(max_day, std::min<uint32_t>(e.day, 0xffff));
    kinds |= static_cast<uint8_t>(1u << (e.kind & 7));
    store::PutVarint64(deltas, e.low - prev);
    prev = e.low;
  }
  out->clear();
  out->push_back(kBlockTag);
  store::PutVarint64(*out, entries.size());
  store::PutVarint64(*out, max_tf);
  store::PutVarint64(*out, entries.empty() ? 0 : min_len);
  store::PutVarint64(*out, max_day);
  out->push_back(static_cast<char>(kinds));
  store::PutLengthPrefixed(*out, deltas);
  for (const Entry& e : entries) out->push_back(static_cast<char>(std::min<uint32_t>(e.tf, 255)));
  for (const Entry& e : entries) PutU16(*out, e.length);
  for (const Entry& e : entries) out->push_back(static_cast<char>(e.kind));
  for (const Entry& e : entries) PutU16(*out, e.day);
}

// Applies one operand's changes to sorted entries.
bool ApplyOps(std::string_view ops, std::vector<Entry>& entries) {
  store::Decoder d(ops.substr(1));
  while (!d.done() && d.ok()) {
    const uint8_t op = d.Byte();
    Entry e{};
    e.low = d.Varint32();
    auto it = std::lower_bound(entries.begin(), entries.end(), e.low,
                               [](const Entry& x, uint32_t low) { return x.low < low; });
    if (op == kAdd) {
      e.tf = d.Varint32();
      e.length = d.Varint32();
      e.kind = d.Byte();
      e.day = d.Varint32();
      if (it != entries.end() && it->low == e.low) {
        *it = e;
      } else {
        entries.insert(it, e);
      }
    } else if (op == kRemove) {
      if (it != entries.end() && it->low == e.low) entries.erase(it);
    } else {
      return false;
    }
  }
  return d.ok();
}

class PostingsMerge final : public store::MergeOperator {
 public:
  const char* name() const override { return "tessera.postings.v1"; }

  bool FullMerge(std::string_view, const std::string_view* existing,
                 const std::vector<std::string_view>& operands, std::string* out) const override {
    const char kind = !operands.empty()     ? operands.front().front()
                      : existing != nullptr ? existing->front()
                                            : 0;
    if (kind == kDeltaTag || kind == kCountTag) {
      int64_t n = 0;
      if (existing != nullptr && !Count(*existing, kCountTag, &n)) return false;
      for (std::string_view op : operands) {
        int64_t delta = 0;
        if (!Count(op, kDeltaTag, &delta)) return false;
        n += delta;
      }
      out->assign(1, kCountTag);
      store::PutVarsint64(*out, n);
      return true;
    }
    std::vector<Entry> entries;
    if (existing != nullptr && (existing->empty() || existing->front() != kBlockTag ||
                                !DecodeEntries(*existing, &entries))) {
      return false;
    }
    for (std::string_view op : operands) {
      if (op.empty() || op.front() != kOpsTag || !ApplyOps(op, entries)) return false;
    }
    EncodeEntries(entries, out);
    return true;
  }

  bool IsEmpty(std::string_view value) const override {
    if (value.empty()) return false;
    store::Decoder d(value.substr(1));
    if (value.front() == kBlockTag) return d.Count() == 0 && d.ok();
    if (value.front() == kCountTag) return d.Varsint64() <= 0 && d.ok();
    return false;
  }

  bool PartialMergeInto(std::string_view, std::string* left,
                        std::string_view right) const override {
    if (left->empty() || right.empty() || left->front() != right.front()) return false;
    if (left->front() == kOpsTag) {
      left->append(right.substr(1));
      return true;
    }
    int64_t a = 0, b = 0;
    if (!Count(*left, kDeltaTag, &a) || !Count(right, kDeltaTag, &b)) return false;
    left->assign(1, kDeltaTag);
    store::PutVarsint64(*left, a + b);
    return true;
  }

  bool PartialMerge(std::string_view key, std::string_view left, std::string_view right,
                    std::string* out) const override {
    out->assign(left);
    return PartialMergeInto(key, out, right);
  }

 private:
  static bool Count(std::string_view v, char tag, int64_t* n) {
    if (v.empty() || v.front() != tag) return false;
    store::Decoder d(v.substr(1));
    *n = d.Varsint64();
    return d.ok() && d.done();
  }
};

void PutAdd(std::string& ops, uint64_t doc, uint32_t tf, const DocTerms& d) {
  ops.push_back(static_cast<char>(kAdd));
  store::PutVarint64(ops, doc & kLowMask);
  store::PutVarint64(ops, tf);
  store::PutVarint64(ops, d.length);
  ops.push_back(static_cast<char>(d.kind));
  store::PutVarint64(ops, d.day);
}

}  // namespace

EvidenceKind KindOf(std::string_view kind) {
  if (kind == "case") return EvidenceKind::kCase;
  if (kind == "document") return EvidenceKind::kDocument;
  if (kind == "answer") return EvidenceKind::kAnswer;
  if (kind == "conversation") return EvidenceKind::kConversation;
  if (kind == "skill") return EvidenceKind::kSkill;
  if (kind == "bio") return EvidenceKind::kBio;
  return EvidenceKind::kOther;
}

namespace {

// Sorted, unique terms of [begin, end) with their frequencies.
std::vector<std::pair<std::string, uint32_t>> Counted(
    std::vector<std::string>::const_iterator begin, std::vector<std::string>::const_iterator end) {
  std::vector<std::string_view> sorted(begin, end);
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::pair<std::string, uint32_t>> out;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i + 1;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    out.emplace_back(std::string(sorted[i]), static_cast<uint32_t>(j - i));
    i = j;
  }
  return out;
}

}  // namespace

DocTerms DocTerms::From(uint64_t doc, EvidenceKind kind, uint32_t day,
                        const std::vector<std::string>& terms) {
  DocTerms d{doc, static_cast<uint32_t>(terms.size()), kind, day, {}, {}, 0};
  d.terms = Counted(terms.begin(), terms.end());
  const size_t lead = std::min(terms.size(), kLeadTerms);
  d.lead = Counted(terms.begin(), terms.begin() + static_cast<std::ptrdiff_t>(lead));
  d.lead_length = static_cast<uint32_t>(lead);
  return d;
}

std::string BlockPrefix(std::string_view term, uint64_t epoch) {
  std::string key;
  key.reserve(1 + 8 + term.size() + 1 + 8);
  key.push_back(kBlockKeyTag);
  store::PutFixed64BE(key, epoch);
  key.append(term);
  key.push_back('\0');
  return key;
}

std::string BlockKey(std::string_view term, uint64_t epoch, uint64_t block) {
  std::string key = BlockPrefix(term, epoch);
  store::PutFixed64BE(key, block);
  return key;
}

std::string DfKey(std::string_view term) {
  std::string key(1, kDfKeyTag);
  key.append(term);
  return key;
}

std::string EpochKey(uint64_t epoch) {
  std::string key(1, kEpochKeyTag);
  store::PutFixed64BE(key, epoch);
  return key;
}

CorpusDelta UpdatePostings(store::Batch& batch, const DocTerms* before, const DocTerms* after) {
  static const std::vector<std::pair<std::string, uint32_t>> kNone;
  const auto& old_terms = before ? before->terms : kNone;
  const auto& new_terms = after ? after->terms : kNone;
  const uint64_t old_epoch = before ? EpochOfDay(before->day) : 0;
  const uint64_t new_epoch = after ? EpochOfDay(after->day) : 0;
  // Whether the document's postings stay under the same keys (same epoch and id).
  const bool same_place = before && after && old_epoch == new_epoch && before->doc == after->doc;
  const bool same_doc_fields = same_place && before->length == after->length &&
                               before->kind == after->kind && before->day == after->day;
  auto remove = [&](const std::string& term) {
    std::string op(1, kOpsTag);
    op.push_back(static_cast<char>(kRemove));
    store::PutVarint64(op, before->doc & kLowMask);
    batch.Merge(store::Cf::kPostings, BlockKey(term, old_epoch, before->doc >> kBlockBits), op);
  };
  auto add = [&](const std::string& term, uint32_t tf) {
    std::string op(1, kOpsTag);
    PutAdd(op, after->doc, tf, *after);
    batch.Merge(store::Cf::kPostings, BlockKey(term, new_epoch, after->doc >> kBlockBits), op);
  };
  auto i = old_terms.begin();
  auto j = new_terms.begin();
  while (i != old_terms.end() || j != new_terms.end()) {
    const bool take_old = j == new_terms.end() || (i != old_terms.end() && i->first < j->first);
    const bool take_new = i == old_terms.end() || (j != new_terms.end() && j->first < i->first);
    if (take_old) {  // term gone
      remove(i->first);
      AddToCount(batch, DfKey(i->first), -1);
      ++i;
    } else if (take_new) {  // term added
      add(j->first, j->second);
      AddToCount(batch, DfKey(j->first), +1);
      ++j;
    } else {  // in both: rewrite only if something it carries changed
      if (!same_place) remove(i->first);
      if (!(same_doc_fields && i->second == j->second)) add(j->first, j->second);
      ++i;
      ++j;
    }
  }
  if (!(before && after && old_epoch == new_epoch)) {
    if (before) AddToCount(batch, EpochKey(old_epoch), -1);
    if (after) AddToCount(batch, EpochKey(new_epoch), +1);
  }
  CorpusDelta delta;
  if (before) delta.docs -= 1, delta.length -= before->length;
  if (after) delta.docs += 1, delta.length += after->length;
  return delta;
}

std::shared_ptr<const store::MergeOperator> PostingsMergeOperator() {
  static const auto kOp = std::make_shared<PostingsMerge>();
  return kOp;
}

absl::Status BlockView::Parse(std::string_view value, uint64_t block) {
  // Made only on failure: an error Status allocates, and Parse runs per block per query.
  const auto corrupt = [] { return absl::DataLossError("corrupt postings block"); };
  if (value.empty() || value.front() != kBlockTag) return corrupt();
  store::Decoder d(value.substr(1));
  size_ = d.Count();
  max_tf_ = d.Varint32();
  min_length_ = d.Varint32();
  max_day_ = d.Varint32();
  kinds_ = d.Byte();
  deltas_ = d.LengthPrefixed();
  columns_ = d.rest();
  if (!d.ok() || columns_.size() != size_ * 6) return corrupt();
  base_ = block << kBlockBits;
  docs_.clear();
  return absl::OkStatus();
}

const std::vector<uint64_t>& BlockView::docs() {
  if (docs_.size() == size_ || size_ == 0) return docs_;
  docs_.resize(size_);
  // Deltas are almost always one or two bytes: fast paths, then the general decoder.
  const auto* p = reinterpret_cast<const uint8_t*>(deltas_.data());
  const auto* end = p + deltas_.size();
  uint64_t low = 0;
  for (size_t i = 0; i < size_; ++i) {
    uint64_t v = 0;
    if (end - p >= 2 && p[0] < 0x80) {
      v = *p++;
    } else if (end - p >= 2 && p[1] < 0x80) {
      v = (p[0] & 0x7fu) | static_cast<uint64_t>(p[1]) << 7;
      p += 2;
    } else {
      for (int shift = 0; p < end; shift += 7) {
        const uint8_t byte = *p++;
        v |= static_cast<uint64_t>(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) break;
      }
    }
    low += v;
    docs_[i] = base_ | (low & ((1ull << kBlockBits) - 1));
  }
  return docs_;
}

absl::Status DecodeBlock(std::string_view value, uint64_t block, std::vector<Posting>* out) {
  BlockView view;
  if (absl::Status s = view.Parse(value, block); !s.ok()) return s;
  const std::vector<uint64_t>& docs = view.docs();
  out->clear();
  for (size_t i = 0; i < docs.size(); ++i)
    out->push_back({docs[i], view.tf(i), view.length(i), view.kind(i), view.day(i)});
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ReadDf(const store::Reader& reader, std::string_view term) {
  return ReadCount(reader, DfKey(term), "document frequency");
}

void AddToCount(store::Batch& batch, std::string_view key, int64_t delta) {
  std::string op(1, kDeltaTag);
  store::PutVarsint64(op, delta);
  batch.Merge(store::Cf::kPostings, key, op);
}

bool ParseCount(std::string_view value, int64_t* n) {
  if (value.empty() || value.front() != kCountTag) return false;
  store::Decoder d(value.substr(1));
  *n = d.Varsint64();
  return d.ok();
}

absl::StatusOr<uint64_t> ReadCount(const store::Reader& reader, std::string_view key,
                                   std::string_view what) {
  std::string value;
  absl::StatusOr<bool> found = reader.Get(store::Cf::kPostings, key, &value);
  if (!found.ok()) return found.status();
  if (!*found) return 0;
  int64_t n = 0;
  if (!ParseCount(value, &n)) return absl::DataLossError("corrupt " + std::string(what));
  return n > 0 ? static_cast<uint64_t>(n) : 0;
}

absl::StatusOr<std::vector<uint64_t>> ReadEpochs(const store::Reader& reader) {
  std::vector<uint64_t> epochs;
  std::unique_ptr<store::Iterator> it = reader.NewIterator(store::Cf::kPostings);
  for (it->Seek(std::string(1, kEpochKeyTag)); it->Valid(); it->Next()) {
    const std::string_view key = it->key(), value = it->value();
    if (key.front() != kEpochKeyTag) break;
    store::Decoder d(value.substr(std::min<size_t>(1, value.size())));
    const int64_t n = d.Varsint64();
    if (key.size() != 9 || value.empty() || value.front() != kCountTag || !d.ok())
      return absl::DataLossError("corrupt postings epoch count");
    if (n > 0) epochs.push_back(store::DecodeFixed64BE(key.data() + 1));
  }
  if (absl::Status s = it->status(); !s.ok()) return s;
  return epochs;
}

absl::StatusOr<size_t> DropEmptyPostings(const store::Reader& reader, store::Batch& batch,
                                         const std::vector<DocTerms>& docs) {
  std::set<std::string> keys;
  for (const DocTerms& d : docs) {
    keys.insert(EpochKey(EpochOfDay(d.day)));
    for (const auto& [term, tf] : d.terms) {
      keys.insert(BlockKey(term, EpochOfDay(d.day), d.doc >> kBlockBits));
      keys.insert(DfKey(term));
    }
  }
  size_t dropped = 0;
  std::string value;
  for (const std::string& key : keys) {
    absl::StatusOr<bool> found = reader.Get(store::Cf::kPostings, key, &value);
    if (!found.ok()) return found.status();
    if (!*found || value.empty()) continue;
    store::Decoder d(std::string_view(value).substr(1));
    // A block starts with its posting count; a frequency or an epoch's count is the
    // count itself.
    const bool empty = value.front() == kBlockTag
                           ? d.Count() == 0
                           : value.front() == kCountTag && d.Varsint64() <= 0;
    if (d.ok() && empty) {
      batch.Delete(store::Cf::kPostings, key);
      ++dropped;
    }
  }
  return dropped;
}

}  // namespace tessera::index
