#include "server/index/search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <queue>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "server/store/coding.h"
#include "server/store/store.h"

namespace tessera::index {
namespace {

// Walks one term's postings of one epoch in document order. A block's header is read
// when the cursor reaches it; its documents are decoded only if the block is searched.
class Cursor {
 public:
  Cursor(const store::Reader& reader, const std::string& term, SearchStats& stats)
      : it_(reader.NewIterator(store::Cf::kPostings)), term_(term), stats_(stats) {}

  // Puts the cursor on the term's first block in `epoch`.
  absl::Status StartEpoch(uint64_t epoch) {
    prefix_ = BlockPrefix(term_, epoch);
    return SeekBlock(0);
  }
  // Whether the cursor is on a block (false: the term's postings in the epoch are
  // exhausted).
  bool valid() const { return has_block_; }
  uint64_t block() const { return block_no_; }
  const BlockView& view() const { return view_; }

  // The current posting's document; decodes the block on first use. Its other fields
  // are fields().tf(pos()) and so on.
  uint64_t doc() { return Docs()[pos_]; }
  const BlockView& fields() const { return view_; }
  size_t pos() const { return pos_; }

  // The current block's document ids, decoded on first use.
  const std::vector<uint64_t>& docs() { return Docs(); }
  // Moves to posting `pos` of the current block, or past the block when it is size().
  absl::Status MoveTo(size_t pos) {
    pos_ = pos;
    return pos_ < view_.size() ? absl::OkStatus() : NextBlock();
  }
  absl::Status NextBlock() {
    it_->Next();
    return Load();
  }

  // Moves to the first posting of block `block` or, if it has none, of the next one.
  absl::Status SeekBlock(uint64_t block) {
    key_ = prefix_;
    store::PutFixed64BE(key_, block);
    it_->Seek(key_);
    return Load();
  }

  // Moves forward to the first posting at or after `doc`.
  absl::Status SeekTo(uint64_t doc) {
    while (has_block_) {
      const uint64_t target_block = doc >> kBlockBits;
      if (block_no_ < target_block) {
        if (absl::Status s = SeekBlock(target_block); !s.ok()) return s;
        continue;
      }
      if (block_no_ > target_block) return absl::OkStatus();  // first posting of a later block
      const std::vector<uint64_t>& docs = Docs();
      if (docs.back() < doc) {
        if (absl::Status s = NextBlock(); !s.ok()) return s;
        continue;
      }
      pos_ = static_cast<size_t>(std::lower_bound(docs.begin() + pos_, docs.end(), doc) -
                                 docs.begin());
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

  // Reads the header of the block under the iterator, skipping empty ones, while the
  // iterator is on the term's keys in the epoch.
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
  std::string term_;
  std::string prefix_;  // BlockPrefix(term_, the epoch)
  std::string key_;     // SeekBlock's key, kept to reuse its buffer
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
  explicit Scorer(const SearchParams& p) : p_(p) {
    for (uint32_t len = 0; len < norm_.size(); ++len) norm_[len] = Norm(len);
  }

  double Contribution(const Term& t, uint32_t tf, uint32_t length) const {
    const double norm = length < norm_.size() ? norm_[length] : Norm(length);
    return t.idf * (p_.k1 + 1) * tf / (tf + norm);
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
  // The largest kind weight × recency of any document dated `day` or earlier.
  double MaxFactor(uint32_t day) const {
    return *std::max_element(p_.kind_weight.begin(), p_.kind_weight.end()) * Recency(day);
  }
  // The best score `t` can give any document of the cursor's current block.
  double BlockBound(const Term& t) const {
    const BlockView& v = t.cursor->view();
    return Contribution(t, v.max_tf(), v.min_length()) * BlockFactor(t);
  }

 private:
  double Weight(size_t k) const { return p_.kind_weight[k < p_.kind_weight.size() ? k : 0]; }
  // exp() or pow() per scored document showed in profiles; a query meets few distinct days in
  // a row (an epoch spans 128), so a small direct-mapped memo answers most.
  double Recency(uint32_t day) const {
    if (p_.recency_tau_days <= 0 || p_.today <= day) return 1;
    auto& [memo_day, value] = memo_[day % memo_.size()];
    if (memo_day != day) {
      memo_day = day;
      const double age = static_cast<double>(p_.today - day) / p_.recency_tau_days;
      value = p_.recency_power > 0 ? std::pow(1 + age, -p_.recency_power) : std::exp(-age);
    }
    return value;
  }
  // k1 · (1 − b + b·len/avglen), tabled for common lengths.
  double Norm(uint32_t length) const { return p_.k1 * (1 - p_.b + p_.b * length / p_.avg_length); }

  const SearchParams& p_;
  std::array<double, 1024> norm_;
  mutable std::array<std::pair<uint32_t, double>, 256> memo_ = MemoInit();
  static std::array<std::pair<uint32_t, double>, 256> MemoInit() {
    std::array<std::pair<uint32_t, double>, 256> m;
    m.fill({UINT32_MAX, 0});
    return m;
  }
};

// Block-max MaxScore over `ts` (weakest bound first), a block at a time.
class Search {
 public:
  Search(std::vector<Term>& ts, const SearchParams& p, SearchStats& stats)
      : ts_(ts), p_(p), scorer_(p), stats_(stats), cum_(ts.size()), cum_raw_(ts.size()) {
    for (size_t i = 0; i < ts_.size(); ++i) {
      cum_[i] = (i ? cum_[i - 1] : 0) + ts_[i].bound;
      cum_raw_[i] = (i ? cum_raw_[i - 1] : 0) + ts_[i].idf * (p_.k1 + 1);
    }
  }
  ~Search() { Pool().Give(std::move(acc_)); }
  Search(const Search&) = delete;
  Search& operator=(const Search&) = delete;

  // Epochs are searched from the newest back (recent evidence scores highest), so the
  // k-th score is high early: an epoch whose recency bound, with every term at its
  // best, cannot beat it ends the search, as every older epoch's bound is lower still.
  // Each epoch visited costs one seek per term.
  absl::StatusOr<std::vector<ScoredDoc>> Run(const std::vector<uint64_t>& epochs) {
    for (auto e = epochs.rbegin(); e != epochs.rend() && !ts_.empty(); ++e) {
      const uint64_t last_day = LastDayOf(*e);
      const double bound =
          cum_raw_.back() * scorer_.MaxFactor(static_cast<uint32_t>(std::min<uint64_t>(
                                last_day, std::numeric_limits<uint32_t>::max())));
      if (heap_.size() == p_.k && bound <= threshold_) {
        stats_.epochs_skipped += static_cast<uint64_t>(epochs.rend() - e);
        break;
      }
      for (Term& t : ts_) {
        if (absl::Status s = t.cursor->StartEpoch(*e); !s.ok()) return s;
      }
      if (absl::Status s = Pass(); !s.ok()) return s;
    }
    std::vector<ScoredDoc> out;
    for (; !heap_.empty(); heap_.pop()) out.push_back(heap_.top());
    std::reverse(out.begin(), out.end());
    return out;
  }

 private:
  // Searches the epoch the cursors are in.
  absl::Status Pass() {
    while (true) {
      // The next block holding an essential term's posting.
      uint64_t block = UINT64_MAX;
      for (size_t i = first_essential_; i < ts_.size(); ++i) {
        if (ts_[i].cursor->valid()) block = std::min(block, ts_[i].cursor->block());
      }
      if (block == UINT64_MAX) break;
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

  // Scores the documents of `block` found through the essential terms, a block at a
  // time: each essential term's postings in the block are added into per-document
  // accumulators (a tight loop over one decoded array), then the documents touched
  // are finished in id order, each against the non-essential terms while it can still
  // make the top k.
  //
  // Within the block, the essential/non-essential split is redone with the block's
  // best kind weight × recency: in an old block more of the weak terms cannot make a
  // document on their own, so they only score documents the others found, and their
  // postings there are not walked.
  absl::Status SearchBlock(uint64_t block) {
    const uint64_t base = block << kBlockBits;
    double factor = 0;
    for (size_t i = first_essential_; i < ts_.size(); ++i) {
      if (ts_[i].cursor->valid() && ts_[i].cursor->block() == block) {
        factor = std::max(factor, scorer_.BlockFactor(ts_[i]));
      }
    }
    size_t local_first = first_essential_;
    if (heap_.size() == p_.k) {
      while (local_first < ts_.size() && cum_raw_[local_first] * factor <= threshold_)
        ++local_first;
    }
    Accumulators& acc = *acc_;
    for (size_t i = local_first; i < ts_.size(); ++i) {
      Cursor& c = *ts_[i].cursor;
      if (!c.valid() || c.block() != block) continue;
      const Term& t = ts_[i];
      const BlockView& v = c.fields();
      const std::vector<uint64_t>& docs = c.docs();
      const uint64_t bit = 1ull << t.index;
      size_t pos = c.pos();
      for (; pos < docs.size(); ++pos) {
        Accumulators::Slot& slot =
            acc.At(static_cast<uint32_t>(docs[pos] - base), v.kind(pos), v.day(pos));
        slot.raw += scorer_.Contribution(t, v.tf(pos), v.length(pos));
        slot.terms |= bit;
      }
      if (absl::Status s = c.MoveTo(pos); !s.ok()) return s;
    }
    // A document whose sum, with every weaker term's bound, cannot beat the k-th score
    // even at the block's best kind weight × recency is dropped without computing its own.
    const double weaker = local_first > 0 ? cum_raw_[local_first - 1] : 0;
    absl::Status status;
    acc.ForEach([&](uint32_t offset, const Accumulators::Slot& slot) {
      if (!status.ok() || (heap_.size() == p_.k && (slot.raw + weaker) * factor <= threshold_))
        return;
      status = Finish(base + offset, block, local_first, slot.raw, slot.terms, slot.kind, slot.day);
    });
    if (!status.ok()) return status;
    // The terms that were non-essential in this block only: past it.
    for (size_t i = first_essential_; i < local_first; ++i) {
      Cursor& c = *ts_[i].cursor;
      if (c.valid() && c.block() == block) {
        if (absl::Status s = c.NextBlock(); !s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }

  // Completes document `doc` of `block`: `raw` and `terms` from the terms at and above
  // `local_first`, then the weaker terms, strongest first, while it can still make it.
  absl::Status Finish(uint64_t doc, uint64_t block, size_t local_first, double raw, uint64_t terms,
                      EvidenceKind kind, uint32_t day) {
    if (p_.today > 0 && day > p_.today) return absl::OkStatus();  // evidence after "now": skipped
    ++stats_.docs_scored;
    const double factor = scorer_.Factor(kind, day);
    for (size_t i = local_first; i-- > 0;) {
      if ((raw + cum_raw_[i]) * factor <= threshold_) return absl::OkStatus();
      Cursor& c = *ts_[i].cursor;
      if (absl::Status s = c.SeekTo(doc); !s.ok()) return s;
      if (c.valid() && c.block() == block && c.doc() == doc) {
        raw += scorer_.Contribution(ts_[i], c.fields().tf(c.pos()), c.fields().length(c.pos()));
        terms |= 1ull << ts_[i].index;
      }
    }
    const double score = raw * factor;
    if (heap_.size() == p_.k && score <= threshold_) return absl::OkStatus();
    heap_.push({doc, score, terms});
    if (heap_.size() > p_.k) heap_.pop();
    if (heap_.size() == p_.k) {
      threshold_ = heap_.top().score;
      while (first_essential_ < ts_.size() && cum_[first_essential_] <= threshold_)
        ++first_essential_;
    }
    return absl::OkStatus();
  }

  // Per-document sums for the block being searched, indexed by the document's offset in
  // it; only the entries touched are reset.
  struct Accumulators {
    struct Slot {
      double raw;
      uint64_t terms;
      uint32_t day;
      EvidenceKind kind;
    };
    static constexpr size_t kSlots = size_t{1} << kBlockBits;
    // Indexed by Index(offset): most documents are a fragment's first evidence item
    // (ordinal 0), whose slots are then adjacent rather than 64 apart. Left
    // uninitialised (At writes a slot on its first use in a block), so only the pages of
    // slots in use become resident: ~100 KiB of the 6 MiB when most documents are
    // ordinal 0.
    std::unique_ptr<Slot[]> slots{new Slot[kSlots]};
    // Which slots are in use: a bitset, and a bitset of its non-zero words (document ids
    // are sparse, (fragment << 6) | ordinal, so most words are zero and are not visited).
    std::vector<uint64_t> touched = std::vector<uint64_t>(kSlots / 64);
    std::vector<uint64_t> words = std::vector<uint64_t>(kSlots / 64 / 64);

    static uint32_t Index(uint32_t offset) {
      constexpr uint32_t kOrdinalMask = (1u << kOrdinalBits) - 1;
      return offset >> kOrdinalBits | (offset & kOrdinalMask) << (kBlockBits - kOrdinalBits);
    }
    // The slot of `offset`, zeroed on its first use in the block.
    Slot& At(uint32_t offset, EvidenceKind kind, uint32_t day) {
      uint64_t& word = touched[offset >> 6];
      const uint64_t bit = 1ull << (offset & 63);
      Slot& s = slots[Index(offset)];
      if ((word & bit) == 0) {
        word |= bit;
        words[offset >> 12] |= 1ull << (offset >> 6 & 63);
        s = {0, 0, day, kind};
      }
      return s;
    }
    // Calls f(offset, slot) for each touched slot in increasing order, clearing them.
    template <typename F>
    void ForEach(F f) {
      for (size_t x = 0; x < words.size(); ++x) {
        for (uint64_t ws = words[x]; ws != 0; ws &= ws - 1) {
          const size_t w = x * 64 + static_cast<unsigned>(__builtin_ctzll(ws));
          for (uint64_t bits = touched[w]; bits != 0; bits &= bits - 1) {
            const auto offset =
                static_cast<uint32_t>(w * 64 + static_cast<unsigned>(__builtin_ctzll(bits)));
            f(offset, slots[Index(offset)]);
          }
          touched[w] = 0;
        }
        words[x] = 0;
      }
    }
    void Clear() {
      std::fill(touched.begin(), touched.end(), 0);
      std::fill(words.begin(), words.end(), 0);
    }
  };

  std::vector<Term>& ts_;
  const SearchParams& p_;
  const Scorer scorer_;
  SearchStats& stats_;
  std::vector<double> cum_, cum_raw_;  // bounds of terms 0..i together (with, without factor)
  std::priority_queue<ScoredDoc, std::vector<ScoredDoc>, Worse> heap_;
  double threshold_ = 0;
  size_t first_essential_ = 0;  // terms below it are non-essential
  // Lent by the pool for the query, returned by the destructor.
  std::unique_ptr<Accumulators> acc_ = Pool().Take();
  // Accumulators reused by later queries, so their pages stay resident rather than
  // being faulted in per query. A few are kept, however many threads have run
  // queries (gRPC's sync server starts and ends threads as load varies, and one set
  // per thread held up to 6 MiB for each thread that ever searched); queries beyond
  // that run concurrently on sets of their own, freed afterwards.
  class AccumulatorPool {
   public:
    std::unique_ptr<Accumulators> Take() {
      {
        absl::MutexLock l(&mu_);
        if (!free_.empty()) {
          std::unique_ptr<Accumulators> a = std::move(free_.back());
          free_.pop_back();
          return a;
        }
      }
      return std::make_unique<Accumulators>();
    }
    void Give(std::unique_ptr<Accumulators> a) {
      if (a == nullptr) return;
      a->Clear();
      absl::MutexLock l(&mu_);
      if (free_.size() < kKept) free_.push_back(std::move(a));
    }

   private:
    static constexpr size_t kKept = 4;
    absl::Mutex mu_;
    std::vector<std::unique_ptr<Accumulators>> free_ ABSL_GUARDED_BY(mu_);
  };
  static AccumulatorPool& Pool() {
    static AccumulatorPool* const kPool = new AccumulatorPool();
    return *kPool;
  }
};

}  // namespace

absl::StatusOr<std::vector<ScoredDoc>> TopK(const store::Reader& reader,
                                            const std::vector<std::string>& terms,
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
    const double weight = i < p.term_weight.size() ? p.term_weight[i] : 1.0;
    const double idf = weight * std::log(1 + (n - static_cast<double>(*df) + 0.5) /
                                                 (static_cast<double>(*df) + 0.5));
    ts.push_back({static_cast<uint16_t>(i), idf, idf * (p.k1 + 1) * max_kind,
                  std::make_unique<Cursor>(reader, terms[i], stats)});
  }
  std::sort(ts.begin(), ts.end(), [](const Term& a, const Term& b) { return a.bound < b.bound; });
  absl::StatusOr<std::vector<uint64_t>> epochs = std::vector<uint64_t>();
  if (!ts.empty()) epochs = ReadEpochs(reader);
  if (!epochs.ok()) return epochs.status();
  absl::StatusOr<std::vector<ScoredDoc>> out = Search(ts, p, stats).Run(*epochs);
  if (stats_out != nullptr) *stats_out = stats;
  return out;
}

}  // namespace tessera::index
