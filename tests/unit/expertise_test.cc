#define BOOST_TEST_MODULE expertise
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "server/directory/directory.h"
#include "tests/unit/temp_dir.h"

// The ranking rules of FindExperts, one test each, on a small organisation built
// through the real ingest path.

using namespace tessera;
using identity::Fragment;

namespace {

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kNow = 20'400 * kDay;  // 2025-11-08

Fragment Employee(const std::string& id, const std::string& name,
                  std::vector<identity::Attribute> extra = {}) {
  Fragment f{.source = "hr", .external_id = id, .version = 1, .kind = "employee"};
  f.attributes = {{"display_name", name}, {"team", "Support"}};
  f.attributes.insert(f.attributes.end(), extra.begin(), extra.end());
  f.identifiers = {{"employee_id", id}, {"email", id + "@bank.example"}};
  return f;
}

Fragment Case(const std::string& id, const std::string& who, const std::string& text, int64_t time,
              const std::string& lang = "en", const std::string& status = "closed") {
  Fragment f{.source = "helpdesk", .external_id = id, .version = 1, .kind = "case"};
  f.attributes = {{"title", text.substr(0, 30)}, {"status", status}};
  f.identifiers = {{"case", id}};
  f.relations = {{"resolved_by", {"employee_id", who}}};
  f.evidence = {{"case", "resolved_by", text.substr(0, 30), text, lang, time}};
  f.updated_at_ms = time;
  return f;
}

// Opens the directory at `path`; when `first`, registers the hr and helpdesk sources
// and adds two employees, F1 Fay First and F2 Gus Second.
std::unique_ptr<directory::Directory> OpenFayAndGus(const std::string& path,
                                                    const directory::DirectoryOptions& o,
                                                    bool first) {
  absl::StatusOr<std::unique_ptr<directory::Directory>> dir = directory::Directory::Open(path, o);
  BOOST_REQUIRE_MESSAGE(dir.ok(), dir.status());
  if (first) {
    for (const char* s : {"hr", "helpdesk"})
      BOOST_REQUIRE((*dir)->PutSource({s, "test", 50, "", 0}, false).ok());
    BOOST_REQUIRE(
        (*dir)->Ingest({Employee("F1", "Fay First"), Employee("F2", "Gus Second")}, kNow).ok());
  }
  return *std::move(dir);
}

struct Org {
  Org() {
    directory::DirectoryOptions o;
    o.normalise.default_region = "FR";
    dir = *directory::Directory::Open(tmp.Sub("db"), o);
    for (auto [s, p] : {std::pair{"hr", 90}, {"helpdesk", 50}, {"crm", 60}}) {
      BOOST_REQUIRE(dir->PutSource({s, "test", p, "", 0}, false).ok());
    }
    Ingest({Employee("E1", "Alice Cards"), Employee("E2", "Bruno Cards"),
            Employee("E3", "Chloé Loans"),
            Employee("E4", "Denis Gone", {{"end_date", "2024-01-31"}}),
            Employee("E5", "Emma Manager")});
    std::vector<Fragment> cases;
    for (int i = 0; i < 6; ++i) {
      cases.push_back(Case("C1-" + std::to_string(i), "E1",
                           "Card blocked abroad after three wrong PIN codes, card unblocked",
                           kNow - (10 + i) * kDay));
      cases.push_back(Case("C2-" + std::to_string(i), "E2",
                           "Card blocked at the ATM, card replaced and unblocked",
                           kNow - (20 + i) * kDay));
      cases.push_back(Case("C3-" + std::to_string(i), "E3",
                           "Mortgage rate renegotiation and loan insurance",
                           kNow - (5 + i) * kDay));
    }
    // Denis was the card expert, but he has left.
    for (int i = 0; i < 10; ++i) {
      cases.push_back(Case("C4-" + std::to_string(i), "E4",
                           "Card blocked abroad, card blocked PIN, card card", kNow - 400 * kDay));
    }
    cases.push_back(Case("FR-1", "E3",
                         "Carte bloquée à l'étranger après trois codes faux, carte débloquée",
                         kNow - 3 * kDay, "fr"));
    Ingest(cases);
    Fragment customer{.source = "crm", .external_id = "C-9", .version = 1, .kind = "customer"};
    customer.attributes = {{"display_name", "Camille Roussel"}};
    customer.identifiers = {{"twitter", "@CamilleR"}, {"customer_id", "C-9"}};
    customer.relations = {{"managed_by", {"employee_id", "E5"}}};
    Ingest({customer});
  }

  void Ingest(std::vector<Fragment> fs) {
    absl::StatusOr<directory::BatchResult> r = dir->Ingest(std::move(fs), kNow);
    BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
  }

  std::vector<std::string> Names(expertise::Query q) {
    if (q.as_of_ms == 0) q.as_of_ms = kNow;
    absl::StatusOr<expertise::Ranking> r = dir->FindExperts(q);
    BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
    std::vector<std::string> names;
    for (const auto& e : r->experts) names.push_back(e.person.display_name);
    return names;
  }

  testing::TempDir tmp;
  std::unique_ptr<directory::Directory> dir;
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(FindExperts, Org)

BOOST_AUTO_TEST_CASE(resolved_similar_cases_rank_people_with_evidence) {
  absl::StatusOr<expertise::Ranking> r =
      dir->FindExperts({.text = "My card is blocked abroad", .as_of_ms = kNow});
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
  BOOST_REQUIRE(r->experts.size() >= 2u);
  BOOST_TEST(r->experts[0].person.display_name == "Alice Cards");  // same issue, more recent
  BOOST_TEST(r->experts[1].person.display_name == "Bruno Cards");
  const expertise::Expert& top = r->experts[0];
  BOOST_REQUIRE(!top.evidence.empty());
  BOOST_TEST(top.evidence[0].source == "helpdesk");
  BOOST_TEST(top.evidence[0].snippet.find("Card blocked") != std::string::npos);
  BOOST_TEST((std::find(top.evidence[0].matched_words.begin(), top.evidence[0].matched_words.end(),
                        "blocked") != top.evidence[0].matched_words.end()));
  BOOST_TEST(top.why.find("similar case") != std::string::npos);
  BOOST_TEST(r->language == "en");
}

BOOST_AUTO_TEST_CASE(left_person_is_excluded_unless_asked) {
  const auto names = Names({.text = "card blocked abroad PIN"});
  BOOST_TEST((std::find(names.begin(), names.end(), "Denis Gone") == names.end()));
  const auto all = Names({.text = "card blocked abroad PIN", .include_unavailable = true});
  BOOST_TEST((std::find(all.begin(), all.end(), "Denis Gone") != all.end()));
}

// The customer's account manager comes first: among the experts when their evidence
// matches, else apart, as someone to inform, and not presented as the expert.
BOOST_AUTO_TEST_CASE(account_manager_comes_first) {
  absl::StatusOr<expertise::Ranking> r = dir->FindExperts({.text = "card blocked abroad",
                                                           .customer_type = "twitter",
                                                           .customer_value = "camiller",
                                                           .as_of_ms = kNow});
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
  BOOST_REQUIRE(r->inform.size() == 1u);
  BOOST_TEST(r->inform[0].person.display_name == "Emma Manager");  // no card evidence
  BOOST_TEST(r->inform[0].why == "account manager of Camille Roussel");
  BOOST_TEST(r->inform[0].evidence.empty());
  BOOST_REQUIRE(!r->experts.empty());
  BOOST_TEST(r->experts[0].person.display_name == "Alice Cards");
  for (const expertise::Expert& e : r->experts) BOOST_TEST(e.person.display_name != "Emma Manager");
  // With matching evidence, the account manager leads the experts.
  Fragment emma_case = Case("EM-1", "E5", "Card blocked abroad, card unblocked", kNow - kDay);
  Ingest({emma_case});
  r = dir->FindExperts({.text = "card blocked",
                        .customer_type = "customer_id",
                        .customer_value = "c-9",
                        .as_of_ms = kNow});
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->experts[0].person.display_name == "Emma Manager");
  BOOST_TEST(r->experts[0].relationship.at(0) == "account manager of Camille Roussel");
  BOOST_TEST(r->inform.empty());
}

// The answer's words follow reply_language; the ranking does not.
BOOST_AUTO_TEST_CASE(reasons_and_notes_in_the_reply_language) {
  Ingest({Case("EM-1", "E5", "Card blocked abroad, card unblocked",
               kNow - kDay)});  // the manager's evidence
  absl::StatusOr<expertise::Ranking> en = dir->FindExperts({.text = "card blocked",
                                                            .customer_type = "customer_id",
                                                            .customer_value = "c-9",
                                                            .as_of_ms = kNow});
  absl::StatusOr<expertise::Ranking> fr = dir->FindExperts({.text = "card blocked",
                                                            .reply_language = "fr-FR",
                                                            .customer_type = "customer_id",
                                                            .customer_value = "c-9",
                                                            .as_of_ms = kNow});
  BOOST_REQUIRE(en.ok());
  BOOST_REQUIRE_MESSAGE(fr.ok(), fr.status());
  BOOST_REQUIRE(!fr->experts.empty());
  BOOST_REQUIRE(en->experts.size() == fr->experts.size());
  for (size_t i = 0; i < en->experts.size(); ++i) {
    BOOST_TEST(en->experts[i].person.id == fr->experts[i].person.id);
    BOOST_TEST(en->experts[i].score == fr->experts[i].score);
  }
  BOOST_TEST(fr->experts[0].relationship.at(0) == "conseiller de Camille Roussel");
  BOOST_TEST(fr->experts[0].why.find("a résolu") != std::string::npos, fr->experts[0].why);
  BOOST_TEST(fr->experts[0].why.find("dossier") != std::string::npos, fr->experts[0].why);
  BOOST_TEST(en->experts[0].why.find("solved") != std::string::npos, en->experts[0].why);
  BOOST_REQUIRE(!fr->notes.empty());
  BOOST_TEST(fr->notes[0].find("langue non précisée") == 0u, fr->notes[0]);
  absl::StatusOr<expertise::Ranking> de =
      dir->FindExperts({.text = "card blocked", .reply_language = "de", .as_of_ms = kNow});
  BOOST_TEST(de.status().code() == absl::StatusCode::kInvalidArgument);
  BOOST_TEST(std::string(de.status().message()).find("reply_language 'de'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(load_demotes_a_busy_expert) {
  BOOST_TEST(Names({.text = "card blocked abroad"}).at(0) == "Alice Cards");
  std::vector<Fragment> open;
  open.reserve(8);
  for (int i = 0; i < 8; ++i)
    open.push_back(
        Case("OPEN-" + std::to_string(i), "E1", "unrelated printer jam", kNow, "en", "open"));
  Ingest(open);
  absl::StatusOr<expertise::Ranking> r =
      dir->FindExperts({.text = "card blocked abroad", .as_of_ms = kNow});
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->experts.at(0).person.display_name == "Bruno Cards");
  for (const auto& e : r->experts) {
    if (e.person.display_name == "Alice Cards") BOOST_TEST(e.open_cases == 8u);
  }
  // Closing the cases gives her back her place.
  for (auto& f : open) f.version = 2, f.attributes[1].value = "closed";
  Ingest(open);
  BOOST_TEST(Names({.text = "card blocked abroad"}).at(0) == "Alice Cards");
}

BOOST_AUTO_TEST_CASE(away_person_is_demoted) {
  Fragment alice = Employee("E1", "Alice Cards", {{"availability", "away"}});
  alice.version = 2;
  Ingest({alice});
  BOOST_TEST(Names({.text = "card blocked abroad"}).at(0) == "Bruno Cards");
}

BOOST_AUTO_TEST_CASE(tombstoned_case_no_longer_counts) {
  std::vector<Fragment> gone;
  for (int i = 0; i < 6; ++i) {
    Fragment t{.source = "helpdesk",
               .external_id = "C1-" + std::to_string(i),
               .version = 2,
               .tombstone = true};
    gone.push_back(t);
  }
  Ingest(gone);
  const auto names = Names({.text = "card blocked abroad PIN codes"});
  BOOST_TEST((std::find(names.begin(), names.end(), "Alice Cards") == names.end()));
}

BOOST_AUTO_TEST_CASE(french_query_matches_french_evidence) {
  absl::StatusOr<expertise::Ranking> r =
      dir->FindExperts({.text = "Ma carte est bloquée à l'étranger", .as_of_ms = kNow});
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
  BOOST_TEST(r->language == "fr");
  BOOST_REQUIRE(!r->experts.empty());
  BOOST_TEST(r->experts[0].person.display_name == "Chloé Loans");
  BOOST_TEST(r->experts[0].evidence.at(0).snippet.find("Carte bloquée") != std::string::npos);
}

// `question` asked of Fay's and Gus's items (languages guessed) with other_stem_weight
// 1 and 0: the names found at each, the query's language, and the words of the top
// expert's best item matched at 1.
struct OtherStems {
  std::map<double, std::vector<std::string>> ranked;
  std::string language;
  std::string notes;  // at weight 1
  std::vector<std::string> matched;
};
OtherStems AskWithAndWithoutOtherStems(const std::string& fay, const std::string& gus,
                                       const std::string& question) {
  testing::TempDir tmp;
  OtherStems out;
  for (double weight : {1.0, 0.0}) {
    directory::DirectoryOptions o;
    o.expertise.other_stem_weight = weight;
    std::unique_ptr<directory::Directory> dir = OpenFayAndGus(tmp.Sub("db"), o, weight > 0);
    if (weight > 0) {
      BOOST_REQUIRE(dir->Ingest({Case("X-1", "F1", fay, kNow - kDay, ""),
                                 Case("X-2", "F2", gus, kNow - kDay, "")},
                                kNow)
                        .ok());
    }
    absl::StatusOr<expertise::Ranking> r = dir->FindExperts({.text = question, .as_of_ms = kNow});
    BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
    out.language = r->language;
    for (const expertise::Expert& e : r->experts)
      out.ranked[weight].push_back(e.person.display_name);
    if (weight > 0) {
      BOOST_REQUIRE(!r->experts.empty());
      BOOST_REQUIRE(!r->experts[0].evidence.empty());
      out.matched = r->experts[0].evidence[0].matched_words;
      for (const std::string& n : r->notes) out.notes += n + "\n";
    }
  }
  return out;
}

// With the other stems Fay comes first, her item matching "pages" as typed; without
// them she is not found, and Gus is.
void ExpectFayOnlyWithOtherStems(const OtherStems& r) {
  BOOST_TEST((std::count(r.matched.begin(), r.matched.end(), "pages") == 1));
  BOOST_REQUIRE(!r.ranked.at(1.0).empty());
  BOOST_TEST(r.ranked.at(1.0)[0] == "Fay First");
  const std::vector<std::string>& off = r.ranked.at(0.0);
  BOOST_TEST((std::count(off.begin(), off.end(), "Fay First") == 0));
  BOOST_TEST((std::count(off.begin(), off.end(), "Gus Second") == 1));
}

// A short item without stop words is stemmed in the default language (English): Fay's
// "Pages utilisateur vides" is indexed as "page", "utilisateur". A French question
// about user pages also searches its words' English stems and finds her; without
// them only Gus's French item about the menu matches.
BOOST_AUTO_TEST_CASE(a_french_query_finds_short_items_stemmed_in_the_default_language) {
  const OtherStems r =
      AskWithAndWithoutOtherStems("Pages utilisateur vides", "Le menu ne s'affiche pas",
                                  "Les pages utilisateur sont vides et le menu a disparu");
  BOOST_TEST(r.language == "fr");
  ExpectFayOnlyWithOtherStems(r);
}

// The reverse: Fay's French sentence is stemmed as French ("pag", "utilis", "vid").
// A short question without stop words reads as the default, English ("page",
// "utilisateur", "vide"), and also searches its words' French stems, so it finds her;
// without them only Gus's short item, stemmed in English, matches ("utilisateur").
BOOST_AUTO_TEST_CASE(a_query_without_stop_words_also_searches_the_other_languages_stems) {
  const OtherStems r =
      AskWithAndWithoutOtherStems("Les pages utilisateur sont vides depuis la mise à jour",
                                  "Utilisateur menu", "pages utilisateur vides");
  BOOST_TEST(r.language == "en");
  BOOST_TEST(r.notes.find("its words also searched as fr") != std::string::npos, r.notes);
  ExpectFayOnlyWithOtherStems(r);
}

// A hand-over (status open) moves a case: it becomes Bruno's load, not his expertise,
// and Chloé, whom the helpdesk names, holds it no longer. Closing it makes it his
// evidence, and his alone.
BOOST_AUTO_TEST_CASE(a_hand_over_moves_the_load_and_closing_makes_evidence) {
  auto find = [&](const std::string& text,
                  const std::string& name) -> std::optional<expertise::Expert> {
    absl::StatusOr<expertise::Ranking> r = dir->FindExperts({.text = text, .as_of_ms = kNow});
    BOOST_REQUIRE(r.ok());
    for (const expertise::Expert& e : r->experts) {
      if (e.person.display_name == name) return e;
    }
    return std::nullopt;
  };
  const std::string mortgage = "mortgage rate renegotiation", cards = "card blocked at the ATM";
  Fragment reopened = Case("C3-0", "E3", "Mortgage rate renegotiation and loan insurance",
                           kNow - 5 * kDay, "en", "open");
  reopened.version = 2;
  Ingest({reopened});
  BOOST_TEST(find(mortgage, "Chloé Loans")->open_cases == 1u);
  absl::StatusOr<directory::OutcomeResult> o =
      dir->RecordOutcome({"case", "C3-0", "employee_id", "E2", "open", kNow});
  BOOST_REQUIRE_MESSAGE(o.ok(), o.status());
  BOOST_REQUIRE(o->previous_holders.size() == 1u);
  BOOST_TEST(o->previous_holders[0].display_name == "Chloé Loans");
  BOOST_TEST(o->person.display_name == "Bruno Cards");
  BOOST_TEST(find(mortgage, "Chloé Loans")->open_cases == 0u);
  BOOST_TEST(find(cards, "Bruno Cards")->open_cases == 1u);
  BOOST_TEST(!find(mortgage, "Bruno Cards").has_value());  // an open case is no expertise
  // Closed by Bruno: his evidence now; no one's load.
  o = dir->RecordOutcome({"case", "C3-0", "employee_id", "E2", "closed", kNow + 1});
  BOOST_REQUIRE_MESSAGE(o.ok(), o.status());
  std::optional<expertise::Expert> bruno = find(mortgage, "Bruno Cards");
  BOOST_REQUIRE(bruno.has_value());
  BOOST_TEST(bruno->open_cases == 0u);
  BOOST_TEST(bruno->evidence.at(0).external_id == "C3-0");
  // The rebuild derives the same marks.
  const std::string digest = *dir->DerivedDigest();
  BOOST_TEST(dir->Rebuild()->digest_after == digest);
  BOOST_TEST(
      dir->RecordOutcome({"case", "NOPE", "employee_id", "E2", "open", kNow}).status().code() ==
      absl::StatusCode::kNotFound);
  BOOST_TEST(
      dir->RecordOutcome({"case", "C3-0", "employee_id", "E2", "maybe", kNow}).status().code() ==
      absl::StatusCode::kInvalidArgument);
}

BOOST_AUTO_TEST_CASE(bad_queries_are_rejected_with_reasons) {
  auto code = [&](const expertise::Query& q) { return dir->FindExperts(q).status().code(); };
  BOOST_TEST(code({.text = std::string(9000, 'a')}) == absl::StatusCode::kInvalidArgument);
  absl::Status empty = dir->FindExperts({.text = "the and of ?!"}).status();
  BOOST_TEST(empty.code() == absl::StatusCode::kInvalidArgument);
  BOOST_TEST(std::string(empty.message()).find("no searchable words") != std::string::npos);
  BOOST_TEST(code({.text = "card", .limit = 51}) == absl::StatusCode::kInvalidArgument);
  BOOST_TEST(code({.text = "card", .customer_type = "fax", .customer_value = "1"}) ==
             absl::StatusCode::kInvalidArgument);
}

BOOST_AUTO_TEST_CASE(rebuild_reproduces_the_index) {
  const std::string before = *dir->DerivedDigest();
  absl::StatusOr<directory::RebuildResult> r = dir->Rebuild();
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
  BOOST_TEST(r->digest_after == before);
  BOOST_TEST(Names({.text = "card blocked abroad"}).at(0) == "Alice Cards");
}

// Each expert's score is the documented product (ranker.h), and experts come best first.
BOOST_AUTO_TEST_CASE(score_is_text_plus_relationship_times_availability_times_load) {
  Fragment bruno = Employee("E2", "Bruno Cards", {{"availability", "away"}});
  bruno.version = 2;
  Ingest({bruno, Case("OPEN-1", "E1", "unrelated printer jam", kNow, "en", "open")});
  absl::StatusOr<expertise::Ranking> r = dir->FindExperts({.text = "card blocked abroad",
                                                           .customer_type = "customer_id",
                                                           .customer_value = "C-9",
                                                           .as_of_ms = kNow});
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
  BOOST_REQUIRE(r->experts.size() >= 2u);
  bool saw_away = false, saw_load = false;
  for (size_t i = 0; i < r->experts.size(); ++i) {
    const expertise::Expert& e = r->experts[i];
    BOOST_TEST(e.score == (e.text_score + e.relationship_score) * e.availability * e.load_factor,
               boost::test_tools::tolerance(1e-12));
    BOOST_TEST(e.text_score <= 1.0);
    if (i > 0) BOOST_TEST(r->experts[i - 1].score >= e.score);
    if (e.away) {
      saw_away = true;
      BOOST_TEST(e.availability < 1.0);
    }
    if (e.open_cases > 0) {
      saw_load = true;
      BOOST_TEST(e.load_factor < 1.0);
    }
  }
  BOOST_TEST(saw_away);
  BOOST_TEST(saw_load);
  // The best text score is the scale: someone reaches 1.
  BOOST_TEST(std::any_of(r->experts.begin(), r->experts.end(),
                         [](const expertise::Expert& e) { return e.text_score == 1.0; }));
}

BOOST_AUTO_TEST_CASE(limit_and_team_filter_the_answer) {
  absl::StatusOr<expertise::Ranking> one =
      dir->FindExperts({.text = "card blocked abroad", .limit = 1, .as_of_ms = kNow});
  BOOST_REQUIRE(one.ok());
  BOOST_TEST(one->experts.size() == 1u);
  BOOST_TEST(one->experts[0].person.display_name == "Alice Cards");
  Fragment bruno = Employee("E2", "Bruno Cards");
  bruno.version = 2;
  bruno.attributes[1].value = "Cartes";  // team
  Ingest({bruno});
  // Case- and accent-insensitive.
  const auto names = Names({.text = "card blocked abroad", .team = "CARTÉS"});
  BOOST_TEST(names == std::vector<std::string>{"Bruno Cards"});
}

// The ablation switches each turn their feature off, and only it.
BOOST_AUTO_TEST_CASE(ablation_switches_turn_off_one_feature_each) {
  std::vector<Fragment> open;
  open.reserve(8);
  for (int i = 0; i < 8; ++i) {
    open.push_back(
        Case("OPEN-" + std::to_string(i), "E1", "unrelated printer jam", kNow, "en", "open"));
  }
  Ingest(open);
  BOOST_TEST(Names({.text = "card blocked abroad"}).at(0) == "Bruno Cards");
  BOOST_TEST(Names({.text = "card blocked abroad", .no_load = true}).at(0) == "Alice Cards");
  absl::StatusOr<expertise::Ranking> r = dir->FindExperts({.text = "card blocked abroad",
                                                           .customer_type = "customer_id",
                                                           .customer_value = "C-9",
                                                           .as_of_ms = kNow,
                                                           .no_relationship = true});
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->inform.empty());  // no relationship part: the account manager is not named
  for (const expertise::Expert& e : r->experts) BOOST_TEST(e.relationship_score == 0.0);
}

BOOST_AUTO_TEST_CASE(text_matching_no_evidence_ranks_nobody_without_error) {
  absl::StatusOr<expertise::Ranking> r =
      dir->FindExperts({.text = "photosynthesis chlorophyll", .as_of_ms = kNow});
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
  BOOST_TEST(r->experts.empty());
  BOOST_TEST(r->inform.empty());
  BOOST_TEST(!r->query_terms.empty());
}

// A person's language (expertise/language.h) is kept through every kind of edit: the
// sums after retargeting, rewording and removing cases are what a rebuild from the
// fragments gives.
BOOST_AUTO_TEST_CASE(person_language_after_edits_equals_a_rebuild) {
  Fragment moved =
      Case("C1-0", "E2", "Card blocked abroad after three wrong PIN codes, card unblocked",
           kNow - 10 * kDay);
  moved.version = 2;  // same text, now Bruno's
  Fragment reworded =
      Case("C2-0", "E2", "Card swallowed by the ATM, card replaced", kNow - 20 * kDay);
  reworded.version = 2;
  Fragment gone{.source = "helpdesk", .external_id = "C3-0", .version = 2, .tombstone = true};
  Ingest({moved, reworded, gone});
  absl::StatusOr<directory::RebuildResult> r = dir->Rebuild();
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
  BOOST_TEST(r->digest_after == r->digest_before);
}

BOOST_AUTO_TEST_SUITE_END()

// Two people with the same best evidence: the one whose whole history (beyond the
// evidence pool) speaks the query's language comes first. Without the language model
// the tie falls to profile order.
BOOST_AUTO_TEST_CASE(a_whole_history_breaks_a_tie_of_evidence) {
  testing::TempDir tmp;
  std::map<double, std::vector<std::pair<std::string, double>>> ranked;  // weight -> name, language
  for (double weight : {0.75, 0.0}) {
    directory::DirectoryOptions o;
    o.expertise.evidence_pool = 2;  // the two recent cases only
    o.expertise.language_weight = weight;
    std::unique_ptr<directory::Directory> dir = OpenFayAndGus(tmp.Sub("db"), o, weight > 0);
    if (weight > 0) {
      std::vector<Fragment> cases;
      for (const char* who : {"F1", "F2"}) {
        cases.push_back(Case(std::string("NEW-") + who, who,
                             "VPN token expired, reissued the VPN token", kNow - kDay));
      }
      for (int i = 0; i < 8; ++i) {  // Gus's older history, outside the pool
        cases.push_back(Case("OLD-" + std::to_string(i), "F2",
                             "Expired token renewed for the VPN client", kNow - 300 * kDay));
      }
      BOOST_REQUIRE(dir->Ingest(cases, kNow).ok());
    }
    absl::StatusOr<expertise::Ranking> r =
        dir->FindExperts({.text = "VPN token expired", .as_of_ms = kNow});
    BOOST_REQUIRE_MESSAGE(r.ok(), r.status());
    for (const expertise::Expert& e : r->experts)
      ranked[weight].emplace_back(e.person.display_name, e.language_score);
  }
  const auto& fused = ranked[0.75];
  const auto& evidence_only = ranked[0.0];
  BOOST_REQUIRE_EQUAL(fused.size(), 2u);
  BOOST_REQUIRE_EQUAL(evidence_only.size(), 2u);
  BOOST_TEST(fused[0].first == "Gus Second");
  BOOST_TEST(fused[0].second == 1.0);
  BOOST_TEST(fused[1].second > 0.0);
  BOOST_TEST(fused[1].second < 1.0);
  BOOST_TEST(evidence_only[0].first == "Fay First");
  BOOST_TEST(evidence_only[0].second == 0.0);
}
