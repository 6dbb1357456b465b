#define BOOST_TEST_MODULE bulk
// Bulk loads (Directory::BeginBulk): the postings collected apart and ingested as SST
// files must give the database a normal load gives, byte for byte (the derived digest),
// however the load ends: on request, idle, at close, cut short by a crash, or dropped
// by a rebuild.

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "server/directory/directory.h"
#include "tests/unit/temp_dir.h"

using namespace tessera;
using directory::Directory;
using identity::Fragment;

namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kFirstDay = 19'000;  // 2022-01-08

const char* const kWords[] = {
    "card",    "blocked", "abroad",  "refund",    "mortgage", "transfer", "password", "login",
    "branch",  "loan",    "savings", "interest",  "fraud",    "dispute",  "payment",  "overdraft",
    "invoice", "address", "pension", "insurance", "cheque",   "deposit",  "wire",     "limit",
};

// The same batches every time: 40 people, then cases resolved by them with texts of
// several words, dated over ~3 years in shuffled order (so they fall in many postings
// epochs), some of them later re-dated and re-worded (a new version: its old postings
// are removed) and one deleted.
std::vector<std::vector<Fragment>> Batches() {
  std::mt19937_64 rng(20261207);
  std::vector<std::vector<Fragment>> batches;
  std::vector<Fragment> people;
  for (int p = 0; p < 40; ++p) {
    Fragment f;
    f.source = "hr";
    f.external_id = "E" + std::to_string(p);
    f.version = 1;
    f.kind = "employee";
    f.identifiers.push_back({"employee_id", "E" + std::to_string(p)});
    f.attributes.push_back({"display_name", "Person " + std::to_string(p)});
    people.push_back(std::move(f));
  }
  batches.push_back(std::move(people));
  auto make_case = [&](int c, uint64_t version) {
    Fragment f;
    f.source = "helpdesk";
    f.external_id = "C" + std::to_string(c);
    f.version = version;
    f.kind = "case";
    f.relations.push_back({"resolved_by", {"employee_id", "E" + std::to_string(rng() % 40)}});
    std::string text;
    for (int w = 0, n = 3 + static_cast<int>(rng() % 6); w < n; ++w) {
      text += std::string(text.empty() ? "" : " ") + kWords[rng() % std::size(kWords)];
    }
    const int64_t day = kFirstDay + static_cast<int64_t>(rng() % 1100);
    f.evidence.push_back({"case", "resolved_by", "", text, "en", day * kDayMs});
    f.updated_at_ms = day * kDayMs;
    return f;
  };
  for (int b = 0; b < 12; ++b) {
    std::vector<Fragment> batch;
    batch.reserve(50);
    for (int k = 0; k < 50; ++k) batch.push_back(make_case(b * 50 + k, 1));
    batches.push_back(std::move(batch));
  }
  std::vector<Fragment> later;
  later.reserve(600 / 7 + 2);
  for (int c = 0; c < 600; c += 7) later.push_back(make_case(c, 2));
  Fragment gone;
  gone.source = "helpdesk";
  gone.external_id = "C5";
  gone.version = 3;
  gone.kind = "case";
  gone.tombstone = true;
  later.push_back(gone);
  batches.push_back(std::move(later));
  return batches;
}

class BulkFixture {
 public:
  // `bulk_memory` small enough that a load spills several sorted runs.
  std::unique_ptr<Directory> Open(const std::string& name, std::vector<std::string>* notices,
                                  uint64_t bulk_memory = 16 << 10,
                                  absl::Duration idle = absl::Hours(1)) {
    directory::DirectoryOptions options;
    options.normalise.default_region = "FR";
    options.store.block_cache_bytes = 8 << 20;
    options.store.write_buffer_bytes = 8 << 20;
    options.bulk_memory_bytes = bulk_memory;
    options.bulk_idle = idle;
    if (notices != nullptr) {
      options.notice = [notices](const std::string& n) { notices->push_back(n); };
    }
    absl::StatusOr<std::unique_ptr<Directory>> d = Directory::Open(tmp_.Sub(name), options);
    BOOST_REQUIRE_MESSAGE(d.ok(), d.status());
    for (const char* id : {"hr", "helpdesk"}) {
      BOOST_REQUIRE((*d)->PutSource({id, "test", 50, "", 0}, false).ok());
    }
    return *std::move(d);
  }

  static void Load(Directory& d, const std::vector<std::vector<Fragment>>& batches, size_t from,
                   size_t to, bool bulk) {
    for (size_t i = from; i < to; ++i) {
      if (bulk) BOOST_REQUIRE(d.BeginBulk().ok());
      absl::StatusOr<directory::BatchResult> r = d.Ingest(batches[i], 1'700'000'000'000);
      BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
    }
  }

  // The derived digest of the same batches loaded without a bulk load.
  std::string NormalDigest() {
    std::unique_ptr<Directory> d = Open("normal", nullptr);
    const auto batches = Batches();
    Load(*d, batches, 0, batches.size(), false);
    return *d->DerivedDigest();
  }

  // People who resolved a case with `word`, as FindExperts ranks them.
  static size_t ExpertsFor(Directory& d, const std::string& word) {
    expertise::Query q;
    q.text = word;
    q.limit = 10;
    q.as_of_ms = (kFirstDay + 1200) * kDayMs;
    absl::StatusOr<expertise::Ranking> r = d.FindExperts(q);
    BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
    return r->experts.size();
  }

  testing::TempDir tmp_;
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(Bulk, BulkFixture)

BOOST_AUTO_TEST_CASE(a_bulk_load_gives_the_database_of_a_normal_load) {
  const std::string normal = NormalDigest();
  std::unique_ptr<Directory> d = Open("bulk", nullptr);
  const auto batches = Batches();
  Load(*d, batches, 0, batches.size(), true);
  BOOST_TEST(d->BulkActive());
  // Until it finishes, the postings are held apart: the index lacks them.
  BOOST_TEST(*d->DerivedDigest() != normal);
  BOOST_TEST(ExpertsFor(*d, "mortgage") == 0u);
  absl::StatusOr<store::Store::BulkFigures> f = d->FinishBulk();
  BOOST_REQUIRE_MESSAGE(f.ok(), f.status());
  BOOST_TEST(!d->BulkActive());
  BOOST_TEST(f->operands > 0u);
  BOOST_TEST(f->runs > 1u, "the small memory budget should spill runs; runs " << f->runs);
  BOOST_TEST(f->files >= 1u);
  BOOST_TEST(f->keys > 0u);
  BOOST_TEST(!f->merged);  // the database was empty: full values
  BOOST_TEST(d->StoreFigures().ingested_bytes == f->sst_bytes);  // /metrics' figure
  BOOST_TEST(*d->DerivedDigest() == normal);
  BOOST_TEST(ExpertsFor(*d, "mortgage") > 0u);
  // And it stays so once compactions have had their turn.
  BOOST_REQUIRE(d->Compact().ok());
  BOOST_TEST(*d->DerivedDigest() == normal);
  absl::StatusOr<directory::RebuildResult> r = d->Rebuild();
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
  BOOST_TEST(r->digest_before == r->digest_after);
}

BOOST_AUTO_TEST_CASE(a_bulk_load_over_an_index_merges_into_it) {
  const std::string normal = NormalDigest();
  std::unique_ptr<Directory> d = Open("half", nullptr, 1 << 20);
  const auto batches = Batches();
  Load(*d, batches, 0, 6, false);
  Load(*d, batches, 6, batches.size(), true);
  absl::StatusOr<store::Store::BulkFigures> f = d->FinishBulk();
  BOOST_REQUIRE_MESSAGE(f.ok(), f.status());
  BOOST_TEST(f->merged);      // operands over the postings already there
  BOOST_TEST(f->runs == 0u);  // 1 MiB holds this load
  BOOST_TEST(*d->DerivedDigest() == normal);
  BOOST_REQUIRE(d->Compact().ok());
  BOOST_TEST(*d->DerivedDigest() == normal);
}

BOOST_AUTO_TEST_CASE(finish_without_a_bulk_load_is_a_no_op) {
  std::unique_ptr<Directory> d = Open("none", nullptr);
  absl::StatusOr<store::Store::BulkFigures> f = d->FinishBulk();
  BOOST_REQUIRE_MESSAGE(f.ok(), f.status());
  BOOST_TEST(f->keys == 0u);
  BOOST_TEST(f->files == 0u);
}

BOOST_AUTO_TEST_CASE(closing_finishes_a_bulk_load) {
  const std::string normal = NormalDigest();
  std::vector<std::string> notices;
  const auto batches = Batches();
  {
    std::unique_ptr<Directory> d = Open("close", &notices);
    Load(*d, batches, 0, batches.size(), true);
  }
  BOOST_REQUIRE(notices.size() == 1u);
  BOOST_TEST(notices[0].find("bulk load finished at close") != std::string::npos, notices[0]);
  notices.clear();
  std::unique_ptr<Directory> d = Open("close", &notices);
  BOOST_TEST(notices.empty());  // nothing to rebuild
  BOOST_TEST(*d->DerivedDigest() == normal);
}

BOOST_AUTO_TEST_CASE(an_idle_bulk_load_finishes_on_its_own) {
  const std::string normal = NormalDigest();
  std::vector<std::string> notices;
  std::unique_ptr<Directory> d = Open("idle", nullptr, 16 << 10, absl::Milliseconds(200));
  const auto batches = Batches();
  Load(*d, batches, 0, batches.size(), true);
  // The watcher finishes it 200 ms after the last BeginBulk; wait for that, bounded.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (d->BulkActive() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  BOOST_REQUIRE(!d->BulkActive());
  BOOST_TEST(*d->DerivedDigest() == normal);
}

// What a crash (kill -9, power cut) leaves: the database files as they are, the
// collected postings gone. A copy of the directory taken between writes is that state.
BOOST_AUTO_TEST_CASE(a_bulk_load_cut_short_is_rebuilt_at_open) {
  const std::string normal = NormalDigest();
  const auto batches = Batches();
  std::unique_ptr<Directory> d = Open("live", nullptr);
  Load(*d, batches, 0, batches.size(), true);
  BOOST_REQUIRE(d->BulkActive());
  // Settle RocksDB's background work first, so no file comes or goes during the copy
  // (a compaction during a bulk load must leave the collected postings alone, too);
  // a file a late background job removed anyway makes the copy start again.
  BOOST_REQUIRE(d->Compact().ok());
  BOOST_REQUIRE(d->BulkActive());
  bool copied = false;
  for (int attempt = 0; attempt < 5 && !copied; ++attempt) {
    std::error_code ec;
    std::filesystem::remove_all(tmp_.Sub("crashed"), ec);
    std::filesystem::copy(tmp_.Sub("live"), tmp_.Sub("crashed"),
                          std::filesystem::copy_options::recursive, ec);
    copied = !ec;
  }
  BOOST_REQUIRE(copied);
  std::vector<std::string> notices;
  std::unique_ptr<Directory> crashed = Open("crashed", &notices);
  BOOST_REQUIRE(!notices.empty());
  BOOST_TEST(notices[0].find("a bulk load did not finish") != std::string::npos, notices[0]);
  BOOST_TEST(!crashed->BulkActive());
  BOOST_TEST(*crashed->DerivedDigest() == normal);
  BOOST_TEST(!std::filesystem::exists(tmp_.Sub("crashed") + "/bulk"));
}

BOOST_AUTO_TEST_CASE(a_rebuild_drops_a_running_bulk_load) {
  const std::string normal = NormalDigest();
  const auto batches = Batches();
  std::unique_ptr<Directory> d = Open("rebuild", nullptr);
  Load(*d, batches, 0, 8, true);
  absl::StatusOr<directory::RebuildResult> r = d->Rebuild();
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
  BOOST_TEST(!d->BulkActive());
  // The rest goes in normally; the collected postings must not come back on top.
  Load(*d, batches, 8, batches.size(), false);
  absl::StatusOr<store::Store::BulkFigures> f = d->FinishBulk();
  BOOST_REQUIRE(f.ok());
  BOOST_TEST(f->keys == 0u);
  BOOST_TEST(*d->DerivedDigest() == normal);
}

BOOST_AUTO_TEST_CASE(a_backup_during_a_bulk_load_is_complete) {
  const std::string normal = NormalDigest();
  const auto batches = Batches();
  std::unique_ptr<Directory> d = Open("src", nullptr);
  Load(*d, batches, 0, batches.size(), true);
  absl::StatusOr<directory::Sequence> seq = d->Backup(tmp_.Sub("backup"));
  BOOST_REQUIRE_MESSAGE(seq.ok(), seq.status());
  BOOST_TEST(!d->BulkActive());
  std::vector<std::string> notices;
  std::unique_ptr<Directory> restored = Open("backup", &notices);
  BOOST_TEST(notices.empty());  // no rebuild needed
  BOOST_TEST(*restored->DerivedDigest() == normal);
}

// An erasure during a bulk load: the postings collected for the person's cases (their
// words, in memory and in sorted runs) must go with the rest.
BOOST_AUTO_TEST_CASE(an_erasure_during_a_bulk_load_erases_what_it_collected) {
  auto batches = Batches();
  Fragment customer;
  customer.source = "crm";
  customer.external_id = "K1";
  customer.version = 1;
  customer.kind = "customer";
  customer.identifiers.push_back({"email", "k1@mail.example"});
  std::vector<Fragment> theirs = {customer};
  for (int c = 0; c < 5; ++c) {
    Fragment f;
    f.source = "helpdesk";
    f.external_id = "K1-" + std::to_string(c);
    f.version = 1;
    f.kind = "case";
    f.relations.push_back({"raised_by", {"email", "k1@mail.example"}});
    f.relations.push_back({"resolved_by", {"employee_id", "E1"}});
    f.evidence.push_back(
        {"case", "resolved_by", "", "zebra crossing refund", "en", (kFirstDay + 1000) * kDayMs});
    theirs.push_back(std::move(f));
  }
  batches.insert(batches.begin() + 3, theirs);
  directory::AuditEntry audit;
  audit.method = "Admin.Erase";
  audit.reason = "request 1";
  const directory::ProfileRef k1{0, "email", "k1@mail.example", {}};

  std::unique_ptr<Directory> normal = Open("normal-erase", nullptr);
  BOOST_REQUIRE(normal->PutSource({"crm", "test", 50, "", 0}, false).ok());
  Load(*normal, batches, 0, batches.size(), false);
  BOOST_REQUIRE(ExpertsFor(*normal, "zebra") > 0u);
  BOOST_REQUIRE(normal->Erase(k1, audit).ok());

  std::unique_ptr<Directory> d = Open("bulk-erase", nullptr);
  BOOST_REQUIRE(d->PutSource({"crm", "test", 50, "", 0}, false).ok());
  Load(*d, batches, 0, batches.size(), true);
  BOOST_REQUIRE(d->BulkActive());
  absl::StatusOr<directory::EraseResult> r = d->Erase(k1, audit);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
  BOOST_TEST(r->related == 5u);
  BOOST_TEST(!d->BulkActive());
  BOOST_TEST(!std::filesystem::exists(tmp_.Sub("bulk-erase") + "/bulk"));
  BOOST_TEST(ExpertsFor(*d, "zebra") == 0u);
  BOOST_TEST(*d->DerivedDigest() == *normal->DerivedDigest());
}

BOOST_AUTO_TEST_SUITE_END()
