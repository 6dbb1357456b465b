#include "server/http/site.h"

#include <charconv>

#include "server/metrics/metrics.h"

namespace tessera::http {
namespace {

constexpr char kScimPrefix[] = "/scim/v2";
constexpr char kScimType[] = "application/scim+json";

void Text(Response& res, int status, std::string body) {
  res.status = status;
  res.content_type = "text/plain; charset=utf-8";
  res.body = std::move(body);
}

void ScimReply(Response& res, const scim::Reply& r) {
  res.status = r.status;
  res.content_type = kScimType;
  res.body = r.body;
  if (!r.etag.empty()) res.headers.emplace_back("ETag", r.etag);
  if (!r.location.empty()) res.headers.emplace_back("Location", r.location);
  if (r.status == 401) res.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"tessera\"");
}

// A SCIM error answer for a refusal made here (not by the service).
scim::Reply Refusal(absl::StatusCode code, std::string_view scim_type, const std::string& detail) {
  return scim::Service::ErrorReply(scim::ScimError(code, scim_type, detail));
}

bool IsEndpoint(std::string_view s) {
  for (const char* e : {"Users", "Groups", "ServiceProviderConfig", "ResourceTypes", "Schemas",
                        "Bulk", "Me", ".search"}) {
    if (s == e) return true;
  }
  return false;
}

std::optional<int64_t> Int(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  int64_t v = 0;
  const char* end = text->data() + text->size();
  auto [p, ec] = std::from_chars(text->data(), end, v);
  if (ec != std::errc() || p != end) return std::nullopt;
  return v;
}

}  // namespace

Site::Site(Listener& listener, SiteOptions options) : listener_(listener), options_(options) {
  listener.Route("/healthz", [](const Request&, Response& res) { Text(res, 200, "ok\n"); });
  listener.Route("/readyz", [this](const Request&, Response& res) {
    const Backend* b = backend_.load(std::memory_order_acquire);
    if (b == nullptr) {
      Text(res, 503, "not ready: the database is opening (or the server is stopping)\n");
      return;
    }
    const directory::ReplicaStatus r = b->dir->Replication();
    if (!r.replicated) {
      Text(res, 200, "ready\n");
    } else if (!r.stopped.empty()) {
      Text(res, 503,
           "not serving: replica " + r.node + " stopped applying the log: " + r.stopped + "\n");
    } else if (r.lagging) {
      Text(res, 503,
           "not ready: replica " + r.node + " is " + std::to_string(r.lag) +
               " positions behind the log (position " + std::to_string(r.applied) + " of " +
               std::to_string(r.log_last) + ")\n");
    } else {
      Text(res, 200,
           "ready: replica " + r.node + " at position " + std::to_string(r.applied) + ", lag " +
               std::to_string(r.lag) +
               (r.log_reachable ? "" : " (the log is unreachable: writes fail)") + "\n");
    }
  });
  listener.Route("/metrics", WithBackend(&Site::Metrics));
  listener.Route(kScimPrefix, WithBackend(&Site::Scim));
}

Handler Site::WithBackend(void (Site::*handler)(const Backend&, const Request&, Response&)
                              const) const {
  return [this, handler](const Request& req, Response& res) {
    const Backend* b = backend_.load(std::memory_order_acquire);
    if (b == nullptr) {
      Text(res, 503, "not ready: the database is opening (or the server is stopping)\n");
      res.headers.emplace_back("Retry-After", "5");
      return;
    }
    (this->*handler)(*b, req, res);
  };
}

void Site::Metrics(const Backend& b, const Request& req, Response& res) const {
  if (req.method != "GET") {
    Text(res, 405, "/metrics answers GET\n");
    res.headers.emplace_back("Allow", "GET");
    return;
  }
  if (!(listener_.loopback() && options_.metrics_open_on_loopback) && b.gate->enabled()) {
    // Off loopback (or when SiteOptions say so) the page needs the metrics or admin role.
    gate::CallLog log("Http.Metrics", req.caller);
    absl::StatusOr<const access::Principal*> who = b.gate->Admit(log);
    const absl::Status s = log.Finish(who.status());
    if (!s.ok()) {
      Text(res, s.code() == absl::StatusCode::kUnauthenticated ? 401 : 403,
           std::string(s.message()) + "\n");
      if (res.status == 401)
        res.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"tessera\"");
      return;
    }
  }
  res.status = 200;
  res.content_type = "text/plain; version=0.0.4; charset=utf-8";
  res.body = metrics::Global().Render();
}

void Site::Scim(const Backend& b, const Request& req, Response& res) const {
  // /scim/v2[/{source}]/{endpoint}[/{id}]
  std::vector<std::string> segments;
  std::string_view rest = std::string_view(req.path).substr(sizeof kScimPrefix - 1);
  if (!rest.empty() && rest.front() != '/') {
    ScimReply(res, Refusal(absl::StatusCode::kNotFound, "", "no such path: " + req.path));
    return;
  }
  while (!rest.empty()) {
    rest.remove_prefix(1);
    const size_t slash = rest.find('/');
    segments.emplace_back(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  while (!segments.empty() && segments.back().empty()) segments.pop_back();
  std::string source;
  const bool source_in_url = !segments.empty() && !IsEndpoint(segments[0]);
  if (source_in_url) {
    source = segments[0];
    segments.erase(segments.begin());
  }
  const std::string endpoint = segments.empty() ? "" : segments[0];
  res.route = std::string(kScimPrefix) + "/" + (endpoint.empty() ? "" : endpoint) +
              (segments.size() > 1 ? "/{id}" : "");
  const bool read = req.method == "GET" || req.method == "HEAD";
  gate::CallLog log(read ? "Scim.Read" : "Scim.Write", req.caller);
  scim::Reply reply;
  const auto finish = [&] {
    const absl::Status s = log.Finish(reply.outcome);
    if (!s.ok() && reply.outcome.ok())
      reply = scim::Service::ErrorReply(s);  // the audit log failed
    ScimReply(res, reply);
  };
  absl::StatusOr<const access::Principal*> who = b.gate->Admit(log);
  if (!who.ok()) {
    reply = scim::Service::ErrorReply(who.status());
    return finish();
  }
  // The source: named in the URL, else the one the token is bound to.
  if (source.empty()) {
    if (*who != nullptr && !(*who)->Has(access::Role::kAdmin) && (*who)->sources.size() == 1) {
      source = (*who)->sources[0];
    } else if (endpoint == "Users" || endpoint == "Groups") {
      reply = Refusal(absl::StatusCode::kInvalidArgument, "invalidPath",
                      "name the source in the URL, /scim/v2/{source}/" + endpoint +
                          ": this token is not bound to exactly one source");
      return finish();
    }
  }
  if (!source.empty()) {
    if (absl::Status s = gate::MayWrite(*who, source); !s.ok()) {
      reply = scim::Service::ErrorReply(s);
      return finish();
    }
  }
  const std::string& host = req.Header("host");
  const std::string base = std::string(req.tls ? "https://" : "http://") +
                           (host.empty() ? "localhost" : host) + kScimPrefix +
                           (source_in_url ? "/" + source : "");
  const scim::ScimOptions& options = b.scim->options();
  const auto method_not_allowed = [&](const char* allow) {
    const std::string detail =
        req.method + " is not allowed on /" + endpoint + " (allowed: " + allow + ")";
    reply.status = 405;
    reply.body =
        scim::Json{{"schemas", {scim::kErrorSchema}}, {"status", "405"}, {"detail", detail}}.dump();
    reply.outcome = absl::InvalidArgumentError(detail);
    res.headers.emplace_back("Allow", allow);
  };
  if (endpoint == "ServiceProviderConfig" || endpoint == "ResourceTypes" || endpoint == "Schemas") {
    if (!read) {
      method_not_allowed("GET");
      return finish();
    }
    scim::Json body;
    if (endpoint == "ServiceProviderConfig") {
      body =
          scim::ServiceProviderConfig(base, options.max_results, options.limits.max_resource_bytes);
    } else if (endpoint == "ResourceTypes") {
      body = scim::ResourceTypes(base);
      if (segments.size() > 1) {
        scim::Json found;
        for (const scim::Json& t : body["Resources"]) {
          if (t["id"] == segments[1]) found = t;
        }
        body = found;
      }
    } else {
      body = segments.size() > 1 ? scim::SchemaById(base, segments[1]) : scim::Schemas(base);
    }
    if (body.is_null()) {
      reply =
          Refusal(absl::StatusCode::kNotFound, "", endpoint + " '" + segments[1] + "' not found");
    } else {
      reply.status = 200;
      reply.body = body.dump();
    }
    return finish();
  }
  if (endpoint == "Bulk" || endpoint == "Me" || endpoint == ".search") {
    reply =
        Refusal(absl::StatusCode::kUnimplemented, "",
                "/" + endpoint + " is not implemented by Tessera (ServiceProviderConfig says so)");
    return finish();
  }
  if ((endpoint != "Users" && endpoint != "Groups") || segments.size() > 2) {
    reply = Refusal(absl::StatusCode::kNotFound, "", "no such path: " + req.path);
    return finish();
  }
  const scim::Resource r = endpoint == "Users" ? scim::Resource::kUser : scim::Resource::kGroup;
  scim::ListQuery q;
  q.filter = req.Query("filter");
  q.attributes = req.Query("attributes").value_or("");
  q.excluded_attributes = req.Query("excludedAttributes").value_or("");
  const std::optional<int64_t> start = Int(req.Query("startIndex")),
                               count = Int(req.Query("count"));
  if ((req.Query("startIndex") && !start) || (req.Query("count") && !count)) {
    reply = Refusal(absl::StatusCode::kInvalidArgument, "invalidValue",
                    "startIndex and count must be integers");
    return finish();
  }
  q.start_index = start.value_or(1);
  q.count = count;
  const std::string& if_match = req.Header("if-match");
  if (segments.size() == 1) {
    if (read) {
      reply = b.scim->List(source, r, q, base);
    } else if (req.method == "POST") {
      reply = b.scim->Create(source, r, req.body, base);
    } else {
      method_not_allowed("GET, POST");
    }
    return finish();
  }
  const std::string& id = segments[1];
  if (read) {
    reply = b.scim->Get(source, r, id, q, base);
  } else if (req.method == "PUT") {
    reply = b.scim->Replace(source, r, id, req.body, if_match, base);
  } else if (req.method == "PATCH") {
    reply = b.scim->Patch(source, r, id, req.body, if_match, base);
  } else if (req.method == "DELETE") {
    reply = b.scim->Delete(source, r, id, if_match);
  } else {
    method_not_allowed("GET, PUT, PATCH, DELETE");
  }
  finish();
}

void AddDirectoryCollectors(const directory::Directory& dir) {
  metrics::Global().AddCollector([&dir] {
    std::vector<metrics::Sample> out;
    for (const directory::SourceInfo& s : dir.ListSources()) {
      const std::vector<std::pair<std::string, std::string>> labels = {{"source", s.source.id}};
      out.push_back({false, "tessera_source_live_fragments", "Live fragments of the source", labels,
                     static_cast<double>(s.live_fragments)});
      if (s.last_run) {
        out.push_back({false, "tessera_source_last_sync_timestamp_seconds",
                       "When the source's last reported sync run finished (Unix time)", labels,
                       static_cast<double>(s.last_run->finished_ms) / 1000.0});
        out.push_back({false,
                       "tessera_source_last_sync_state",
                       "The state of the source's last sync run (1 for the state it is in)",
                       {{"source", s.source.id}, {"state", s.last_run->state}},
                       1});
      }
      if (s.last_success_ms > 0) {
        out.push_back({false, "tessera_source_last_success_timestamp_seconds",
                       "When the source last synced without failing (Unix time)", labels,
                       static_cast<double>(s.last_success_ms) / 1000.0});
      }
    }
    const store::Store::Figures f = dir.StoreFigures();
    const auto gauge = [&out](const char* name, const char* help, double v) {
      out.push_back({false, name, help, {}, v});
    };
    gauge("tessera_rocksdb_block_cache_usage_bytes",
          "Block cache in use (memtables are charged to it too)",
          static_cast<double>(f.block_cache_usage_bytes));
    gauge("tessera_rocksdb_block_cache_capacity_bytes", "Block cache capacity",
          static_cast<double>(f.block_cache_capacity_bytes));
    gauge("tessera_rocksdb_memtable_bytes", "Memtables, active and immutable",
          static_cast<double>(f.memtable_bytes));
    gauge("tessera_rocksdb_block_cache_pinned_bytes",
          "Block cache held by readers, which eviction cannot free",
          static_cast<double>(f.block_cache_pinned_bytes));
    gauge("tessera_rocksdb_table_readers_bytes", "Table readers' memory outside the block cache",
          static_cast<double>(f.table_readers_bytes));
    gauge("tessera_rocksdb_pending_compaction_bytes",
          "Bytes RocksDB estimates compaction must rewrite",
          static_cast<double>(f.pending_compaction_bytes));
    gauge("tessera_rocksdb_sst_bytes", "Bytes of SST files", static_cast<double>(f.sst_bytes));
    gauge("tessera_rocksdb_writes_stopped", "1 while RocksDB stops writes",
          f.writes_stopped ? 1 : 0);
    out.push_back({true,
                   "tessera_rocksdb_write_stalls_total",
                   "Times RocksDB began slowing or stopping writes",
                   {},
                   static_cast<double>(f.write_stalls)});
    out.push_back({true,
                   "tessera_rocksdb_batch_bytes_total",
                   "Bytes of the write batches tesserad committed",
                   {},
                   static_cast<double>(f.batch_bytes)});
    out.push_back({true,
                   "tessera_rocksdb_flushed_bytes_total",
                   "Bytes of the table files memtable flushes wrote",
                   {},
                   static_cast<double>(f.flushed_bytes)});
    out.push_back({true,
                   "tessera_rocksdb_compacted_bytes_total",
                   "Bytes of the table files compactions wrote",
                   {},
                   static_cast<double>(f.compacted_bytes)});
    out.push_back({true,
                   "tessera_rocksdb_ingested_bytes_total",
                   "Bytes of the table files bulk loads ingested",
                   {},
                   static_cast<double>(f.ingested_bytes)});
    const directory::ReplicaStatus r = dir.Replication();
    if (r.replicated) {
      gauge("tessera_replica_position", "The last position of the replicated log applied here",
            static_cast<double>(r.applied));
      gauge("tessera_replica_log_last_position",
            "The replicated log's last position, as last heard", static_cast<double>(r.log_last));
      gauge("tessera_replica_lag", "Positions of the log not applied here yet",
            static_cast<double>(r.lag));
      gauge("tessera_replica_log_reachable", "1 when the replicated log (NATS) answers",
            r.log_reachable ? 1 : 0);
      gauge("tessera_replica_stopped", "1 when this replica stopped applying (a gap; see /readyz)",
            r.stopped.empty() ? 0 : 1);
    }
    return out;
  });
}

}  // namespace tessera::http
