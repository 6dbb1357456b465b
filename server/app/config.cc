#include "server/app/config.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <type_traits>
#include <utility>

#include "nlohmann/json.hpp"
#include "server/access/access.h"

namespace tessera::app {
namespace {

using nlohmann::json;
using Setter = std::function<void(const json&)>;

// Applies `setters` to the members of `obj`, naming `where.key` in errors.
absl::Status Apply(const json& obj, const std::string& where,
                   const std::map<std::string, Setter>& setters) {
  if (!obj.is_object()) return absl::InvalidArgumentError(where + ": expected an object");
  for (const auto& [key, value] : obj.items()) {
    const std::string name = where.empty() ? key : where + "." + key;
    auto it = setters.find(key);
    if (it == setters.end()) return absl::InvalidArgumentError(name + ": unknown key");
    try {
      it->second(value);
    } catch (const json::exception&) {
      return absl::InvalidArgumentError(name + ": wrong type of value " + value.dump());
    }
  }
  return absl::OkStatus();
}

template <typename T>
Setter Set(T& field) {
  return [&field](const json& v) {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      // get<T>() converts a float or an integer that does not fit without a check (a
      // float out of range is undefined behaviour): only integers that fit are taken.
      const bool fits = v.is_number_unsigned()  ? std::in_range<T>(v.get<uint64_t>())
                        : v.is_number_integer() ? std::in_range<T>(v.get<int64_t>())
                                                : false;
      if (!fits) throw json::type_error::create(302, "not an integer in range", &v);
    }
    field = v.get<T>();
  };
}

absl::Status ApplySources(const json& list, std::vector<identity::Source>& out) {
  if (!list.is_array()) return absl::InvalidArgumentError("sources: expected an array");
  for (size_t i = 0; i < list.size(); ++i) {
    identity::Source s;
    if (absl::Status st = Apply(list[i], "sources[" + std::to_string(i) + "]",
                                {{"id", Set(s.id)},
                                 {"kind", Set(s.kind)},
                                 {"priority", Set(s.priority)},
                                 {"description", Set(s.description)}});
        !st.ok()) {
      return st;
    }
    out.push_back(std::move(s));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status LoadConfigFile(const std::string& path, ServerConfig& c) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read configuration file '" + path + "'");
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for 1e400
    return absl::InvalidArgumentError("configuration file '" + path + "' is not JSON: " + e.what());
  }
  identity::Limits& l = c.directory.limits;
  store::StoreOptions& st = c.directory.store;
  json sources = json::array();
  json store, identity, limits, expertise, text_options, security, http, scim, console, replication;
  absl::Status s = Apply(doc, "",
                         {
                             {"db", Set(c.db)},
                             {"listen", Set(c.listen)},
                             {"port_file", Set(c.port_file)},
                             {"log_level", Set(c.log_level)},
                             {"max_message_bytes", Set(c.max_message_bytes)},
                             {"shutdown_grace_ms", Set(c.shutdown_grace_ms)},
                             {"change_log_retain", Set(c.directory.change_log_retain)},
                             {"search_max_scan", Set(c.directory.search_max_scan)},
                             {"max_stream_batches", Set(c.api.max_stream_batches)},
                             {"max_watch_streams", Set(c.api.max_watch_streams)},
                             {"store", [&](const json& v) { store = v; }},
                             {"identity", [&](const json& v) { identity = v; }},
                             {"limits", [&](const json& v) { limits = v; }},
                             {"expertise", [&](const json& v) { expertise = v; }},
                             {"text", [&](const json& v) { text_options = v; }},
                             {"sources", [&](const json& v) { sources = v; }},
                             {"security", [&](const json& v) { security = v; }},
                             {"http", [&](const json& v) { http = v; }},
                             {"scim", [&](const json& v) { scim = v; }},
                             {"console", [&](const json& v) { console = v; }},
                             {"replication", [&](const json& v) { replication = v; }},
                         });
  if (s.ok() && !replication.is_null()) {
    ServerConfig::Replication& r = c.replication;
    s = Apply(replication, "replication",
              {{"servers", Set(r.servers)},
               {"stream", Set(r.stream)},
               {"node", Set(r.node)},
               {"replicas", Set(r.replicas)},
               {"max_age_hours", Set(r.max_age_hours)},
               {"max_bytes", Set(r.max_bytes)},
               {"max_read_lag", Set(r.max_read_lag)},
               {"apply_wait_ms", Set(r.apply_wait_ms)},
               {"publish_timeout_ms", Set(r.publish_timeout_ms)},
               {"min_position_wait_ms", Set(r.min_position_wait_ms)},
               {"token_file", Set(r.token_file)},
               {"credentials_file", Set(r.credentials_file)},
               {"tls_ca", Set(r.tls_ca)},
               {"tls_cert", Set(r.tls_cert)},
               {"tls_key", Set(r.tls_key)}});
  }
  if (s.ok() && !http.is_null()) {
    http::ListenerOptions& h = c.http;
    s = Apply(http, "http",
              {{"listen", Set(h.listen)},
               {"port_file", Set(c.http_port_file)},
               {"threads", Set(h.threads)},
               {"max_connections", Set(h.max_connections)},
               {"max_body_bytes", Set(h.max_body_bytes)},
               {"max_header_bytes", Set(h.max_header_bytes)},
               {"max_url_bytes", Set(h.max_url_bytes)},
               {"read_timeout_ms", Set(h.read_timeout_ms)},
               {"write_timeout_ms", Set(h.write_timeout_ms)},
               {"keep_alive_timeout_ms", Set(h.keep_alive_timeout_ms)},
               {"metrics_open_on_loopback", Set(c.http_site.metrics_open_on_loopback)}});
  }
  if (s.ok() && !console.is_null()) {
    http::SessionOptions& o = c.console_sessions;
    int64_t idle_minutes = o.idle_ms / 60000, max_hours = o.max_age_ms / 3600000;
    s = Apply(console, "console",
              {{"session_idle_minutes", Set(idle_minutes)},
               {"session_max_hours", Set(max_hours)},
               {"max_sessions", Set(o.max_sessions)}});
    // Clamped before scaling, which could overflow; Validate() refuses what is out of range.
    o.idle_ms = std::clamp<int64_t>(idle_minutes, 0, 1'000'000) * 60000;
    o.max_age_ms = std::clamp<int64_t>(max_hours, 0, 1'000'000) * 3600000;
  }
  if (s.ok() && !scim.is_null()) {
    scim::ScimOptions& o = c.scim;
    s = Apply(scim, "scim",
              {{"user_name_identifier", Set(o.user_name_identifier)},
               {"user_kind", Set(o.user_kind)},
               {"max_results", Set(o.max_results)},
               {"walk_idle_ms", Set(o.walk_idle_ms)},
               {"max_string_bytes", Set(o.limits.max_string_bytes)},
               {"max_values", Set(o.limits.max_values)},
               {"max_resource_bytes", Set(o.limits.max_resource_bytes)},
               {"max_operations", Set(o.limits.max_operations)},
               {"max_members_per_request", Set(o.limits.max_members_per_request)}});
  }
  if (s.ok() && !security.is_null()) {
    s = Apply(security, "security",
              {{"tls_cert", Set(c.security.tls_cert)},
               {"tls_key", Set(c.security.tls_key)},
               {"tls_client_ca", Set(c.security.tls_client_ca)},
               {"principals", Set(c.security.principals)},
               {"allow_plaintext", Set(c.security.allow_plaintext)},
               {"visible_kinds", Set(c.security.visible_kinds)},
               {"visible_via", Set(c.security.visible_via)},
               {"sensitive",
                [&](const json& v) {
                  c.security.sensitive.emplace();
                  return Set(*c.security.sensitive)(v);
                }},
               {"see_sensitive", Set(c.security.see_sensitive)},
               {"audit", Set(c.security.audit)},
               {"audited_kinds", Set(c.security.audited_kinds)},
               {"audit_retain_days", Set(c.security.audit_retain_days)},
               {"suppression_key_file", Set(c.security.suppression_key_file)},
               {"erase_related_relations", Set(c.directory.erase_related_relations)}});
  }
  if (s.ok() && !store.is_null()) {
    int64_t bulk_idle_ms = absl::ToInt64Milliseconds(c.directory.bulk_idle);
    s = Apply(store, "store",
              {{"block_cache_bytes", Set(st.block_cache_bytes)},
               {"write_buffer_bytes", Set(st.write_buffer_bytes)},
               {"sync_writes", Set(st.sync_writes)},
               {"bulk_memory_bytes", Set(c.directory.bulk_memory_bytes)},
               {"bulk_idle_ms", Set(bulk_idle_ms)}});
    c.directory.bulk_idle = absl::Milliseconds(std::clamp<int64_t>(bulk_idle_ms, -1, 1LL << 40));
  }
  if (s.ok() && !identity.is_null()) {
    s = Apply(identity, "identity", {{"default_phone_region", [&](const json& v) {
                                        c.directory.region_given = true;
                                        Set(c.directory.normalise.default_region)(v);
                                      }}});
  }
  if (s.ok() && !limits.is_null()) {
    s = Apply(limits, "limits",
              {
                  {"max_fragment_bytes", Set(l.max_fragment_bytes)},
                  {"max_external_id_bytes", Set(l.max_external_id_bytes)},
                  {"max_attributes", Set(l.max_attributes)},
                  {"max_attribute_value_bytes", Set(l.max_attribute_value_bytes)},
                  {"max_identifiers", Set(l.max_identifiers)},
                  {"max_relations", Set(l.max_relations)},
                  {"max_evidence", Set(l.max_evidence)},
                  {"max_evidence_text_bytes", Set(l.max_evidence_text_bytes)},
                  {"max_batch_fragments", Set(l.max_batch_fragments)},
                  {"max_profile_fragments", Set(l.max_profile_fragments)},
                  {"max_prefix_bytes", Set(l.max_prefix_bytes)},
                  {"max_page_size", Set(l.max_page_size)},
                  {"max_neighbors", Set(l.max_neighbors)},
              });
  }
  expertise::ExpertiseOptions& x = c.directory.expertise;
  if (s.ok() && !expertise.is_null()) {
    s = Apply(expertise, "expertise",
              {
                  {"k1", Set(x.k1)},
                  {"b", Set(x.b)},
                  {"kind_weight", Set(x.kind_weight)},
                  {"recency_days", Set(x.recency_days)},
                  {"recency_power", Set(x.recency_power)},
                  {"evidence_pool", Set(x.evidence_pool)},
                  {"evidence_per_person", Set(x.evidence_per_person)},
                  {"language_weight", Set(x.language_weight)},
                  {"other_stem_weight", Set(x.other_stem_weight)},
                  {"short_query_terms", Set(x.short_query_terms)},
                  {"common_term_share", Set(x.common_term_share)},
                  {"max_query_terms", Set(x.max_query_terms)},
                  {"account_manager_boost", Set(x.account_manager_boost)},
                  {"previous_handler_boost", Set(x.previous_handler_boost)},
                  {"manager_relations", Set(x.manager_relations)},
                  {"managed_relations", Set(x.managed_relations)},
                  {"raised_relation", Set(x.raised_relation)},
                  {"handler_relations", Set(x.handler_relations)},
                  {"away_factor", Set(x.away_factor)},
                  {"load_per_open_case", Set(x.load_per_open_case)},
                  {"load_relations", Set(x.load_relations)},
                  {"open_statuses", Set(x.open_statuses)},
                  {"max_query_bytes", Set(x.max_query_bytes)},
                  {"own_handles", Set(x.own_handles)},
                  {"max_limit", Set(x.max_limit)},
              });
  }
  if (s.ok() && !text_options.is_null()) {
    std::string lang;
    s = Apply(
        text_options, "text",
        {{"default_language", Set(lang)},
         {"dictionaries", [&](const json& v) {
            c.dictionaries.emplace();
            if (!v.is_array()) throw json::type_error::create(302, "must be a list", &v);
            for (const json& d : v) {
              text::DictionaryFile f;
              f.prefix = d.at("prefix").get<std::string>();
              const std::string from = d.at("from").get<std::string>();
              const std::string to = d.at("to").get<std::string>();
              if ((from != "fr" && from != "en") || (to != "fr" && to != "en") || from == to) {
                throw json::type_error::create(302, "from/to must be fr and en", &d);
              }
              f.from = from == "fr" ? text::Language::kFrench : text::Language::kEnglish;
              f.to = to == "fr" ? text::Language::kFrench : text::Language::kEnglish;
              c.dictionaries->push_back(std::move(f));
            }
          }}});
    if (s.ok() && !lang.empty()) {
      if (lang != "en" && lang != "fr") {
        s = absl::InvalidArgumentError("text.default_language: '" + lang + "' is not en or fr");
      } else {
        c.directory.analyzer.default_language =
            lang == "fr" ? text::Language::kFrench : text::Language::kEnglish;
      }
    }
  }
  if (s.ok()) s = ApplySources(sources, c.sources);
  if (!s.ok())
    return absl::InvalidArgumentError("configuration file '" + path +
                                      "': " + std::string(s.message()));
  return absl::OkStatus();
}

absl::Status ServerConfig::Validate() const {
  auto bad = [](const std::string& field, const std::string& why) {
    return absl::InvalidArgumentError(field + ": " + why);
  };
  if (db.empty()) return bad("db", "must name a folder");
  if (!replication.servers.empty()) {
    for (const std::string& url : replication.servers) {
      if (url.rfind("nats://", 0) != 0 && url.rfind("tls://", 0) != 0)
        return bad("replication.servers", "'" + url + "' is not nats://host:port");
    }
    if (replication.stream.empty() || replication.stream.size() > 64 ||
        replication.stream.find_first_of(". *>\t") != std::string::npos) {
      return bad("replication.stream", "1..64 characters without '.', '*', '>' or spaces");
    }
    if (replication.node.size() > 128) return bad("replication.node", "at most 128 bytes");
    if (replication.replicas < 0 || replication.replicas > 5)
      return bad("replication.replicas", "0..5 (0: as many servers as given, at most 3)");
    if (replication.apply_wait_ms < 100 || replication.apply_wait_ms > 3'600'000)
      return bad("replication.apply_wait_ms", "100..3600000");
    if (replication.publish_timeout_ms < 100 || replication.publish_timeout_ms > 600'000)
      return bad("replication.publish_timeout_ms", "100..600000");
    if (replication.min_position_wait_ms > 600'000)
      return bad("replication.min_position_wait_ms", "at most 600000");
    if (!replication.token_file.empty() && !replication.credentials_file.empty())
      return bad("replication.token_file", "give a token or a credentials_file, not both");
    if (replication.tls_cert.empty() != replication.tls_key.empty())
      return bad("replication.tls_cert", "tls_cert and tls_key go together");
    if (security.suppression_key_file.empty()) {
      return bad("replication",
                 "replicas must share the suppression key: set security.suppression_key_file "
                 "(the same file on every replica)");
    }
  }
  if (security.tls_cert.empty() != security.tls_key.empty()) {
    return bad("security", "tls_cert and tls_key go together");
  }
  for (const auto& [role, kinds] : security.visible_kinds) {
    if (!access::ParseRole(role)) {
      return bad("security.visible_kinds." + role,
                 "not a role (reader, agent, connector, admin, auditor, metrics)");
    }
    for (const std::string& k : kinds) {
      if (k.empty())
        return bad("security.visible_kinds." + role, "kinds must not be empty strings");
    }
  }
  for (const std::string& r : security.see_sensitive) {
    if (!access::ParseRole(r)) return bad("security.see_sensitive", "'" + r + "' is not a role");
  }
  for (const auto& [kind, relations] : security.visible_via) {
    if (kind.empty() || relations.empty())
      return bad("security.visible_via", "give a kind and its relations");
  }
  if (security.audit_retain_days > 36'500)
    return bad("security.audit_retain_days", "at most 36500 (0: forever)");
  for (const std::string& k : security.audited_kinds) {
    if (k.empty()) return bad("security.audited_kinds", "kinds must not be empty strings");
  }
  for (const std::string& r : directory.erase_related_relations) {
    if (r.empty() || r.size() > 64)
      return bad("security.erase_related_relations", "relation types are 1..64 bytes");
  }
  if (!security.tls_client_ca.empty() && security.tls_cert.empty()) {
    return bad("security.tls_client_ca", "needs tls_cert and tls_key (mutual TLS is TLS)");
  }
  if (listen.find(':') == std::string::npos)
    return bad("listen", "'" + listen + "' is not host:port");
  if (log_level != "trace" && log_level != "debug" && log_level != "info" && log_level != "warn" &&
      log_level != "error") {
    return bad("log_level", "'" + log_level + "' is not one of trace, debug, info, warn, error");
  }
  if (max_message_bytes < (1u << 20) || max_message_bytes > (1ull << 30)) {
    return bad("max_message_bytes", "must be between 1 MiB and 1 GiB");
  }
  if (api.max_watch_streams == 0 || api.max_watch_streams > 10'000) {
    return bad("max_watch_streams", "must be 1 to 10000 (each open stream holds a server thread)");
  }
  const store::StoreOptions& st = directory.store;
  if (st.block_cache_bytes < (1u << 20))
    return bad("store.block_cache_bytes", "must be at least 1 MiB");
  if (st.write_buffer_bytes < (1u << 20))
    return bad("store.write_buffer_bytes", "must be at least 1 MiB");
  if (directory.bulk_memory_bytes < (1u << 20) || directory.bulk_memory_bytes > (16ull << 30))
    return bad("store.bulk_memory_bytes", "must be 1 MiB to 16 GiB");
  if (directory.bulk_idle < absl::Milliseconds(100) || directory.bulk_idle > absl::Hours(24))
    return bad("store.bulk_idle_ms", "must be 100 ms to 24 hours");
  const std::string& region = directory.normalise.default_region;
  if (region.size() != 2 || !isupper(region[0]) || !isupper(region[1])) {
    return bad("identity.default_phone_region",
               "'" + region + "' is not an ISO 3166 region like FR or US");
  }
  const identity::Limits& l = directory.limits;
  if (l.max_batch_fragments == 0 || l.max_batch_fragments > 100'000) {
    return bad("limits.max_batch_fragments", "must be 1 to 100000");
  }
  if (l.max_page_size == 0 || l.max_prefix_bytes == 0 || l.max_neighbors == 0) {
    return bad("limits", "page, prefix and neighbour limits must be positive");
  }
  if (directory.change_log_retain < 1000) return bad("change_log_retain", "must be at least 1000");
  if (l.max_evidence > 64)
    return bad("limits.max_evidence", "must be at most 64 (evidence ids have 6 bits)");
  const expertise::ExpertiseOptions& x = directory.expertise;
  if (x.evidence_pool == 0 || x.evidence_pool > 100'000)
    return bad("expertise.evidence_pool", "must be 1 to 100000");
  if (x.evidence_per_person == 0) return bad("expertise.evidence_per_person", "must be at least 1");
  if (x.language_weight < 0 || x.language_weight > 100)
    return bad("expertise.language_weight", "must be 0 (off) to 100");
  if (x.other_stem_weight < 0 || x.other_stem_weight > 1)
    return bad("expertise.other_stem_weight", "must be 0 (off) to 1");
  if (x.max_query_terms == 0 || x.max_query_terms > 64)
    return bad("expertise.max_query_terms", "must be 1 to 64");
  if (x.common_term_share <= 0 || x.common_term_share > 1) {
    return bad("expertise.common_term_share", "must be above 0 and at most 1");
  }
  if (x.recency_days < 0) return bad("expertise.recency_days", "must be 0 (off) or positive");
  if (x.recency_power < 0 || x.recency_power > 10) {
    return bad("expertise.recency_power", "must be 0 (exponential decay) to 10");
  }
  if (x.k1 < 0 || x.b < 0 || x.b > 1)
    return bad("expertise.k1/b", "k1 must be >= 0 and b within 0..1");
  if (x.max_limit == 0 || x.max_limit > 1000)
    return bad("expertise.max_limit", "must be 1 to 1000");
  for (const auto& [kind, w] : x.kind_weight) {
    if (w < 0) return bad("expertise.kind_weight." + kind, "must not be negative");
  }
  if (http.threads == 0 || http.threads > 1024) return bad("http.threads", "must be 1 to 1024");
  const http::SessionOptions& cs = console_sessions;
  if (cs.idle_ms < 60'000 || cs.idle_ms > 24 * 3'600'000) {
    return bad("console.session_idle_minutes", "must be 1 to 1440");
  }
  if (cs.max_age_ms < cs.idle_ms || cs.max_age_ms > 7 * 24 * 3'600'000LL) {
    return bad("console.session_max_hours",
               "must cover the idle timeout and be at most 168 (a week)");
  }
  if (cs.max_sessions == 0 || cs.max_sessions > 1'000'000)
    return bad("console.max_sessions", "must be 1 to 1000000");
  if (http.max_connections < http.threads || http.max_connections > 100'000) {
    return bad("http.max_connections", "must be at least http.threads and at most 100000");
  }
  if (http.max_body_bytes < 1024 || http.max_body_bytes > (256u << 20)) {
    return bad("http.max_body_bytes", "must be 1 KiB to 256 MiB");
  }
  if (http.max_header_bytes < 1024 || http.max_header_bytes > (1u << 20)) {
    return bad("http.max_header_bytes", "must be 1 KiB to 1 MiB");
  }
  if (http.max_url_bytes < 256 || http.max_url_bytes > 8000) {
    return bad("http.max_url_bytes",
               "must be 256 to 8000 (the HTTP library's own ceiling is 8192)");
  }
  if (http.read_timeout_ms < 100 || http.write_timeout_ms < 100 ||
      http.keep_alive_timeout_ms < 1000) {
    return bad("http",
               "read/write timeouts must be at least 100 ms, keep_alive_timeout_ms at least 1000");
  }
  if (scim.user_name_identifier != "upn" && scim.user_name_identifier != "email" &&
      scim.user_name_identifier != "none") {
    return bad("scim.user_name_identifier",
               "'" + scim.user_name_identifier + "' is not upn, email or none");
  }
  if (scim.user_kind != "employee" && scim.user_kind != "contact" && scim.user_kind != "customer") {
    return bad("scim.user_kind", "'" + scim.user_kind + "' is not employee, contact or customer");
  }
  if (scim.max_results == 0 || scim.max_results > 1000)
    return bad("scim.max_results", "must be 1 to 1000");
  if (scim.limits.max_members_per_request == 0 || scim.limits.max_members_per_request > 4000) {
    return bad("scim.max_members_per_request",
               "must be 1 to 4000 (a request's changes are written in one batch with the members' "
               "fragments)");
  }
  if (scim.limits.max_string_bytes == 0 ||
      scim.limits.max_string_bytes > directory.limits.max_attribute_value_bytes) {
    return bad("scim.max_string_bytes", "must be 1 to limits.max_attribute_value_bytes");
  }
  for (size_t i = 0; i < sources.size(); ++i) {
    if (absl::Status s = identity::ValidateSource(sources[i]); !s.ok()) {
      return bad("sources[" + std::to_string(i) + "]", std::string(s.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace tessera::app
