#define BOOST_TEST_MODULE server
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "client/lib/client.h"
#include "client/lib/ingester.h"
#include "client/lib/text_formats.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "tests/integration/tesserad_process.h"
#include "tests/unit/temp_dir.h"

using namespace tessera;
using client::Client;

namespace {

v1::Fragment Frag(const std::string& json) {
  absl::StatusOr<v1::Fragment> f = client::ParseFragmentJson(json);
  BOOST_REQUIRE_MESSAGE(f.ok(), f.status());
  return *f;
}

struct ServerFixture {
  ServerFixture() : server(tmp.path()) {
    server.Start();
    client = std::make_unique<Client>(client::ClientOptions{server.address(), 10'000});
    for (auto [id, prio] : {std::pair{"hr", 90}, {"ldap", 80}, {"crm", 60}, {"helpdesk", 50}}) {
      v1::Source s;
      s.set_id(id);
      s.set_kind("test");
      s.set_priority(prio);
      BOOST_REQUIRE(client->PutSource(s).ok());
    }
  }

  client::IngestProgress Ingest(const std::vector<std::string>& lines,
                                std::vector<uint64_t>* rejected = nullptr) {
    client::IngestOptions o;
    o.batch_size = 3;
    o.on_reject = [rejected](uint64_t tag, const absl::Status&) {
      if (rejected != nullptr) rejected->push_back(tag);
    };
    client::Ingester ing(*client, o);
    for (size_t i = 0; i < lines.size(); ++i) BOOST_REQUIRE(ing.Add(Frag(lines[i]), i).ok());
    absl::StatusOr<client::IngestProgress> p = ing.Finish();
    BOOST_REQUIRE_MESSAGE(p.ok(), p.status());
    return *p;
  }

  absl::StatusOr<v1::Profile> Get(const std::string& text, bool provenance = false) {
    v1::GetProfileRequest req;
    *req.mutable_identifier() = *client::ParseIdentifier(text);
    req.set_provenance(provenance);
    return client->GetProfile(req);
  }

  testing::TempDir tmp;
  testing::TesseradProcess server;
  std::unique_ptr<Client> client;
};

const std::vector<std::string> kOrg = {
    R"({"source":"hr","external_id":"E1","version":1,"kind":"employee","attributes":{"display_name":"Alice Martin","team":"Payments"},"identifiers":["employee_id:e1","email:Alice@Bank.example"],"relations":[{"type":"reports_to","target":"employee_id:E0"}]})",
    R"({"source":"hr","external_id":"E0","version":1,"kind":"employee","attributes":{"display_name":"Chloé Chef"},"identifiers":["employee_id:E0"]})",
    R"({"source":"ldap","external_id":"uid=alice","version":1,"kind":"employee","attributes":{"title":"Engineer"},"identifiers":["email:alice@bank.example","phone:01 42 68 53 00"]})",
    R"({"source":"crm","external_id":"C1","version":1,"kind":"customer","attributes":{"display_name":"Camille R."},"identifiers":["customer_id:c-1","twitter:@CamilleR"],"relations":[{"type":"managed_by","target":"email:ALICE@bank.example"}]})",
    R"({"source":"helpdesk","external_id":"HD-1","version":1,"kind":"case","attributes":{"title":"Card blocked"},"relations":[{"type":"raised_by","target":"twitter:camiller"},{"type":"resolved_by","target":"employee_id:E1"}],"evidence":[{"kind":"case","role":"resolved_by","text":"Carte bloquée après trois codes faux","language":"fr"}]})",
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(Server, ServerFixture)

BOOST_AUTO_TEST_CASE(health_and_reflection_answer) {
  BOOST_TEST(client->Health().ok());
  // Server reflection: list services over the generic bidi call, request field 7.
  grpc::GenericStub stub(grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  grpc::CompletionQueue cq;
  auto call =
      stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  BOOST_REQUIRE(cq.Next(&tag, &ok) && ok);
  grpc::Slice req(std::string("\x3a\x00", 2));
  call->Write(grpc::ByteBuffer(&req, 1), reinterpret_cast<void*>(2));
  BOOST_REQUIRE(cq.Next(&tag, &ok) && ok);
  grpc::ByteBuffer resp;
  call->Read(&resp, reinterpret_cast<void*>(3));
  BOOST_REQUIRE(cq.Next(&tag, &ok) && ok);
  grpc::Slice all;
  BOOST_REQUIRE(resp.DumpToSingleSlice(&all).ok());
  const std::string bytes(reinterpret_cast<const char*>(all.begin()), all.size());
  BOOST_TEST(bytes.find("tessera.v1.Directory") != std::string::npos);
  BOOST_TEST(bytes.find("tessera.v1.Admin") != std::string::npos);
  ctx.TryCancel();
  grpc::Status st;
  call->Finish(&st, reinterpret_cast<void*>(4));
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

BOOST_AUTO_TEST_CASE(ingest_links_sources_into_one_profile_over_grpc) {
  client::IngestProgress p = Ingest(kOrg);
  BOOST_TEST(p.added == kOrg.size());
  BOOST_TEST(p.batches == 2u);
  absl::StatusOr<v1::Profile> alice = Get("phone:+33142685300", true);
  BOOST_REQUIRE_MESSAGE(alice.ok(), alice.status());
  BOOST_TEST(alice->display_name() == "Alice Martin");
  BOOST_TEST(alice->fragments_size() == 2);
  bool raw_seen = false;
  for (const auto& id : alice->identifiers()) {
    for (const auto& prov : id.provenance()) raw_seen |= prov.raw() == "Alice@Bank.example";
  }
  BOOST_TEST(raw_seen);
  // Re-sending everything changes nothing.
  p = Ingest(kOrg);
  BOOST_TEST(p.unchanged == kOrg.size());
}

BOOST_AUTO_TEST_CASE(rejected_fragment_is_reported_and_the_rest_applied) {
  std::vector<std::string> lines = kOrg;
  lines.insert(
      lines.begin() + 1,
      R"({"source":"hr","external_id":"E9","version":1,"kind":"employee","identifiers":["phone:12ab"]})");
  std::vector<uint64_t> rejected;
  client::IngestProgress p = Ingest(lines, &rejected);
  BOOST_TEST(p.rejected == 1u);
  BOOST_TEST(p.added == kOrg.size());
  BOOST_TEST((rejected == std::vector<uint64_t>{1}));
  // The same batch through a raw stream: INVALID_ARGUMENT naming batch and fragment, nothing
  // written.
  grpc::ClientContext ctx;
  v1::IngestResponse resp;
  auto writer = client->directory().Ingest(&ctx, &resp);
  v1::IngestBatch batch;
  *batch.add_fragments() = Frag(
      R"({"source":"hr","external_id":"E10","version":1,"kind":"employee","identifiers":["email:e10@bank.example"]})");
  *batch.add_fragments() = Frag(lines[1]);
  writer->Write(batch);
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  BOOST_TEST(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  BOOST_TEST(s.error_message() ==
             "batch 0: fragment 1: identifiers[0]: 'phone' value '12ab' is not a phone number "
             "(default region FR)");
  BOOST_TEST(Get("email:e10@bank.example").status().code() == absl::StatusCode::kNotFound);
}

// A string that is not UTF-8 (a Latin-1 export, say) makes the message undecodable:
// the call fails with INVALID_ARGUMENT naming the fragment and field, never OK with the
// batch dropped (gRPC's reader reports an undecodable message as the end of the stream).
BOOST_AUTO_TEST_CASE(an_undecodable_fragment_fails_the_call_naming_it) {
  v1::Fragment good = Frag(
      R"({"source":"hr","external_id":"E10","version":1,"kind":"employee","identifiers":["email:e10@bank.example"]})");
  v1::Fragment latin1 = Frag(
      R"({"source":"hr","external_id":"E11","version":1,"kind":"employee","attributes":{"title":"x","display_name":"y"},"identifiers":["email:e11@bank.example"]})");
  latin1.mutable_attributes(1)->set_value("H\xE9l\xE8ne");  // Latin-1 bytes
  grpc::ClientContext ctx;
  v1::IngestResponse resp;
  auto writer = client->directory().Ingest(&ctx, &resp);
  v1::IngestBatch first, second;
  *first.add_fragments() = Frag(kOrg[1]);
  *second.add_fragments() = good;
  *second.add_fragments() = latin1;
  BOOST_REQUIRE(writer->Write(first));
  writer->Write(second);
  writer->WritesDone();
  const grpc::Status s = writer->Finish();
  BOOST_TEST(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  BOOST_TEST(s.error_message() ==
             "batch 1: fragment 1: attributes[1].value is not valid UTF-8 (external id 'E11'); "
             "nothing of this batch "
             "was applied (batches 0 to 0 of this stream were applied)");
  const auto& trailers = ctx.GetServerTrailingMetadata();
  BOOST_TEST(trailers.find("tessera-fragment-index")->second == "1");
  BOOST_TEST(Get("employee_id:E0").ok());  // batch 0 applied
  BOOST_TEST(Get("email:e10@bank.example").status().code() == absl::StatusCode::kNotFound);

  // A message that is not protobuf at all.
  grpc::GenericStub stub(grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext raw_ctx;
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(&raw_ctx, "/tessera.v1.Directory/Ingest", &cq);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  BOOST_REQUIRE(cq.Next(&tag, &ok) && ok);
  grpc::Slice junk(std::string("\x0a\xff\xff\xff\xff\x0f", 6));
  call->WriteLast(grpc::ByteBuffer(&junk, 1), grpc::WriteOptions(), reinterpret_cast<void*>(2));
  BOOST_REQUIRE(cq.Next(&tag, &ok));
  grpc::ByteBuffer ignored;
  grpc::Status st;
  call->Finish(&st, reinterpret_cast<void*>(3));
  BOOST_REQUIRE(cq.Next(&tag, &ok));
  BOOST_TEST(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  BOOST_TEST(st.error_message() == "batch 0: the message cannot be decoded as an IngestBatch");
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }

  // Through the client library: the bad fragment is rejected by name, the rest applied,
  // and the counts add up.
  client::IngestOptions o;
  std::vector<std::pair<uint64_t, std::string>> rejected;
  o.on_reject = [&](uint64_t tag, const absl::Status& why) {
    rejected.emplace_back(tag, std::string(why.message()));
  };
  client::Ingester ing(*client, o);
  BOOST_REQUIRE(ing.Add(good, 7).ok());
  BOOST_REQUIRE(ing.Add(latin1, 8).ok());
  absl::StatusOr<client::IngestProgress> p = ing.Finish();
  BOOST_REQUIRE_MESSAGE(p.ok(), p.status());
  BOOST_TEST(p->added == 1u);
  BOOST_TEST(p->rejected == 1u);
  BOOST_TEST(p->fragments() == 2u);
  BOOST_REQUIRE(rejected.size() == 1u);
  BOOST_TEST(rejected[0].first == 8u);
  BOOST_TEST(rejected[0].second.find("attributes[1].value is not valid UTF-8") == 0,
             rejected[0].second);
  BOOST_TEST(Get("email:e10@bank.example").ok());
}

// A finished run whose counts do not add up lost records: tesserad refuses its report.
BOOST_AUTO_TEST_CASE(a_sync_report_must_add_up) {
  v1::ReportSyncRequest req;
  req.set_source("hr");
  v1::SyncRun* run = req.mutable_run();
  run->set_mode("full");
  run->set_state("ok");
  run->set_read(2);
  run->set_added(1);
  run->set_suppressed(1);
  BOOST_TEST(client->ReportSync(req).ok());
  run->set_read(3);
  absl::StatusOr<v1::Source> r = client->ReportSync(req);
  BOOST_TEST(r.status().code() == absl::StatusCode::kInvalidArgument);
  BOOST_TEST(std::string(r.status().message()).find("run counts do not add up: read 3") !=
             std::string::npos);
  run->set_state("failed");
  BOOST_TEST(client->ReportSync(req).ok());  // a failed run may stop part-way
}

// `authorization: bearer` is as good as `Bearer` (RFC 7235: the scheme is
// case-insensitive) — checked in security_test with tokens on.

BOOST_AUTO_TEST_CASE(unknown_source_is_failed_precondition_over_grpc) {
  client::Ingester ing(*client, {});
  BOOST_REQUIRE(
      ing.Add(Frag(R"({"source":"wiki","external_id":"p","version":1,"kind":"document"})"), 0)
          .ok());
  absl::StatusOr<client::IngestProgress> p = ing.Finish();
  BOOST_TEST(p.status().code() == absl::StatusCode::kFailedPrecondition);
  BOOST_TEST(std::string(p.status().message())
                 .find("`tessera admin source wiki --kind KIND --priority N`") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(search_neighbors_and_conflicts) {
  Ingest(kOrg);
  v1::SearchPeopleRequest sreq;
  sreq.set_prefix("chloe");
  absl::StatusOr<v1::SearchPeopleResponse> found = client->SearchPeople(sreq);
  BOOST_REQUIRE(found.ok());
  BOOST_REQUIRE(found->people_size() == 1);
  BOOST_TEST(found->people(0).display_name() == "Chloé Chef");
  v1::NeighborsRequest nreq;
  nreq.set_id(found->people(0).id());
  nreq.set_direction(v1::IN);
  absl::StatusOr<v1::NeighborsResponse> in = client->Neighbors(nreq);
  BOOST_REQUIRE(in.ok());
  BOOST_REQUIRE(in->edges_size() == 1);
  BOOST_TEST(in->edges(0).type() == "reports_to");
  BOOST_TEST(in->edges(0).other().display_name() == "Alice Martin");
  // The customer's account manager, found from the customer's Twitter handle.
  v1::NeighborsRequest mreq;
  *mreq.mutable_identifier() = *client::ParseIdentifier("twitter:@camiller");
  mreq.set_type("managed_by");
  absl::StatusOr<v1::NeighborsResponse> manager = client->Neighbors(mreq);
  BOOST_REQUIRE(manager.ok());
  BOOST_REQUIRE(manager->edges_size() == 1);
  BOOST_TEST(manager->edges(0).other().display_name() == "Alice Martin");

  Ingest(
      {R"({"source":"ldap","external_id":"uid=e0","version":1,"kind":"employee","identifiers":["employee_id:E7","email:chef@bank.example"]})",
       R"({"source":"hr","external_id":"E0","version":2,"kind":"employee","attributes":{"display_name":"Chloé Chef"},"identifiers":["employee_id:E0","email:chef@bank.example"]})"});
  absl::StatusOr<v1::ListConflictsResponse> conflicts = client->ListConflicts({});
  BOOST_REQUIRE(conflicts.ok());
  BOOST_REQUIRE(conflicts->conflicts_size() == 1);
  BOOST_TEST(conflicts->conflicts(0).type() == "employee_id");
  BOOST_TEST(Get("email:chef@bank.example").status().code() ==
             absl::StatusCode::kFailedPrecondition);
}

BOOST_AUTO_TEST_CASE(backup_serves_from_a_second_server_and_rebuild_is_identical) {
  Ingest(kOrg);
  v1::BackupRequest breq;
  breq.set_path(tmp.Sub("backup/db"));
  std::filesystem::create_directories(tmp.Sub("backup"));
  absl::StatusOr<v1::BackupResponse> b = client->Backup(breq);
  BOOST_REQUIRE_MESSAGE(b.ok(), b.status());
  testing::TesseradProcess copy(tmp.Sub("backup"));
  copy.Start();
  Client second(client::ClientOptions{copy.address(), 10'000});
  v1::GetProfileRequest req;
  *req.mutable_identifier() = *client::ParseIdentifier("employee_id:E1");
  absl::StatusOr<v1::Profile> p = second.GetProfile(req);
  BOOST_REQUIRE_MESSAGE(p.ok(), p.status());
  BOOST_TEST(p->display_name() == "Alice Martin");
  BOOST_TEST(copy.Stop() == 0);
  absl::StatusOr<v1::RebuildResponse> r = client->Rebuild();
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->identical());
  BOOST_TEST(r->fragments() == kOrg.size());
}

// The database keeps the phone region it was created with (FR here): a server started
// on it with another is refused, saying why; the stored numbers still read as French.
BOOST_AUTO_TEST_CASE(the_database_keeps_its_phone_region) {
  Ingest(kOrg);
  BOOST_REQUIRE_EQUAL(server.Stop(), 0);
  testing::TesseradProcess us(tmp.path(), {"--default-region", "US"});
  BOOST_CHECK_THROW(us.Start(), std::runtime_error);
  BOOST_TEST(
      us.Log().find(
          "the database was created with default phone region FR, the configuration says US") !=
          std::string::npos,
      us.Log());
  server.Start();
  client = std::make_unique<Client>(client::ClientOptions{server.address(), 10'000});
  BOOST_TEST(Get("phone:01 42 68 53 00").ok());
}

BOOST_AUTO_TEST_CASE(sigterm_stops_cleanly_and_data_survives_restart) {
  Ingest(kOrg);
  BOOST_TEST(server.Stop() == 0);
  BOOST_TEST(server.Log().find("tesserad stopped") != std::string::npos);
  server.Start();
  client = std::make_unique<Client>(client::ClientOptions{server.address(), 10'000});
  BOOST_TEST(Get("employee_id:E1").ok());
  absl::StatusOr<v1::StatsResponse> st = client->Stats();
  BOOST_REQUIRE(st.ok());
  BOOST_TEST(st->live_fragments() == kOrg.size());
  // The read loaded blocks into the cache, which the memory figures report.
  BOOST_TEST(st->block_cache_usage_bytes() > 0u);
  BOOST_TEST(st->block_cache_usage_bytes() >= st->memtable_bytes());
}

BOOST_AUTO_TEST_CASE(merge_and_split_over_grpc) {
  Ingest(kOrg);
  const uint64_t alice = Get("employee_id:E1")->id();
  const uint64_t chloe = Get("employee_id:E0")->id();
  v1::MergeRequest m;
  m.add_profile_ids(alice);
  m.add_profile_ids(chloe);
  m.set_reason("test");
  absl::StatusOr<v1::MergeResponse> merged = client->Merge(m);
  BOOST_REQUIRE_MESSAGE(merged.ok(), merged.status());
  BOOST_TEST(merged->profile().fragments_size() == 3);
  v1::SplitRequest s;
  s.set_profile_id(merged->profile().id());
  v1::FragmentRef* ref = s.add_fragments();
  ref->set_source("hr");
  ref->set_external_id("E0");
  absl::StatusOr<v1::SplitResponse> split = client->Split(s);
  BOOST_REQUIRE_MESSAGE(split.ok(), split.status());
  BOOST_TEST(split->profile_ids_size() == 2);
  BOOST_TEST(client->ListRules()->rules_size() ==
             2);  // the merge rule (now without E0) and the split
  // Deleting both rules gives each profile back the id it had before the merge.
  const absl::StatusOr<v1::ListRulesResponse> rules = client->ListRules();
  BOOST_REQUIRE(rules.ok());
  for (const v1::Rule& r : rules->rules()) BOOST_REQUIRE(client->DeleteRule(r.id()).ok());
  BOOST_TEST(Get("employee_id:E1")->id() == alice);
  BOOST_TEST(Get("employee_id:E0")->id() == chloe);
  v1::SplitRequest bad;
  bad.set_profile_id(alice);
  ref = bad.add_fragments();
  ref->set_source("crm");
  ref->set_external_id("C1");
  BOOST_TEST(client->Split(bad).status().code() == absl::StatusCode::kInvalidArgument);
}

BOOST_AUTO_TEST_SUITE_END()

// The change feed: Directory.Watch.
namespace {

struct Watched {
  std::vector<v1::ChangeEvent> events;  // changes, without PROGRESS
  uint64_t progress = 0;                // the last PROGRESS position seen
  grpc::Status status;
};

// Watches until `changes` change events came (or `progress_to` was reported), or
// `seconds` passed. `positioned`, when given, is told the first PROGRESS position: the
// stream is open and past everything up to it.
Watched Follow(const Client& c, const v1::WatchRequest& req, size_t changes, int seconds = 10,
               uint64_t progress_to = 0, std::promise<uint64_t>* positioned = nullptr) {
  Watched w;
  std::unique_ptr<grpc::ClientContext> ctx = c.NewContext(false);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  std::unique_ptr<grpc::ClientReader<v1::ChangeEvent>> stream = c.directory().Watch(ctx.get(), req);
  v1::ChangeEvent e;
  bool ended = false;
  while (w.events.size() < changes) {
    if (!stream->Read(&e)) {
      ended = true;
      break;
    }
    if (e.op() == v1::ChangeEvent::PROGRESS) {
      if (positioned != nullptr) std::exchange(positioned, nullptr)->set_value(e.sequence());
      w.progress = e.sequence();
      if (progress_to != 0 && w.progress >= progress_to) break;
    } else {
      w.events.push_back(e);
    }
  }
  if (!ended) ctx->TryCancel();
  w.status = stream->Finish();
  return w;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(ChangeFeed, ServerFixture)

BOOST_AUTO_TEST_CASE(watch_replays_the_log_in_order_then_resumes_after_a_restart) {
  Ingest(kOrg);
  const uint64_t sequence = client->Stats()->sequence();
  BOOST_REQUIRE(sequence >= 5);
  v1::WatchRequest req;
  req.set_include_profiles(true);
  Watched all = Follow(*client, req, sequence);
  BOOST_REQUIRE_EQUAL(all.events.size(), sequence);
  for (size_t i = 0; i < all.events.size(); ++i) BOOST_TEST(all.events[i].sequence() == i + 1);
  // The last change of Alice's profile carries it as it is now.
  const uint64_t alice = Get("employee_id:E1")->id();
  const v1::ChangeEvent* last_alice = nullptr;
  for (const auto& e : all.events) {
    if (e.profile_id() == alice) last_alice = &e;
  }
  BOOST_REQUIRE(last_alice != nullptr);
  BOOST_TEST(last_alice->op() == v1::ChangeEvent::UPSERT);
  BOOST_TEST(last_alice->profile().display_name() == "Alice Martin");

  // A client that processed up to `sequence`, then both sides restart.
  BOOST_REQUIRE_EQUAL(server.Stop(), 0);
  server.Start();
  client = std::make_unique<Client>(client::ClientOptions{server.address(), 10'000});
  Ingest(
      {R"({"source":"hr","external_id":"E1","version":2,"kind":"employee","attributes":{"display_name":"Alice Martin-Durand"},"identifiers":["employee_id:e1","email:Alice@Bank.example"]})",
       R"({"source":"hr","external_id":"E0","version":2,"tombstone":true})"});
  req.set_after_sequence(sequence);
  Watched next = Follow(*client, req, 2);
  BOOST_REQUIRE_EQUAL(next.events.size(), 2u);
  BOOST_TEST(next.events[0].sequence() == sequence + 1);
  BOOST_TEST(next.events[0].profile_id() == alice);
  BOOST_TEST(next.events[0].profile().display_name() == "Alice Martin-Durand");
  BOOST_TEST(next.events[1].sequence() == sequence + 2);
  BOOST_TEST(next.events[1].op() == v1::ChangeEvent::DELETE);
  BOOST_TEST(!next.events[1].has_profile());
}

BOOST_AUTO_TEST_CASE(watch_delivers_live_changes_and_reports_progress_while_idle) {
  Ingest({kOrg[0]});
  const uint64_t start = client->Stats()->sequence();
  v1::WatchRequest req;
  req.set_from_now(true);
  req.set_progress_interval_ms(100);
  Watched live;
  std::promise<uint64_t> positioned;
  std::future<uint64_t> open = positioned.get_future();
  std::thread watcher([&] { live = Follow(*client, req, 1, 10, 0, &positioned); });
  // Once a heartbeat says the stream is open and idle at `start`, the change below
  // arrives on it.
  const bool ready = open.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  BOOST_TEST(ready);
  if (ready) {
    BOOST_TEST(open.get() == start);
    Ingest({kOrg[1]});
  }
  watcher.join();
  BOOST_REQUIRE_MESSAGE(live.events.size() == 1, live.status.error_message());
  BOOST_TEST(live.events[0].sequence() == start + 1);
  BOOST_TEST(live.progress == start);         // heartbeats at the position reached while idle
  BOOST_TEST(!live.events[0].has_profile());  // not asked for

  // Nothing new: only heartbeats, at the end of the log.
  req.set_from_now(false);
  req.set_after_sequence(start + 1);
  Watched idle = Follow(*client, req, 1, 10, start + 1);
  BOOST_TEST(idle.events.empty());
  BOOST_TEST(idle.progress == start + 1);
}

BOOST_AUTO_TEST_CASE(watch_rejects_positions_outside_the_log) {
  Ingest(kOrg);
  const uint64_t sequence = client->Stats()->sequence();
  v1::WatchRequest req;
  req.set_after_sequence(sequence + 100);
  Watched ahead = Follow(*client, req, 1);
  BOOST_TEST(ahead.status.error_code() == grpc::StatusCode::OUT_OF_RANGE);
  BOOST_TEST(ahead.status.error_message().find("beyond the change log") != std::string::npos);
  req.set_after_sequence(1);
  req.set_from_now(true);
  BOOST_TEST(Follow(*client, req, 1).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  req.set_from_now(false);
  req.set_after_sequence(0);
  req.set_progress_interval_ms(5);
  BOOST_TEST(Follow(*client, req, 1).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

BOOST_AUTO_TEST_SUITE_END()

// A server keeping only the last 1,000 changes (the least it may keep).
BOOST_AUTO_TEST_CASE(watch_from_a_trimmed_position_is_out_of_range) {
  testing::TempDir tmp;
  { std::ofstream(tmp.path() + "/cfg.json") << R"({"change_log_retain": 1000})"; }
  testing::TesseradProcess server(tmp.path(), {"--config", tmp.path() + "/cfg.json"});
  server.Start();
  const Client c(client::ClientOptions{server.address(), 10'000});
  v1::Source hr;
  hr.set_id("hr");
  hr.set_kind("test");
  BOOST_REQUIRE(c.PutSource(hr).ok());
  client::Ingester ing(c, {});
  for (int i = 0; i < 1200; ++i) {
    BOOST_REQUIRE(ing.Add(Frag(R"({"source":"hr","external_id":"E)" + std::to_string(i) +
                               R"(","version":1,"kind":"employee","identifiers":["employee_id:E)" +
                               std::to_string(i) + R"("]})"),
                          i)
                      .ok());
  }
  BOOST_REQUIRE(ing.Finish().ok());
  const uint64_t sequence = c.Stats()->sequence();
  BOOST_REQUIRE_EQUAL(sequence, 1200u);
  v1::WatchRequest req;
  Watched old = Follow(c, req, 1);
  BOOST_TEST(old.status.error_code() == grpc::StatusCode::OUT_OF_RANGE);
  BOOST_TEST(old.status.error_message().find("older than the retained change log") !=
             std::string::npos);
  // The retained tail is served.
  req.set_after_sequence(sequence - 5);
  Watched tail = Follow(c, req, 5);
  BOOST_REQUIRE_EQUAL(tail.events.size(), 5u);
  BOOST_TEST(tail.events.back().sequence() == sequence);
}
