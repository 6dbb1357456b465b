// Directory: the audit log and the right to erasure (erase, then refuse the erased
// person's records at ingest by keyed hash).

#include <openssl/rand.h>

#include <algorithm>
#include <map>
#include <set>

#include "server/directory/directory_impl.h"
#include "server/directory/evidence.h"
#include "server/graph/edges.h"
#include "server/identity/records.h"
#include "server/store/coding.h"

namespace tessera::directory {

using identity::IdType;

namespace {

constexpr char kAuditSequenceKey[] = "audit-sequence";
constexpr char kSuppressionKeyKey[] = "suppression-key";
constexpr uint8_t kAuditRecordVersion = 1;
constexpr size_t kDefaultAuditPage = 500, kMaxAuditPage = 1000;
constexpr size_t kSuppressionKeyBytes = 32;

std::string EncodeAudit(const AuditEntry& e) {
  std::string out(1, static_cast<char>(kAuditRecordVersion));
  store::PutVarsint64(out, e.time_ms);
  for (const std::string* s :
       {&e.principal, &e.peer, &e.method, &e.outcome, &e.reason, &e.detail}) {
    store::PutLengthPrefixed(out, *s);
  }
  store::PutVarint64(out, e.profiles.size());
  for (uint64_t id : e.profiles) store::PutVarint64(out, id);
  return out;
}

absl::Status DecodeAudit(std::string_view data, AuditEntry* e) {
  store::Decoder d(data);
  if (d.Byte() != kAuditRecordVersion)
    return absl::DataLossError("audit record of an unknown version");
  e->time_ms = d.Varsint64();
  for (std::string* s :
       {&e->principal, &e->peer, &e->method, &e->outcome, &e->reason, &e->detail}) {
    *s = std::string(d.LengthPrefixed());
  }
  const uint64_t n = d.Varint64();
  e->profiles.clear();
  for (uint64_t i = 0; i < n && d.ok(); ++i) e->profiles.push_back(d.Varint64());
  if (!d.ok() || !d.done()) return absl::DataLossError("corrupt audit record");
  return absl::OkStatus();
}

// Identifiers that name a person (or account) rather than a thing they relate to.
bool NamesThePerson(IdType t) {
  return t != IdType::kTeam && t != IdType::kCase && t != IdType::kDocument;
}

}  // namespace

absl::Status DirectoryImpl::LoadPrivacy(const store::Reader& snap) {
  std::string value;
  absl::StatusOr<bool> found = snap.Get(store::Cf::kMeta, kAuditSequenceKey, &value);
  if (!found.ok()) return found.status();
  {
    absl::MutexLock a(&audit_mu_);
    audit_sequence_ = *found && value.size() == 8 ? store::DecodeFixed64BE(value.data()) : 0;
  }
  suppression_key_ = options_.suppression_key;
  if (suppression_key_.empty()) {
    found = snap.Get(store::Cf::kMeta, kSuppressionKeyKey, &value);
    if (!found.ok()) return found.status();
    if (*found) suppression_key_ = value;
  }
  if (!suppression_key_.empty()) hasher_ = std::make_shared<const KeyedHash>(suppression_key_);
  suppressed_prefixes_.clear();
  std::unique_ptr<store::Iterator> it = snap.NewIterator(store::Cf::kSuppressed);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() >= 8)
      suppressed_prefixes_.insert(store::DecodeFixed64BE(it->key().data()));
  }
  if (absl::Status s = it->status(); !s.ok()) return s;
  if (!suppressed_prefixes_.empty() && suppression_key_.empty()) {
    return absl::FailedPreconditionError(
        "the database records erased people but its suppression key is missing");
  }
  return absl::OkStatus();
}

void DirectoryImpl::PutAudit(store::Batch& batch, AuditEntry& entry) {
  entry.sequence = ++audit_sequence_;
  std::string key;
  store::PutFixed64BE(key, entry.sequence);
  batch.Put(store::Cf::kAudit, key, EncodeAudit(entry));
  batch.Put(store::Cf::kMeta, kAuditSequenceKey, key);
}

absl::Status DirectoryImpl::AppendAudit(AuditEntry entry) {
  absl::MutexLock a(&audit_mu_);
  AuditWaiter me{&entry};
  audit_queue_.push_back(&me);
  struct Turn {
    DirectoryImpl* dir;
    AuditWaiter* me;
    static bool Come(Turn* t) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return t->me->done || !t->dir->audit_writing_;
    }
  } turn{this, &me};
  audit_mu_.Await(absl::Condition(&Turn::Come, &turn));
  if (me.done) return me.status;  // a writer took it along
  // Write every queued record, this one included, as one batch.
  audit_writing_ = true;
  std::vector<AuditWaiter*> group;
  group.swap(audit_queue_);
  std::unique_ptr<store::Batch> batch = store_->NewBatch();
  for (AuditWaiter* w : group) PutAudit(*batch, *w->entry);
  audit_mu_.Unlock();
  const absl::Status s = store_->Write(*batch);
  audit_mu_.Lock();
  if (!s.ok()) audit_sequence_ -= group.size();
  for (AuditWaiter* w : group) w->done = true, w->status = s;
  audit_writing_ = false;
  return s;
}

absl::StatusOr<AuditPage> DirectoryImpl::ReadAudit(uint64_t after, size_t limit) const {
  if (limit > kMaxAuditPage) {
    return absl::InvalidArgumentError("at most " + std::to_string(kMaxAuditPage) +
                                      " audit entries per page");
  }
  if (limit == 0) limit = kDefaultAuditPage;
  std::unique_ptr<store::Snapshot> snap = store_->GetSnapshot();
  std::unique_ptr<store::Iterator> it = snap->NewIterator(store::Cf::kAudit);
  std::string start;
  store::PutFixed64BE(start, after + 1);
  AuditPage page;
  for (it->Seek(start); it->Valid(); it->Next()) {
    if (page.entries.size() == limit) {
      page.next_after = page.entries.back().sequence;
      break;
    }
    AuditEntry e;
    if (absl::Status s = DecodeAudit(it->value(), &e); !s.ok()) return s;
    e.sequence = store::DecodeFixed64BE(it->key().data());
    page.entries.push_back(std::move(e));
  }
  if (absl::Status s = it->status(); !s.ok()) return s;
  return page;
}

absl::StatusOr<uint64_t> DirectoryImpl::TrimAudit(int64_t before_ms) {
  std::unique_ptr<store::Snapshot> snap = store_->GetSnapshot();
  std::unique_ptr<store::Iterator> it = snap->NewIterator(store::Cf::kAudit);
  std::string first;
  uint64_t last = 0, n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    AuditEntry e;
    if (absl::Status s = DecodeAudit(it->value(), &e); !s.ok()) return s;
    if (e.time_ms >= before_ms) break;
    if (n++ == 0) first = std::string(it->key());
    last = store::DecodeFixed64BE(it->key().data());
  }
  if (absl::Status s = it->status(); !s.ok()) return s;
  if (n == 0) return 0;
  std::string end;
  store::PutFixed64BE(end, last + 1);
  if (absl::Status s = store_->DeleteRange(store::Cf::kAudit, first, end); !s.ok()) return s;
  return n;
}

std::string DirectoryImpl::SuppressionHash(char domain, std::string_view a,
                                           std::string_view b) const {
  // HMAC-SHA-256 over domain · len(a) · a · b: identifiers and fragments never collide.
  std::string msg(1, domain);
  store::PutLengthPrefixed(msg, a);
  msg.append(b);
  return (*hasher_)(msg);
}

absl::Status DirectoryImpl::EnsureSuppressionKey(store::Batch& batch) {
  if (!suppression_key_.empty()) return absl::OkStatus();
  std::string key(kSuppressionKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    return absl::InternalError("cannot make a random suppression key");
  }
  batch.Put(store::Cf::kMeta, kSuppressionKeyKey, key);
  suppression_key_ = std::move(key);
  hasher_ = std::make_shared<const KeyedHash>(suppression_key_);
  return absl::OkStatus();
}

absl::StatusOr<bool> DirectoryImpl::IsSuppressed(const store::Reader& reader,
                                                 const identity::Fragment& f) const {
  if (suppressed_prefixes_.empty()) return false;
  std::vector<std::string> hashes = {SuppressionHash('f', f.source, f.external_id)};
  for (const identity::Identifier& id : f.identifiers) {
    if (NamesThePerson(id.tag))
      hashes.push_back(SuppressionHash('i', identity::IdentKey(id.tag, id.value), ""));
  }
  const std::vector<std::string>& related = options_.erase_related_relations;
  for (const identity::Relation& r : f.relations) {
    if (std::find(related.begin(), related.end(), r.type) != related.end()) {
      hashes.push_back(SuppressionHash('i', identity::IdentKey(r.target.tag, r.target.value), ""));
    }
  }
  std::string ignored;
  for (const std::string& h : hashes) {
    if (suppressed_prefixes_.count(store::DecodeFixed64BE(h.data())) == 0) continue;
    absl::StatusOr<bool> found = reader.Get(store::Cf::kSuppressed, h, &ignored);
    if (!found.ok()) return found.status();
    if (*found) return true;
  }
  return false;
}

absl::StatusOr<EraseResult> DirectoryImpl::Erase(const ProfileRef& who, AuditEntry audit) {
  absl::MutexLock w(&write_mu_);
  Drain();
  MetaState state;
  std::shared_ptr<const identity::SourceRegistry> sources;
  std::shared_ptr<const identity::RuleSet> rules;
  {
    absl::ReaderMutexLock r(&state_mu_);
    state = state_;
    sources = sources_;
    rules = rules_;
  }
  std::unique_ptr<store::Batch> batch = store_->NewBatch();
  EraseResult result;
  absl::StatusOr<identity::Profile> person = ReadVisible(*batch, who, &result.profile);
  if (!person.ok()) return person.status();
  if (!identity::IsPersonKind(person->kind)) {
    return absl::FailedPreconditionError(
        "profile " + std::to_string(result.profile) + " is a " + person->kind +
        ", not a person; erasure is for people (employees, customers, contacts)");
  }
  // A key made here is forgotten again unless the erasure commits.
  struct KeyGuard {
    DirectoryImpl* dir;
    bool made;
    bool committed = false;
    ~KeyGuard() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      if (made && !committed) dir->suppression_key_.clear(), dir->hasher_.reset();
    }
  } key_guard{this, suppression_key_.empty()};
  if (absl::Status s = EnsureSuppressionKey(*batch); !s.ok()) return s;

  // The person's fragments and the identifiers they carry, then the fragments that
  // name them by a related relation (the cases they raised).
  std::map<std::string, identity::StoredFragment> doomed;
  std::set<std::string> identkeys;
  for (const identity::Member& m : person->members) {
    absl::StatusOr<std::optional<identity::StoredFragment>> f =
        identity::ReadFragment(*batch, m.fragkey);
    if (!f.ok()) return f.status();
    if (!*f || (*f)->fragment.tombstone) continue;
    for (const identity::Identifier& id : (*f)->fragment.identifiers) {
      if (NamesThePerson(id.tag)) identkeys.insert(identity::IdentKey(id.tag, id.value));
    }
    doomed.emplace(m.fragkey, **std::move(f));
  }
  result.fragments = doomed.size();
  const std::vector<std::string>& related = options_.erase_related_relations;
  for (const std::string& identkey : identkeys) {
    absl::StatusOr<std::vector<graph::Ref>> refs = graph::RefsTo(*batch, identkey);
    if (!refs.ok()) return refs.status();
    for (const graph::Ref& ref : *refs) {
      if (doomed.count(ref.fragkey) != 0 ||
          std::find(related.begin(), related.end(), ref.type) == related.end()) {
        continue;
      }
      absl::StatusOr<std::optional<identity::StoredFragment>> f =
          identity::ReadFragment(*batch, ref.fragkey);
      if (!f.ok()) return f.status();
      if (!*f || (*f)->fragment.tombstone) continue;
      doomed.emplace(ref.fragkey, **std::move(f));
      ++result.related;
    }
  }

  // Merge and split rules naming any of them go too (they name the records by source
  // and external id); the other records those rules named are relinked afterwards.
  identity::RuleSet kept_rules = *rules;
  std::set<uint64_t> dropped_rules;
  for (const auto& [key, sf] : doomed) {
    for (const identity::Rule* r : rules->RulesOf(key)) dropped_rules.insert(r->id);
  }
  std::vector<std::string> relink_after;
  for (uint64_t id : dropped_rules) {
    const identity::Rule* r = rules->Find(id);
    for (const std::vector<std::string>* side : {&r->fragkeys, &r->apart}) {
      for (const std::string& k : *side) {
        if (doomed.count(k) == 0) relink_after.push_back(k);
      }
    }
    kept_rules.Remove(id);
    batch->Delete(store::Cf::kRules, identity::RuleKey(id));
  }

  // Unlink them as if deleted (profile, index entries, edges, evidence, change log),
  // then drop the records themselves rather than keep tombstones.
  std::vector<identity::Change> changes;
  for (const auto& [key, sf] : doomed) {
    identity::Change c{key, sf, {}, true};
    identity::Fragment& t = c.after.fragment;
    t.source = sf.fragment.source;
    t.external_id = sf.fragment.external_id;
    t.version = sf.fragment.version;
    t.tombstone = true;
    c.after.fno = sf.fno;
    c.after.entity = sf.entity;
    c.after.origin = sf.origin;
    changes.push_back(std::move(c));
  }
  WriteContext ctx{*batch, state, *sources, kept_rules, audit.time_ms, /*log_changes=*/true};
  if (absl::StatusOr<identity::LinkResult> link = Relink(ctx, changes); !link.ok())
    return link.status();
  std::set<std::string> hashes;
  for (const auto& [key, sf] : doomed) {
    batch->Delete(store::Cf::kFragments, key);
    uint32_t num = 0;
    std::string_view external_id;
    if (identity::ParseFragmentKey(key, &num, &external_id)) {
      --state.live_fragments;
      if (--state.live_by_source[num] == 0) state.live_by_source.erase(num);
    }
    hashes.insert(SuppressionHash('f', sf.fragment.source, sf.fragment.external_id));
  }
  for (const std::string& identkey : identkeys) hashes.insert(SuppressionHash('i', identkey, ""));
  if (side_eraser_) {
    std::vector<FragmentName> names;
    for (const auto& [key, sf] : doomed)
      names.push_back({sf.fragment.source, sf.fragment.external_id});
    absl::StatusOr<std::vector<SideWrite>> side = side_eraser_(store_->Latest(), names);
    if (!side.ok()) return Prefixed(side.status(), "erasing the provisioning rows: ");
    AddSideWrites(*batch, *side);
    result.side_rows = side->size();
  }
  for (const std::string& h : hashes) {
    batch->Put(store::Cf::kSuppressed, h, "");
    result.suppressed.push_back(store::HexEncode(h));
  }

  audit.profiles = {result.profile};
  audit.detail = "erased profile " + std::to_string(result.profile) + ": " +
                 std::to_string(result.fragments) + " fragments, " +
                 std::to_string(result.related) + " related, " +
                 std::to_string(dropped_rules.size()) + " rules, " +
                 std::to_string(result.side_rows) + " provisioning rows; suppressed";
  for (const std::string& h : result.suppressed) audit.detail += " " + h;
  {
    // In the audit writer's place, so the sequence stays in commit order.
    absl::MutexLock a(&audit_mu_);
    audit_mu_.Await(absl::Condition(
        +[](bool* writing) { return !*writing; }, &audit_writing_));
    PutAudit(*batch, audit);
    if (absl::Status s =
            Commit(*batch, state, dropped_rules.empty() ? nullptr : &kept_rules, nullptr);
        !s.ok()) {
      --audit_sequence_;
      return s;
    }
    key_guard.committed = true;
  }
  for (const std::string& h : hashes) suppressed_prefixes_.insert(store::DecodeFixed64BE(h.data()));
  result.audit_sequence = audit.sequence;
  if (!relink_after.empty()) {
    if (absl::Status s =
            RelinkFragments(relink_after, state, kept_rules, *sources, true, audit.time_ms);
        !s.ok()) {
      return Prefixed(
          s, "erased, but relinking the records of its removed rules failed (run admin rebuild): ");
    }
  }
  // Their words must not linger as keys of emptied postings. Nothing else writes
  // meanwhile (write_mu_, drained); a crash here leaves only empty entries.
  std::vector<index::DocTerms> removed;
  for (const auto& [key, sf] : doomed) {
    for (index::DocTerms& d : EvidenceTerms(analyzer_, sf)) removed.push_back(std::move(d));
  }
  if (!removed.empty()) {
    std::unique_ptr<store::Batch> cleanup = store_->NewBatch();
    std::unique_ptr<store::Snapshot> snap = store_->GetSnapshot();
    absl::StatusOr<size_t> dropped = index::DropEmptyPostings(*snap, *cleanup, removed);
    absl::Status cleaned = dropped.status();
    if (cleaned.ok() && *dropped > 0) cleaned = store_->Write(*cleanup);
    if (!cleaned.ok()) {
      return Prefixed(
          cleaned,
          "erased, but removing the emptied index entries of their words failed (run admin "
          "rebuild): ");
    }
  }
  return result;
}

}  // namespace tessera::directory
