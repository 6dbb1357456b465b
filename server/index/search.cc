#include "server/index/search.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <queue>

#include "server/store/coding.h"
#include "server/store/store.h"

namespace tessera::index {
namespace {

// Walks one term's postings in document order, a block at a time.
class Cursor {
 public:
  Cursor(const store::Reader& reader, const std::string& term, SearchStats& stats)
      : it_(reader.NewIterator(store::Cf::kPostings)), prefix_(term + '\0'), stats_(stats) {}

  absl::Status Start() {
    it_->Seek(prefix_);
    return Load();
  }
  bool valid() const { return pos_ < block_.size(); }
  const Posting& cur() const { return block_[pos_]; }

  absl::Status Next() {
    if (++pos_ < block_.size()) return absl::OkStatus();
    it_->Next();
    return Load();
  }

  // Moves to the first posting at or after `doc`.
  absl::Status SeekTo(uint64_t doc) {
    if (!valid() || cur().doc >= doc) return absl::OkStatus();
    if (doc > block_.back().doc) {
      const uint64_t block = doc >> kBlockBits;
      if (block > block_no_) {
        std::string key = prefix_;
        store::PutFixed64BE(key, block);
        it_->Seek(key);
      } else {
        it_->Next();
      }
      if (absl::Status s = Load(); !s.ok() || !valid()) return s;
      if (cur().doc >= doc) return absl::OkStatus();
      if (doc > block_.back().doc) return SeekTo(doc);  // at most once more: next block
    }
    pos_ = static_cast<size_t>(std::lower_bound(block_.begin() + pos_, block_.end(), doc,
                                                [](const Posting& p, uint64_t d) { return p.doc < d; }) -
                               block_.begin());
    return absl::OkStatus();
  }

 private:
  // Decodes blocks from the iterator until a non-empty one or the end of the term.
  absl::Status Load() {
    for (; it_->Valid() && store::HasPrefix(it_->key(), prefix_); it_->Next()) {
      std::string_view key = it_->key();
      if (key.size() != prefix_.size() + 8) return absl::DataLossError("corrupt postings key");
      block_no_ = store::DecodeFixed64BE(key.data() + prefix_.size());
      if (absl::Status s = DecodeBlock(it_->value(), block_no_, &block_); !s.ok()) return s;
      pos_ = 0;
      stats_.postings_read += block_.size();
      if (!block_.empty()) return absl::OkStatus();
    }
    block_.clear();
    pos_ = 0;
    return it_->status();
  }

  std::unique_ptr<store::Iterator> it_;
  std::string prefix_;
  SearchStats& stats_;
  std::vector<Posting> block_;
  size_t pos_ = 0;
  uint64_t block_no_ = 0;
};

struct Worse {  // heap order: the worst of the kept documents on top
  bool operator()(const ScoredDoc& a, const ScoredDoc& b) const {
    return a.score != b.score ? a.score > b.score : a.doc < b.doc;
  }
};

}  // namespace

absl::StatusOr<std::vector<ScoredDoc>> TopK(const store::Reader& reader, const std::vector<std::string>& terms,
                                            const SearchParams& p, SearchStats* stats_out) {
  SearchStats stats;
  const double n = static_cast<double>(p.docs);
  const double max_kind = *std::max_element(p.kind_weight.begin(), p.kind_weight.end());
  struct Term {
    uint16_t index;
    double idf, bound;
    std::unique_ptr<Cursor> cursor;
  };
  std::vector<Term> ts;
  if (terms.size() > kMaxQueryTerms) return absl::InvalidArgumentError("too many query terms");
  for (size_t i = 0; i < terms.size(); ++i) {
    absl::StatusOr<uint64_t> df = ReadDf(reader, terms[i]);
    if (!df.ok()) return df.status();
    if (*df == 0) continue;
    const double idf = std::log(1 + (n - static_cast<double>(*df) + 0.5) / (static_cast<double>(*df) + 0.5));
    auto cursor = std::make_unique<Cursor>(reader, terms[i], stats);
    if (absl::Status s = cursor->Start(); !s.ok()) return s;
    if (cursor->valid()) ts.push_back({static_cast<uint16_t>(i), idf, idf * (p.k1 + 1) * max_kind, std::move(cursor)});
  }
  // Weakest first. cum[i] bounds the score terms 0..i can give any document together;
  // cum_raw[i] the same before the document's kind and recency factor.
  std::sort(ts.begin(), ts.end(), [](const Term& a, const Term& b) { return a.bound < b.bound; });
  std::vector<double> cum(ts.size()), cum_raw(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    cum[i] = (i ? cum[i - 1] : 0) + ts[i].bound;
    cum_raw[i] = (i ? cum_raw[i - 1] : 0) + ts[i].idf * (p.k1 + 1);
  }

  auto contribution = [&](const Term& t, const Posting& post) {
    const double tf = post.tf;
    return t.idf * tf * (p.k1 + 1) / (tf + p.k1 * (1 - p.b + p.b * post.length / p.avg_length));
  };
  auto factor = [&](const Posting& post) {
    double f = p.kind_weight[static_cast<size_t>(post.kind) < p.kind_weight.size() ? static_cast<size_t>(post.kind) : 0];
    if (p.recency_tau_days > 0 && p.today > post.day) f *= std::exp(-static_cast<double>(p.today - post.day) / p.recency_tau_days);
    return f;
  };

  std::priority_queue<ScoredDoc, std::vector<ScoredDoc>, Worse> heap;
  double threshold = 0;
  size_t first_essential = 0;  // terms below it are non-essential
  while (true) {
    uint64_t doc = UINT64_MAX;
    const Posting* any = nullptr;
    for (size_t i = first_essential; i < ts.size(); ++i) {
      if (ts[i].cursor->valid() && ts[i].cursor->cur().doc < doc) doc = ts[i].cursor->cur().doc, any = &ts[i].cursor->cur();
    }
    if (any == nullptr) break;
    if (p.today > 0 && any->day > p.today) {
      // Evidence dated after "now" did not exist yet (an evaluation asking as of a past date).
      for (size_t i = first_essential; i < ts.size(); ++i) {
        Cursor& c = *ts[i].cursor;
        if (c.valid() && c.cur().doc == doc) {
          if (absl::Status s = c.Next(); !s.ok()) return s;
        }
      }
      continue;
    }
    ++stats.docs_scored;
    const double f = factor(*any);
    double raw = 0;
    ScoredDoc scored{doc, 0, 0};
    for (size_t i = first_essential; i < ts.size(); ++i) {
      Cursor& c = *ts[i].cursor;
      if (!c.valid() || c.cur().doc != doc) continue;
      raw += contribution(ts[i], c.cur());
      scored.terms |= 1ull << ts[i].index;
      if (absl::Status s = c.Next(); !s.ok()) return s;
    }
    bool dropped = false;
    for (size_t i = first_essential; i-- > 0;) {
      if ((raw + cum_raw[i]) * f <= threshold) {
        dropped = true;
        break;
      }
      Cursor& c = *ts[i].cursor;
      if (absl::Status s = c.SeekTo(doc); !s.ok()) return s;
      if (c.valid() && c.cur().doc == doc) {
        raw += contribution(ts[i], c.cur());
        scored.terms |= 1ull << ts[i].index;
      }
    }
    scored.score = raw * f;
    if (dropped || (heap.size() == p.k && scored.score <= threshold)) continue;
    heap.push(std::move(scored));
    if (heap.size() > p.k) heap.pop();
    if (heap.size() == p.k) {
      threshold = heap.top().score;
      while (first_essential < ts.size() && cum[first_essential] <= threshold) ++first_essential;
    }
  }
  std::vector<ScoredDoc> out;
  out.reserve(heap.size());
  for (; !heap.empty(); heap.pop()) out.push_back(heap.top());
  std::reverse(out.begin(), out.end());
  if (stats_out != nullptr) *stats_out = stats;
  return out;
}

}  // namespace tessera::index
