// Replica: commands and their bytes (command.h). Layout: a version byte, the type,
// origin and serial, then the type's fields in the order of Command, each a varint,
// a zig-zag varint or a length-prefixed string (server/store/coding.h).

#include "server/replica/command.h"

#include "server/store/coding.h"

namespace tessera::replica {
namespace {

constexpr uint8_t kVersion = 1;

using store::Decoder;
using store::PutLengthPrefixed;
using store::PutVarint64;
using store::PutVarsint64;

void PutIdentifier(std::string& out, const identity::Identifier& id) {
  PutLengthPrefixed(out, id.type);
  PutLengthPrefixed(out, id.value);
  PutLengthPrefixed(out, id.raw);
  out.push_back(static_cast<char>(id.tag));
}

identity::Identifier GetIdentifier(Decoder& d) {
  identity::Identifier id;
  id.type = d.LengthPrefixed();
  id.value = d.LengthPrefixed();
  id.raw = d.LengthPrefixed();
  id.tag = static_cast<identity::IdType>(d.Byte());
  return id;
}

void PutFragment(std::string& out, const identity::Fragment& f) {
  PutLengthPrefixed(out, f.source);
  PutLengthPrefixed(out, f.external_id);
  PutVarint64(out, f.version);
  PutLengthPrefixed(out, f.kind);
  PutVarint64(out, f.attributes.size());
  for (const identity::Attribute& a : f.attributes) {
    PutLengthPrefixed(out, a.name);
    PutLengthPrefixed(out, a.value);
  }
  PutVarint64(out, f.identifiers.size());
  for (const identity::Identifier& id : f.identifiers) PutIdentifier(out, id);
  PutVarint64(out, f.relations.size());
  for (const identity::Relation& r : f.relations) {
    PutLengthPrefixed(out, r.type);
    PutIdentifier(out, r.target);
  }
  PutVarint64(out, f.evidence.size());
  for (const identity::Evidence& e : f.evidence) {
    PutLengthPrefixed(out, e.kind);
    PutLengthPrefixed(out, e.role);
    PutLengthPrefixed(out, e.title);
    PutLengthPrefixed(out, e.text);
    PutLengthPrefixed(out, e.language);
    PutVarsint64(out, e.time_ms);
  }
  PutVarsint64(out, f.updated_at_ms);
  out.push_back(f.tombstone ? 1 : 0);
}

identity::Fragment GetFragment(Decoder& d) {
  identity::Fragment f;
  f.source = d.LengthPrefixed();
  f.external_id = d.LengthPrefixed();
  f.version = d.Varint64();
  f.kind = d.LengthPrefixed();
  for (uint64_t n = d.Count(); n > 0 && d.ok(); --n) {
    identity::Attribute a;
    a.name = d.LengthPrefixed();
    a.value = d.LengthPrefixed();
    f.attributes.push_back(std::move(a));
  }
  for (uint64_t n = d.Count(); n > 0 && d.ok(); --n) f.identifiers.push_back(GetIdentifier(d));
  for (uint64_t n = d.Count(); n > 0 && d.ok(); --n) {
    identity::Relation r;
    r.type = d.LengthPrefixed();
    r.target = GetIdentifier(d);
    f.relations.push_back(std::move(r));
  }
  for (uint64_t n = d.Count(); n > 0 && d.ok(); --n) {
    identity::Evidence e;
    e.kind = d.LengthPrefixed();
    e.role = d.LengthPrefixed();
    e.title = d.LengthPrefixed();
    e.text = d.LengthPrefixed();
    e.language = d.LengthPrefixed();
    e.time_ms = d.Varsint64();
    f.evidence.push_back(std::move(e));
  }
  f.updated_at_ms = d.Varsint64();
  f.tombstone = d.Byte() != 0;
  return f;
}

void PutStrings(std::string& out, const std::vector<std::string>& v) {
  PutVarint64(out, v.size());
  for (const std::string& s : v) PutLengthPrefixed(out, s);
}

std::vector<std::string> GetStrings(Decoder& d) {
  std::vector<std::string> v;
  for (uint64_t n = d.Count(); n > 0 && d.ok(); --n) v.emplace_back(d.LengthPrefixed());
  return v;
}

void PutRun(std::string& out, const directory::SyncRun& r) {
  PutLengthPrefixed(out, r.mode);
  PutLengthPrefixed(out, r.state);
  PutVarsint64(out, r.started_ms);
  PutVarsint64(out, r.finished_ms);
  for (uint64_t v : {r.read, r.added, r.updated, r.unchanged, r.deleted, r.rejected, r.suppressed})
    PutVarint64(out, v);
  PutStrings(out, r.errors);
  PutLengthPrefixed(out, r.failure);
}

directory::SyncRun GetRun(Decoder& d) {
  directory::SyncRun r;
  r.mode = d.LengthPrefixed();
  r.state = d.LengthPrefixed();
  r.started_ms = d.Varsint64();
  r.finished_ms = d.Varsint64();
  for (uint64_t* v :
       {&r.read, &r.added, &r.updated, &r.unchanged, &r.deleted, &r.rejected, &r.suppressed})
    *v = d.Varint64();
  r.errors = GetStrings(d);
  r.failure = d.LengthPrefixed();
  return r;
}

void PutAudit(std::string& out, const directory::AuditEntry& a) {
  PutVarsint64(out, a.time_ms);
  for (const std::string* s : {&a.principal, &a.peer, &a.method, &a.outcome, &a.reason, &a.detail})
    PutLengthPrefixed(out, *s);
  PutVarint64(out, a.profiles.size());
  for (uint64_t p : a.profiles) PutVarint64(out, p);
}

directory::AuditEntry GetAudit(Decoder& d) {
  directory::AuditEntry a;
  a.time_ms = d.Varsint64();
  for (std::string* s : {&a.principal, &a.peer, &a.method, &a.outcome, &a.reason, &a.detail})
    *s = d.LengthPrefixed();
  for (uint64_t n = d.Count(); n > 0 && d.ok(); --n) a.profiles.push_back(d.Varint64());
  return a;
}

void PutOutcome(std::string& out, const directory::CaseOutcome& o) {
  for (const std::string* s : {&o.case_type, &o.case_value, &o.person_type, &o.person_value,
                               &o.status, &o.text, &o.customer_type, &o.customer_value, &o.channel})
    PutLengthPrefixed(out, *s);
  PutVarsint64(out, o.time_ms);
}

directory::CaseOutcome GetOutcome(Decoder& d) {
  directory::CaseOutcome o;
  for (std::string* s : {&o.case_type, &o.case_value, &o.person_type, &o.person_value, &o.status,
                         &o.text, &o.customer_type, &o.customer_value, &o.channel})
    *s = d.LengthPrefixed();
  o.time_ms = d.Varsint64();
  return o;
}

}  // namespace

std::string_view CommandName(CommandType type) {
  switch (type) {
    case CommandType::kIngest:
      return "Ingest";
    case CommandType::kIngestWith:
      return "IngestWith";
    case CommandType::kPutSource:
      return "PutSource";
    case CommandType::kReportSync:
      return "ReportSync";
    case CommandType::kMerge:
      return "Merge";
    case CommandType::kSplit:
      return "Split";
    case CommandType::kDeleteRule:
      return "DeleteRule";
    case CommandType::kRecordOutcome:
      return "RecordOutcome";
    case CommandType::kErase:
      return "Erase";
    case CommandType::kTrimAudit:
      return "TrimAudit";
    case CommandType::kAudit:
      return "Audit";
  }
  return "unknown";
}

std::string EncodeCommand(const Command& c) {
  std::string out;
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(c.type));
  PutLengthPrefixed(out, c.origin);
  PutVarint64(out, c.serial);
  PutVarint64(out, c.fragments.size());
  for (const identity::Fragment& f : c.fragments) PutFragment(out, f);
  PutVarsint64(out, c.time_ms);
  PutVarint64(out, c.side.size());
  for (const directory::SideWrite& w : c.side) {
    PutLengthPrefixed(out, w.key);
    out.push_back(w.value ? 1 : 0);
    if (w.value) PutLengthPrefixed(out, *w.value);
  }
  PutLengthPrefixed(out, c.source.id);
  PutLengthPrefixed(out, c.source.kind);
  PutVarsint64(out, c.source.priority);
  PutLengthPrefixed(out, c.source.description);
  PutVarint64(out, c.source.num);
  out.push_back(c.priority_if_new ? 1 : 0);
  PutRun(out, c.run);
  PutVarint64(out, c.ids.size());
  for (uint64_t id : c.ids) PutVarint64(out, id);
  PutVarint64(out, c.names.size());
  for (const directory::FragmentName& n : c.names) {
    PutLengthPrefixed(out, n.source);
    PutLengthPrefixed(out, n.external_id);
  }
  PutLengthPrefixed(out, c.reason);
  PutOutcome(out, c.outcome);
  PutVarint64(out, c.audit.size());
  for (const directory::AuditEntry& a : c.audit) PutAudit(out, a);
  return out;
}

absl::Status DecodeCommand(std::string_view data, Command* c) {
  Decoder d(data);
  if (d.Byte() != kVersion || !d.ok()) {
    return absl::DataLossError("log message is no command of this version (version byte " +
                               std::string(data.empty() ? "missing" : "unknown") + ")");
  }
  *c = Command{};
  const uint8_t type = d.Byte();
  if (type < static_cast<uint8_t>(CommandType::kIngest) ||
      type > static_cast<uint8_t>(CommandType::kAudit)) {
    return absl::DataLossError("log message has unknown command type " + std::to_string(type));
  }
  c->type = static_cast<CommandType>(type);
  c->origin = d.LengthPrefixed();
  c->serial = d.Varint64();
  for (uint64_t n = d.Count(); n > 0 && d.ok(); --n) c->fragments.push_back(GetFragment(d));
  c->time_ms = d.Varsint64();
  for (uint64_t n = d.Count(); n > 0 && d.ok(); --n) {
    directory::SideWrite w;
    w.key = d.LengthPrefixed();
    if (d.Byte() != 0) w.value = std::string(d.LengthPrefixed());
    c->side.push_back(std::move(w));
  }
  c->source.id = d.LengthPrefixed();
  c->source.kind = d.LengthPrefixed();
  c->source.priority = static_cast<int32_t>(d.Varsint64());
  c->source.description = d.LengthPrefixed();
  c->source.num = d.Varint32();
  c->priority_if_new = d.Byte() != 0;
  c->run = GetRun(d);
  for (uint64_t n = d.Count(); n > 0 && d.ok(); --n) c->ids.push_back(d.Varint64());
  for (uint64_t n = d.Count(); n > 0 && d.ok(); --n) {
    directory::FragmentName name;
    name.source = d.LengthPrefixed();
    name.external_id = d.LengthPrefixed();
    c->names.push_back(std::move(name));
  }
  c->reason = d.LengthPrefixed();
  c->outcome = GetOutcome(d);
  for (uint64_t n = d.Count(); n > 0 && d.ok(); --n) c->audit.push_back(GetAudit(d));
  if (!d.ok() || !d.done()) {
    return absl::DataLossError("corrupt " + std::string(CommandName(c->type)) +
                               " command in the log");
  }
  return absl::OkStatus();
}

}  // namespace tessera::replica
