#define BOOST_TEST_MODULE store
#include "server/store/store.h"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>

#include "server/store/coding.h"
#include "tests/unit/temp_dir.h"

using namespace tessera;
using store::Cf;

namespace {

std::unique_ptr<store::Store> OpenAt(const std::string& path) {
  store::StoreOptions o;
  o.block_cache_bytes = 4 << 20;
  o.write_buffer_bytes = 4 << 20;
  absl::StatusOr<std::unique_ptr<store::Store>> s = store::Store::Open(path, o);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.status());
  return *std::move(s);
}

std::string Read(const store::Reader& r, Cf cf, const std::string& key) {
  std::string v;
  absl::StatusOr<bool> found = r.Get(cf, key, &v);
  BOOST_REQUIRE(found.ok());
  return *found ? v : "<absent>";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(Coding)

BOOST_AUTO_TEST_CASE(integers_round_trip_and_big_endian_sorts_numerically) {
  std::string a, b;
  store::PutFixed64BE(a, 255);
  store::PutFixed64BE(b, 256);
  BOOST_TEST(a < b);
  std::string buf;
  store::PutVarint64(buf, 300);
  store::PutVarsint64(buf, -7);
  store::PutLengthPrefixed(buf, "hello");
  store::Decoder d(buf);
  BOOST_TEST(d.Varint64() == 300u);
  BOOST_TEST(d.Varsint64() == -7);
  BOOST_TEST(d.LengthPrefixed() == "hello");
  BOOST_TEST(d.ok());
  BOOST_TEST(d.done());
}

BOOST_AUTO_TEST_CASE(truncated_input_fails_and_count_is_bounded) {
  std::string buf;
  store::PutLengthPrefixed(buf, "hello");
  store::Decoder d(std::string_view(buf).substr(0, 3));
  d.LengthPrefixed();
  BOOST_TEST(!d.ok());
  std::string huge;
  store::PutVarint64(huge, 1ull << 40);
  store::Decoder c(huge);
  BOOST_TEST(c.Count() == 0u);
  BOOST_TEST(!c.ok());
  std::string bytes;
  BOOST_TEST(store::HexDecode(store::HexEncode(std::string("\x00\xff\x10", 3)), &bytes));
  BOOST_TEST(bytes == std::string("\x00\xff\x10", 3));
  BOOST_TEST(!store::HexDecode("zz", &bytes));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Store)

BOOST_AUTO_TEST_CASE(batch_reads_its_own_writes_and_commits_atomically) {
  testing::TempDir tmp;
  auto s = OpenAt(tmp.Sub("db"));
  auto batch = s->NewBatch();
  batch->Put(Cf::kProfiles, "k1", "v1");
  batch->Put(Cf::kIdent, "k1", "other cf");
  BOOST_TEST(Read(*batch, Cf::kProfiles, "k1") == "v1");
  BOOST_TEST(Read(*s->GetSnapshot(), Cf::kProfiles, "k1") == "<absent>");
  auto it = batch->NewIterator(Cf::kProfiles);
  it->Seek("k");
  BOOST_REQUIRE(it->Valid());
  BOOST_TEST(it->key() == "k1");
  BOOST_REQUIRE(s->Write(*batch).ok());
  BOOST_TEST(Read(*s->GetSnapshot(), Cf::kProfiles, "k1") == "v1");
  BOOST_TEST(Read(*s->GetSnapshot(), Cf::kIdent, "k1") == "other cf");
}

BOOST_AUTO_TEST_CASE(batch_iterator_merges_pending_puts_and_deletes_over_the_database) {
  testing::TempDir tmp;
  auto s = OpenAt(tmp.Sub("db"));
  auto first = s->NewBatch();
  for (const char* k : {"k1", "k2", "k4"}) first->Put(Cf::kRefs, k, "db");
  BOOST_REQUIRE(s->Write(*first).ok());
  auto batch = s->NewBatch();
  batch->Delete(Cf::kRefs, "k1");
  batch->Put(Cf::kRefs, "k0", "new");
  batch->Put(Cf::kRefs, "k2", "changed");
  batch->Put(Cf::kRefs, "k3", "new");
  batch->Delete(Cf::kRefs, "k4");
  batch->Put(Cf::kRefs, "k4", "again");
  std::string seen;
  auto it = batch->NewIterator(Cf::kRefs);
  for (it->SeekToFirst(); it->Valid(); it->Next())
    seen += std::string(it->key()) + "=" + std::string(it->value()) + " ";
  BOOST_TEST(seen == "k0=new k2=changed k3=new k4=again ");
  it->Seek("k1");
  BOOST_REQUIRE(it->Valid());
  BOOST_TEST(it->key() == "k2");
  BOOST_TEST(Read(*batch, Cf::kRefs, "k1") == "<absent>");
  BOOST_TEST(Read(*batch, Cf::kRefs, "k4") == "again");
  BOOST_TEST(batch->count() == 5u);  // k4 written twice counts once
}

BOOST_AUTO_TEST_CASE(child_batch_reads_through_an_uncommitted_parent) {
  testing::TempDir tmp;
  auto s = OpenAt(tmp.Sub("db"));
  auto base = s->NewBatch();
  for (const char* k : {"a", "b", "c"}) base->Put(Cf::kIdent, k, "db");
  BOOST_REQUIRE(s->Write(*base).ok());
  std::shared_ptr<store::Batch> parent = s->NewBatch();
  parent->Put(Cf::kIdent, "b", "parent");
  parent->Delete(Cf::kIdent, "c");
  parent->Put(Cf::kIdent, "d", "parent");
  parent->DoneReading();
  auto child = s->NewBatch(parent);
  child->Put(Cf::kIdent, "d", "child");
  child->Put(Cf::kIdent, "e", "child");
  BOOST_TEST(Read(*child, Cf::kIdent, "b") == "parent");
  BOOST_TEST(Read(*child, Cf::kIdent, "c") == "<absent>");
  std::string seen;
  auto it = child->NewIterator(Cf::kIdent);
  for (it->SeekToFirst(); it->Valid(); it->Next())
    seen += std::string(it->key()) + "=" + std::string(it->value()) + " ";
  BOOST_TEST(seen == "a=db b=parent d=child e=child ");
  it.reset();
  // Committing the parent while the child reads changes nothing it sees.
  BOOST_REQUIRE(s->Write(*parent).ok());
  BOOST_TEST(Read(*child, Cf::kIdent, "c") == "<absent>");
  BOOST_REQUIRE(s->Write(*child).ok());
  BOOST_TEST(Read(*s->GetSnapshot(), Cf::kIdent, "d") == "child");
  BOOST_TEST(Read(*s->GetSnapshot(), Cf::kIdent, "b") == "parent");
}

BOOST_AUTO_TEST_CASE(snapshot_does_not_see_later_writes) {
  testing::TempDir tmp;
  auto s = OpenAt(tmp.Sub("db"));
  auto snap = s->GetSnapshot();
  auto batch = s->NewBatch();
  batch->Put(Cf::kFragments, "f", "1");
  BOOST_REQUIRE(s->Write(*batch).ok());
  BOOST_TEST(Read(*snap, Cf::kFragments, "f") == "<absent>");
  BOOST_TEST(Read(*s->GetSnapshot(), Cf::kFragments, "f") == "1");
}

BOOST_AUTO_TEST_CASE(clear_empties_only_named_families_and_digest_sees_it) {
  testing::TempDir tmp;
  auto s = OpenAt(tmp.Sub("db"));
  auto batch = s->NewBatch();
  for (int i = 0; i < 100; ++i) {
    batch->Put(Cf::kEdges, "e" + std::to_string(i), "x");
    batch->Put(Cf::kFragments, "f" + std::to_string(i), "x");
  }
  BOOST_REQUIRE(s->Write(*batch).ok());
  const std::string full = *store::Digest(*s->GetSnapshot(), {Cf::kEdges});
  BOOST_REQUIRE(s->Clear({Cf::kEdges}).ok());
  BOOST_TEST(*store::Digest(*s->GetSnapshot(), {Cf::kEdges}) != full);
  BOOST_TEST(Read(*s->GetSnapshot(), Cf::kEdges, "e5") == "<absent>");
  BOOST_TEST(Read(*s->GetSnapshot(), Cf::kFragments, "f5") == "x");
}

// Operands are decimal numbers that add up; only PartialMerge is written, so a batch
// folds them through MergeOperator's default PartialMergeInto.
class SumMerge final : public store::MergeOperator {
 public:
  const char* name() const override { return "test.sum"; }
  bool FullMerge(std::string_view, const std::string_view* existing,
                 const std::vector<std::string_view>& operands, std::string* out) const override {
    long long n = existing != nullptr ? std::stoll(std::string(*existing)) : 0;
    for (std::string_view op : operands) n += std::stoll(std::string(op));
    *out = std::to_string(n);
    return true;
  }
  bool PartialMerge(std::string_view, std::string_view left, std::string_view right,
                    std::string* out) const override {
    *out = std::to_string(std::stoll(std::string(left)) + std::stoll(std::string(right)));
    return true;
  }
};

BOOST_AUTO_TEST_CASE(batch_folds_merge_operands_and_figures_count_bytes_written) {
  testing::TempDir tmp;
  store::StoreOptions o;
  o.block_cache_bytes = 4 << 20;
  o.write_buffer_bytes = 4 << 20;
  o.postings_merge = std::make_shared<SumMerge>();
  absl::StatusOr<std::unique_ptr<store::Store>> opened = store::Store::Open(tmp.Sub("db"), o);
  BOOST_REQUIRE_MESSAGE(opened.ok(), opened.status());
  store::Store& s = **opened;
  BOOST_TEST(s.GetFigures().batch_bytes == 0u);
  for (int round = 0; round < 2; ++round) {
    auto batch = s.NewBatch();
    for (int i = 0; i < 1000; ++i) batch->Merge(Cf::kPostings, "n", "1");
    batch->Put(Cf::kProfiles, "p" + std::to_string(round), std::string(1000, 'x'));
    BOOST_TEST(batch->count() == 2u);  // the operands of "n" are one
    BOOST_REQUIRE(s.Write(*batch).ok());
    BOOST_REQUIRE(s.CompactAll().ok());  // flushes the memtables, then compacts
  }
  BOOST_TEST(Read(*s.GetSnapshot(), Cf::kPostings, "n") == "2000");
  const store::Store::Figures f = s.GetFigures();
  BOOST_TEST(f.batch_bytes >= 2000u);
  BOOST_TEST(f.flushed_bytes > 0u);
  BOOST_TEST(f.compacted_bytes > 0u);  // the second round's file was merged with the first
}

BOOST_AUTO_TEST_CASE(checkpoint_reopens_with_data_and_second_open_is_refused) {
  testing::TempDir tmp;
  {
    auto s = OpenAt(tmp.Sub("db"));
    auto batch = s->NewBatch();
    batch->Put(Cf::kRules, "r", "rule");
    BOOST_REQUIRE(s->Write(*batch).ok());
    BOOST_REQUIRE(s->Checkpoint(tmp.Sub("cp")).ok());
    absl::StatusOr<std::unique_ptr<store::Store>> again =
        store::Store::Open(tmp.Sub("db"), store::StoreOptions());
    BOOST_TEST(again.status().code() == absl::StatusCode::kFailedPrecondition);
  }
  auto cp = OpenAt(tmp.Sub("cp"));
  BOOST_TEST(Read(*cp->GetSnapshot(), Cf::kRules, "r") == "rule");
}

BOOST_AUTO_TEST_SUITE_END()
