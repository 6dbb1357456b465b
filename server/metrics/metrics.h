#pragma once

// Process-wide counters and histograms, rendered in Prometheus' text format for the
// HTTP listener's /metrics page (prometheus-cpp's core: its registry and serializer;
// the listener is ours). Callers record plain facts; nothing here knows a transport.
// Gauges that describe the database (sources, RocksDB) are read when the page is
// rendered, by collectors the server adds. Thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace tessera::metrics {

// A value read at render time: name (with its unit), help, labels, value; a gauge,
// or a counter (name ending in _total) kept elsewhere, such as RocksDB's.
struct Sample {
  bool counter = false;
  std::string name;
  std::string help;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // A call through the gate (gRPC or HTTP), by method ("Directory.GetProfile",
  // "Scim.Users.Create") and status code, and its latency.
  void ObserveCall(std::string_view transport, std::string_view method, absl::StatusCode code,
                   double seconds);
  // An HTTP response by route ("/scim/v2/Users", "/metrics", "limit") and status.
  void ObserveHttp(std::string_view route, int status);
  // One audit record appended (or not), and how long the append took.
  void ObserveAudit(bool ok, double seconds);
  // Fragments by ingest outcome ("added", "updated", ...).
  void AddIngested(std::string_view outcome, uint64_t n);
  // One FindExperts answered, and how long the core took.
  void ObserveFindExperts(double seconds);
  // Watch streams opened (+1) and closed (-1).
  void AddWatchStreams(int delta);
  // SCIM PATCHes that replaced a group's members with a list missing members it had
  // (BRIEF Q14: counted to see whether an identity provider sends partial lists).
  void AddScimPartialReplace();
  // Replicated mode: a command applied from the log, by command ("Ingest", "Audit"),
  // and a gap found in the log (the replica stops).
  void AddReplicaApplied(std::string_view command);
  void AddReplicaGap();

  // Collectors run at every render and return gauge samples (e.g. per-source sync
  // state, RocksDB figures). Add before serving; they must outlive the Metrics.
  void AddCollector(std::function<std::vector<Sample>()> collect);

  // The page, in the Prometheus text exposition format 0.0.4.
  std::string Render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The process's metrics.
Metrics& Global();

}  // namespace tessera::metrics
