#define BOOST_TEST_MODULE directory
#include "server/directory/directory.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server/directory/keyed_hash.h"
#include "server/index/postings.h"
#include "server/store/coding.h"
#include "server/store/store.h"
#include "tests/unit/temp_dir.h"

using namespace tessera;
using directory::Directory;
using directory::Outcome;
using identity::Fragment;

namespace {

// Builds fragments tersely: F("hr", "E1").Kind("employee").Id("email", "a@x").Attr("team",
// "Payments").
struct F {
  Fragment f;
  F(const std::string& source, const std::string& external_id, uint64_t version = 1) {
    f.source = source;
    f.external_id = external_id;
    f.version = version;
    f.kind = "employee";
  }
  F& Kind(const std::string& k) { return f.kind = k, *this; }
  F& Id(const std::string& type, const std::string& value) {
    f.identifiers.push_back({type, value});
    return *this;
  }
  F& Attr(const std::string& name, const std::string& value) {
    f.attributes.push_back({name, value});
    return *this;
  }
  F& Rel(const std::string& type, const std::string& id_type, const std::string& value) {
    f.relations.push_back({type, {id_type, value}});
    return *this;
  }
  // `role`: the relation naming the people it credits (empty: the record itself).
  F& Evidence(const std::string& kind, const std::string& text, const std::string& role = "") {
    f.evidence.push_back({kind, role, "", text, "en", 1});
    return *this;
  }
  F& At(int64_t ms) { return f.updated_at_ms = ms, *this; }
  F& Tombstone() { return f.tombstone = true, *this; }
  operator Fragment() const { return f; }
};

class DirFixture {
 public:
  DirFixture() { Reopen(); }

  // `notices` collects what the directory says about long work done while opening.
  void Reopen(std::vector<std::string>* notices = nullptr) {
    dir_.reset();
    directory::DirectoryOptions options;
    if (notices != nullptr)
      options.notice = [notices](const std::string& n) { notices->push_back(n); };
    options.normalise.default_region = "FR";
    options.store.block_cache_bytes = 8 << 20;
    options.store.write_buffer_bytes = 8 << 20;
    absl::StatusOr<std::unique_ptr<Directory>> d = Directory::Open(tmp_.Sub("db"), options);
    BOOST_REQUIRE_MESSAGE(d.ok(), d.status());
    dir_ = *std::move(d);
    for (auto [id, prio] : {std::pair{"hr", 90}, {"ldap", 80}, {"crm", 60}, {"helpdesk", 50}}) {
      BOOST_REQUIRE(dir_->PutSource({id, "test", prio, "", 0}, false).ok());
    }
  }

  Directory& dir() { return *dir_; }

  directory::BatchResult Ingest(std::vector<Fragment> fs, int64_t time = 1000) {
    absl::StatusOr<directory::BatchResult> r = dir_->Ingest(std::move(fs), time);
    BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
    return *r;
  }

  absl::StatusOr<directory::ProfileView> Get(const std::string& type, const std::string& value) {
    return dir_->GetProfile({0, type, value});
  }

  uint64_t IdOf(const std::string& type, const std::string& value) {
    absl::StatusOr<directory::ProfileView> v = Get(type, value);
    BOOST_REQUIRE_MESSAGE(v.ok(), v.status());
    return v->profile.id;
  }

  uint64_t Sequence() { return dir_->GetStats()->sequence; }
  std::string Digest() { return *dir_->DerivedDigest(); }

  testing::TempDir tmp_;
  std::unique_ptr<Directory> dir_;
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(Ingest, DirFixture)

BOOST_AUTO_TEST_CASE(reingest_same_version_is_noop) {
  Ingest({F("hr", "E1", 3).Id("email", "a@x.example")});
  const uint64_t seq = Sequence();
  const std::string digest = Digest();
  directory::BatchResult r = Ingest({F("hr", "E1", 3).Id("email", "a@x.example")});
  BOOST_TEST(static_cast<int>(r.outcomes[0]) == static_cast<int>(Outcome::kUnchanged));
  BOOST_TEST(Sequence() == seq);
  BOOST_TEST(Digest() == digest);
}

BOOST_AUTO_TEST_CASE(older_version_is_stale_newer_replaces) {
  Ingest({F("hr", "E1", 3).Id("email", "a@x.example").Attr("title", "Engineer")});
  directory::BatchResult r =
      Ingest({F("hr", "E1", 2).Id("email", "a@x.example").Attr("title", "Old")});
  BOOST_TEST(static_cast<int>(r.outcomes[0]) == static_cast<int>(Outcome::kStale));
  r = Ingest({F("hr", "E1", 4).Id("email", "a@x.example").Attr("title", "Lead")});
  BOOST_TEST(static_cast<int>(r.outcomes[0]) == static_cast<int>(Outcome::kUpdated));
  BOOST_TEST(*Get("email", "a@x.example")->profile.Attr("title") == "Lead");
}

BOOST_AUTO_TEST_CASE(fragments_from_several_sources_become_one_profile) {
  directory::BatchResult r = Ingest({
      F("hr", "E1")
          .Id("employee_id", "e1")
          .Id("email", "Alice.Martin@Example.com")
          .Attr("display_name", "Alice Martin"),
      F("ldap", "uid=amartin")
          .Id("email", " alice.martin@example.COM")
          .Id("phone", "01 42 68 53 00"),
      F("crm", "C-9").Kind("customer").Id("phone", "+33 1 42 68 53 00").Attr("segment", "premier"),
  });
  BOOST_TEST(r.profile_ids[0] == r.profile_ids[1]);
  BOOST_TEST(r.profile_ids[1] == r.profile_ids[2]);
  absl::StatusOr<directory::ProfileView> v = Get("employee_id", "E1");
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(v->profile.members.size() == 3u);
  BOOST_TEST(v->profile.kind == "employee");  // hr has the highest priority
  BOOST_TEST((v->profile.kinds == std::vector<std::string>{"customer", "employee"}));
  BOOST_TEST(*v->profile.Attr("segment") == "premier");
  BOOST_TEST(v->profile.display_name == "Alice Martin");
  BOOST_TEST(dir().GetStats()->profiles == 1u);
}

BOOST_AUTO_TEST_CASE(conflicting_employee_ids_are_recorded_not_merged) {
  Ingest({F("hr", "E1071").Id("employee_id", "E1071").Id("email", "bruno.petit@x.example"),
          F("ldap", "uid=bpetit").Id("employee_id", "E1017").Id("email", "Bruno.Petit@x.example")});
  absl::StatusOr<directory::ProfileView> v = Get("email", "bruno.petit@x.example");
  BOOST_TEST(v.status().code() == absl::StatusCode::kFailedPrecondition);
  BOOST_TEST(std::string(v.status().message()).find("names 2 profiles") != std::string::npos);
  absl::StatusOr<directory::ConflictPage> page = dir().ListConflicts(0, "");
  BOOST_REQUIRE(page.ok());
  BOOST_REQUIRE(page->conflicts.size() == 1u);
  const auto& c = page->conflicts[0];
  BOOST_TEST(c.conflict.type == "employee_id");
  BOOST_TEST((c.conflict.values == std::vector<std::string>{"E1017", "E1071"}));
  BOOST_TEST(c.fragments[0].source == "hr");
  BOOST_TEST(c.fragments[1].external_id == "uid=bpetit");
  BOOST_TEST(dir().GetStats()->conflicts == 1u);
  v = Get("employee_id", "E1071");
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(v->conflicts.size() == 1u);
}

BOOST_AUTO_TEST_CASE(tombstone_of_last_fragment_removes_the_person) {
  Ingest({F("hr", "E1").Id("email", "a@x.example").Attr("display_name", "Zoé Zed"),
          F("helpdesk", "HD-1")
              .Kind("case")
              .Id("case", "HD-1")
              .Rel("resolved_by", "email", "a@x.example")
              .Evidence("case", "fixed")});
  const uint64_t id = IdOf("email", "a@x.example");
  BOOST_TEST(
      dir().Neighbors({{id, "", ""}, "resolved_by", graph::Direction::kIn, 0, ""})->edges.size() ==
      1u);
  directory::BatchResult r = Ingest({F("hr", "E1", 2).Tombstone()});
  BOOST_TEST(static_cast<int>(r.outcomes[0]) == static_cast<int>(Outcome::kDeleted));
  BOOST_TEST(Get("email", "a@x.example").status().code() == absl::StatusCode::kNotFound);
  BOOST_TEST(dir().GetProfile({id, "", ""}).status().code() == absl::StatusCode::kNotFound);
  BOOST_TEST(dir().SearchPeople({.prefix = "zoe"})->people.empty());
  // The case still states the relation; it resolves again when the person returns.
  r = Ingest({F("hr", "E1", 3).Id("email", "a@x.example")});
  BOOST_TEST(static_cast<int>(r.outcomes[0]) == static_cast<int>(Outcome::kAdded));
  const uint64_t back = IdOf("email", "a@x.example");
  BOOST_TEST(dir()
                 .Neighbors({{back, "", ""}, "resolved_by", graph::Direction::kIn, 0, ""})
                 ->edges.size() == 1u);
  // An older copy arriving late cannot resurrect a deleted version.
  Ingest({F("hr", "E1", 4).Tombstone()});
  r = Ingest({F("hr", "E1", 3).Id("email", "a@x.example")});
  BOOST_TEST(static_cast<int>(r.outcomes[0]) == static_cast<int>(Outcome::kStale));
}

BOOST_AUTO_TEST_CASE(invalid_fragment_rejects_whole_batch) {
  const uint64_t seq = Sequence();
  absl::StatusOr<directory::BatchResult> r = dir().Ingest(
      {F("hr", "E1").Id("email", "a@x.example"), F("hr", "E2").Id("phone", "12ab")}, 1000);
  BOOST_TEST(r.status().code() == absl::StatusCode::kInvalidArgument);
  BOOST_TEST(
      std::string(r.status().message()) ==
      "fragment 1: identifiers[0]: 'phone' value '12ab' is not a phone number (default region FR)");
  BOOST_TEST(Get("email", "a@x.example").status().code() == absl::StatusCode::kNotFound);
  BOOST_TEST(Sequence() == seq);
  BOOST_TEST(dir().GetStats()->live_fragments == 0u);
}

BOOST_AUTO_TEST_CASE(unknown_source_is_failed_precondition) {
  absl::StatusOr<directory::BatchResult> r = dir().Ingest({F("wiki", "p1").Kind("document")}, 1);
  BOOST_TEST(r.status().code() == absl::StatusCode::kFailedPrecondition);
  BOOST_TEST(std::string(r.status().message()).find("source 'wiki' is not registered") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(relation_resolves_when_target_arrives_later) {
  Ingest({F("hr", "E2").Id("employee_id", "E2").Rel("reports_to", "employee_id", "e1")});
  const uint64_t report = IdOf("employee_id", "E2");
  auto out = dir().Neighbors({{report, "", ""}, "reports_to", graph::Direction::kOut, 0, ""});
  BOOST_REQUIRE(out.ok());
  BOOST_REQUIRE(out->edges.size() == 1u);
  BOOST_TEST(out->edges[0].other == 0u);  // unresolved, shown by identifier
  BOOST_TEST(out->edges[0].target_value == "E1");
  Ingest({F("hr", "E1").Id("employee_id", "E1").Attr("display_name", "Boss")});
  const uint64_t boss = IdOf("employee_id", "E1");
  out = dir().Neighbors({{report, "", ""}, "reports_to", graph::Direction::kOut, 0, ""});
  BOOST_REQUIRE(out->edges.size() == 1u);
  BOOST_TEST(out->edges[0].other == boss);
  BOOST_TEST(out->edges[0].summary->display_name == "Boss");
  auto in = dir().Neighbors({{boss, "", ""}, "", graph::Direction::kIn, 0, ""});
  BOOST_REQUIRE(in->edges.size() == 1u);
  BOOST_TEST(in->edges[0].other == report);
  BOOST_TEST(in->edges[0].stated_by[0].external_id == "E2");
}

BOOST_AUTO_TEST_CASE(bridging_fragment_merges_and_its_removal_splits_again) {
  Ingest({F("hr", "E1").Id("email", "a@x.example").Attr("display_name", "A"),
          F("crm", "C1").Kind("customer").Id("phone", "0612345678")});
  const uint64_t a = IdOf("email", "a@x.example");
  const uint64_t c = IdOf("phone", "+33612345678");
  BOOST_TEST(a != c);
  Ingest({F("ldap", "L1").Id("email", "A@x.example").Id("phone", "+33 6 12 34 56 78")});
  BOOST_TEST(IdOf("phone", "0612345678") == a);  // the smaller id survives the merge
  BOOST_TEST(dir().GetProfile({c, "", ""}).status().code() == absl::StatusCode::kNotFound);
  Ingest({F("ldap", "L1", 2).Tombstone()});
  BOOST_TEST(IdOf("email", "a@x.example") == a);
  BOOST_TEST(IdOf("phone", "0612345678") != a);
}

BOOST_AUTO_TEST_CASE(merge_and_split_rules_survive_resync) {
  Ingest({F("hr", "E1").Id("employee_id", "E1").Id("email", "a@x.example"),
          F("crm", "C1").Kind("customer").Id("email", "a.perso@mail.example")});
  const uint64_t a = IdOf("employee_id", "E1");
  const uint64_t b = IdOf("email", "a.perso@mail.example");
  absl::StatusOr<directory::MergeResult> merged = dir().Merge({a, b}, "same person", 5);
  BOOST_REQUIRE_MESSAGE(merged.ok(), merged.status());
  BOOST_TEST(merged->profile.profile.members.size() == 2u);
  BOOST_TEST(merged->rule_id != 0u);
  // A re-sync with new versions keeps them together.
  Ingest({F("hr", "E1", 2).Id("employee_id", "E1").Id("email", "a@x.example"),
          F("crm", "C1", 2).Kind("customer").Id("email", "a.perso@mail.example")});
  BOOST_TEST(IdOf("email", "a.perso@mail.example") == IdOf("employee_id", "E1"));

  // A shared mailbox wrongly joins two people; split one off.
  Ingest({F("ldap", "L9").Id("email", "care@x.example").Id("employee_id", "E9"),
          F("crm", "C9").Kind("contact").Id("email", "care@x.example").Id("phone", "0611111111")});
  const uint64_t joined = IdOf("employee_id", "E9");
  BOOST_TEST(IdOf("phone", "0611111111") == joined);
  absl::StatusOr<directory::SplitResult> split =
      dir().Split(joined, {{"crm", "C9"}}, "shared mailbox", 6);
  BOOST_REQUIRE_MESSAGE(split.ok(), split.status());
  BOOST_TEST(split->profile_ids.size() == 2u);
  Ingest(
      {F("crm", "C9", 2).Kind("contact").Id("email", "care@x.example").Id("phone", "0611111111")});
  BOOST_TEST(IdOf("employee_id", "E9") != IdOf("phone", "0611111111"));
  BOOST_TEST(dir().ListRules().size() == 2u);
  // Dropping the rule joins them again.
  BOOST_REQUIRE(dir().DeleteRule(split->rule_id).ok());
  BOOST_TEST(IdOf("employee_id", "E9") == IdOf("phone", "0611111111"));
}

// An undone merge gives back the ids the profiles had: README promises stable ids.
BOOST_AUTO_TEST_CASE(an_undone_merge_gives_back_the_ids) {
  Ingest({F("hr", "E1").Id("employee_id", "E1").Id("email", "bruno@x.example"),
          F("hr", "E2").Id("employee_id", "E2").Id("email", "other@x.example"),
          F("ldap", "L1").Id("email", "b.petit@x.example").Id("phone", "0611111111"),
          F("ldap", "L2").Id("email", "b.petit2@x.example")});
  const uint64_t hr = IdOf("employee_id", "E1"), ldap = IdOf("phone", "0611111111");
  BOOST_REQUIRE(hr != ldap);
  absl::StatusOr<directory::MergeResult> merged = dir().Merge({hr, ldap}, "same person", 5);
  BOOST_REQUIRE_MESSAGE(merged.ok(), merged.status());
  BOOST_TEST(merged->profile.profile.id == hr);  // the smaller id survives
  BOOST_TEST(dir().GetProfile({ldap, "", ""}).status().code() == absl::StatusCode::kNotFound);
  // Still merged across a re-sync with new versions.
  Ingest({F("ldap", "L1", 2).Id("email", "b.petit@x.example").Id("phone", "0611111111")});
  BOOST_TEST(IdOf("phone", "0611111111") == hr);
  BOOST_REQUIRE(dir().DeleteRule(merged->rule_id).ok());
  BOOST_TEST(IdOf("employee_id", "E1") == hr);
  BOOST_TEST(IdOf("phone", "0611111111") == ldap);
  BOOST_TEST(dir().GetProfile({ldap, "", ""}).ok());
  // The same ids after a rebuild from the fragments.
  BOOST_REQUIRE(dir().Rebuild().ok());
  BOOST_TEST(IdOf("phone", "0611111111") == ldap);
  BOOST_TEST(IdOf("employee_id", "E2") != ldap);
}

BOOST_AUTO_TEST_CASE(search_is_prefix_case_and_accent_insensitive) {
  Ingest(
      {F("hr", "E1")
           .Id("email", "elodie.durand@x.example")
           .Attr("display_name", "Élodie Durand")
           .Attr("team", "Cards"),
       F("hr", "E2")
           .Id("email", "eloise@x.example")
           .Attr("display_name", "Éloïse Martin")
           .Attr("team", "Payments"),
       F("crm", "C1").Kind("customer").Id("twitter", "@ElodieFan").Attr("display_name", "E. Fan")});
  BOOST_TEST(dir().SearchPeople({.prefix = "ELO"})->people.size() == 3u);
  BOOST_TEST(dir().SearchPeople({.prefix = "elo mar"})->people.size() == 1u);
  BOOST_TEST(dir().SearchPeople({.prefix = "elodie.d"})->people.size() == 1u);
  BOOST_TEST(dir().SearchPeople({.prefix = "elo", .kinds = {"customer"}})->people.size() == 1u);
  BOOST_TEST(dir().SearchPeople({.prefix = "elo", .team = "cards"})->people.size() == 1u);
  absl::StatusOr<index::NamePage> p1 = dir().SearchPeople({.prefix = "elo", .page_size = 2});
  BOOST_REQUIRE(p1->people.size() == 2u);
  BOOST_TEST(p1->next_after_id != 0u);
  absl::StatusOr<index::NamePage> p2 =
      dir().SearchPeople({.prefix = "elo", .page_size = 2, .after_id = p1->next_after_id});
  BOOST_REQUIRE(p2->people.size() == 1u);
  BOOST_TEST(p2->next_after_id == 0u);
  BOOST_TEST(dir().SearchPeople({.prefix = std::string(200, 'a')}).status().code() ==
             absl::StatusCode::kInvalidArgument);
}

BOOST_AUTO_TEST_CASE(priority_change_rederives_displayed_values) {
  Ingest({F("hr", "E1").Id("email", "a@x.example").Attr("title", "Engineer"),
          F("ldap", "L1").Id("email", "a@x.example").Attr("title", "Dev")});
  BOOST_TEST(*Get("email", "a@x.example")->profile.Attr("title") == "Engineer");
  BOOST_REQUIRE(dir().PutSource({"ldap", "ldap", 95, "", 0}, false).ok());
  BOOST_TEST(*Get("email", "a@x.example")->profile.Attr("title") == "Dev");
}

BOOST_AUTO_TEST_CASE(rebuild_gives_identical_derived_state) {
  Ingest({F("hr", "E1")
              .Id("employee_id", "E1")
              .Id("email", "a@x.example")
              .Rel("reports_to", "employee_id", "E0"),
          F("hr", "E0").Id("employee_id", "E0").Attr("display_name", "Chief"),
          F("ldap", "L1").Id("employee_id", "E7").Id("email", "a@x.example"),  // conflict
          F("crm", "C1")
              .Kind("customer")
              .Id("phone", "0612345678")
              .Rel("managed_by", "employee_id", "E1"),
          F("helpdesk", "H1")
              .Kind("case")
              .Rel("raised_by", "phone", "+33612345678")
              .Evidence("case", "card blocked"),
          F("crm", "C2").Kind("customer").Id("email", "c2@mail.example")});
  const uint64_t c1 = IdOf("phone", "0612345678");
  const uint64_t c2 = IdOf("email", "c2@mail.example");
  BOOST_REQUIRE(dir().Merge({c1, c2}, "", 1).ok());
  Ingest(
      {F("hr", "E0", 2).Tombstone(), F("crm", "C3").Kind("customer").Id("email", "c3@m.example")});
  const std::string before = Digest();
  const directory::Stats stats = *dir().GetStats();
  absl::StatusOr<directory::RebuildResult> r = dir().Rebuild();
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
  BOOST_TEST(r->digest_before == before);
  BOOST_TEST(r->digest_after == before);
  BOOST_TEST(dir().GetStats()->profiles == stats.profiles);
  BOOST_TEST(dir().GetStats()->conflicts == stats.conflicts);
  // And after reopening, state and counters persist.
  Reopen();
  BOOST_TEST(Digest() == before);
  BOOST_TEST(dir().GetStats()->live_fragments == stats.live_fragments);
}

BOOST_AUTO_TEST_CASE(index_of_another_layout_is_rebuilt_at_open) {
  Ingest({F("hr", "E1").Id("employee_id", "E1").Attr("display_name", "Ann"),
          F("helpdesk", "H1")
              .Kind("case")
              .Rel("resolved_by", "employee_id", "E1")
              .Evidence("case", "card blocked abroad")});
  const std::string before = Digest();
  std::vector<std::string> notices;
  Reopen(&notices);
  BOOST_TEST(notices.empty());  // same layout: nothing to do
  // What an older tesserad leaves: no layout recorded, postings it wrote (dropped here,
  // so only a rebuild can bring them back).
  dir_.reset();
  {
    store::StoreOptions options;
    options.postings_merge = index::PostingsMergeOperator();
    absl::StatusOr<std::unique_ptr<store::Store>> raw = store::Store::Open(tmp_.Sub("db"), options);
    BOOST_REQUIRE_MESSAGE(raw.ok(), raw.status());
    BOOST_REQUIRE((*raw)->Clear({store::Cf::kPostings}).ok());
    std::unique_ptr<store::Batch> b = (*raw)->NewBatch();
    b->Delete(store::Cf::kMeta, "index-layout");
    BOOST_REQUIRE((*raw)->Write(*b).ok());
  }
  Reopen(&notices);
  BOOST_REQUIRE(notices.size() == 2u);
  BOOST_TEST(notices[0].find("rebuilding derived data") != std::string::npos);
  BOOST_TEST(Digest() == before);  // postings included
  notices.clear();
  Reopen(&notices);
  BOOST_TEST(notices.empty());  // recorded this time
  // What the tesserad before epoch-major postings keys leaves: its layout mark and
  // postings under term-major keys (term · 0x00 · block), which the rebuild replaces.
  dir_.reset();
  {
    store::StoreOptions options;
    options.postings_merge = index::PostingsMergeOperator();
    absl::StatusOr<std::unique_ptr<store::Store>> raw = store::Store::Open(tmp_.Sub("db"), options);
    BOOST_REQUIRE_MESSAGE(raw.ok(), raw.status());
    std::unique_ptr<store::Batch> b = (*raw)->NewBatch();
    b->Put(store::Cf::kMeta, "index-layout", "postings-v1-blocks-18 derive-2");
    std::string old_key = "card";
    old_key.push_back('\0');
    store::PutFixed64BE(old_key, 0);
    std::string op = "O\x01";  // add low 5, tf 1, length 3, kind 1, day 100
    for (int v : {5, 1, 3}) store::PutVarint64(op, v);
    op.push_back('\x01');
    store::PutVarint64(op, 100);
    b->Merge(store::Cf::kPostings, old_key, op);
    BOOST_REQUIRE((*raw)->Write(*b).ok());
  }
  Reopen(&notices);
  BOOST_REQUIRE(notices.size() == 2u);
  BOOST_TEST(notices[0].find("'postings-v1-blocks-18 derive-2', this tesserad uses "
                             "'postings-v3-day-epochs-7-blocks-18 derive-4'") != std::string::npos,
             notices[0]);
  BOOST_TEST(Digest() == before);
}

BOOST_AUTO_TEST_CASE(same_batches_give_same_database) {
  std::vector<std::vector<Fragment>> batches = {
      {F("hr", "E1").Id("email", "a@x.example"),
       F("crm", "C1").Kind("customer").Id("email", "b@m.example")},
      {F("ldap", "L1").Id("email", "a@x.example").Id("email", "b@m.example"),
       F("hr", "E2").Id("email", "z@x.example")},
      {F("ldap", "L1", 2).Tombstone()}};
  for (const auto& b : batches) Ingest(b, 77);
  const std::string first = Digest();
  testing::TempDir other;
  directory::DirectoryOptions options;
  options.normalise.default_region = "FR";
  auto d2 = *Directory::Open(other.Sub("db"), options);
  for (auto [id, prio] : {std::pair{"hr", 90}, {"ldap", 80}, {"crm", 60}, {"helpdesk", 50}}) {
    BOOST_REQUIRE(d2->PutSource({id, "test", prio, "", 0}, false).ok());
  }
  for (const auto& b : batches) BOOST_REQUIRE(d2->Ingest(b, 77).ok());
  BOOST_TEST(*d2->DerivedDigest() == first);
}

// The phone region is the database's: a backup opened without the configuration still
// reads "06 71 24 38 95" as French; a configuration that disagrees is refused.
BOOST_AUTO_TEST_CASE(the_database_keeps_its_phone_region) {
  Ingest({F("crm", "C1").Kind("customer").Id("phone", "06 71 24 38 95")});
  BOOST_REQUIRE(dir().Backup(tmp_.Sub("backup")).ok());
  directory::DirectoryOptions options;  // default region US, not chosen by anyone
  {
    auto d = Directory::Open(tmp_.Sub("backup"), options);
    BOOST_REQUIRE_MESSAGE(d.ok(), d.status());
    absl::StatusOr<directory::ProfileView> v = (*d)->GetProfile({0, "phone", "0671243895"});
    BOOST_TEST(v.ok(), v.status());
  }
  options.region_given = true;
  auto refused = Directory::Open(tmp_.Sub("backup"), options);
  BOOST_TEST(refused.status().code() == absl::StatusCode::kFailedPrecondition);
  BOOST_TEST(std::string(refused.status().message())
                     .find("created with default phone region FR, the configuration "
                           "says US") != std::string::npos,
             refused.status());
  options.normalise.default_region = "FR";
  BOOST_TEST(Directory::Open(tmp_.Sub("backup"), options).ok());
}

BOOST_AUTO_TEST_CASE(backup_opens_as_working_database) {
  Ingest({F("hr", "E1").Id("email", "a@x.example").Attr("display_name", "Backed Up")});
  absl::StatusOr<uint64_t> seq = dir().Backup(tmp_.Sub("backup"));
  BOOST_REQUIRE_MESSAGE(seq.ok(), seq.status());
  BOOST_TEST(dir().Backup(tmp_.Sub("backup")).status().code() == absl::StatusCode::kAlreadyExists);
  BOOST_TEST(dir().Backup("relative/path").status().code() == absl::StatusCode::kInvalidArgument);
  Ingest({F("hr", "E2").Id("email", "later@x.example")});
  auto copy = Directory::Open(tmp_.Sub("backup"), directory::DirectoryOptions());
  BOOST_REQUIRE_MESSAGE(copy.ok(), copy.status());
  BOOST_TEST((*copy)->GetProfile({0, "email", "a@x.example"})->profile.display_name == "Backed Up");
  BOOST_TEST((*copy)->GetProfile({0, "email", "later@x.example"}).status().code() ==
             absl::StatusCode::kNotFound);
  BOOST_TEST((*copy)->GetStats()->sequence == *seq);
  // The copy takes writes.
  BOOST_TEST((*copy)->Ingest({F("hr", "E3").Id("email", "c@x.example")}, 1).ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(Deletion, DirFixture)

// Deleting a record with evidence leaves the derived state a rebuild would make (its
// emptied postings count as absent), so `admin rebuild` reports no change.
BOOST_AUTO_TEST_CASE(deleting_evidence_leaves_the_state_a_rebuild_makes) {
  Ingest({F("hr", "E1").Id("email", "ann@bank.example"),
          F("helpdesk", "HD-1")
              .Kind("case")
              .Id("case", "HD-1")
              .Rel("resolved_by", "email", "ann@bank.example")
              .Evidence("case", "card blocked abroad"),
          F("helpdesk", "HD-2")
              .Kind("case")
              .Id("case", "HD-2")
              .Rel("resolved_by", "email", "ann@bank.example")
              .Evidence("case", "card blocked at home")});
  Ingest({F("helpdesk", "HD-1", 2).Tombstone()});
  absl::StatusOr<directory::RebuildResult> r = dir().Rebuild();
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->digest_before == r->digest_after);
}

// A rebuild asked to stop stops between steps, and the next open finishes it.
BOOST_AUTO_TEST_CASE(a_cancelled_rebuild_resumes_at_the_next_open) {
  std::vector<Fragment> fs;
  fs.reserve(50);
  for (int i = 0; i < 50; ++i) {
    fs.push_back(F("hr", "E" + std::to_string(i))
                     .Id("email", "p" + std::to_string(i) + "@bank.example")
                     .Evidence("skill", "card payments " + std::to_string(i)));
  }
  Ingest(fs);
  const std::string digest = Digest();
  {
    directory::DirectoryOptions options;
    options.normalise.default_region = "FR";
    options.cancelled = [] { return true; };
    dir_.reset();
    absl::StatusOr<std::unique_ptr<Directory>> d = Directory::Open(tmp_.Sub("db"), options);
    BOOST_REQUIRE(d.ok());
    absl::StatusOr<directory::RebuildResult> r = (*d)->Rebuild();
    BOOST_TEST(r.status().code() == absl::StatusCode::kCancelled);
    BOOST_TEST(std::string(r.status().message()).find("resumes at the next start") !=
               std::string::npos);
  }
  std::vector<std::string> notices;
  Reopen(&notices);  // resumes the interrupted rebuild
  BOOST_TEST(Digest() == digest);
  BOOST_TEST(IdOf("email", "p7@bank.example") > 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(Erasure, DirFixture)

// After an erasure the derived state is exactly what the remaining fragments give
// (a rebuild changes nothing), the feed says the profiles went, and the suppression
// refuses the person's records from any source.
BOOST_AUTO_TEST_CASE(erase_leaves_no_derived_trace_and_suppresses_the_person) {
  Ingest({F("hr", "E1").Id("email", "ann@bank.example").Attr("display_name", "Ann Agent"),
          F("crm", "C1")
              .Kind("customer")
              .Id("email", "carla@mail.example")
              .Id("phone", "06 12 34 56 78")
              .Attr("display_name", "Carla Customer")
              .Rel("managed_by", "email", "ann@bank.example"),
          F("crm", "C2").Kind("customer").Id("email", "bob@mail.example"),
          F("helpdesk", "HD-1")
              .Kind("case")
              .Id("case", "HD-1")
              .Rel("raised_by", "email", "carla@mail.example")
              .Rel("resolved_by", "email", "ann@bank.example")
              .Evidence("case", "card blocked abroad"),
          F("helpdesk", "HD-2")
              .Kind("case")
              .Id("case", "HD-2")
              .Rel("raised_by", "email", "bob@mail.example")
              .Rel("resolved_by", "email", "ann@bank.example")
              .Evidence("case", "card blocked at home")});
  const uint64_t carla = IdOf("email", "carla@mail.example");
  const uint64_t hd1 = IdOf("case", "HD-1");
  const uint64_t before = Sequence();
  directory::AuditEntry audit;
  audit.method = "Admin.Erase";
  audit.reason = "request 7";
  absl::StatusOr<directory::EraseResult> r = dir().Erase({0, "phone", "+33612345678", {}}, audit);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
  BOOST_TEST(r->profile == carla);
  BOOST_TEST(r->fragments == 1u);
  BOOST_TEST(r->related == 1u);            // HD-1; HD-2 is Bob's
  BOOST_TEST(r->suppressed.size() == 4u);  // two identifiers, two records

  BOOST_TEST(Get("email", "carla@mail.example").status().code() == absl::StatusCode::kNotFound);
  BOOST_TEST(Get("case", "HD-1").status().code() == absl::StatusCode::kNotFound);
  BOOST_TEST(Get("case", "HD-2").ok());
  BOOST_TEST(dir().GetFragment({"crm", "C1"}).status().code() == absl::StatusCode::kNotFound);
  BOOST_TEST(dir().GetStats()->live_fragments == 3u);
  BOOST_TEST(dir().GetStats()->tombstones == 0u);  // removed, not tombstoned
  const std::string digest = Digest();
  absl::StatusOr<directory::RebuildResult> rebuilt = dir().Rebuild();
  BOOST_REQUIRE(rebuilt.ok());
  BOOST_TEST(rebuilt->digest_before == rebuilt->digest_after);
  BOOST_TEST(Digest() == digest);

  // The change feed reports both profiles gone.
  absl::StatusOr<directory::ChangesPage> changes = dir().ReadChanges({before, 0, false, {}});
  BOOST_REQUIRE(changes.ok());
  std::set<uint64_t> deleted;
  for (const directory::ChangeEvent& e : changes->events) {
    if (e.deleted) deleted.insert(e.profile);
  }
  BOOST_TEST((deleted == std::set<uint64_t>{carla, hd1}));

  // Her records are refused from any source, before and after reopening; others not.
  for (int round = 0; round < 2; ++round) {
    directory::BatchResult again =
        Ingest({F("crm", "C1").Kind("customer").Id("email", "carla@mail.example"),
                F("ldap", "x").Kind("customer").Id("email", "Carla@Mail.example"),
                F("helpdesk", "HD-3").Kind("case").Rel("raised_by", "phone", "0612345678"),
                F("crm", "C3").Kind("customer").Id("email", "dan@mail.example")});
    BOOST_TEST(again.counts.suppressed == 3u);
    BOOST_TEST(again.counts.added == (round == 0 ? 1u : 0u));
    BOOST_TEST(Get("email", "carla@mail.example").status().code() == absl::StatusCode::kNotFound);
    Reopen();
  }

  // The audit entry was written with the erasure: the profile id, the reason, hashes.
  absl::StatusOr<directory::AuditPage> page = dir().ReadAudit(0, 0);
  BOOST_REQUIRE(page.ok());
  BOOST_REQUIRE_EQUAL(page->entries.size(), 1u);
  BOOST_TEST(page->entries[0].sequence == r->audit_sequence);
  BOOST_TEST(page->entries[0].reason == "request 7");
  BOOST_TEST(page->entries[0].profiles == std::vector<uint64_t>{carla});
  BOOST_TEST(page->entries[0].detail.find(r->suppressed[0]) != std::string::npos);
  BOOST_TEST(page->entries[0].detail.find("carla") == std::string::npos);

  // Absent people and things that are not people are refused, and nothing is written.
  BOOST_TEST(dir().Erase({0, "email", "nobody@mail.example", {}}, audit).status().code() ==
             absl::StatusCode::kNotFound);
  absl::Status not_a_person = dir().Erase({0, "case", "HD-2", {}}, audit).status();
  BOOST_TEST(not_a_person.code() == absl::StatusCode::kFailedPrecondition);
  BOOST_TEST(std::string(not_a_person.message()).find("is a case, not a person") !=
             std::string::npos);
  BOOST_TEST(Get("case", "HD-2").ok());
  BOOST_TEST(dir().ReadAudit(0, 0)->entries.size() == 1u);
}

// A manual merge rule names the erased records by source and external id: it goes too.
BOOST_AUTO_TEST_CASE(erase_removes_the_rules_naming_the_person) {
  Ingest({F("crm", "C1").Kind("customer").Id("email", "carla@mail.example"),
          F("ldap", "L1").Kind("customer").Id("email", "c.customer@other.example"),
          F("hr", "E1").Id("email", "ann@bank.example")});
  absl::StatusOr<directory::MergeResult> merged =
      dir().Merge({IdOf("email", "carla@mail.example"), IdOf("email", "c.customer@other.example")},
                  "same person", 1);
  BOOST_REQUIRE_MESSAGE(merged.ok(), merged.status());
  BOOST_REQUIRE_EQUAL(dir().ListRules().size(), 1u);
  absl::StatusOr<directory::EraseResult> r =
      dir().Erase({0, "email", "carla@mail.example", {}}, {});
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
  BOOST_TEST(r->fragments == 2u);
  BOOST_TEST(dir().ListRules().empty());
  BOOST_TEST(dir().GetFragment({"ldap", "L1"}).status().code() == absl::StatusCode::kNotFound);
  BOOST_TEST(dir().GetStats()->rules == 0u);
  absl::StatusOr<directory::RebuildResult> rebuilt = dir().Rebuild();
  BOOST_REQUIRE(rebuilt.ok());
  BOOST_TEST(rebuilt->digest_before == rebuilt->digest_after);
}

// Erasing an employee keeps what the cases they resolved (records that stay) derive,
// their language for FindExperts included: a rebuild afterwards changes nothing.
BOOST_AUTO_TEST_CASE(erasing_a_resolver_leaves_what_a_rebuild_gives) {
  Ingest({F("hr", "E1").Id("email", "ann@bank.example").Attr("display_name", "Ann Agent"),
          F("helpdesk", "HD-1")
              .Kind("case")
              .Id("case", "HD-1")
              .Rel("resolved_by", "email", "ann@bank.example")
              .Evidence("case", "card blocked abroad", "resolved_by")});
  absl::StatusOr<directory::EraseResult> r = dir().Erase({0, "email", "ann@bank.example", {}}, {});
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
  BOOST_TEST(Get("case", "HD-1").ok());
  absl::StatusOr<directory::RebuildResult> rebuilt = dir().Rebuild();
  BOOST_REQUIRE_MESSAGE(rebuilt.ok(), rebuilt.status());
  BOOST_TEST(rebuilt->digest_before == rebuilt->digest_after);
}

BOOST_AUTO_TEST_CASE(audit_log_pages_in_order_and_survives_reopening) {
  for (int i = 0; i < 5; ++i) {
    directory::AuditEntry e;
    e.method = "Directory.GetProfile";
    e.principal = "agent-" + std::to_string(i);
    e.profiles = {static_cast<uint64_t>(i)};
    BOOST_REQUIRE(dir().AppendAudit(e).ok());
  }
  Reopen();
  directory::AuditEntry e;
  e.method = "Admin.Stats";
  BOOST_REQUIRE(dir().AppendAudit(e).ok());
  absl::StatusOr<directory::AuditPage> first = dir().ReadAudit(0, 4);
  BOOST_REQUIRE(first.ok());
  BOOST_REQUIRE_EQUAL(first->entries.size(), 4u);
  BOOST_TEST(first->entries[3].principal == "agent-3");
  BOOST_TEST(first->next_after == 4u);
  absl::StatusOr<directory::AuditPage> rest = dir().ReadAudit(first->next_after, 4);
  BOOST_REQUIRE_EQUAL(rest->entries.size(), 2u);
  BOOST_TEST(rest->entries[1].sequence == 6u);  // numbering continues after reopening
  BOOST_TEST(rest->entries[1].method == "Admin.Stats");
  BOOST_TEST(rest->next_after == 0u);
  BOOST_TEST(dir().ReadAudit(0, 1001).status().code() == absl::StatusCode::kInvalidArgument);
}

BOOST_AUTO_TEST_CASE(retention_deletes_the_oldest_entries_only) {
  for (int64_t t : {1000, 2000, 3000, 4000}) {
    directory::AuditEntry e;
    e.time_ms = t;
    BOOST_REQUIRE(dir().AppendAudit(e).ok());
  }
  BOOST_TEST(*dir().TrimAudit(500) == 0u);
  BOOST_TEST(*dir().TrimAudit(2500) == 2u);
  absl::StatusOr<directory::AuditPage> page = dir().ReadAudit(0, 0);
  BOOST_REQUIRE_EQUAL(page->entries.size(), 2u);
  BOOST_TEST(page->entries[0].sequence == 3u);
  BOOST_TEST(page->entries[0].time_ms == 3000);
  Reopen();
  BOOST_REQUIRE(dir().AppendAudit({}).ok());
  BOOST_TEST(dir().ReadAudit(0, 0)->entries.back().sequence == 5u);  // numbering goes on
  BOOST_TEST(*dir().TrimAudit(1'000'000'000'000) == 3u);
  BOOST_TEST(dir().ReadAudit(0, 0)->entries.empty());
  Reopen();  // with every record gone, numbering still goes on
  BOOST_REQUIRE(dir().AppendAudit({}).ok());
  BOOST_TEST(dir().ReadAudit(0, 0)->entries.at(0).sequence == 6u);
}

// The sequence is checkpointed every few thousand records; at open, numbering resumes
// after the newest record whether it lies before, on or after a checkpoint.
BOOST_AUTO_TEST_CASE(audit_numbering_resumes_around_checkpoints) {
  uint64_t appended = 0;
  for (uint64_t stop : {4095u, 4096u, 4097u, 8200u}) {
    for (; appended < stop; ++appended) BOOST_REQUIRE(dir().AppendAudit({}).ok());
    Reopen();
    BOOST_REQUIRE(dir().AppendAudit({}).ok());
    ++appended;
    absl::StatusOr<directory::AuditPage> page = dir().ReadAudit(appended - 1, 0);
    BOOST_REQUIRE(page.ok());
    BOOST_REQUIRE_EQUAL(page->entries.size(), 1u);
    BOOST_TEST(page->entries[0].sequence == appended);
  }
}

// Concurrent appends commit in groups; every record lands once, numbered without gaps.
BOOST_AUTO_TEST_CASE(concurrent_audit_appends_are_all_kept_in_sequence) {
  constexpr int kThreads = 8, kEach = 200;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  std::atomic<int> failed{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        directory::AuditEntry e;
        e.principal = "t" + std::to_string(t);
        e.detail = std::to_string(i);
        if (!dir().AppendAudit(e).ok()) ++failed;
      }
    });
  }
  for (auto& th : threads) th.join();
  BOOST_TEST(failed.load() == 0);
  std::map<std::string, int> next;  // per thread: the next detail expected, in order
  uint64_t after = 0, expected_seq = 1;
  for (;;) {
    absl::StatusOr<directory::AuditPage> page = dir().ReadAudit(after, 1000);
    BOOST_REQUIRE(page.ok());
    for (const directory::AuditEntry& e : page->entries) {
      BOOST_TEST(e.sequence == expected_seq++);
      BOOST_TEST(e.detail == std::to_string(next[e.principal]++));
    }
    if (page->next_after == 0) break;
    after = page->next_after;
  }
  BOOST_TEST(expected_seq - 1 == static_cast<uint64_t>(kThreads * kEach));
  Reopen();  // numbering resumes after the last record
  BOOST_REQUIRE(dir().AppendAudit({}).ok());
  BOOST_TEST(dir().ReadAudit(kThreads * kEach, 0)->entries.at(0).sequence ==
             static_cast<uint64_t>(kThreads * kEach + 1));
}

BOOST_AUTO_TEST_SUITE_END()

// RFC 4231 test cases 2 and 6 (a key longer than the block is hashed first).
BOOST_AUTO_TEST_CASE(keyed_hash_is_hmac_sha256) {
  auto hex = [](const std::string& s) {
    static const char* d = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) out += std::string{d[c >> 4], d[c & 15]};
    return out;
  };
  const directory::KeyedHash jefe("Jefe");
  BOOST_TEST(hex(jefe("what do ya want for nothing?")) ==
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  const directory::KeyedHash long_key(std::string(131, '\xaa'));
  BOOST_TEST(hex(long_key("Test Using Larger Than Block-Size Key - Hash Key First")) ==
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  BOOST_TEST(jefe("a") == jefe("a"));  // the scratch context is reset between uses
}
