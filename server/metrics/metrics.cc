#include "server/metrics/metrics.h"

#include <map>
#include <sstream>

#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace tessera::metrics {
namespace {

// Latency buckets in seconds, 100 µs to 10 s: directory calls take well under a
// millisecond, FindExperts tens of milliseconds, a large Ingest batch seconds.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return *buckets;
}

}  // namespace

struct Metrics::Impl {
  prometheus::Registry registry;
  prometheus::Family<prometheus::Counter>& requests =
      prometheus::BuildCounter()
          .Name("tessera_requests_total")
          .Help("Calls through the gate (gRPC and HTTP) by transport, method and status code")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& request_seconds =
      prometheus::BuildHistogram()
          .Name("tessera_request_duration_seconds")
          .Help("Latency of calls through the gate, by transport and method")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& http =
      prometheus::BuildCounter()
          .Name("tessera_http_responses_total")
          .Help(
              "HTTP responses by route and status code, including health, metrics and refusals at "
              "a limit")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& audit = prometheus::BuildCounter()
                                                       .Name("tessera_audit_appends_total")
                                                       .Help("Audit records appended, by result")
                                                       .Register(registry);
  prometheus::Histogram& audit_seconds = prometheus::BuildHistogram()
                                             .Name("tessera_audit_append_duration_seconds")
                                             .Help("Time to append one audit record")
                                             .Register(registry)
                                             .Add({}, LatencyBuckets());
  prometheus::Family<prometheus::Counter>& ingested =
      prometheus::BuildCounter()
          .Name("tessera_fragments_ingested_total")
          .Help(
              "Fragments ingested, by outcome (added, updated, unchanged, stale, deleted, "
              "suppressed)")
          .Register(registry);
  prometheus::Histogram& find_experts_seconds =
      prometheus::BuildHistogram()
          .Name("tessera_find_experts_duration_seconds")
          .Help("Time the core takes to rank experts for one FindExperts")
          .Register(registry)
          .Add({}, LatencyBuckets());
  prometheus::Gauge& watch_streams = prometheus::BuildGauge()
                                         .Name("tessera_watch_streams_open")
                                         .Help("Watch streams open now")
                                         .Register(registry)
                                         .Add({});
  prometheus::Counter& scim_partial_replace =
      prometheus::BuildCounter()
          .Name("tessera_scim_partial_member_replace_total")
          .Help("SCIM group PATCHes whose 'replace members' list dropped members the group had")
          .Register(registry)
          .Add({});
  prometheus::Family<prometheus::Counter>& replica_applied =
      prometheus::BuildCounter()
          .Name("tessera_replica_applied_total")
          .Help("Commands this replica applied from the replicated log, by command")
          .Register(registry);
  prometheus::Counter& replica_gaps =
      prometheus::BuildCounter()
          .Name("tessera_replica_gaps_total")
          .Help("Gaps found in the replicated log (each stops the replica)")
          .Register(registry)
          .Add({});

  absl::Mutex collectors_mu;
  std::vector<std::function<std::vector<Sample>()>> collectors ABSL_GUARDED_BY(collectors_mu);
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::ObserveCall(std::string_view transport, std::string_view method,
                          absl::StatusCode code, double seconds) {
  const std::string t(transport), m(method);
  impl_->requests.Add({{"transport", t}, {"method", m}, {"code", absl::StatusCodeToString(code)}})
      .Increment();
  impl_->request_seconds.Add({{"transport", t}, {"method", m}}, LatencyBuckets()).Observe(seconds);
}

void Metrics::ObserveHttp(std::string_view route, int status) {
  impl_->http.Add({{"route", std::string(route)}, {"code", std::to_string(status)}}).Increment();
}

void Metrics::ObserveAudit(bool ok, double seconds) {
  impl_->audit.Add({{"result", ok ? "ok" : "error"}}).Increment();
  impl_->audit_seconds.Observe(seconds);
}

void Metrics::AddIngested(std::string_view outcome, uint64_t n) {
  if (n != 0)
    impl_->ingested.Add({{"outcome", std::string(outcome)}}).Increment(static_cast<double>(n));
}

void Metrics::ObserveFindExperts(double seconds) { impl_->find_experts_seconds.Observe(seconds); }

void Metrics::AddWatchStreams(int delta) { impl_->watch_streams.Increment(delta); }

void Metrics::AddScimPartialReplace() { impl_->scim_partial_replace.Increment(); }

void Metrics::AddReplicaApplied(std::string_view command) {
  impl_->replica_applied.Add({{"command", std::string(command)}}).Increment();
}

void Metrics::AddReplicaGap() { impl_->replica_gaps.Increment(); }

void Metrics::AddCollector(std::function<std::vector<Sample>()> collect) {
  absl::MutexLock l(&impl_->collectors_mu);
  impl_->collectors.push_back(std::move(collect));
}

std::string Metrics::Render() const {
  std::vector<prometheus::MetricFamily> families = impl_->registry.Collect();
  std::vector<std::function<std::vector<Sample>()>> collectors;
  {
    absl::MutexLock l(&impl_->collectors_mu);
    collectors = impl_->collectors;
  }
  // Samples of one name form one gauge family, in the order first seen.
  std::map<std::string, size_t> index;
  for (const auto& collect : collectors) {
    for (Sample& s : collect()) {
      auto [it, added] = index.emplace(s.name, families.size());
      if (added) {
        prometheus::MetricFamily f;
        f.name = s.name;
        f.help = s.help;
        f.type = s.counter ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge;
        families.push_back(std::move(f));
      }
      prometheus::ClientMetric m;
      for (auto& [k, v] : s.labels) m.label.push_back({k, v});
      if (s.counter) {
        m.counter.value = s.value;
      } else {
        m.gauge.value = s.value;
      }
      families[it->second].metric.push_back(std::move(m));
    }
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

Metrics& Global() {
  static Metrics* m = new Metrics();
  return *m;
}

}  // namespace tessera::metrics
