#define BOOST_TEST_MODULE index
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "server/index/postings.h"
#include "server/index/search.h"
#include "server/store/store.h"
#include "tests/unit/temp_dir.h"

using namespace tessera;
using index::DocTerms;

namespace {

struct IndexFixture {
  IndexFixture() {
    store::StoreOptions o;
    o.block_cache_bytes = 8 << 20;
    o.write_buffer_bytes = 4 << 20;
    o.postings_merge = index::PostingsMergeOperator();
    db = *store::Store::Open(tmp.Sub("db"), o);
  }

  // Replaces (or removes, when terms is empty) document `doc` in the index and in `docs`.
  void Set(store::Batch& b, uint64_t doc, const std::vector<std::string>& terms,
           index::EvidenceKind kind, uint32_t day) {
    auto it = docs.find(doc);
    std::optional<DocTerms> after;
    if (!terms.empty()) after = DocTerms::From(doc, kind, day, terms);
    index::CorpusDelta d = index::UpdatePostings(b, it == docs.end() ? nullptr : &it->second,
                                                 after ? &*after : nullptr);
    n_docs += d.docs;
    total_len += d.length;
    if (after) {
      docs[doc] = *after;
    } else if (it != docs.end()) {
      docs.erase(it);
    }
  }

  index::SearchParams Params(size_t k, double tau, double power = 0) const {
    index::SearchParams p;
    p.k = k;
    p.docs = n_docs;
    p.avg_length = static_cast<double>(total_len) / n_docs;
    p.kind_weight = {1, 1.0, 0.6, 0.8, 0.7, 0.4, 0.3};
    p.recency_tau_days = tau;
    p.recency_power = power;
    p.today = 20000;
    return p;
  }

  // Exhaustive scoring: what TopK must return.
  std::vector<std::pair<uint64_t, double>> BruteForce(const std::vector<std::string>& q,
                                                      const index::SearchParams& p) {
    std::map<std::string, uint64_t> df;
    for (const auto& [id, d] : docs) {
      for (const auto& [t, tf] : d.terms) ++df[t];
    }
    std::vector<std::pair<uint64_t, double>> scored;
    for (const auto& [id, d] : docs) {
      double raw = 0;
      for (const std::string& t : q) {
        auto it = std::lower_bound(d.terms.begin(), d.terms.end(), t,
                                   [](const auto& a, const std::string& b) { return a.first < b; });
        if (it == d.terms.end() || it->first != t) continue;
        const double idf = std::log(1 + (p.docs - df[t] + 0.5) / (df[t] + 0.5));
        raw += idf * it->second * (p.k1 + 1) /
               (it->second + p.k1 * (1 - p.b + p.b * d.length / p.avg_length));
      }
      if (raw == 0 || (p.today > 0 && d.day > p.today)) continue;  // none after "now"
      double f = p.kind_weight[static_cast<size_t>(d.kind)];
      if (p.recency_tau_days > 0 && p.today > d.day) {
        const double age = static_cast<double>(p.today - d.day) / p.recency_tau_days;
        f *= p.recency_power > 0 ? std::pow(1 + age, -p.recency_power) : std::exp(-age);
      }
      scored.emplace_back(id, raw * f);
    }
    std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    if (scored.size() > p.k) scored.resize(p.k);
    return scored;
  }

  testing::TempDir tmp;
  std::unique_ptr<store::Store> db;
  std::map<uint64_t, DocTerms> docs;
  int64_t n_docs = 0, total_len = 0;
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(Postings, IndexFixture)

BOOST_AUTO_TEST_CASE(merges_add_replace_remove_and_count) {
  auto b = db->NewBatch();
  Set(*b, index::DocId(1, 0), {"card", "card", "blocked"}, index::EvidenceKind::kCase, 100);
  Set(*b, index::DocId(2, 0), {"card", "loan"}, index::EvidenceKind::kDocument, 101);
  BOOST_REQUIRE(db->Write(*b).ok());
  b = db->NewBatch();
  Set(*b, index::DocId(1, 0), {"card"}, index::EvidenceKind::kCase, 102);  // new version
  Set(*b, index::DocId(2, 0), {}, index::EvidenceKind::kDocument, 0);      // removed
  BOOST_REQUIRE(db->Write(*b).ok());
  auto snap = db->GetSnapshot();
  BOOST_TEST(*index::ReadDf(*snap, "card") == 1u);
  BOOST_TEST(*index::ReadDf(*snap, "blocked") == 0u);
  BOOST_TEST(*index::ReadDf(*snap, "loan") == 0u);
  std::string value;
  BOOST_REQUIRE(
      *snap->Get(store::Cf::kPostings, index::BlockKey("card", index::EpochOfDay(102), 0), &value));
  std::vector<index::Posting> postings;
  BOOST_REQUIRE(index::DecodeBlock(value, 0, &postings).ok());
  BOOST_REQUIRE(postings.size() == 1u);
  BOOST_TEST(postings[0].doc == index::DocId(1, 0));
  BOOST_TEST(postings[0].tf == 1u);
  BOOST_TEST(postings[0].day == 102u);
  BOOST_TEST(n_docs == 1);
}

// Removed text leaves no key behind once compacted: emptied blocks, frequencies and
// epoch counts are dropped (at the compaction after the one that merged them).
BOOST_AUTO_TEST_CASE(emptied_postings_are_dropped_by_compaction) {
  auto b = db->NewBatch();
  constexpr uint32_t kOld = 100, kNew = kOld + (1 << index::kEpochDayBits);  // two epochs
  Set(*b, index::DocId(1, 0), {"card", "iban"}, index::EvidenceKind::kCase, kNew);
  Set(*b, index::DocId(2, 0), {"card"}, index::EvidenceKind::kCase, kOld);
  BOOST_REQUIRE(db->Write(*b).ok());
  BOOST_REQUIRE(db->CompactAll().ok());
  b = db->NewBatch();
  Set(*b, index::DocId(1, 0), {}, index::EvidenceKind::kCase, 0);
  BOOST_REQUIRE(db->Write(*b).ok());
  auto keys = [&] {
    std::vector<std::string> out;
    auto snap = db->GetSnapshot();
    auto it = snap->NewIterator(store::Cf::kPostings);
    for (it->SeekToFirst(); it->Valid(); it->Next()) out.emplace_back(it->key());
    return out;
  };
  // card: a block in each epoch and a frequency; iban: a block and a frequency; two
  // epoch counts.
  BOOST_TEST(keys().size() == 7u);
  BOOST_TEST(*index::ReadEpochs(*db->GetSnapshot()) ==
             (std::vector<uint64_t>{index::EpochOfDay(kOld)}));
  BOOST_REQUIRE(db->CompactAll().ok());
  BOOST_REQUIRE(db->CompactAll().ok());
  const std::vector<std::string> left = keys();
  BOOST_TEST(left.size() ==
             3u);  // card's block in the old epoch, its frequency, that epoch's count
  for (const std::string& k : left) {
    BOOST_TEST(k.find("iban") == std::string::npos);
    BOOST_TEST(k != index::EpochKey(index::EpochOfDay(kNew)));
  }
  BOOST_TEST(*index::ReadDf(*db->GetSnapshot(), "card") == 1u);
}

// A document whose date moves to another epoch leaves the old one entirely.
BOOST_AUTO_TEST_CASE(a_redated_document_moves_epochs) {
  auto b = db->NewBatch();
  Set(*b, index::DocId(1, 0), {"card", "loan"}, index::EvidenceKind::kCase, 100);
  BOOST_REQUIRE(db->Write(*b).ok());
  b = db->NewBatch();
  constexpr uint32_t kLater = 100 + 2 * (1 << index::kEpochDayBits);
  Set(*b, index::DocId(1, 0), {"card", "loan"}, index::EvidenceKind::kCase, kLater);
  BOOST_REQUIRE(db->Write(*b).ok());
  auto snap = db->GetSnapshot();
  BOOST_TEST(*index::ReadEpochs(*snap) == (std::vector<uint64_t>{index::EpochOfDay(kLater)}));
  for (const char* term : {"card", "loan"}) {
    std::string value;
    std::vector<index::Posting> postings;
    BOOST_REQUIRE(
        *snap->Get(store::Cf::kPostings, index::BlockKey(term, index::EpochOfDay(100), 0), &value));
    BOOST_REQUIRE(index::DecodeBlock(value, 0, &postings).ok());
    BOOST_TEST(postings.empty());
    BOOST_REQUIRE(*snap->Get(store::Cf::kPostings,
                             index::BlockKey(term, index::EpochOfDay(kLater), 0), &value));
    BOOST_REQUIRE(index::DecodeBlock(value, 0, &postings).ok());
    BOOST_REQUIRE_EQUAL(postings.size(), 1u);
    BOOST_TEST(postings[0].day == kLater);
    BOOST_TEST(*index::ReadDf(*snap, term) == 1u);
  }
  index::SearchParams p = Params(5, 365);
  absl::StatusOr<std::vector<index::ScoredDoc>> got = index::TopK(*snap, {"card"}, p);
  BOOST_REQUIRE(got.ok());
  BOOST_TEST(got->size() == 1u);  // found once, in its new epoch
}

// TopK against exhaustive scoring, on documents dated in arrival order (as a
// helpdesk's history is) or shuffled (as after a back-fill).
void CheckTopKIsExhaustive(IndexFixture& f, bool shuffled) {
  std::mt19937_64 rng(shuffled ? 43 : 42);
  // Zipf-like vocabulary so some terms are in most documents and some in few.
  auto word = [&] {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return "w" + std::to_string(static_cast<int>(std::pow(u, 3) * 400));
  };
  // Dates span 16 epochs of postings keys with none in the fifth, and some words are
  // used in one epoch only, so searches meet epochs without the term and gaps.
  // (today is day 20000: Params.)
  constexpr uint32_t kFirstDay = ((20000 >> index::kEpochDayBits) - 16) << index::kEpochDayBits;
  constexpr uint32_t kDays = 16 << index::kEpochDayBits;
  constexpr uint64_t kMaxFno = 3 << (index::kBlockBits - index::kOrdinalBits + 2);  // 12 blocks
  auto epoch_word = [&](uint64_t epoch) {
    return "e" + std::to_string(epoch) + "w" + std::to_string(rng() % 8);
  };
  for (int batch = 0; batch < 6; ++batch) {
    auto b = f.db->NewBatch();
    for (int i = 0; i < 700; ++i) {
      // Ids spread over many blocks; some documents rewritten (and re-dated) or
      // removed later.
      const uint64_t fno = rng() % kMaxFno + 1;
      // In arrival order, days mostly follow the ids, so old blocks are weak under
      // recency decay and their weak terms stop being essential.
      uint32_t day =
          shuffled || rng() % 4 == 0
              ? kFirstDay + static_cast<uint32_t>(rng() % kDays)
              : kFirstDay + static_cast<uint32_t>(fno * (kDays - 20) / kMaxFno + rng() % 20);
      if (index::EpochOfDay(day) == index::EpochOfDay(kFirstDay) + 4)
        day += 1 << index::kEpochDayBits;
      if (rng() % 50 == 0) day = 20000 + rng() % 100;  // dated after "now": never returned
      std::vector<std::string> terms;
      if (rng() % 10 != 0) {
        for (int w = rng() % 30 + 3; w > 0; --w) {
          terms.push_back(rng() % 6 == 0 ? epoch_word(index::EpochOfDay(day)) : word());
        }
      }
      f.Set(*b, index::DocId(fno, rng() % 2), terms, static_cast<index::EvidenceKind>(rng() % 7),
            day);
    }
    BOOST_REQUIRE(f.db->Write(*b).ok());
  }
  auto snap = f.db->GetSnapshot();
  uint64_t skipped = 0, epochs_skipped = 0;
  for (int q = 0; q < 60; ++q) {
    std::set<std::string> uniq;
    for (int w = rng() % 12 + 1; w > 0; --w) {
      uniq.insert(rng() % 4 == 0 ? epoch_word(index::EpochOfDay(kFirstDay) + rng() % 18) : word());
    }
    const std::vector<std::string> query(uniq.begin(), uniq.end());
    const size_t k = q % 3 == 0 ? 5 : q % 3 == 1 ? 50 : 400;
    // No decay, exponential decay, and the power law FindExperts uses by default.
    index::SearchParams p = f.Params(k, q % 4 == 0 ? 0 : 365, q % 4 >= 2 ? 2 : 0);
    index::SearchStats stats;
    absl::StatusOr<std::vector<index::ScoredDoc>> got = index::TopK(*snap, query, p, &stats);
    BOOST_REQUIRE_MESSAGE(got.ok(), got.status());
    const auto want = f.BruteForce(query, p);
    index::SearchParams all = p;
    all.k = f.docs.size();
    std::map<uint64_t, double> exact;
    for (const auto& [doc, score] : f.BruteForce(query, all)) exact[doc] = score;
    BOOST_REQUIRE_EQUAL(got->size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      // The same scores rank by rank; documents may differ only between near-ties,
      // since floating-point sums in another order can differ in the last bits.
      BOOST_TEST(std::abs((*got)[i].score - want[i].second) < 1e-9, "query " << q << " rank " << i);
      BOOST_TEST(std::abs((*got)[i].score - exact[(*got)[i].doc]) < 1e-9,
                 "query " << q << " rank " << i);
    }
    if (k == 5) BOOST_TEST(stats.docs_scored < static_cast<uint64_t>(f.n_docs));  // pruned
    skipped += stats.blocks_skipped;
    epochs_skipped += stats.epochs_skipped;
  }
  BOOST_TEST(skipped > 0u);         // block-max skipping happened (and results stayed exact)
  BOOST_TEST(epochs_skipped > 0u);  // so did stopping at an epoch too old to matter
}

BOOST_AUTO_TEST_CASE(top_k_equals_exhaustive_scoring) { CheckTopKIsExhaustive(*this, false); }

BOOST_AUTO_TEST_CASE(top_k_equals_exhaustive_scoring_with_shuffled_dates) {
  CheckTopKIsExhaustive(*this, true);
}

BOOST_AUTO_TEST_SUITE_END()
