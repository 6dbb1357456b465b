#include "server/index/search.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <queue>

#include "server/store/coding.h"
#include "server/store/store.h"

namespace tessera::index {
namespace {

// Walks one term's postings in document order. A block's header is read when the
// cursor reaches it; its documents are decoded only if the block is searched.
class Cursor {
 public:
  Cursor(const store::Reader& reader, const std::string& term, SearchStats& stats)
      : it_(reader.NewIterator(store::Cf::kPostings)), prefix_(term + '\0'), stats_(stats) {}

  absl::Status Start() {
    it_->Seek(prefix_);
    return Load();
  }
  // Whether the cursor is on a block (false: the term's postings are exhausted).
  bool valid() const { return has_block_; }
  uint64_t block() const { return block_no_; }
  const BlockView& view() const { return view_; }

  // The current posting's document; decodes the block on first use. Its other fields
  // are fields().tf(pos()) and so on.
  uint64_t doc() { return Docs()[pos_]; }
  const BlockView& fields() const { return view_; }
  size_t pos() const { return pos_; }

  absl::Status Next() {
    if (++pos_ < view_.size()) return absl::OkStatus();
    return NextBlock();
  }
  absl::Status NextBlock() {
    it_->Next();
    return Load();
  }

  // Moves to the first posting at or after `doc`.
  absl::Status SeekTo(uint64_t doc) {
    while (has_block_) {
      const uint64_t target_block = doc >> kBlockBits;
      if (block_no_ < target_block) {
        std::string key = prefix_;
        store::PutFixed64BE(key, target_block);
        it_->Seek(key);
        if (absl::Status s = Load(); !s.ok()) return s;
        continue;
      }
      if (block_no_ > target_block) return absl::OkStatus();  // first posting of a later block
      const std::vector<uint64_t>& docs = Docs();
      if (docs.back() < doc) {
        if (absl::Status s = NextBlock(); !s.ok()) return s;
        continue;
      }
      pos_ = static_cast<size_t>(std::lower_bound(docs.begin() + pos_, docs.end(), doc) - docs.begin());
      return absl::OkStatus();
    }
    return absl::OkStatus();
  }

 private:
  const std::vector<uint64_t>& Docs() {
    if (!decoded_) {
      decoded_ = true;
      stats_.postings_read += view_.size();
    }
    return view_.docs();
  }

  // Reads the header of the block under the iterator, skipping empty ones.
  absl::Status Load() {
    for (; it_->Valid() && store::HasPrefix(it_->key(), prefix_); it_->Next()) {
      std::string_view key = it_->key();
      if (key.size() != prefix_.size() + 8) return absl::DataLossError("corrupt postings key");
      block_no_ = store::DecodeFixed64BE(key.data() + prefix_.size());
      // The view borrows the iterator's value, valid until the iterator moves; the
      // cursor reads a block's postings only while it is on that block.
      if (absl::Status s = view_.Parse(it_->value(), block_no_); !s.ok()) return s;
      pos_ = 0;
      decoded_ = false;
      if (view_.size() > 0) return has_block_ = true, absl::OkStatus();
    }
    has_block_ = false;
    return it_->status();
  }

  std::unique_ptr<store::Iterator> it_;
  std::string prefix_;
  SearchStats& stats_;
  BlockView view_;
  bool has_block_ = false, decoded_ = false;
  size_t pos_ = 0;
  uint64_t block_no_ = 0;
};

struct Worse {  // heap order: the worst of the kept documents on top
  bool operator()(const ScoredDoc& a, const ScoredDoc& b) const {
    return a.score != b.score ? a.score > b.score : a.doc < b.doc;
  }
};

struct Term {
  uint16_t index;
  double idf, bound;
  std::unique_ptr<Cursor> cursor;
};

// The scoring formula and its bounds.
class Scorer {
 public:
  explicit Scorer(const SearchParams& p) : p_(p) {}

  double Contribution(const Term& t, uint32_t tf, uint32_t length) const {
    return t.idf * tf * (p_.k1 + 1) / (tf + p_.k1 * (1 - p_.b + p_.b * length / p_.avg_length));
  }
  double Factor(EvidenceKind kind, uint32_t day) const {
    const size_t k = static_cast<size_t>(kind);
    return Weight(k) * Recency(day);
  }
  // The largest kind weight × recency of any document of the cursor's current block.
  double BlockFactor(const Term& t) const {
    const BlockView& v = t.cursor->view();
    double w = 0;
    for (size_t k = 0; k < kEvidenceKinds; ++k) {
      if (v.kinds() >> k & 1) w = std::max(w, Weight(k));
    }
    return w * Recency(v.max_day());
  }
  // The best score `t` can give any document of the cursor's current block.
  double BlockBound(const Term& t) const {
    const BlockView& v = t.cursor->view();
    return Contribution(t, v.max_tf(), v.min_length()) * BlockFactor(t);
  }

 private:
  double Weight(size_t k) const { return p_.kind_weight[k < p_.kind_weight.size() ? k : 0]; }
  // exp() per scored document showed in profiles; a query meets few distinct days in
  // a row (documents arrive in time order), so a small direct-mapped memo answers most.
  double Recency(uint32_t day) const {
    if (p_.recency_tau_days <= 0 || p_.today <= day) return 1;
    auto& [memo_day, value] = memo_[day % memo_.size()];
    if (memo_day != day) {
      memo_day = day;
      value = std::exp(-static_cast<double>(p_.today - day) / p_.recency_tau_days);
    }
    return value;
  }
  const SearchParams& p_;
  mutable std::array<std::pair<uint32_t, double>, 256> memo_ = MemoInit();
  static std::array<std::pair<uint32_t, double>, 256> MemoInit() {
    std::array<std::pair<uint32_t, double>, 256> m;
    m.fill({UINT32_MAX, 0});
    return m;
  }
};

// Document-at-a-time block-max MaxScore over `ts` (weakest bound first).
class Search {
 public:
  Search(std::vector<Term>& ts, const SearchParams& p, SearchStats& stats)
      : ts_(ts), p_(p), scorer_(p), stats_(stats), cum_(ts.size()), cum_raw_(ts.size()) {
    for (size_t i = 0; i < ts_.size(); ++i) {
      cum_[i] = (i ? cum_[i - 1] : 0) + ts_[i].bound;
      cum_raw_[i] = (i ? cum_raw_[i - 1] : 0) + ts_[i].idf * (p_.k1 + 1);
    }
  }

  // Documents are numbered in arrival order, so the newest come last. Searching the
  // newest eighth first fills the top k with strong (recent) documents at once; the
  // rest is then searched with a high threshold, which skips old blocks whole.
  absl::StatusOr<std::vector<ScoredDoc>> Run() {
    const uint64_t seed = (p_.max_doc - p_.max_doc / 8) >> kBlockBits << kBlockBits;  // a block boundary
    if (p_.max_doc > 0 && seed > 0) {
      for (Term& t : ts_) {
        if (absl::Status s = t.cursor->SeekTo(seed); !s.ok()) return s;
      }
      if (absl::Status s = Pass(UINT64_MAX); !s.ok()) return s;
      for (Term& t : ts_) {
        if (absl::Status s = t.cursor->Start(); !s.ok()) return s;
      }
      if (absl::Status s = Pass(seed); !s.ok()) return s;
    } else if (absl::Status s = Pass(UINT64_MAX); !s.ok()) {
      return s;
    }
    std::vector<ScoredDoc> out;
    for (; !heap_.empty(); heap_.pop()) out.push_back(heap_.top());
    std::reverse(out.begin(), out.end());
    return out;
  }

 private:
  // Searches documents below `end`.
  absl::Status Pass(uint64_t end) {
    end_ = end;
    while (true) {
      // The next block holding an essential term's posting.
      uint64_t block = UINT64_MAX;
      for (size_t i = first_essential_; i < ts_.size(); ++i) {
        if (ts_[i].cursor->valid()) block = std::min(block, ts_[i].cursor->block());
      }
      if (block == UINT64_MAX || (block << kBlockBits) >= end_) break;
      if (absl::StatusOr<bool> skipped = SkipBlock(block); !skipped.ok()) {
        return skipped.status();
      } else if (*skipped) {
        continue;
      }
      if (absl::Status s = SearchBlock(block); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // Skips `block` when its essential terms' block bounds plus every non-essential
  // term's bound cannot beat the k-th score.
  //
  // Every document searched in the block comes through an essential cursor, so its kind
  // weight and recency are at most the best of those cursors' block headers: the
  // non-essential terms' bounds are scaled by that too. Old blocks then fall below the
  // threshold even when many weak terms are non-essential.
  absl::StatusOr<bool> SkipBlock(uint64_t block) {
    if (heap_.size() < p_.k) return false;
    double bound = 0, factor = 0;
    for (size_t i = first_essential_; i < ts_.size(); ++i) {
      if (ts_[i].cursor->valid() && ts_[i].cursor->block() == block) {
        bound += scorer_.BlockBound(ts_[i]);
        factor = std::max(factor, scorer_.BlockFactor(ts_[i]));
      }
    }
    if (first_essential_ > 0) bound += cum_raw_[first_essential_ - 1] * factor;
    if (bound > threshold_) return false;
    ++stats_.blocks_skipped;
    for (size_t i = first_essential_; i < ts_.size(); ++i) {
      Cursor& c = *ts_[i].cursor;
      if (c.valid() && c.block() == block) {
        if (absl::Status s = c.NextBlock(); !s.ok()) return s;
      }
    }
    return true;
  }

  // Scores the documents of `block` (below the pass's end) found through the essential
  // terms. The cursors on the block and their current documents sit in small arrays,
  // so finding the next document is a tight loop.
  //
  // Within the block, the essential/non-essential split is redone with the block's
  // best kind weight × recency: in an old block more of the weak terms cannot make a
  // document on their own, so they only score documents the others found, and their
  // postings there are not walked.
  absl::Status SearchBlock(uint64_t block) {
    const uint64_t end = std::min((block + 1) << kBlockBits, end_);
    double factor = 0;
    for (size_t i = first_essential_; i < ts_.size(); ++i) {
      if (ts_[i].cursor->valid() && ts_[i].cursor->block() == block) {
        factor = std::max(factor, scorer_.BlockFactor(ts_[i]));
      }
    }
    local_first_ = first_essential_;
    if (heap_.size() == p_.k) {
      while (local_first_ < ts_.size() && cum_raw_[local_first_] * factor <= threshold_) ++local_first_;
    }
    active_.clear();
    for (size_t i = local_first_; i < ts_.size(); ++i) {
      Cursor& c = *ts_[i].cursor;
      if (c.valid() && c.block() == block) active_.push_back({c.doc(), i});
    }
    while (!active_.empty()) {
      uint64_t doc = UINT64_MAX;
      for (const Active& a : active_) doc = std::min(doc, a.doc);
      if (doc >= end) break;
      if (absl::Status s = Score(doc, block); !s.ok()) return s;
    }
    // The terms that were non-essential in this block only: past it.
    for (size_t i = first_essential_; i < local_first_; ++i) {
      Cursor& c = *ts_[i].cursor;
      if (c.valid() && c.block() == block && (block + 1) << kBlockBits <= end_) {
        if (absl::Status s = c.NextBlock(); !s.ok()) return s;
      }
    }
    local_first_ = 0;
    return absl::OkStatus();
  }

  absl::Status Score(uint64_t doc, uint64_t block) {
    const Active* first = nullptr;
    for (const Active& a : active_) {
      if (a.doc == doc) first = &a;
    }
    const Cursor& fc = *ts_[first->term].cursor;
    const EvidenceKind kind = fc.fields().kind(fc.pos());
    const uint32_t day = fc.fields().day(fc.pos());
    const bool future = p_.today > 0 && day > p_.today;  // evidence after "now": skipped
    if (!future) ++stats_.docs_scored;
    const double factor = future ? 0 : scorer_.Factor(kind, day);
    double raw = 0;
    ScoredDoc scored{doc, 0, 0};
    for (size_t j = 0; j < active_.size();) {
      Active& a = active_[j];
      if (a.doc != doc) {
        ++j;
        continue;
      }
      Cursor& c = *ts_[a.term].cursor;
      raw += scorer_.Contribution(ts_[a.term], c.fields().tf(c.pos()), c.fields().length(c.pos()));
      scored.terms |= 1ull << ts_[a.term].index;
      if (absl::Status s = c.Next(); !s.ok()) return s;
      if (c.valid() && c.block() == block) {
        a.doc = c.doc();
        ++j;
      } else {
        a = active_.back();  // the cursor left the block
        active_.pop_back();
      }
    }
    if (future) return absl::OkStatus();
    // The non-essential terms, strongest first, while the document can still make it
    // (terms that became non-essential during this block are still active: scored).
    for (size_t i = std::max(first_essential_, local_first_); i-- > 0;) {
      if (IsActive(i)) continue;
      if ((raw + cum_raw_[i]) * factor <= threshold_) return absl::OkStatus();
      Cursor& c = *ts_[i].cursor;
      if (absl::Status s = c.SeekTo(doc); !s.ok()) return s;
      if (c.valid() && c.block() == block && c.doc() == doc) {
        raw += scorer_.Contribution(ts_[i], c.fields().tf(c.pos()), c.fields().length(c.pos()));
        scored.terms |= 1ull << ts_[i].index;
      }
    }
    scored.score = raw * factor;
    if (heap_.size() == p_.k && scored.score <= threshold_) return absl::OkStatus();
    heap_.push(scored);
    if (heap_.size() > p_.k) heap_.pop();
    if (heap_.size() == p_.k) {
      threshold_ = heap_.top().score;
      while (first_essential_ < ts_.size() && cum_[first_essential_] <= threshold_) ++first_essential_;
    }
    return absl::OkStatus();
  }

  bool IsActive(size_t term) const {
    for (const Active& a : active_) {
      if (a.term == term) return true;
    }
    return false;
  }

  std::vector<Term>& ts_;
  const SearchParams& p_;
  const Scorer scorer_;
  SearchStats& stats_;
  std::vector<double> cum_, cum_raw_;  // bounds of terms 0..i together (with, without factor)
  std::priority_queue<ScoredDoc, std::vector<ScoredDoc>, Worse> heap_;
  double threshold_ = 0;
  size_t first_essential_ = 0;  // terms below it are non-essential
  size_t local_first_ = 0;      // the same within the block being searched (>= first_essential_)
  uint64_t end_ = UINT64_MAX;   // the current pass searches documents below it
  struct Active {
    uint64_t doc;  // the cursor's current document
    size_t term;   // index into ts_
  };
  std::vector<Active> active_;  // essential cursors on the block being searched
};

}  // namespace

absl::StatusOr<std::vector<ScoredDoc>> TopK(const store::Reader& reader, const std::vector<std::string>& terms,
                                            const SearchParams& p, SearchStats* stats_out) {
  if (terms.size() > kMaxQueryTerms) return absl::InvalidArgumentError("too many query terms");
  SearchStats stats;
  const double n = static_cast<double>(p.docs);
  const double max_kind = *std::max_element(p.kind_weight.begin(), p.kind_weight.end());
  std::vector<Term> ts;
  for (size_t i = 0; i < terms.size(); ++i) {
    absl::StatusOr<uint64_t> df = ReadDf(reader, terms[i]);
    if (!df.ok()) return df.status();
    if (*df == 0) continue;
    const double idf = std::log(1 + (n - static_cast<double>(*df) + 0.5) / (static_cast<double>(*df) + 0.5));
    auto cursor = std::make_unique<Cursor>(reader, terms[i], stats);
    if (absl::Status s = cursor->Start(); !s.ok()) return s;
    if (cursor->valid()) ts.push_back({static_cast<uint16_t>(i), idf, idf * (p.k1 + 1) * max_kind, std::move(cursor)});
  }
  std::sort(ts.begin(), ts.end(), [](const Term& a, const Term& b) { return a.bound < b.bound; });
  absl::StatusOr<std::vector<ScoredDoc>> out = Search(ts, p, stats).Run();
  if (stats_out != nullptr) *stats_out = stats;
  return out;
}

}  // namespace tessera::index
