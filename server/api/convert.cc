#include "server/api/convert.h"

#include "server/expertise/people.h"

namespace tessera::api {
namespace {

void ToProto(const identity::Identifier& in, v1::Identifier* out) {
  out->set_type(in.type);
  out->set_value(in.value);
}

void ToProto(const directory::FragmentName& in, v1::FragmentRef* out) {
  out->set_source(in.source);
  out->set_external_id(in.external_id);
}

void ToProto(const identity::Member& m, const std::string& raw, v1::Provenance* out) {
  out->set_source(m.source);
  out->set_external_id(m.external_id);
  out->set_version(m.version);
  out->set_time_unix_ms(m.time_ms);
  if (!raw.empty()) out->set_raw(raw);
}

}  // namespace

identity::Fragment FromProto(const v1::Fragment& in) {
  identity::Fragment f;
  f.source = in.source();
  f.external_id = in.external_id();
  f.version = in.version();
  f.kind = in.kind();
  f.updated_at_ms = in.updated_at_unix_ms();
  f.tombstone = in.tombstone();
  f.attributes.reserve(in.attributes_size());
  for (const auto& a : in.attributes()) f.attributes.push_back({a.name(), a.value()});
  f.identifiers.reserve(in.identifiers_size());
  for (const auto& id : in.identifiers()) f.identifiers.push_back({id.type(), id.value()});
  for (const auto& r : in.relations()) {
    f.relations.push_back({r.type(), {r.target().type(), r.target().value()}});
  }
  for (const auto& e : in.evidence()) {
    f.evidence.push_back({e.kind(), e.role(), e.title(), e.text(), e.language(), e.time_unix_ms()});
  }
  return f;
}

directory::ProfileRef RefFromProto(uint64_t id, const v1::Identifier* identifier) {
  directory::ProfileRef ref;
  ref.id = id;
  if (identifier != nullptr) {
    ref.id_type = identifier->type();
    ref.id_value = identifier->value();
    // An identifier with an empty type would otherwise read as "by id 0".
    if (ref.id_type.empty()) ref.id_type = "(empty)";
  }
  return ref;
}

std::vector<directory::FragmentName> NamesFromProto(
    const google::protobuf::RepeatedPtrField<v1::FragmentRef>& refs) {
  std::vector<directory::FragmentName> out;
  for (const auto& r : refs) out.push_back({r.source(), r.external_id()});
  return out;
}

void ToProto(const store::Store::BulkFigures& in, v1::BulkLoadResult* out) {
  out->set_operands(in.operands);
  out->set_runs(in.runs);
  out->set_keys(in.keys);
  out->set_files(in.files);
  out->set_sst_bytes(in.sst_bytes);
  out->set_seconds(in.seconds);
}

void ToProto(const directory::BatchResult& in, v1::BatchResult* out) {
  for (directory::Outcome o : in.outcomes) out->add_outcomes(static_cast<v1::Outcome>(o));
  for (uint64_t id : in.profile_ids) out->add_profile_ids(id);
}

void ToProto(const directory::ProfileView& in, bool provenance, v1::Profile* out) {
  const identity::Profile& p = in.profile;
  out->set_id(p.id);
  out->set_kind(p.kind);
  for (const auto& k : p.kinds) out->add_kinds(k);
  out->set_display_name(p.display_name);
  out->set_updated_at_unix_ms(p.updated_at_ms);
  for (const identity::ProfileAttribute& a : p.attributes) {
    v1::ProfileAttribute* pa = out->add_attributes();
    pa->set_name(a.name);
    pa->set_value(a.values.front().value);
    if (!provenance) continue;
    for (const identity::SourcedValue& v : a.values) {
      v1::ProfileValue* pv = pa->add_values();
      pv->set_value(v.value);
      ToProto(p.members[v.member], v.raw, pv->mutable_provenance());
    }
  }
  for (const identity::ProfileIdentifier& id : p.identifiers) {
    v1::ProfileIdentifier* pi = out->add_identifiers();
    pi->set_type(std::string(identity::IdTypeName(id.type)));
    pi->set_value(id.value);
    if (!provenance) continue;
    for (const identity::SourcedValue& v : id.provenance) {
      ToProto(p.members[v.member], v.raw, pi->add_provenance());
    }
  }
  for (const identity::Member& m : p.members) ToProto(m, {}, out->add_fragments());
  for (const directory::ConflictView& c : in.conflicts) ToProto(c, out->add_conflicts());
}

void ToProto(const directory::ConflictView& in, v1::Conflict* out) {
  out->set_type(in.conflict.type);
  for (const auto& v : in.conflict.values) out->add_values(v);
  out->mutable_via()->set_type(std::string(identity::IdTypeName(in.conflict.via_type)));
  out->mutable_via()->set_value(in.conflict.via_value);
  for (uint64_t id : in.conflict.profiles) out->add_profile_ids(id);
  for (const auto& f : in.fragments) ToProto(f, out->add_fragments());
}

void ToProto(const index::PersonSummary& in, v1::ProfileSummary* out) {
  out->set_id(in.id);
  out->set_kind(in.kind);
  out->set_display_name(in.display_name);
  out->set_email(in.email);
  out->set_team(in.team);
  out->set_title(in.title);
  out->set_location(in.location);
}

void ToProto(const directory::NeighborView& in, v1::Edge* out) {
  out->set_type(in.type);
  out->set_direction(in.dir == graph::Direction::kOut ? v1::OUT : v1::IN);
  out->set_profile_id(in.other);
  out->mutable_target()->set_type(std::string(identity::IdTypeName(in.target_type)));
  out->mutable_target()->set_value(in.target_value);
  if (in.summary) ToProto(*in.summary, out->mutable_other());
  for (const auto& f : in.stated_by) ToProto(f, out->add_stated_by());
}

void ToProto(const directory::SourceInfo& in, v1::Source* out) {
  out->set_id(in.source.id);
  out->set_kind(in.source.kind);
  out->set_priority(in.source.priority);
  out->set_description(in.source.description);
  out->set_fragments(in.live_fragments);
  out->set_last_success_unix_ms(in.last_success_ms);
  if (!in.last_run) return;
  const directory::SyncRun& r = *in.last_run;
  v1::SyncRun* o = out->mutable_last_run();
  o->set_mode(r.mode);
  o->set_state(r.state);
  o->set_started_unix_ms(r.started_ms);
  o->set_finished_unix_ms(r.finished_ms);
  o->set_read(r.read);
  o->set_added(r.added);
  o->set_updated(r.updated);
  o->set_unchanged(r.unchanged);
  o->set_deleted(r.deleted);
  o->set_rejected(r.rejected);
  o->set_suppressed(r.suppressed);
  for (const std::string& e : r.errors) o->add_errors(e);
  o->set_failure(r.failure);
}

directory::SyncRun FromProto(const v1::SyncRun& in) {
  directory::SyncRun r;
  r.mode = in.mode();
  r.state = in.state();
  r.started_ms = in.started_unix_ms();
  r.finished_ms = in.finished_unix_ms();
  r.read = in.read();
  r.added = in.added();
  r.updated = in.updated();
  r.unchanged = in.unchanged();
  r.deleted = in.deleted();
  r.rejected = in.rejected();
  r.suppressed = in.suppressed();
  r.errors.assign(in.errors().begin(), in.errors().end());
  r.failure = in.failure();
  return r;
}

void ToProto(const directory::Stats& in, v1::StatsResponse* out) {
  out->set_live_fragments(in.live_fragments);
  out->set_tombstones(in.tombstones);
  out->set_profiles(in.profiles);
  for (const auto& [kind, n] : in.profiles_by_kind) (*out->mutable_profiles_by_kind())[kind] = n;
  out->set_conflicts(in.conflicts);
  out->set_rules(in.rules);
  out->set_sources(in.sources);
  out->set_sequence(in.sequence);
  out->set_identifiers_estimate(in.identifiers_estimate);
  out->set_edges_estimate(in.edges_estimate);
  out->set_disk_bytes(in.disk_bytes);
  out->set_linked_profiles(in.linked_profiles);
  out->set_keys_written_since_start(in.keys_written);
  out->set_batch_bytes_since_start(in.batch_bytes);
  out->set_flushed_bytes_since_start(in.flushed_bytes);
  out->set_compacted_bytes_since_start(in.compacted_bytes);
  out->set_block_cache_usage_bytes(in.block_cache_usage_bytes);
  out->set_memtable_bytes(in.memtable_bytes);
  out->set_table_readers_bytes(in.table_readers_bytes);
}

void ToProto(const directory::RuleView& in, v1::Rule* out) {
  out->set_id(in.rule.id);
  out->set_type(in.rule.type == identity::Rule::Type::kMerge ? v1::Rule::MERGE : v1::Rule::SPLIT);
  for (const auto& f : in.fragments) ToProto(f, out->add_fragments());
  for (const auto& f : in.apart) ToProto(f, out->add_apart_from());
  out->set_reason(in.rule.reason);
  out->set_created_unix_ms(in.rule.created_ms);
}

void ToProto(const identity::StoredFragment& in, v1::Fragment* out) {
  const identity::Fragment& f = in.fragment;
  out->set_source(f.source);
  out->set_external_id(f.external_id);
  out->set_version(f.version);
  out->set_kind(f.kind);
  out->set_updated_at_unix_ms(f.updated_at_ms);
  out->set_tombstone(f.tombstone);
  for (const auto& a : f.attributes) {
    v1::Attribute* pa = out->add_attributes();
    pa->set_name(a.name);
    pa->set_value(a.value);
  }
  for (const auto& id : f.identifiers) ToProto(id, out->add_identifiers());
  for (const auto& r : f.relations) {
    v1::Relation* pr = out->add_relations();
    pr->set_type(r.type);
    ToProto(r.target, pr->mutable_target());
  }
  for (const auto& e : f.evidence) {
    v1::Evidence* pe = out->add_evidence();
    pe->set_kind(e.kind);
    pe->set_role(e.role);
    pe->set_title(e.title);
    pe->set_text(e.text);
    pe->set_language(e.language);
    pe->set_time_unix_ms(e.time_ms);
  }
}

void ToProto(const directory::HistoryView& in, v1::CustomerHistoryResponse* out) {
  ToProto(expertise::SummaryOf(in.customer), out->mutable_customer());
  for (const index::PersonSummary& m : in.account_managers) ToProto(m, out->add_account_managers());
  for (const std::string& c : in.channels) out->add_channels(c);
  for (const directory::HistoryItem& i : in.items) {
    v1::HistoryItem* o = out->add_items();
    o->set_profile_id(i.profile);
    o->mutable_record()->set_source(i.record.source);
    o->mutable_record()->set_external_id(i.record.external_id);
    o->set_kind(i.kind);
    o->set_time_unix_ms(i.time_ms);
    o->set_channel(i.channel);
    o->set_status(i.status);
    o->set_title(i.title);
    o->set_excerpt(i.excerpt);
    for (const index::PersonSummary& h : i.handled_by) ToProto(h, o->add_handled_by());
  }
  out->set_truncated(in.truncated);
}

expertise::Query QueryFromProto(const v1::FindExpertsRequest& in) {
  expertise::Query q;
  q.text = in.text();
  q.language = in.language();
  q.reply_language = in.reply_language();
  if (in.has_customer()) {
    q.customer_type = in.customer().type();  // empty: the value is guessed
    q.customer_value = in.customer().value();
  }
  q.channel = in.channel();
  q.team = in.team();
  q.location = in.location();
  q.limit = in.limit() == 0 ? 10 : in.limit();
  q.as_of_ms = in.as_of_unix_ms();
  q.include_unavailable = in.include_unavailable();
  q.no_recency = in.switches().no_recency();
  q.no_kind_weights = in.switches().no_kind_weights();
  q.no_relationship = in.switches().no_relationship();
  q.no_load = in.switches().no_load();
  q.single_best_evidence = in.switches().single_best_evidence();
  q.all_terms = in.switches().all_terms();
  return q;
}

// One expert (or a person to inform), evidence and all.
static void ExpertToProto(const expertise::Expert& e, v1::Expert* x) {
  ToProto(e.person, x->mutable_person());
  x->set_score(e.score);
  x->set_text_score(e.text_score);
  x->set_language_score(e.language_score);
  x->set_relationship_score(e.relationship_score);
  x->set_availability(e.availability);
  x->set_load_factor(e.load_factor);
  x->set_open_cases(static_cast<uint32_t>(e.open_cases));
  x->set_away(e.away);
  x->set_left(e.left);
  for (const expertise::EvidenceHit& h : e.evidence) {
    v1::EvidenceHit* y = x->add_evidence();
    y->set_document(h.doc);
    y->set_profile_id(h.profile);
    y->set_score(h.score);
    y->set_kind(h.kind);
    y->set_title(h.title);
    y->mutable_fragment()->set_source(h.source);
    y->mutable_fragment()->set_external_id(h.external_id);
    y->set_time_unix_ms(h.time_ms);
    y->set_snippet(h.snippet);
    for (const std::string& w : h.matched_words) y->add_matched_words(w);
  }
  for (const std::string& r : e.relationship) x->add_relationship(r);
  x->set_why(e.why);
}

void ToProto(const expertise::Ranking& in, v1::FindExpertsResponse* out) {
  for (const expertise::Expert& e : in.experts) ExpertToProto(e, out->add_experts());
  for (const expertise::Expert& e : in.inform) ExpertToProto(e, out->add_inform());
  for (const std::string& w : in.query_words) out->add_query_words(w);
  for (const std::string& t : in.query_terms) out->add_query_terms(t);
  out->set_language(in.language);
  out->set_customer_profile_id(in.customer);
  out->set_customer_found(in.customer_found);
  out->set_customer_identifier(in.customer_identifier);
  out->set_customer_from_text(in.customer_from_text);
  out->set_customer_name(in.customer_name);
  for (const std::string& n : in.notes) out->add_notes(n);
  out->set_evidence_considered(in.evidence_considered);
  out->set_postings_read(in.postings_read);
}

}  // namespace tessera::api
