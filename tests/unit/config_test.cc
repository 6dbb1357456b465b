#define BOOST_TEST_MODULE config
#include "server/app/config.h"

#include <boost/test/unit_test.hpp>
#include <fstream>

#include "tests/unit/temp_dir.h"

using namespace tessera;

namespace {

absl::Status Load(const std::string& json, app::ServerConfig& c) {
  testing::TempDir tmp;
  std::ofstream(tmp.Sub("c.json")) << json;
  return app::LoadConfigFile(tmp.Sub("c.json"), c);
}

}  // namespace

BOOST_AUTO_TEST_CASE(shipped_configurations_load_and_validate) {
  for (const char* f : {"deploy/tesserad.example.json", "deploy/quickstart.json"}) {
    app::ServerConfig c;
    absl::Status s = app::LoadConfigFile(std::string(TESSERA_SOURCE_DIR) + "/" + f, c);
    BOOST_TEST(s.ok(), f << ": " << s);
    BOOST_TEST(c.Validate().ok(), f);
    BOOST_TEST(!c.sources.empty());
    BOOST_TEST(c.directory.normalise.default_region == "FR");
  }
}

BOOST_AUTO_TEST_CASE(values_override_defaults) {
  app::ServerConfig c;
  BOOST_REQUIRE(Load(R"({"listen": "0.0.0.0:7000", "store": {"block_cache_bytes": 2097152},
                         "limits": {"max_batch_fragments": 10},
                         "sources": [{"id": "hr", "kind": "csv", "priority": 70}]})",
                     c)
                    .ok());
  BOOST_TEST(c.listen == "0.0.0.0:7000");
  BOOST_TEST(c.directory.store.block_cache_bytes == 2097152u);
  BOOST_TEST(c.directory.limits.max_batch_fragments == 10u);
  BOOST_TEST(c.directory.limits.max_identifiers == 64u);  // untouched default
  BOOST_REQUIRE(c.sources.size() == 1u);
  BOOST_TEST(c.sources[0].priority == 70);
}

BOOST_AUTO_TEST_CASE(errors_name_the_key) {
  app::ServerConfig c;
  BOOST_TEST(std::string(Load(R"({"limits": {"max_batchs": 1}})", c).message())
                 .find("limits.max_batchs: unknown key") != std::string::npos);
  BOOST_TEST(std::string(Load(R"({"store": {"sync_writes": "yes"}})", c).message())
                 .find("store.sync_writes: wrong type") != std::string::npos);
  BOOST_TEST(std::string(Load("{not json", c).message()).find("is not JSON") != std::string::npos);
  BOOST_TEST(app::LoadConfigFile("/no/such/file.json", c).code() == absl::StatusCode::kNotFound);
}

BOOST_AUTO_TEST_CASE(validate_names_the_field) {
  app::ServerConfig c;
  BOOST_TEST(c.Validate().ok());
  c.directory.normalise.default_region = "France";
  BOOST_TEST(std::string(c.Validate().message()).find("identity.default_phone_region") == 0);
  c = app::ServerConfig();
  c.directory.store.block_cache_bytes = 10;
  BOOST_TEST(std::string(c.Validate().message()).find("store.block_cache_bytes") == 0);
  c = app::ServerConfig();
  c.sources.push_back({"Bad Id", "csv", 10, "", 0});
  BOOST_TEST(std::string(c.Validate().message()).find("sources[0]") == 0);
  c = app::ServerConfig();
  c.log_level = "loud";
  BOOST_TEST(std::string(c.Validate().message()).find("log_level") == 0);
  c = app::ServerConfig();
  c.api.max_watch_streams = 0;
  BOOST_TEST(std::string(c.Validate().message()).find("max_watch_streams") == 0);
  c = app::ServerConfig();
  c.directory.bulk_memory_bytes = 4096;
  BOOST_TEST(std::string(c.Validate().message()).find("store.bulk_memory_bytes") == 0);
  c = app::ServerConfig();
  c.directory.bulk_idle = absl::Milliseconds(10);
  BOOST_TEST(std::string(c.Validate().message()).find("store.bulk_idle_ms") == 0);
  c = app::ServerConfig();
  BOOST_REQUIRE(Load(R"({"expertise": {"recency_days": 500, "recency_power": 0}})", c).ok());
  BOOST_TEST(c.directory.expertise.recency_power == 0);  // exponential decay, still allowed
  BOOST_TEST(c.Validate().ok());
  c.directory.expertise.recency_power = -1;
  BOOST_TEST(std::string(c.Validate().message()).find("expertise.recency_power") == 0);
  // Weights that 0 turns off: 0 loads and validates, an out-of-range value is named.
  struct Weight {
    const char* key;
    double expertise::ExpertiseOptions::*field;
    double bad;
  };
  for (const Weight& w :
       {Weight{"language_weight", &expertise::ExpertiseOptions::language_weight, -0.5},
        Weight{"other_stem_weight", &expertise::ExpertiseOptions::other_stem_weight, 1.5}}) {
    BOOST_TEST_CONTEXT(w.key) {
      c = app::ServerConfig();
      BOOST_REQUIRE(Load(std::string(R"({"expertise": {")") + w.key + R"(": 0}})", c).ok());
      BOOST_TEST((c.directory.expertise.*w.field) == 0);  // off
      BOOST_TEST(c.Validate().ok());
      c.directory.expertise.*w.field = w.bad;
      BOOST_TEST(std::string(c.Validate().message()).find(std::string("expertise.") + w.key) == 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(security_settings_are_read_and_checked) {
  app::ServerConfig c;
  BOOST_REQUIRE(
      Load(R"({"security": {"tls_cert": "s.pem", "tls_key": "s.key", "tls_client_ca": "ca.pem",
                                      "principals": "p.json", "allow_plaintext": true}})",
           c)
          .ok());
  BOOST_TEST(c.security.tls_client_ca == "ca.pem");
  BOOST_TEST(c.security.principals == "p.json");
  BOOST_TEST(c.security.allow_plaintext);
  BOOST_TEST(c.Validate().ok());
  app::ServerConfig half;
  BOOST_REQUIRE(Load(R"({"security": {"tls_cert": "s.pem"}})", half).ok());
  BOOST_TEST(std::string(half.Validate().message()) ==
             "security: tls_cert and tls_key go together");
  app::ServerConfig ca_only;
  BOOST_REQUIRE(Load(R"({"security": {"tls_client_ca": "ca.pem"}})", ca_only).ok());
  BOOST_TEST(std::string(ca_only.Validate().message()).find("security.tls_client_ca") == 0u);
  app::ServerConfig typo;
  BOOST_TEST(!Load(R"({"security": {"tls_certs": "s.pem"}})", typo).ok());
}

BOOST_AUTO_TEST_CASE(visibility_audit_and_erasure_settings) {
  app::ServerConfig c;
  BOOST_TEST(c.security.audit);
  BOOST_TEST(!c.security.sensitive.has_value());  // the built-in list
  BOOST_REQUIRE(
      Load(R"({"security": {"visible_via": {"customer": ["owner"]}, "sensitive": {"*": ["salary"]},
                                      "see_sensitive": ["agent", "admin"], "audit": false,
                                      "audited_kinds": ["customer", "contact"], "audit_retain_days": 400,
                                      "suppression_key_file": "k.bin", "erase_related_relations": ["raised_by", "cc"]}})",
           c)
          .ok());
  BOOST_TEST(c.security.visible_via.at("customer") == std::vector<std::string>{"owner"});
  BOOST_TEST(c.security.sensitive->at("*") == std::vector<std::string>{"salary"});
  BOOST_TEST(!c.security.audit);
  BOOST_TEST(c.security.audited_kinds.size() == 2u);
  BOOST_TEST(c.security.audit_retain_days == 400u);
  BOOST_TEST(c.security.suppression_key_file == "k.bin");
  BOOST_TEST(c.directory.erase_related_relations.size() == 2u);
  BOOST_TEST(c.Validate().ok());
  app::ServerConfig bad_role;
  BOOST_REQUIRE(Load(R"({"security": {"see_sensitive": ["boss"]}})", bad_role).ok());
  BOOST_TEST(std::string(bad_role.Validate().message()) ==
             "security.see_sensitive: 'boss' is not a role");
  app::ServerConfig bad_relation;
  BOOST_REQUIRE(Load(R"({"security": {"erase_related_relations": [""]}})", bad_relation).ok());
  BOOST_TEST(
      std::string(bad_relation.Validate().message()).find("security.erase_related_relations") ==
      0u);
}

BOOST_AUTO_TEST_CASE(replication_settings_are_read_and_checked) {
  app::ServerConfig c;
  BOOST_REQUIRE(
      app::LoadConfigFile(
          std::string(TESSERA_SOURCE_DIR) + "/deploy/replicas/tesserad-replica.example.json", c)
          .ok());
  BOOST_TEST(c.replication.servers.size() == 3u);
  BOOST_TEST(c.replication.node == "tessera-1");
  BOOST_TEST(c.replication.max_age_hours == 720u);
  BOOST_TEST(c.Validate().ok());
  // Replicas must share the suppression key.
  c.security.suppression_key_file.clear();
  BOOST_TEST(std::string(c.Validate().message()).find("security.suppression_key_file") !=
             std::string::npos);
  c = app::ServerConfig();
  c.security.suppression_key_file = "/k";
  c.replication.servers = {"127.0.0.1:4222"};
  BOOST_TEST(std::string(c.Validate().message()).find("replication.servers") == 0);
  c.replication.servers = {"nats://127.0.0.1:4222"};
  c.replication.stream = "a.b";
  BOOST_TEST(std::string(c.Validate().message()).find("replication.stream") == 0);
  c.replication.stream = "tessera";
  c.replication.apply_wait_ms = 1;
  BOOST_TEST(std::string(c.Validate().message()).find("replication.apply_wait_ms") == 0);
  c.replication.apply_wait_ms = 60'000;
  BOOST_TEST(c.Validate().ok());
  c.replication.token_file = "/t";
  c.replication.credentials_file = "/c";
  BOOST_TEST(std::string(c.Validate().message()).find("replication.token_file") == 0);
  c.replication.credentials_file.clear();
  c.replication.tls_cert = "/cert";
  BOOST_TEST(std::string(c.Validate().message()).find("replication.tls_cert") == 0);
  c.replication.tls_key = "/key";
  BOOST_TEST(c.Validate().ok());
  BOOST_TEST(std::string(Load(R"({"replication": {"server": []}})", c).message())
                 .find("replication.server: unknown key") != std::string::npos);
}
