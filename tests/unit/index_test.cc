#define BOOST_TEST_MODULE index
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "server/index/person_terms.h"
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

// One identifier's frequency sum for `term`, and its length sum.
uint64_t PersonTf(const store::Reader& r, const std::string& id, const std::string& term) {
  return index::ReadPersonTerms(r, id, {term})->tf.at(0);
}
uint64_t PersonLength(const store::Reader& r, const std::string& id) {
  return index::ReadPersonTerms(r, id, {})->length;
}

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

// A person's term sums follow an item's text and who it credits, and net to nothing
// when it goes; the lengths list only identifiers with something credited.
BOOST_AUTO_TEST_CASE(person_terms_follow_text_and_credit) {
  const std::string ann = "a-ann", bob = "b-bob", cy = "c-cy";  // IdentKey-like, sorted
  const DocTerms v1 = DocTerms::From(1, index::EvidenceKind::kCase, 100, {"vpn", "vpn", "token"});
  const DocTerms v2 = DocTerms::From(1, index::EvidenceKind::kCase, 100, {"vpn", "printer"});
  auto b = db->NewBatch();
  index::UpdatePersonTerms(*b, {}, nullptr, {ann, bob}, &v1);
  BOOST_REQUIRE(db->Write(*b).ok());
  auto snap = db->GetSnapshot();
  BOOST_TEST(PersonTf(*snap, ann, "vpn") == 2u);
  BOOST_TEST(PersonTf(*snap, bob, "token") == 1u);
  BOOST_TEST(PersonLength(*snap, bob) == 3u);
  // New text, handed from Ann to Cy; Bob keeps it.
  b = db->NewBatch();
  index::UpdatePersonTerms(*b, {ann, bob}, &v1, {bob, cy}, &v2);
  BOOST_REQUIRE(db->Write(*b).ok());
  snap = db->GetSnapshot();
  BOOST_TEST(PersonTf(*snap, ann, "vpn") == 0u);
  BOOST_TEST(PersonLength(*snap, ann) == 0u);
  BOOST_TEST(PersonTf(*snap, bob, "vpn") == 1u);
  BOOST_TEST(PersonTf(*snap, bob, "token") == 0u);
  BOOST_TEST(PersonTf(*snap, cy, "printer") == 1u);
  BOOST_TEST(PersonLength(*snap, cy) == 2u);
  std::map<std::string, uint64_t> lengths;
  auto collect = [&](std::string_view id, uint64_t n) {
    lengths[std::string(id)] = n;
    return absl::OkStatus();
  };
  BOOST_REQUIRE(index::ForEachPersonLength(*snap, 100, collect).ok());
  BOOST_TEST((lengths == std::map<std::string, uint64_t>{{bob, 2}, {cy, 2}}));
  lengths.clear();
  BOOST_REQUIRE(index::ForEachPersonLength(*snap, 1, collect).ok());  // at most one entry read
  BOOST_TEST(lengths.size() <= 1u);
  // Removed: nothing is left to read.
  b = db->NewBatch();
  index::UpdatePersonTerms(*b, {bob, cy}, &v2, {}, nullptr);
  BOOST_REQUIRE(db->Write(*b).ok());
  BOOST_REQUIRE(db->CompactAll().ok());
  snap = db->GetSnapshot();
  for (const std::string& id : {ann, bob, cy}) {
    for (const char* term : {"vpn", "token", "printer"})
      BOOST_TEST(PersonTf(*snap, id, term) == 0u);
  }
  lengths.clear();
  BOOST_REQUIRE(index::ForEachPersonLength(*snap, 100, collect).ok());
  BOOST_TEST(lengths.empty());
}

// A person's language sums each item's lead (its first kLeadTerms terms), not its
// whole text.
BOOST_AUTO_TEST_CASE(a_persons_language_sums_each_items_lead) {
  std::vector<std::string> words;
  words.reserve(21);
  for (int i = 0; i < 20; ++i) words.push_back("t" + std::to_string(i));
  words.push_back("t0");  // again, past the lead
  const DocTerms d = DocTerms::From(1, index::EvidenceKind::kCase, 100, words);
  BOOST_TEST(d.length == 21u);
  BOOST_TEST(d.lead_length == index::kLeadTerms);
  BOOST_TEST(d.lead.size() == index::kLeadTerms);
  auto b = db->NewBatch();
  index::UpdatePersonTerms(*b, {}, nullptr, {"a"}, &d);
  BOOST_REQUIRE(db->Write(*b).ok());
  auto snap = db->GetSnapshot();
  BOOST_TEST(PersonTf(*snap, "a", "t0") == 1u);
  BOOST_TEST(PersonTf(*snap, "a", "t15") == 1u);
  BOOST_TEST(PersonTf(*snap, "a", "t16") == 0u);
  BOOST_TEST(PersonLength(*snap, "a") == index::kLeadTerms);
}

// Items crediting one person in one batch, and in later batches, add up; one read
// answers several terms in the order asked.
BOOST_AUTO_TEST_CASE(a_persons_items_add_up_across_batches) {
  const DocTerms a = DocTerms::From(1, index::EvidenceKind::kCase, 100, {"vpn", "token"});
  const DocTerms b = DocTerms::From(2, index::EvidenceKind::kCase, 100, {"vpn", "vpn", "printer"});
  auto batch = db->NewBatch();
  index::UpdatePersonTerms(*batch, {}, nullptr, {"p"}, &a);
  index::UpdatePersonTerms(*batch, {}, nullptr, {"p"}, &b);
  BOOST_REQUIRE(db->Write(*batch).ok());
  BOOST_REQUIRE(db->CompactAll().ok());  // a merged value below the next operand
  batch = db->NewBatch();
  index::UpdatePersonTerms(*batch, {}, nullptr, {"p"}, &a);
  BOOST_REQUIRE(db->Write(*batch).ok());
  absl::StatusOr<index::PersonTerms> got =
      index::ReadPersonTerms(*db->GetSnapshot(), "p", {"printer", "missing", "vpn", "token"});
  BOOST_REQUIRE_MESSAGE(got.ok(), got.status());
  BOOST_TEST(got->length == 7u);
  BOOST_TEST((got->tf == std::vector<uint64_t>{1, 0, 4, 2}));
}

// An item credits at most kMaxCreditedPerItem identifiers.
BOOST_AUTO_TEST_CASE(an_item_credits_a_bounded_number_of_people) {
  std::vector<std::string> ids;
  ids.reserve(20);
  for (int i = 0; i < 20; ++i) ids.push_back("id" + std::to_string(100 + i));
  const DocTerms d = DocTerms::From(1, index::EvidenceKind::kCase, 100, {"vpn"});
  auto b = db->NewBatch();
  index::UpdatePersonTerms(*b, {}, nullptr, ids, &d);
  BOOST_REQUIRE(db->Write(*b).ok());
  auto snap = db->GetSnapshot();
  size_t credited = 0;
  for (const std::string& id : ids) credited += PersonTf(*snap, id, "vpn");
  BOOST_TEST(credited == index::kMaxCreditedPerItem);
  BOOST_TEST(PersonTf(*snap, ids.front(), "vpn") == 1u);
  BOOST_TEST(PersonTf(*snap, ids.back(), "vpn") == 0u);
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
