#include "server/index/postings.h"

#include <algorithm>
#include <map>

#include "server/store/coding.h"

namespace tessera::index {
namespace {

// Value tags. Disk values.
constexpr char kBlockTag = 'B';    // a block of postings
constexpr char kOpsTag = 'O';      // merge operand: block changes
constexpr char kCountTag = 'C';    // a document frequency
constexpr char kDeltaTag = 'D';    // merge operand: frequency change
constexpr uint8_t kAdd = 1, kRemove = 2;
constexpr uint64_t kLowMask = (1ull << kBlockBits) - 1;

struct Entry {
  uint32_t low;
  uint32_t tf, length, day;
  uint8_t kind;
};

bool DecodeEntries(std::string_view value, std::vector<Entry>* out) {
  store::Decoder d(value.substr(1));
  const uint64_t n = d.Count();
  out->clear();
  out->reserve(n);
  uint32_t low = 0;
  for (uint64_t i = 0; i < n && d.ok(); ++i) {
    Entry e;
    low += d.Varint32();
    e.low = low;
    e.tf = d.Varint32();
    e.length = d.Varint32();
    e.kind = d.Byte();
    e.day = d.Varint32();
    out->push_back(e);
  }
  return d.ok() && d.done();
}

void EncodeEntries(const std::vector<Entry>& entries, std::string* out) {
  out->clear();
  out->push_back(kBlockTag);
  store::PutVarint64(*out, entries.size());
  uint32_t prev = 0;
  for (const Entry& e : entries) {
    store::PutVarint64(*out, e.low - prev);
    prev = e.low;
    store::PutVarint64(*out, e.tf);
    store::PutVarint64(*out, e.length);
    out->push_back(static_cast<char>(e.kind));
    store::PutVarint64(*out, e.day);
  }
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

  bool FullMerge(std::string_view, const std::string_view* existing, const std::vector<std::string_view>& operands,
                 std::string* out) const override {
    const char kind = !operands.empty() ? operands.front().front() : existing != nullptr ? existing->front() : 0;
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
    if (existing != nullptr && (existing->empty() || existing->front() != kBlockTag || !DecodeEntries(*existing, &entries))) {
      return false;
    }
    for (std::string_view op : operands) {
      if (op.empty() || op.front() != kOpsTag || !ApplyOps(op, entries)) return false;
    }
    EncodeEntries(entries, out);
    return true;
  }

  bool PartialMerge(std::string_view, std::string_view left, std::string_view right, std::string* out) const override {
    if (left.empty() || right.empty() || left.front() != right.front()) return false;
    if (left.front() == kOpsTag) {  // changes apply in order: concatenate
      out->assign(left);
      out->append(right.substr(1));
      return true;
    }
    int64_t a = 0, b = 0;
    if (!Count(left, kDeltaTag, &a) || !Count(right, kDeltaTag, &b)) return false;
    out->assign(1, kDeltaTag);
    store::PutVarsint64(*out, a + b);
    return true;
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

void Df(store::Batch& batch, std::string_view term, int64_t delta) {
  std::string op(1, kDeltaTag);
  store::PutVarsint64(op, delta);
  batch.Merge(store::Cf::kPostings, DfKey(term), op);
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

DocTerms DocTerms::From(uint64_t doc, EvidenceKind kind, uint32_t day, const std::vector<std::string>& terms) {
  DocTerms d{doc, static_cast<uint32_t>(terms.size()), kind, day, {}};
  std::map<std::string_view, uint32_t> tf;
  for (const std::string& t : terms) ++tf[t];
  for (const auto& [t, n] : tf) d.terms.emplace_back(std::string(t), n);
  return d;
}

std::string BlockKey(std::string_view term, uint64_t block) {
  std::string key(term);
  key.push_back('\0');
  store::PutFixed64BE(key, block);
  return key;
}

std::string DfKey(std::string_view term) {
  std::string key(term);
  key.push_back('\x01');
  return key;
}

CorpusDelta UpdatePostings(store::Batch& batch, const DocTerms* before, const DocTerms* after) {
  static const std::vector<std::pair<std::string, uint32_t>> kNone;
  const auto& old_terms = before ? before->terms : kNone;
  const auto& new_terms = after ? after->terms : kNone;
  const bool same_doc_fields = before && after && before->length == after->length && before->kind == after->kind &&
                               before->day == after->day;
  auto i = old_terms.begin();
  auto j = new_terms.begin();
  while (i != old_terms.end() || j != new_terms.end()) {
    const bool take_old = j == new_terms.end() || (i != old_terms.end() && i->first < j->first);
    const bool take_new = i == old_terms.end() || (j != new_terms.end() && j->first < i->first);
    if (take_old) {  // term gone
      std::string op(1, kOpsTag);
      op.push_back(static_cast<char>(kRemove));
      store::PutVarint64(op, before->doc & kLowMask);
      batch.Merge(store::Cf::kPostings, BlockKey(i->first, before->doc >> kBlockBits), op);
      Df(batch, i->first, -1);
      ++i;
    } else if (take_new) {  // term added
      std::string op(1, kOpsTag);
      PutAdd(op, after->doc, j->second, *after);
      batch.Merge(store::Cf::kPostings, BlockKey(j->first, after->doc >> kBlockBits), op);
      Df(batch, j->first, +1);
      ++j;
    } else {  // in both: rewrite only if something it carries changed
      if (!(same_doc_fields && i->second == j->second && before->doc == after->doc)) {
        std::string op(1, kOpsTag);
        PutAdd(op, after->doc, j->second, *after);
        batch.Merge(store::Cf::kPostings, BlockKey(j->first, after->doc >> kBlockBits), op);
      }
      ++i;
      ++j;
    }
  }
  CorpusDelta delta;
  if (before) delta.docs -= 1, delta.length -= before->length;
  if (after) delta.docs += 1, delta.length += after->length;
  return delta;
}

std::shared_ptr<const store::MergeOperator> PostingsMergeOperator() {
  static const auto op = std::make_shared<PostingsMerge>();
  return op;
}

absl::Status DecodeBlock(std::string_view value, uint64_t block, std::vector<Posting>* out) {
  // The hot path of every query: straight into Posting, no intermediate copy.
  if (value.empty() || value.front() != kBlockTag) return absl::DataLossError("corrupt postings block");
  store::Decoder d(value.substr(1));
  const uint64_t n = d.Count();
  out->resize(n);
  const uint64_t base = block << kBlockBits;
  uint32_t low = 0;
  for (Posting& p : *out) {
    low += d.Varint32();
    p.doc = base | low;
    p.tf = d.Varint32();
    p.length = d.Varint32();
    p.kind = static_cast<EvidenceKind>(d.Byte());
    p.day = d.Varint32();
  }
  if (!d.ok() || !d.done()) return absl::DataLossError("corrupt postings block");
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ReadDf(const store::Reader& reader, std::string_view term) {
  std::string value;
  absl::StatusOr<bool> found = reader.Get(store::Cf::kPostings, DfKey(term), &value);
  if (!found.ok()) return found.status();
  if (!*found) return 0;
  store::Decoder d(std::string_view(value).substr(1));
  const int64_t n = d.Varsint64();
  if (value.front() != kCountTag || !d.ok()) return absl::DataLossError("corrupt document frequency");
  return n > 0 ? static_cast<uint64_t>(n) : 0;
}

}  // namespace tessera::index
