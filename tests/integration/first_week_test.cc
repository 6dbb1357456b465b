// A community manager's first week, through the real tesserad, the real connectors and
// the tessera CLI, on the sample organisation (tests/data/sample): the customer
// recognised from whatever the agent has or the message says (issue 12, section 4).

#define BOOST_TEST_MODULE first_week
#include <boost/test/unit_test.hpp>
#include <map>
#include <string>

#include "connectors/common/connector_testing.h"
#include "nlohmann/json.hpp"

using tessera::testing::ConnectorFixture;
using tessera::testing::ConnectResult;

namespace {

const std::string kSample = std::string(TESSERA_SOURCE_DIR) + "/tests/data/sample/";

// The sample organisation, synced source by source as the quickstart does (LDAP aside).
struct SampleOrg : ConnectorFixture {
  SampleOrg() {
    for (const char* source : {"hr", "crm", "social", "helpdesk", "knowledge"}) {
      const ConnectResult r = Connect("--state-dir " + tmp.Sub("state") + " --config " + kSample +
                                      "connect/" + source + ".json");
      if (r.exit != 0) throw std::runtime_error(std::string(source) + " sync failed: " + r.err);
    }
  }

  // `tessera --json experts ...`, parsed.
  nlohmann::json ExpertsJson(const std::string& args) {
    last = Cli("--json experts " + args);
    BOOST_REQUIRE_MESSAGE(last.exit == 0, last.err);
    return nlohmann::json::parse(last.out);
  }
  static std::string First(const nlohmann::json& r) {
    return r["experts"].empty() ? "" : r["experts"][0]["person"]["display_name"].get<std::string>();
  }
  uint64_t CamilleId() {
    absl::StatusOr<tessera::v1::Profile> p = Get("customer_id:C-20002");
    BOOST_REQUIRE(p.ok());
    return p->id();
  }

  ConnectResult last;
};

const char kQuestion[] = "'Ma carte est bloquée, je ne peux plus payer'";

}  // namespace

BOOST_FIXTURE_TEST_SUITE(FirstWeek, SampleOrg)

// Camille is known by her phone (CRM) and her Twitter handle; an agent may have her
// WhatsApp number, her phone in any format, her e-mail, her handle or her profile id.
// Each finds her, and her account manager, Isabelle Laurent, comes first.
BOOST_AUTO_TEST_CASE(the_customer_is_found_from_whatever_the_agent_has) {
  const std::string camille = std::to_string(CamilleId());
  for (const std::string& customer :
       std::vector<std::string>{"whatsapp:+33671243895", "'06 71 24 38 95'", "+33671243895",
                                "camille.roussel@courriel.example", "@CamilleRoussel_", camille}) {
    const nlohmann::json r = ExpertsJson(std::string(kQuestion) + " --customer " + customer);
    BOOST_TEST_INFO(customer << ": " << last.out);
    BOOST_TEST(r.value("customer_found", false));
    BOOST_TEST(r["customer_profile_id"].get<std::string>() == camille);
    BOOST_TEST(First(r) == "Isabelle Laurent");
  }
  // On a channel, a bare handle is that platform's.
  nlohmann::json r =
      ExpertsJson(std::string(kQuestion) + " --customer @camilleroussel_ --channel twitter");
  BOOST_TEST(r["customer_identifier"].get<std::string>() == "twitter:camilleroussel_");
  // GetProfile too: a WhatsApp number finds the phone it is.
  BOOST_TEST(Get("whatsapp:+33 6 71 24 38 95").ok());
  // The text output names her.
  ConnectResult text =
      Cli("experts " + std::string(kQuestion) + " --customer whatsapp:+33671243895");
  BOOST_TEST(text.out.find("customer: Camille Roussel (profile " + camille +
                           ", whatsapp:+33671243895)") != std::string::npos,
             text.out);
}

// A customer the directory does not have is said, not silently ignored.
BOOST_AUTO_TEST_CASE(an_unknown_customer_is_reported) {
  const nlohmann::json r =
      ExpertsJson(std::string(kQuestion) + " --customer whatsapp:+33699999999");
  BOOST_TEST(!r.value("customer_found", false));
  BOOST_TEST(r["notes"].dump().find("customer 'whatsapp:+33699999999' is not in the directory") !=
                 std::string::npos,
             r.dump());
  const ConnectResult text =
      Cli("experts " + std::string(kQuestion) + " --customer nobody@nowhere.example");
  BOOST_TEST(text.exit == 0);
  BOOST_TEST(
      text.err.find("warning: customer 'email:nobody@nowhere.example' is not in the directory") !=
          std::string::npos,
      text.err);
  const ConnectResult bad = Cli("experts " + std::string(kQuestion) + " --customer 'not an id'");
  BOOST_TEST(bad.exit == 1);
  BOOST_TEST(bad.err.find("is neither type:value, an e-mail address, a phone number, an @handle "
                          "nor a profile id") != std::string::npos,
             bad.err);
}

// Identifiers in the pasted message name the customer and are no search words; the
// organisation's own handles name nobody.
BOOST_AUTO_TEST_CASE(identifiers_in_the_message_name_the_customer) {
  const nlohmann::json r = ExpertsJson(
      "'@BanqueLumen bonjour, ma carte est bloquée. Camille Roussel, roussel@courriel.example ou "
      "camille.roussel@courriel.example, 06 71 24 38 95'");
  BOOST_TEST(r.value("customer_found", false), r.dump());
  BOOST_TEST(r.value("customer_from_text", false));
  BOOST_TEST(r["customer_identifier"].get<std::string>() ==
             "email:camille.roussel@courriel.example");
  BOOST_TEST(First(r) == "Isabelle Laurent");
  const std::string terms = r["query_terms"].dump();
  for (const char* gone : {"courriel", "exampl", "roussel@", "\"06\"", "\"71\"", "banquelumen"}) {
    BOOST_TEST(terms.find(gone) == std::string::npos, gone << " in " << terms);
  }
  BOOST_TEST(terms.find("cart") != std::string::npos, terms);
}

// An unsupported language is refused with the supported ones; a guessed one is said;
// a long e-mail is cut between words, with a note; `experts -` reads stdin.
BOOST_AUTO_TEST_CASE(languages_long_messages_and_stdin) {
  for (const char* lang : {"de", "klingon"}) {
    const ConnectResult r = Cli(std::string("experts 'card blocked' --language ") + lang);
    BOOST_TEST(r.exit == 1);
    BOOST_TEST(r.err.find("INVALID_ARGUMENT: language '" + std::string(lang) +
                          "' is not supported (supported: en, fr; leave it empty to guess)") !=
                   std::string::npos,
               r.err);
  }
  nlohmann::json r = ExpertsJson(kQuestion);
  BOOST_TEST(r["language"].get<std::string>() == "fr");
  BOOST_TEST(r["notes"].dump().find("language not given: read as fr") != std::string::npos,
             r.dump());
  r = ExpertsJson(std::string(kQuestion) + " --language fr-FR");
  BOOST_TEST(r["notes"].dump().find("language not given") == std::string::npos);

  std::string mail = "Bonjour, ma carte est bloquée depuis ce matin.";
  while (mail.size() < 20'000) mail += " Je vous remercie de votre aide rapide.";
  Write("mail.txt", mail);
  last = Cli("--json experts - < " + tmp.Sub("mail.txt"));
  BOOST_REQUIRE_MESSAGE(last.exit == 0, last.err);
  r = nlohmann::json::parse(last.out);
  BOOST_TEST(r["notes"].dump().find("only its first") != std::string::npos, r.dump());
  BOOST_TEST(!r["experts"].empty());
}

// What the social team lacks: Camille's history, found by her WhatsApp number. Her
// account manager, her channels, her WhatsApp case with who resolved it, and her
// earlier tweet with Claire Vidal's answer, newest first.
BOOST_AUTO_TEST_CASE(the_customer_history) {
  ConnectResult r = Cli("history whatsapp:+33671243895");
  BOOST_TEST_MESSAGE(r.out);
  BOOST_REQUIRE_MESSAGE(r.exit == 0, r.err);
  BOOST_TEST(
      r.out.find("Camille Roussel (profile " + std::to_string(CamilleId()) + ", customer)") == 0,
      r.out);
  BOOST_TEST(r.out.find("account manager: Isabelle Laurent") != std::string::npos);
  BOOST_TEST(r.out.find("twitter:camilleroussel_") != std::string::npos);
  BOOST_TEST(r.out.find("phone:+33671243895") != std::string::npos);
  last = Cli("--json history " + std::to_string(CamilleId()));
  BOOST_REQUIRE_MESSAGE(last.exit == 0, last.err);
  const nlohmann::json h = nlohmann::json::parse(last.out);
  BOOST_REQUIRE(h["items"].size() >= 2u);
  int64_t previous = INT64_MAX;
  bool tweet = false, whatsapp_case = false;
  for (const auto& item : h["items"]) {
    const int64_t t = std::stoll(item["time_unix_ms"].get<std::string>());
    BOOST_TEST(t <= previous);  // newest first
    previous = t;
    const std::string handlers = item.value("handled_by", nlohmann::json::array()).dump();
    if (item["record"]["external_id"] == "twitter-1003") {
      tweet = true;
      BOOST_TEST(item["kind"] == "conversation");
      BOOST_TEST(item["channel"] == "twitter");
      BOOST_TEST(handlers.find("Claire Vidal") != std::string::npos, handlers);
      BOOST_TEST(item["excerpt"].get<std::string>().find("Carte bloquée à Lisbonne") !=
                 std::string::npos);
      BOOST_TEST(!item["title"].get<std::string>().empty());
    }
    if (item["record"]["external_id"] == "HD-5019") {
      whatsapp_case = true;
      BOOST_TEST(item["channel"] == "whatsapp");
      BOOST_TEST(!item["status"].get<std::string>().empty());
      BOOST_TEST(handlers.find("Inès Bouchard") != std::string::npos, handlers);
    }
  }
  BOOST_TEST(tweet);
  BOOST_TEST(whatsapp_case);
  // Claire answered her tweet: earlier handling, in FindExperts' relationship part.
  const nlohmann::json e =
      ExpertsJson(std::string(kQuestion) + " --customer customer_id:C-20002 --limit 50");
  bool claire = false;
  for (const auto& x : e["experts"]) {
    if (x["person"]["display_name"] != "Claire Vidal") continue;
    claire = true;
    BOOST_TEST(x.value("relationship_score", 0.0) > 0.0);
    BOOST_TEST(x["relationship"].dump().find("answered an earlier message of Camille Roussel") !=
               std::string::npos);
  }
  BOOST_TEST(claire);
  BOOST_TEST(Cli("history customer_id:C-99999").err.find("NOT_FOUND") != std::string::npos);
}

// Explanations a community manager can read: words as typed, not stems; plain reasons;
// the account manager to inform shown apart from who can solve it.
BOOST_AUTO_TEST_CASE(explanations_a_person_can_read) {
  ConnectResult r =
      Cli("experts 'Ma carte est bloquée, je ne peux plus payer' --explain --limit 3");
  BOOST_REQUIRE_MESSAGE(r.exit == 0, r.err);
  BOOST_TEST(
      r.out.find("words searched (read as fr): carte, bloquée, peux, payer") != std::string::npos,
      r.out);
  BOOST_TEST(r.out.find("bloqu,") == std::string::npos);
  BOOST_TEST(r.out.find("solved ") != std::string::npos, r.out);
  // Isabelle Laurent manages Camille but has solved nothing like an app crash.
  r = Cli("experts 'Mon appli crashe au démarrage' --customer customer_id:C-20002");
  BOOST_REQUIRE_MESSAGE(r.exit == 0, r.err);
  BOOST_TEST(r.out.find("inform: Isabelle Laurent (account manager of Camille Roussel") !=
                 std::string::npos,
             r.out);
  BOOST_TEST(r.out.find("can solve it:") != std::string::npos, r.out);
  const nlohmann::json j =
      ExpertsJson("'Mon appli crashe au démarrage' --customer customer_id:C-20002");
  for (const auto& e : j["experts"]) BOOST_TEST(e["person"]["display_name"] != "Isabelle Laurent");
  // Evidence names the profile of its record: GetProfile opens the case.
  const nlohmann::json card = ExpertsJson(kQuestion);
  const auto& hit = card["experts"].at(0)["evidence"].at(0);
  const ConnectResult got = Cli("get " + hit["profile_id"].get<std::string>());
  BOOST_TEST(got.exit == 0, got.err);
  BOOST_TEST(got.out.find(hit["fragment"]["external_id"].get<std::string>()) != std::string::npos,
             got.out);
  // The API's include_unavailable has the same name in the CLI: leavers come back, last.
  const nlohmann::json all =
      ExpertsJson("'taux immobilier renégociation' --include-unavailable --limit 50");
  bool left = false;
  for (const auto& e : all["experts"]) left = left || e.value("left", false);
  BOOST_TEST(left, all.dump());
}

// Open cases per person, as FindExperts reports them for `query`.
std::map<std::string, int> Load(SampleOrg& org, const std::string& query) {
  std::map<std::string, int> out;
  const nlohmann::json r = org.ExpertsJson(query + " --limit 50");
  for (const auto& e : r["experts"]) out[e["person"]["display_name"]] = e.value("open_cases", 0);
  return out;
}

// Handing a case over moves it: Inès and Aïcha, whom the helpdesk names, no longer hold
// it, Chloé does; and an open case is no expertise, so she does not climb the ranking.
BOOST_AUTO_TEST_CASE(a_hand_over_moves_the_load) {
  const std::string fraud = "'paiement refusé carte au Maroc fraude'";
  std::map<std::string, int> before = Load(*this, fraud);
  BOOST_REQUIRE(before.count("Inès Bouchard") == 1);
  const int ines = before["Inès Bouchard"];
  const nlohmann::json rank_before = ExpertsJson(fraud + " --limit 50");
  ConnectResult r =
      Cli("outcome case:HD-5059 email:chloe.lambert@banque-lumen.example --status open");
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(r.out.find("case:HD-5059 \"Carte refusée au Maroc\"") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("handed over to Chloé Lambert") != std::string::npos, r.out);
  const bool both =
      r.out.find("Aïcha Diallo and Inès Bouchard no longer hold it") != std::string::npos ||
      r.out.find("Inès Bouchard and Aïcha Diallo no longer hold it") != std::string::npos;
  BOOST_TEST(both, r.out);
  std::map<std::string, int> after = Load(*this, fraud);
  BOOST_REQUIRE(after.count("Inès Bouchard") == 1);
  BOOST_TEST(ines >= 1);
  BOOST_TEST(after["Inès Bouchard"] == ines - 1);
  // Chloé is no higher than before: her new case is load, not evidence.
  auto position = [](const nlohmann::json& ranking, const std::string& name) {
    for (size_t i = 0; i < ranking["experts"].size(); ++i) {
      if (ranking["experts"][i]["person"]["display_name"] == name) return static_cast<int>(i);
    }
    return 1000;
  };
  const nlohmann::json rank_after = ExpertsJson(fraud + " --limit 50");
  BOOST_TEST(position(rank_after, "Chloé Lambert") >= position(rank_before, "Chloé Lambert"));
}

// A fresh tweet has no helpdesk case yet: the hand-over creates it from the message.
BOOST_AUTO_TEST_CASE(a_fresh_tweet_can_be_handed_over) {
  ConnectResult r =
      Cli("outcome case:TW-9001 email:claire.vidal@banque-lumen.example --status open");
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(r.err.find("give the customer's message (tessera outcome --text) to create it") !=
                 std::string::npos,
             r.err);
  r =
      Cli("outcome case:TW-9001 email:claire.vidal@banque-lumen.example --status open --channel "
          "twitter "
          "--customer @CamilleRoussel_ --text 'Ma carte est encore bloquée à Lisbonne, je suis "
          "coincée à l hôtel'");
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(r.out.find("new case case:TW-9001 \"Ma carte est encore bloquée à Lisbonne") !=
                 std::string::npos,
             r.out);
  BOOST_TEST(r.out.find("handed over to Claire Vidal") != std::string::npos, r.out);
  absl::StatusOr<tessera::v1::Profile> tweet = Get("case:TW-9001");
  BOOST_REQUIRE(tweet.ok());
  BOOST_TEST(Attr(*tweet, "channel") == "twitter");
  BOOST_TEST(Source("tessera-handovers").fragments() == 1u);
  // Taken back (the console's undo): the case made from the tweet goes with it.
  r = Cli("outcome case:TW-9001 email:claire.vidal@banque-lumen.example --status withdrawn");
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(r.out.find("taken back from Claire Vidal") != std::string::npos, r.out);
  BOOST_TEST(Get("case:TW-9001").status().code() == absl::StatusCode::kNotFound);
  BOOST_TEST(Source("tessera-handovers").fragments() == 0u);
  r = Cli("outcome case:HD-5001 email:claire.vidal@banque-lumen.example --status withdrawn");
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(
      r.err.find("is not open with email:claire.vidal@banque-lumen.example") != std::string::npos,
      r.err);
}

BOOST_AUTO_TEST_SUITE_END()
