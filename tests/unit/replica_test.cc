#define BOOST_TEST_MODULE replica

#include <boost/test/unit_test.hpp>
#include <string>
#include <thread>
#include <vector>

#include "server/directory/directory.h"
#include "server/replica/command.h"
#include "tests/unit/temp_dir.h"

// The replica's pieces that need no NATS: commands and their bytes, and the log
// position the directory records in the same batch as a command's writes. The
// replicas themselves, on a real nats-server cluster: tests/integration/replication_test.

using namespace tessera;
using directory::Directory;
using replica::Command;
using replica::CommandType;

namespace {

Command Full(CommandType type) {
  Command c;
  c.type = type;
  c.origin = "node-1/00ff";
  c.serial = 42;
  identity::Fragment f;
  f.source = "hr";
  f.external_id = "E1";
  f.version = 3;
  f.kind = "employee";
  f.attributes.push_back({"display_name", "Élodie Durand"});
  f.identifiers.push_back(
      {"email", "elodie@example.com", "Elodie@Example.com", identity::IdType::kEmail});
  f.relations.push_back({"reports_to", {"employee_id", "E0", "", identity::IdType::kEmail}});
  f.evidence.push_back({"case", "resolved_by", "Carte bloquée", "ma carte est bloquée", "fr", -5});
  f.updated_at_ms = 1'700'000'000'000;
  f.tombstone = true;
  c.fragments = {f, f};
  c.time_ms = -12;
  c.side = {{"k1", std::string("v1")}, {"k2", std::nullopt}};
  c.source = {"crm", "crm", 70, "the CRM", 9};
  c.priority_if_new = true;
  c.run.mode = "full";
  c.run.state = "succeeded";
  c.run.read = 5;
  c.run.added = 5;
  c.run.errors = {"one", "two"};
  c.ids = {7, 8, 1ull << 60};
  c.names = {{"hr", "E1"}, {"crm", "C9"}};
  c.reason = "same person";
  c.outcome.case_type = "case";
  c.outcome.case_value = "HD-1";
  c.outcome.status = "open";
  c.outcome.time_ms = 99;
  directory::AuditEntry a;
  a.time_ms = 5;
  a.principal = "alice";
  a.method = "Admin.Erase";
  a.profiles = {1, 2};
  a.detail = "erased";
  c.audit = {a};
  return c;
}

std::unique_ptr<Directory> Open(const testing::TempDir& tmp) {
  directory::DirectoryOptions options;
  options.normalise.default_region = "FR";
  options.store.block_cache_bytes = 8 << 20;
  options.suppression_key = "a-shared-suppression-key";
  absl::StatusOr<std::unique_ptr<Directory>> d = Directory::Open(tmp.Sub("db"), options);
  BOOST_REQUIRE_MESSAGE(d.ok(), d.status());
  return *std::move(d);
}

identity::Fragment Person(int i) {
  identity::Fragment f;
  f.source = "hr";
  f.external_id = "E" + std::to_string(i);
  f.version = 1;
  f.kind = "employee";
  f.identifiers.push_back({"employee_id", "E" + std::to_string(i)});
  return f;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_command_survives_its_bytes) {
  for (uint8_t t = 1; t <= static_cast<uint8_t>(CommandType::kAudit); ++t) {
    const Command c = Full(static_cast<CommandType>(t));
    const std::string bytes = replica::EncodeCommand(c);
    Command back;
    BOOST_REQUIRE(replica::DecodeCommand(bytes, &back).ok());
    BOOST_TEST(static_cast<int>(back.type) == t);
    BOOST_TEST(back.origin == c.origin);
    BOOST_TEST(back.serial == 42u);
    BOOST_REQUIRE(back.fragments.size() == 2u);
    BOOST_TEST(back.fragments[0].identifiers[0].raw == "Elodie@Example.com");
    BOOST_TEST(back.fragments[0].evidence[0].time_ms == -5);
    BOOST_TEST(back.fragments[1].tombstone);
    BOOST_TEST(back.side[1].value.has_value() == false);
    BOOST_TEST(back.source.priority == 70);
    BOOST_TEST(back.ids[2] == 1ull << 60);
    BOOST_TEST(back.run.errors.size() == 2u);
    BOOST_TEST(back.audit[0].profiles.size() == 2u);
    // Nothing is lost: encoding what was decoded gives the same bytes.
    BOOST_TEST(replica::EncodeCommand(back) == bytes);
  }
}

BOOST_AUTO_TEST_CASE(bytes_that_are_no_command_are_data_loss) {
  const std::string bytes = replica::EncodeCommand(Full(CommandType::kIngest));
  Command c;
  // Every truncation, and a trailing byte, is refused rather than half read.
  for (size_t n = 0; n < bytes.size(); ++n) {
    BOOST_TEST(replica::DecodeCommand(bytes.substr(0, n), &c).code() == absl::StatusCode::kDataLoss,
               "prefix of " << n << " bytes");
  }
  BOOST_TEST(replica::DecodeCommand(bytes + "x", &c).code() == absl::StatusCode::kDataLoss);
  std::string other = bytes;
  other[0] = 2;  // a version this build does not know
  BOOST_TEST(replica::DecodeCommand(other, &c).code() == absl::StatusCode::kDataLoss);
  other = bytes;
  other[1] = 99;  // no such command
  BOOST_TEST(replica::DecodeCommand(other, &c).code() == absl::StatusCode::kDataLoss);
}

BOOST_AUTO_TEST_CASE(the_position_is_written_with_the_commands_writes) {
  testing::TempDir tmp;
  {
    std::unique_ptr<Directory> d = Open(tmp);
    BOOST_TEST(d->Position().applied == 0u);
    BOOST_TEST(!d->Replication().replicated);
    // A single-write command: the position comes with its batch.
    d->StampWrites(1, false);
    BOOST_REQUIRE(d->PutSource({"hr", "test", 50, "", 0}, false).ok());
    d->StampWrites(2, false);
    BOOST_REQUIRE(d->Ingest({Person(1), Person(2)}, 1000).ok());
    d->StampWrites(0, false);
    BOOST_TEST(d->Position().applied == 2u);
    BOOST_TEST(!d->Position().partial);
    BOOST_TEST(d->AwaitPosition(2, absl::ZeroDuration()).ok());
    // A command of several writes is partial until CommitPosition.
    d->StampWrites(3, true);
    BOOST_REQUIRE(d->Ingest({Person(3)}, 1000).ok());
    d->StampWrites(0, false);
    BOOST_TEST(d->Position().applied == 3u);
    BOOST_TEST(d->Position().partial);
    absl::Status waiting = d->AwaitPosition(3, absl::Milliseconds(10));
    BOOST_TEST(waiting.code() == absl::StatusCode::kFailedPrecondition);
    BOOST_TEST(std::string(waiting.message()).find("has applied 3") != std::string::npos, waiting);
    // Writes from another thread record no position.
    d->StampWrites(9, false);
    std::thread([&] { BOOST_REQUIRE(d->Ingest({Person(4)}, 1000).ok()); }).join();
    d->StampWrites(0, false);
    BOOST_TEST(d->Position().applied == 3u);
    BOOST_REQUIRE(d->CommitPosition(3).ok());
    BOOST_TEST(!d->Position().partial);
    BOOST_TEST(d->AwaitPosition(3, absl::ZeroDuration()).ok());
    // A command that wrote nothing (refused) records its position alone.
    d->StampWrites(4, false);
    identity::Fragment bad = Person(5);
    bad.source = "no-such-source";
    BOOST_TEST(!d->Ingest({bad}, 1000).ok());
    d->StampWrites(0, false);
    BOOST_REQUIRE(d->CommitPosition(4).ok());
    BOOST_TEST(d->Position().applied == 4u);
    // Audit records another replica published: one write, sequences assigned here.
    directory::AuditEntry a;
    a.method = "Directory.GetProfile";
    a.time_ms = 7;
    d->StampWrites(5, false);
    BOOST_REQUIRE(d->ApplyAudit({a, a}).ok());
    d->StampWrites(0, false);
    BOOST_TEST(d->Position().applied == 5u);
    absl::StatusOr<directory::AuditPage> page = d->ReadAudit(0, 10);
    BOOST_REQUIRE(page.ok());
    BOOST_REQUIRE(page->entries.size() == 2u);
    BOOST_TEST(page->entries[1].sequence == page->entries[0].sequence + 1);
  }
  // The position is durable, as the state record is.
  std::unique_ptr<Directory> d = Open(tmp);
  BOOST_TEST(d->Position().applied == 5u);
  BOOST_TEST(!d->Position().partial);
}
