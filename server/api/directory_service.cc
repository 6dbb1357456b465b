#include "server/api/directory_service.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "server/api/convert.h"
#include "server/api/gate.h"
#include "server/api/ingest_decode.h"
#include "server/metrics/metrics.h"

namespace tessera::api {
namespace {

// Ingest's position among directory.proto's Directory methods (the generated code's
// method index); Ingest stays the first method of the service.
constexpr int kIngestMethodIndex = 0;

}  // namespace

DirectoryService::DirectoryService(directory::Directory& dir, const Gate& gate, ApiLimits limits,
                                   std::function<int64_t()> now_ms)
    : dir_(dir), gate_(gate), limits_(limits), now_ms_(std::move(now_ms)) {
  // The synchronous handler, reading raw messages: gRPC's own Ingest handler decodes
  // each message and reports a failure exactly as the end of the stream.
  MarkMethodStreamed(
      kIngestMethodIndex,
      new grpc::internal::ClientStreamingHandler<DirectoryService, grpc::ByteBuffer,
                                                 v1::IngestResponse>(
          [](DirectoryService* self, grpc::ServerContext* ctx,
             grpc::ServerReader<grpc::ByteBuffer>* reader,
             v1::IngestResponse* resp) { return self->IngestRaw(ctx, reader, resp); },
          this));
}

grpc::Status DirectoryService::IngestRaw(grpc::ServerContext* ctx,
                                         grpc::ServerReader<grpc::ByteBuffer>* reader,
                                         v1::IngestResponse* resp) {
  CallLog log("Directory.Ingest", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(log);
  if (!who.ok()) return log.Finish(who.status());
  grpc::ByteBuffer raw;
  v1::IngestCounts* totals = resp->mutable_totals();
  size_t n = 0;
  while (reader->Read(&raw)) {
    const std::string where = "batch " + std::to_string(n) + ": ";
    const std::string applied =
        n == 0 ? "" : " (batches 0 to " + std::to_string(n - 1) + " of this stream were applied)";
    if (n >= limits_.max_stream_batches) {
      return log.Finish(absl::InvalidArgumentError(where + "a stream carries at most " +
                                                   std::to_string(limits_.max_stream_batches) +
                                                   " batches; open a new stream" + applied));
    }
    v1::IngestBatch batch;
    int bad = -1;
    if (absl::Status s = DecodeIngestBatch(raw, &batch, &bad); !s.ok()) {
      ctx->AddTrailingMetadata("tessera-batch-index", std::to_string(n));
      if (bad >= 0) ctx->AddTrailingMetadata("tessera-fragment-index", std::to_string(bad));
      return log.Finish(absl::InvalidArgumentError(where + std::string(s.message()) + applied));
    }
    for (int i = 0; i < batch.fragments_size(); ++i) {
      if (absl::Status s = MayWrite(*who, batch.fragments(i).source()); !s.ok()) {
        return log.Finish(absl::PermissionDeniedError(where + "fragment " + std::to_string(i) +
                                                      ": " + std::string(s.message()) + applied));
      }
    }
    std::vector<identity::Fragment> fragments;
    fragments.reserve(batch.fragments_size());
    for (const v1::Fragment& f : batch.fragments()) fragments.push_back(FromProto(f));
    const int64_t time = batch.batch_time_unix_ms() != 0 ? batch.batch_time_unix_ms() : now_ms_();
    if (batch.bulk()) {
      if (absl::Status s = dir_.BeginBulk(); !s.ok()) {
        return log.Finish(
            absl::Status(s.code(), where + "bulk load: " + std::string(s.message()) + applied));
      }
    }
    absl::StatusOr<directory::BatchResult> r = dir_.Ingest(std::move(fragments), time);
    if (!r.ok()) {
      // Machine-readable position of the failure, so clients can drop one bad
      // fragment and resend the rest (client/lib's Ingester does).
      ctx->AddTrailingMetadata("tessera-batch-index", std::to_string(n));
      if (auto i = r.status().GetPayload(directory::kFragmentIndexPayload); i.has_value()) {
        ctx->AddTrailingMetadata("tessera-fragment-index", std::string(*i));
      }
      return log.Finish(
          absl::Status(r.status().code(), where + std::string(r.status().message()) + applied));
    }
    ToProto(*r, resp->add_batches());
    totals->set_added(totals->added() + r->counts.added);
    totals->set_updated(totals->updated() + r->counts.updated);
    totals->set_unchanged(totals->unchanged() + r->counts.unchanged);
    totals->set_stale(totals->stale() + r->counts.stale);
    totals->set_deleted(totals->deleted() + r->counts.deleted);
    totals->set_suppressed(totals->suppressed() + r->counts.suppressed);
    resp->set_sequence(r->sequence);
    if (batch.finish_bulk() && dir_.BulkActive()) {
      absl::StatusOr<store::Store::BulkFigures> f = dir_.FinishBulk();
      if (!f.ok()) {
        return log.Finish(absl::Status(
            f.status().code(), where + std::string(f.status().message()) + " (batches 0 to " +
                                   std::to_string(n) + " of this stream were applied)"));
      }
      ToProto(*f, resp->mutable_bulk());
    }
    ++n;
  }
  resp->set_position(dir_.Position().applied);
  return log.Finish(absl::OkStatus());
}

template <typename Work>
grpc::ServerUnaryReactor* DirectoryService::Answer(grpc::CallbackServerContext* ctx,
                                                   std::string_view method, Work work) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(RunCall(gate_, method, CallerOf(ctx), work)));
  return reactor;
}

grpc::ServerUnaryReactor* DirectoryService::GetProfile(grpc::CallbackServerContext* ctx,
                                                       const v1::GetProfileRequest* req,
                                                       v1::Profile* resp) {
  return Answer(ctx, "Directory.GetProfile", [&](const access::Principal* who, gate::CallLog& log) {
    return DoGetProfile(who, *req, resp, log);
  });
}

grpc::ServerUnaryReactor* DirectoryService::SearchPeople(grpc::CallbackServerContext* ctx,
                                                         const v1::SearchPeopleRequest* req,
                                                         v1::SearchPeopleResponse* resp) {
  return Answer(ctx, "Directory.SearchPeople",
                [&](const access::Principal* who, gate::CallLog& log) {
                  return DoSearchPeople(who, *req, resp, log);
                });
}

grpc::ServerUnaryReactor* DirectoryService::Neighbors(grpc::CallbackServerContext* ctx,
                                                      const v1::NeighborsRequest* req,
                                                      v1::NeighborsResponse* resp) {
  return Answer(ctx, "Directory.Neighbors", [&](const access::Principal* who, gate::CallLog& log) {
    return DoNeighbors(who, *req, resp, log);
  });
}

grpc::ServerUnaryReactor* DirectoryService::CustomerHistory(grpc::CallbackServerContext* ctx,
                                                            const v1::CustomerHistoryRequest* req,
                                                            v1::CustomerHistoryResponse* resp) {
  return Answer(ctx, "Directory.CustomerHistory",
                [&](const access::Principal* who, gate::CallLog& log) {
                  return DoCustomerHistory(who, *req, resp, log);
                });
}

absl::Status DirectoryService::Call(const gate::Caller& caller, const v1::GetProfileRequest& req,
                                    v1::Profile* resp) {
  return RunCall(gate_, "Directory.GetProfile", caller,
                 [&](const access::Principal* who, gate::CallLog& log) {
                   return DoGetProfile(who, req, resp, log);
                 });
}

absl::Status DirectoryService::Call(const gate::Caller& caller, const v1::SearchPeopleRequest& req,
                                    v1::SearchPeopleResponse* resp) {
  return RunCall(gate_, "Directory.SearchPeople", caller,
                 [&](const access::Principal* who, gate::CallLog& log) {
                   return DoSearchPeople(who, req, resp, log);
                 });
}

absl::Status DirectoryService::Call(const gate::Caller& caller, const v1::NeighborsRequest& req,
                                    v1::NeighborsResponse* resp) {
  return RunCall(gate_, "Directory.Neighbors", caller,
                 [&](const access::Principal* who, gate::CallLog& log) {
                   return DoNeighbors(who, req, resp, log);
                 });
}

absl::Status DirectoryService::Call(const gate::Caller& caller,
                                    const v1::CustomerHistoryRequest& req,
                                    v1::CustomerHistoryResponse* resp) {
  return RunCall(gate_, "Directory.CustomerHistory", caller,
                 [&](const access::Principal* who, gate::CallLog& log) {
                   return DoCustomerHistory(who, req, resp, log);
                 });
}

absl::Status DirectoryService::DoCustomerHistory(const access::Principal* who,
                                                 const v1::CustomerHistoryRequest& req,
                                                 v1::CustomerHistoryResponse* resp,
                                                 gate::CallLog& log) {
  if (req.channel().size() > 64)
    return absl::InvalidArgumentError("channel is longer than 64 bytes");
  directory::HistoryQuery q;
  q.customer = RefFromProto(req.id(), req.has_identifier() ? &req.identifier() : nullptr);
  // A bare value (no type) is guessed by the core, as the request's comment promises;
  // RefFromProto marks an empty type for the reads that take only type:value.
  if (req.has_identifier() && req.identifier().type().empty()) q.customer.id_type.clear();
  q.customer.visible = gate_.FilterFor(who, dir_);
  q.customer.may_look_up = gate_.LookUpFor(who);
  q.channel = req.channel();
  q.limit = req.limit();
  absl::StatusOr<directory::HistoryView> view = dir_.History(q);
  if (!view.ok()) return view.status();
  // The customer, and the cases read (they carry the customer's words).
  std::vector<uint64_t> audited = {view->customer.id};
  for (const directory::HistoryItem& item : view->items) {
    if (item.profile != view->customer.id) audited.push_back(item.profile);
  }
  std::sort(audited.begin(), audited.end());
  audited.erase(std::unique(audited.begin(), audited.end()), audited.end());
  if (Audited(view->customer.kinds)) log.Audit(std::move(audited));
  ToProto(*view, resp);
  Redact(gate_.RedactedFor(who, view->customer.kinds), resp->mutable_customer());
  auto redact = [&](v1::ProfileSummary* s) { Redact(gate_.RedactedFor(who, {s->kind()}), s); };
  for (v1::ProfileSummary& m : *resp->mutable_account_managers()) redact(&m);
  for (v1::HistoryItem& item : *resp->mutable_items()) {
    for (v1::ProfileSummary& h : *item.mutable_handled_by()) redact(&h);
  }
  return absl::OkStatus();
}

absl::Status DirectoryService::DoGetProfile(const access::Principal* who,
                                            const v1::GetProfileRequest& req, v1::Profile* resp,
                                            gate::CallLog& log) {
  directory::ProfileRef ref =
      RefFromProto(req.id(), req.has_identifier() ? &req.identifier() : nullptr);
  ref.visible = gate_.FilterFor(who, dir_);
  ref.may_look_up = gate_.LookUpFor(who);
  absl::StatusOr<directory::ProfileView> view = dir_.GetProfile(ref);
  if (!view.ok()) return view.status();
  if (Audited(view->profile.kinds)) log.Audit({view->profile.id});
  ToProto(*view, req.provenance(), resp);
  Redact(gate_.RedactedFor(who, view->profile.kinds), resp);
  return absl::OkStatus();
}

absl::Status DirectoryService::DoSearchPeople(const access::Principal* who,
                                              const v1::SearchPeopleRequest& req,
                                              v1::SearchPeopleResponse* resp, gate::CallLog& log) {
  index::NameQuery q;
  q.prefix = req.prefix();
  q.kinds.assign(req.kinds().begin(), req.kinds().end());
  q.team = req.team();
  q.location = req.location();
  q.page_size = req.page_size();
  if (!req.page_token().empty()) {
    try {
      size_t used = 0;
      q.after_id = std::stoull(req.page_token(), &used);
      if (used != req.page_token().size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      return absl::InvalidArgumentError("page_token is not from SearchPeople");
    }
  }
  if (q.team.size() > 256 || q.location.size() > 256 || q.kinds.size() > 8) {
    return absl::InvalidArgumentError("team and location are limited to 256 bytes, kinds to 8");
  }
  // A caller who does not see every kind searches the person kinds it may see, and
  // those it sees through its own relationships (each result then checked).
  identity::ProfileFilter filter;
  if (who != nullptr && !gate_.visibility().SeesAll(*who)) {
    const access::Visibility& v = gate_.visibility();
    const std::vector<std::string> allowed = v.KindsFor(*who);
    std::vector<std::string> kinds;
    for (const char* k : {"employee", "customer", "contact"}) {
      const bool asked =
          q.kinds.empty() || std::find(q.kinds.begin(), q.kinds.end(), k) != q.kinds.end();
      const bool by_role = std::find(allowed.begin(), allowed.end(), k) != allowed.end();
      const bool by_relationship = !who->person.empty() && !v.Via(k).empty();
      if (asked && (by_role || by_relationship)) kinds.push_back(k);
      if (asked && !by_role && by_relationship && !filter) filter = gate_.FilterFor(who, dir_);
    }
    if (kinds.empty()) return absl::OkStatus();  // nothing the caller may see: no people
    q.kinds = std::move(kinds);
  }
  absl::StatusOr<index::NamePage> page = dir_.SearchPeople(std::move(q));
  if (!page.ok()) return page.status();
  std::vector<uint64_t> audited;
  for (const index::PersonSummary& s : page->people) {
    if (filter && !filter(s.id, {s.kind})) continue;  // a page may then hold fewer people
    if (Audited({s.kind})) audited.push_back(s.id);
    v1::ProfileSummary* out = resp->add_people();
    ToProto(s, out);
    Redact(gate_.RedactedFor(who, {s.kind}), out);
  }
  if (!audited.empty()) log.Audit(std::move(audited));
  if (page->next_after_id != 0) resp->set_next_page_token(std::to_string(page->next_after_id));
  resp->set_truncated(page->truncated);
  return absl::OkStatus();
}

absl::Status DirectoryService::DoNeighbors(const access::Principal* who,
                                           const v1::NeighborsRequest& req,
                                           v1::NeighborsResponse* resp, gate::CallLog& log) {
  directory::NeighborsQuery q;
  q.start = RefFromProto(req.id(), req.has_identifier() ? &req.identifier() : nullptr);
  q.start.visible = gate_.FilterFor(who, dir_);
  q.start.may_look_up = gate_.LookUpFor(who);
  q.type = req.type();
  if (req.direction() == v1::OUT) q.direction = graph::Direction::kOut;
  if (req.direction() == v1::IN) q.direction = graph::Direction::kIn;
  q.limit = req.limit();
  q.page_token = req.page_token();
  if (q.page_token.size() > 1024) return absl::InvalidArgumentError("page_token is too long");
  absl::StatusOr<directory::NeighborsView> view = dir_.Neighbors(q);
  if (!view.ok()) return view.status();
  resp->set_id(view->id);
  std::vector<uint64_t> audited;
  if (Audited(view->kinds)) audited.push_back(view->id);
  for (const directory::NeighborView& e : view->edges) {
    if (e.summary && Audited({e.summary->kind})) audited.push_back(e.other);
    v1::Edge* out = resp->add_edges();
    ToProto(e, out);
    if (e.summary) {
      const std::vector<std::string> withheld = gate_.RedactedFor(who, {e.summary->kind});
      Redact(withheld, out->mutable_other());
      if (std::find(withheld.begin(), withheld.end(), out->target().type()) != withheld.end()) {
        out->mutable_target()->clear_value();
      }
    }
  }
  if (!audited.empty()) log.Audit(std::move(audited));
  resp->set_next_page_token(view->next_page_token);
  return absl::OkStatus();
}

grpc::Status DirectoryService::Watch(grpc::ServerContext* ctx, const v1::WatchRequest* req,
                                     grpc::ServerWriter<v1::ChangeEvent>* writer) {
  CallLog log("Directory.Watch", ctx);
  absl::StatusOr<const access::Principal*> who = gate_.Admit(log);
  if (!who.ok()) return log.Finish(who.status());
  if (req->from_now() && req->after_sequence() != 0) {
    return log.Finish(absl::InvalidArgumentError("give after_sequence or from_now, not both"));
  }
  const uint32_t interval_ms =
      req->progress_interval_ms() == 0 ? 10'000 : req->progress_interval_ms();
  if (interval_ms < 100 || interval_ms > 60'000) {
    return log.Finish(
        absl::InvalidArgumentError("progress_interval_ms is 100..60000 (0: 10000), not " +
                                   std::to_string(req->progress_interval_ms())));
  }
  // Every increment is undone on the way out, also when over the limit: a refused
  // stream once kept its count, and enough refusals locked Watch out for good.
  struct Slot {
    std::atomic<size_t>& open;
    bool taken;
    ~Slot() {
      --open;
      if (taken) metrics::Global().AddWatchStreams(-1);
    }
  } slot{watch_streams_, ++watch_streams_ <= limits_.max_watch_streams};
  if (slot.taken) metrics::Global().AddWatchStreams(1);
  if (!slot.taken) {
    return log.Finish(absl::ResourceExhaustedError(std::to_string(limits_.max_watch_streams) +
                                                   " Watch streams are open, the server's limit "
                                                   "(api.max_watch_streams); try again later"));
  }
  if (const Auditor* auditor = gate_.auditor(); auditor != nullptr && auditor->enabled()) {
    // Recorded when opened (a stream may last for days), if it can carry audited kinds.
    const access::Principal* w = *who;
    const access::Visibility& v = gate_.visibility();
    const bool may_see_audited =
        w == nullptr || v.MaySee(*w, auditor->kinds()) || (!w->person.empty() && v.AnyVia());
    directory::AuditEntry e =
        auditor->Entry(log.caller(), "Directory.Watch", *who, absl::OkStatus());
    e.detail = "opened after sequence " + std::to_string(req->after_sequence()) +
               (req->from_now() ? " (from now)" : "");
    if (may_see_audited) {
      if (absl::Status s = auditor->Record(std::move(e)); !s.ok()) {
        return log.Finish(
            absl::UnavailableError("the audit log cannot be written; the call was not answered"));
      }
    }
  }
  directory::ChangesQuery q;
  q.after = req->from_now() ? dir_.WaitForChanges(UINT64_MAX, absl::ZeroDuration())
                            : req->after_sequence();
  q.with_profiles = req->include_profiles();
  q.visible = gate_.FilterFor(*who, dir_);
  // Waits are cut short now and then so a cancelled call or a stopping server is
  // noticed promptly.
  const absl::Duration tick = absl::Milliseconds(std::min<uint32_t>(interval_ms, 250));
  const absl::Duration interval = absl::Milliseconds(interval_ms);
  absl::Time last_sent = absl::Now();
  while (!ctx->IsCancelled()) {
    absl::StatusOr<directory::ChangesPage> page = dir_.ReadChanges(q);
    if (!page.ok()) return log.Finish(page.status());
    for (directory::ChangeEvent& e : page->events) {
      v1::ChangeEvent out;
      out.set_op(e.deleted ? v1::ChangeEvent::DELETE : v1::ChangeEvent::UPSERT);
      out.set_sequence(e.sequence);
      out.set_profile_id(e.profile);
      out.set_time_unix_ms(e.time_ms);
      if (e.current) {
        const std::vector<std::string> withheld = gate_.RedactedFor(*who, e.current->kinds);
        ToProto(directory::ProfileView{*std::move(e.current), {}}, false, out.mutable_profile());
        Redact(withheld, out.mutable_profile());
      }
      if (!writer->Write(out)) return log.Finish(absl::CancelledError("the client went away"));
      last_sent = absl::Now();
    }
    const uint64_t before = q.after;
    q.after = page->position;
    if (absl::Now() - last_sent >= interval) {
      // Past changes the caller does not see, or idle: the position reached (and a
      // sign of life).
      v1::ChangeEvent progress;
      progress.set_op(v1::ChangeEvent::PROGRESS);
      progress.set_sequence(q.after);
      if (!writer->Write(progress)) return log.Finish(absl::CancelledError("the client went away"));
      last_sent = absl::Now();
    }
    // Caught up: wait for the next change, a tick at a time so that a cancelled call
    // or a stopping server is noticed promptly.
    if (q.after == before) dir_.WaitForChanges(q.after, tick);
  }
  return log.Finish(absl::CancelledError("the watch was cancelled"));
}

bool DirectoryService::Audited(const std::vector<std::string>& kinds) const {
  return gate_.auditor() != nullptr && gate_.auditor()->Covers(kinds);
}

}  // namespace tessera::api
