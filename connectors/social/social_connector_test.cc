// The social connector against a real tesserad: conversations from four channels become
// customers with their handles or numbers, answered conversations make their agents
// experts, a conversation edited and one removed (tombstoned), malformed lines reported
// with their line number and skipped, an incremental run, and bad configuration.

#define BOOST_TEST_MODULE social_connector
#include <boost/test/unit_test.hpp>
#include <stdexcept>

#include "client/lib/text_formats.h"
#include "connectors/common/connector_testing.h"
#include "tessera/v1/expertise.pb.h"

namespace {

using tessera::testing::ConnectorFixture;
namespace v1 = tessera::v1;

int64_t Ms(const std::string& time) { return *tessera::client::ParseTime(time); }

constexpr char kJulie[] =
    R"({"conversation_id": "1001", "channel": "twitter", "customer": {"handle": "@JulieBlanc", "name": "Julie B."},)"
    R"( "agent": "email:Claire.Vidal@Bank.example", "language": "fr", "started_at": "2026-02-11T08:30:00Z",)"
    R"( "messages": [{"from": "customer", "text": "@BanqueLumen mon virement vers ma propriétaire n'est toujours)"
    R"( pas arrivé après 3 jours", "at": "2026-02-11T08:30:00Z"}, {"from": "agent", "text": "Bonjour Julie, un)"
    R"( virement SEPA classique met un jour ouvré ; envoyez-nous la référence.", "at": "2026-02-11T08:42:00Z"}]})";
constexpr char kHassan[] =
    R"({"conversation_id": 4001, "channel": "WhatsApp", "customer": {"phone": "+33 6 90 12 34 57", "name": "Hassan"},)"
    R"( "agent": "kevin.cote@bank.example", "language": "en", "messages": [{"from": "customer", "text": "My card)"
    R"( is blocked abroad, I cannot pay the hotel", "at": "2026-03-14T17:20:00Z"}, {"from": "agent", "text": "Hi)"
    R"( Hassan, we unblocked your card for payments abroad; try again now.", "at": "2026-03-14T17:33:00Z"},)"
    R"( {"from": "customer", "attachment": "photo.jpg", "at": "2026-03-14T17:31:00Z"}]})";
constexpr char kSandrine[] =
    R"({"conversation_id": "2001", "channel": "facebook", "customer": {"handle": "Sandrine.Morel",)"
    R"( "name": "Sandrine Morel"}, "messages": [{"from": "customer", "text": "Vos agences ouvrent le samedi ?",)"
    R"( "at": "2026-01-27T18:20:00Z"}]})";
constexpr char kMathieu[] =
    R"({"conversation_id": "3001", "channel": "instagram", "customer": {"handle": "Mat_Leclerc", "name": "Mathieu"},)"
    R"( "agent": "email:claire.vidal@bank.example", "language": "fr", "messages": [{"from": "customer", "text":)"
    R"( "Vous proposez Apple Pay ?", "at": "2026-03-03T12:20:00Z"}, {"from": "agent", "text": "Oui Mathieu,)"
    R"( ajoutez la carte depuis l'appli.", "at": "2026-03-03T12:30:00Z"}]})";

// Employees from an HR export (the csv connector), and the social source's configuration.
class SocialFixture : public ConnectorFixture {
 public:
  SocialFixture() {
    SyncEmployees(
        "employee_id,display_name,email,team\n"
        "E1,Claire Vidal,claire.vidal@bank.example,Customer Care\n"
        "E2,Kevin Cote,kevin.cote@bank.example,Customer Care\n");
    // One conversation of four goes away in these tests: max_delete_share lets it.
    config = Write("social.json", R"({"source": {"id": "social", "kind": "social", "priority": 30},
      "max_delete_share": 0.5, "input": {"path": "social.jsonl"}})");
  }

  std::string config;
};

BOOST_FIXTURE_TEST_CASE(conversations_sync_and_make_their_agents_experts, SocialFixture) {
  Write("social.jsonl",
        std::string(kJulie) + "\n" + kHassan + "\n\n" + kSandrine + "\n" + kMathieu + "\n");
  auto r = Connect("--config " + config);
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(r.out.find("read 4, added 4, updated 0, unchanged 0, deleted 0, rejected 0") !=
             std::string::npos);

  // The customer, by the handle written another way, with the conversation's details.
  auto julie = Get("twitter:julieblanc");
  BOOST_REQUIRE(julie.ok());
  BOOST_TEST(julie->kind() == "customer");
  BOOST_TEST(julie->display_name() == "Julie B.");
  BOOST_TEST(Attr(*julie, "channel") == "twitter");
  BOOST_TEST(Attr(*julie, "language") == "fr");
  const v1::Fragment tw = Fragment("social", "twitter-1001");
  BOOST_REQUIRE(tw.evidence_size() == 1);
  BOOST_TEST(tw.evidence(0).kind() == "conversation");
  BOOST_TEST(tw.evidence(0).role() == "answered_by");
  BOOST_TEST(tw.evidence(0).text() ==
             "Customer: @BanqueLumen mon virement vers ma propriétaire n'est toujours pas arrivé "
             "après 3 jours\n"
             "Agent: Bonjour Julie, un virement SEPA classique met un jour ouvré ; envoyez-nous la "
             "référence.");
  BOOST_TEST(tw.evidence(0).time_unix_ms() == Ms("2026-02-11T08:42:00Z"));
  BOOST_TEST(tw.evidence(0).language() == "fr");
  BOOST_TEST(tw.updated_at_unix_ms() == Ms("2026-02-11T08:42:00Z"));
  BOOST_REQUIRE(tw.relations_size() == 1);
  BOOST_TEST(tw.relations(0).type() == "answered_by");
  BOOST_TEST(tw.relations(0).target().value() == "claire.vidal@bank.example");

  // WhatsApp: the number is both a whatsapp and a phone identifier of one profile.
  auto wa = Get("whatsapp:+33690123457");
  auto phone = Get("phone:+33690123457");
  BOOST_REQUIRE(wa.ok());
  BOOST_REQUIRE(phone.ok());
  BOOST_TEST(wa->id() == phone->id());
  BOOST_TEST(Attr(*wa, "channel") == "whatsapp");
  const v1::Fragment whatsapp = Fragment("social", "whatsapp-4001");
  BOOST_REQUIRE(whatsapp.relations_size() == 1);
  BOOST_TEST(whatsapp.relations(0).target().type() == "email");  // a bare address
  BOOST_TEST(whatsapp.evidence(0).time_unix_ms() == Ms("2026-03-14T17:33:00Z"));
  BOOST_TEST(whatsapp.evidence(0).text().find("attachment") == std::string::npos);

  // No agent: the customer is known, nobody is credited.
  BOOST_TEST(Get("facebook:sandrine.morel").ok());
  BOOST_TEST(Fragment("social", "facebook-2001").evidence_size() == 0);
  BOOST_TEST(Fragment("social", "facebook-2001").relations_size() == 0);
  BOOST_TEST(Fragment("social", "facebook-2001").updated_at_unix_ms() ==
             Ms("2026-01-27T18:20:00Z"));

  BOOST_TEST(Experts("Mon virement n'est pas arrivé, c'est normal ?").starts_with("Claire Vidal"));
  BOOST_TEST(Experts("My card is blocked abroad").starts_with("Kevin Cote"));
  BOOST_TEST(Experts("Apple Pay avec ma carte ?").starts_with("Claire Vidal"));

  // Julie writes again, Mathieu's conversation is gone, three lines are malformed.
  std::string julie2 = kJulie;
  julie2.insert(julie2.rfind("]}"),
                R"(, {"from": "customer", "text": "Merci, c'était une erreur dans l'IBAN.",)"
                R"( "at": "2026-02-12T16:05:00Z"})");
  Write("social.jsonl",
        julie2 + "\n" + kHassan + "\n" + kSandrine + "\n" +
            R"({"conversation_id": "9", "channel": "telegram", "customer": {"handle": "x"}})"
            "\n"
            "{not json\n" +
            R"({"conversation_id": "8", "channel": "twitter", "customer": {"handle": "y"},)"
            R"( "messages": [{"from": "bot", "text": "hi"}]})"
            "\n");
  r = Connect("--config " + config);
  BOOST_TEST_INFO(r.err);
  BOOST_TEST(r.exit == 3);  // finished, with rejected lines
  BOOST_TEST_INFO(r.out);
  BOOST_TEST(r.out.find("read 7, added 0, updated 1, unchanged 2, deleted 1, rejected 3") !=
             std::string::npos);
  BOOST_TEST(
      r.err.find(
          "social.jsonl:4: unknown channel 'telegram' (expected twitter, facebook, instagram or "
          "whatsapp)") != std::string::npos);
  BOOST_TEST(r.err.find("social.jsonl:5: not valid JSON") != std::string::npos);
  BOOST_TEST(r.err.find("social.jsonl:6: messages[0].from: 'bot' is not customer or agent") !=
             std::string::npos);
  BOOST_TEST(Get("instagram:mat_leclerc").status().code() == absl::StatusCode::kNotFound);
  BOOST_TEST(Fragment("social", "twitter-1001").evidence(0).time_unix_ms() ==
             Ms("2026-02-12T16:05:00Z"));
  BOOST_TEST(Fragment("social", "twitter-1001")
                 .evidence(0)
                 .text()
                 .ends_with("\nCustomer: Merci, c'était une erreur dans l'IBAN."));
  BOOST_TEST(Experts("Apple Pay avec ma carte ?").find("Claire Vidal") == std::string::npos);
  BOOST_TEST(Source("social").last_run().state() == "partial");

  // The lines repaired, incremental: only the new conversation travels.
  Write(
      "social.jsonl",
      julie2 + "\n" + kHassan + "\n" + kSandrine + "\n" +
          R"({"conversation_id": "1011", "channel": "twitter", "customer": {"handle": "@ValentinDsr",)"
          R"( "name": "Valentin D."}, "agent": "claire.vidal@bank.example", "messages": []})"
          "\n");
  r = Connect("--config " + config + " --incremental");
  BOOST_TEST_INFO(r.err);
  BOOST_REQUIRE(r.exit == 0);
  BOOST_TEST(
      r.out.find("incremental sync ok: read 4, added 1, updated 0, unchanged 3, deleted 0") !=
      std::string::npos);
  BOOST_TEST(Get("twitter:valentindsr").ok());
  BOOST_TEST(Fragment("social", "twitter-1011").relations_size() == 1);
  BOOST_TEST(Fragment("social", "twitter-1011").evidence_size() ==
             0);  // answered, but nothing said
  BOOST_TEST(Source("social").last_run().state() == "ok");
}

BOOST_FIXTURE_TEST_CASE(malformed_conversations_are_rejected_with_their_line, SocialFixture) {
  Write(
      "social.jsonl",
      R"({"channel": "twitter", "customer": {"handle": "a"}})"
      "\n"
      R"({"conversation_id": "2", "channel": "twitter", "customer": {"name": "No Handle"}})"
      "\n"
      R"({"conversation_id": "3", "channel": "whatsapp", "customer": {"handle": "@nobody"}, "agent": "Claire"})"
      "\n"
      R"({"conversation_id": "4", "channel": "facebook", "customer": {"handle": "b"}, "started_at": "hier"})"
      "\n"
      R"({"conversation_id": "5", "channel": "facebook", "customer": {"handle": "c"}, "language": "fr_FR!"})"
      "\n"
      R"({"conversation_id": "6", "channel": "whatsapp", "customer": {"name": "No Number"}})"
      "\n"
      R"({"conversation_id": "7", "channel": "facebook", "customer": {"handle": "d"}, "messages": ["hi"]})"
      "\n"
      R"({"conversation_id": "8", "channel": "instagram", "customer": {"handle": "ok_one"}})"
      "\n"
      R"({"conversation_id": "8", "channel": "instagram", "customer": {"handle": "twice"}})"
      "\n");
  auto r = Connect("--config " + config);
  BOOST_TEST(r.exit == 3);
  BOOST_TEST(r.err.find("social.jsonl:1: no conversation_id") != std::string::npos);
  BOOST_TEST(r.err.find("social.jsonl:2: no customer.handle for a twitter conversation") !=
             std::string::npos);
  BOOST_TEST(
      r.err.find("social.jsonl:3: agent 'Claire' is neither type:value nor an e-mail address") !=
      std::string::npos);
  BOOST_TEST(r.err.find("social.jsonl:4: started_at: 'hier' is not an RFC 3339 time") !=
             std::string::npos);
  BOOST_TEST(r.err.find("social.jsonl:5: language 'fr_FR!' is not a language tag") !=
             std::string::npos);
  BOOST_TEST(r.err.find("social.jsonl:6: no customer.phone for a whatsapp conversation") !=
             std::string::npos);
  BOOST_TEST(r.err.find("social.jsonl:7: messages[0]: not an object") != std::string::npos);
  BOOST_TEST(r.err.find("social.jsonl:9: key 'instagram-8' appears twice") != std::string::npos);
  BOOST_TEST(Get("instagram:ok_one").ok());
}

BOOST_FIXTURE_TEST_CASE(clear_configuration_errors, SocialFixture) {
  auto r = Connect("--config " + config);  // no social.jsonl
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(r.err.find("social.jsonl: no such file") != std::string::npos);

  r = Connect("--config " +
              Write("p.json", R"({"source": {"id": "social", "kind": "social"}, "input": {}})"));
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(r.err.find("\"input.path\"") != std::string::npos);

  r = Connect("--config " + Write("k.json", R"({"source": {"id": "social", "kind": "social"},
    "input": {"path": "social.jsonl", "format": "csv"}})"));
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(r.err.find("\"input.format\": unknown key") != std::string::npos);
}

}  // namespace
