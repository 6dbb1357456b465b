// Directory: sources, statistics, conflicts, merge and split rules, backup, rebuild.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>

#include "server/directory/directory_impl.h"
#include "server/identity/records.h"
#include "server/index/postings.h"
#include "server/store/coding.h"

namespace tessera::directory {
namespace {

using identity::Rule;
using identity::RuleSet;
using identity::SourceRegistry;

constexpr size_t kRelinkChunk = 1000;            // fragments relinked per batch
constexpr size_t kRebuildBatchBytes = 8u << 20;  // commit a rebuild batch past this

std::vector<store::Cf> DerivedCfs() {
  std::vector<store::Cf> cfs;
  for (int i = 0; i < store::kCfCount; ++i) {
    if (store::IsDerived(static_cast<store::Cf>(i))) cfs.push_back(static_cast<store::Cf>(i));
  }
  return cfs;
}

// Sync runs live in the meta column family beside their source, one key per source.
constexpr std::string_view kSyncRunPrefix = "syncrun/";
constexpr size_t kMaxSyncErrors = 20, kMaxSyncErrorBytes = 512, kMaxSyncFailureBytes = 1024;

std::string SyncRunKey(std::string_view source_id) {
  std::string key(kSyncRunPrefix);
  key.append(source_id);
  return key;
}

std::string EncodeSyncRun(const SyncRun& r, int64_t last_success_ms) {
  std::string out;
  store::PutVarsint64(out, last_success_ms);
  store::PutLengthPrefixed(out, r.mode);
  store::PutLengthPrefixed(out, r.state);
  store::PutVarsint64(out, r.started_ms);
  store::PutVarsint64(out, r.finished_ms);
  for (uint64_t n : {r.read, r.added, r.updated, r.unchanged, r.deleted, r.rejected})
    store::PutVarint64(out, n);
  store::PutLengthPrefixed(out, r.failure);
  store::PutVarint64(out, r.errors.size());
  for (const std::string& e : r.errors) store::PutLengthPrefixed(out, e);
  store::PutVarint64(out, r.suppressed);  // appended later: absent from older records
  return out;
}

absl::Status DecodeSyncRun(std::string_view data, SyncRun* r, int64_t* last_success_ms) {
  store::Decoder d(data);
  *last_success_ms = d.Varsint64();
  r->mode = std::string(d.LengthPrefixed());
  r->state = std::string(d.LengthPrefixed());
  r->started_ms = d.Varsint64();
  r->finished_ms = d.Varsint64();
  for (uint64_t* n : {&r->read, &r->added, &r->updated, &r->unchanged, &r->deleted, &r->rejected})
    *n = d.Varint64();
  r->failure = std::string(d.LengthPrefixed());
  const uint64_t n = d.Varint64();
  for (uint64_t i = 0; i < n && d.ok() && i <= kMaxSyncErrors; ++i)
    r->errors.emplace_back(d.LengthPrefixed());
  if (d.ok() && !d.done()) r->suppressed = d.Varint64();
  if (!d.ok() || !d.done()) return absl::DataLossError("corrupt sync run record");
  return absl::OkStatus();
}

absl::Status ValidateSyncRun(const SyncRun& r) {
  if (r.mode != "full" && r.mode != "incremental") {
    return absl::InvalidArgumentError("run.mode '" + r.mode.substr(0, 32) +
                                      "' is not full or incremental");
  }
  if (r.state != "ok" && r.state != "partial" && r.state != "failed") {
    return absl::InvalidArgumentError("run.state '" + r.state.substr(0, 32) +
                                      "' is not ok, partial or failed");
  }
  if (r.errors.size() > kMaxSyncErrors) {
    return absl::InvalidArgumentError("run.errors has " + std::to_string(r.errors.size()) +
                                      " entries, limit " + std::to_string(kMaxSyncErrors));
  }
  for (size_t i = 0; i < r.errors.size(); ++i) {
    if (r.errors[i].size() > kMaxSyncErrorBytes) {
      return absl::InvalidArgumentError("run.errors[" + std::to_string(i) + "] is longer than " +
                                        std::to_string(kMaxSyncErrorBytes) + " bytes");
    }
  }
  if (r.failure.size() > kMaxSyncFailureBytes) {
    return absl::InvalidArgumentError("run.failure is longer than " +
                                      std::to_string(kMaxSyncFailureBytes) + " bytes");
  }
  if (r.finished_ms < r.started_ms)
    return absl::InvalidArgumentError("run.finished is before run.started");
  const uint64_t accounted =
      r.added + r.updated + r.unchanged + r.deleted + r.rejected + r.suppressed;
  if (r.state != "failed" && accounted != r.read) {
    // A finished run accounts for every record it read; one that does not lost some.
    return absl::InvalidArgumentError("run counts do not add up: read " + std::to_string(r.read) +
                                      " but added + updated + unchanged + deleted + "
                                      "rejected + suppressed = " +
                                      std::to_string(accounted) + "; report such a run as failed");
  }
  return absl::OkStatus();
}

bool Intersects(const std::vector<std::string>& a, const std::set<std::string>& b) {
  return std::any_of(a.begin(), a.end(), [&](const std::string& k) { return b.count(k) != 0; });
}

}  // namespace

absl::Status DirectoryImpl::RelinkFragments(const std::vector<std::string>& fragkeys,
                                            MetaState& state, const RuleSet& rules,
                                            const SourceRegistry& sources, bool log_changes,
                                            int64_t time_ms) {
  std::unique_ptr<store::Batch> batch = store_->NewBatch();
  size_t i = 0;
  do {
    std::vector<identity::Change> changes;
    for (; i < fragkeys.size() && changes.size() < kRelinkChunk; ++i) {
      absl::StatusOr<std::optional<identity::StoredFragment>> sf =
          identity::ReadFragment(*batch, fragkeys[i]);
      if (!sf.ok()) return sf.status();
      if (!*sf || (*sf)->fragment.tombstone) continue;
      changes.push_back({fragkeys[i], **sf, **sf, /*write=*/false});
    }
    WriteContext ctx{*batch, state, sources, rules, time_ms, log_changes};
    if (absl::StatusOr<identity::LinkResult> r = Relink(ctx, changes); !r.ok()) return r.status();
    if (absl::Status s = Commit(*batch, state, &rules, &sources); !s.ok()) return s;
    batch = store_->NewBatch();
  } while (i < fragkeys.size());
  return absl::OkStatus();
}

absl::StatusOr<SourceInfo> DirectoryImpl::PutSource(identity::Source source, bool priority_if_new) {
  if (absl::Status s = identity::ValidateSource(source); !s.ok()) return s;
  absl::MutexLock w(&write_mu_);
  Drain();
  SourceRegistry sources;
  MetaState state;
  {
    absl::ReaderMutexLock r(&state_mu_);
    sources = *sources_;
    state = state_;
  }
  const identity::Source* old = sources.Find(source.id);
  if (old != nullptr && priority_if_new) source.priority = old->priority;
  const bool reprioritised = old != nullptr && old->priority != source.priority;
  const identity::Source stored = sources.Put(std::move(source));
  std::unique_ptr<store::Batch> batch = store_->NewBatch();
  batch->Put(store::Cf::kMeta, identity::SourceMetaKey(stored.id), identity::EncodeSource(stored));
  if (absl::Status s = Commit(*batch, state, nullptr, &sources); !s.ok()) return s;
  if (reprioritised) {
    // Survivorship depends on priority: re-derive every profile this source feeds.
    std::vector<std::string> keys;
    std::string prefix;
    store::PutFixed32BE(prefix, stored.num);
    std::unique_ptr<store::Snapshot> snap = store_->GetSnapshot();
    std::unique_ptr<store::Iterator> it = snap->NewIterator(store::Cf::kFragments);
    for (it->Seek(prefix); it->Valid() && store::HasPrefix(it->key(), prefix); it->Next()) {
      keys.emplace_back(it->key());
    }
    if (absl::Status s = it->status(); !s.ok()) return s;
    RuleSet rules;
    {
      absl::ReaderMutexLock r(&state_mu_);
      rules = *rules_;
    }
    if (absl::Status s = RelinkFragments(keys, state, rules, sources, true, 0); !s.ok()) return s;
  }
  return SourceInfo{stored, state.live_by_source[stored.num]};
}

std::vector<SourceInfo> DirectoryImpl::ListSources() const {
  std::vector<SourceInfo> out;
  {
    absl::ReaderMutexLock r(&state_mu_);
    for (identity::Source& s : sources_->All()) {
      auto it = state_.live_by_source.find(s.num);
      const uint64_t n = it == state_.live_by_source.end() ? 0 : it->second;
      out.push_back({std::move(s), n, std::nullopt, 0});
    }
  }
  for (SourceInfo& info : out) {
    std::string data;
    absl::StatusOr<bool> found =
        store_->Latest().Get(store::Cf::kMeta, SyncRunKey(info.source.id), &data);
    SyncRun run;
    // A sync report is informational: one that cannot be read is shown as absent.
    if (found.ok() && *found && DecodeSyncRun(data, &run, &info.last_success_ms).ok())
      info.last_run = std::move(run);
  }
  return out;
}

absl::StatusOr<SourceInfo> DirectoryImpl::ReportSync(std::string_view source_id, SyncRun run) {
  if (absl::Status s = ValidateSyncRun(run); !s.ok()) return s;
  absl::MutexLock w(&write_mu_);
  Drain();
  SourceInfo info;
  MetaState state;
  SourceRegistry sources;
  {
    absl::ReaderMutexLock r(&state_mu_);
    const identity::Source* src = sources_->Find(source_id);
    if (src == nullptr) {
      return absl::FailedPreconditionError("unknown source '" +
                                           std::string(source_id.substr(0, 64)) +
                                           "': register it first (tessera admin source)");
    }
    info.source = *src;
    auto it = state_.live_by_source.find(src->num);
    info.live_fragments = it == state_.live_by_source.end() ? 0 : it->second;
    state = state_;
    sources = *sources_;
  }
  const std::string key = SyncRunKey(info.source.id);
  std::string old;
  absl::StatusOr<bool> found = store_->Latest().Get(store::Cf::kMeta, key, &old);
  if (!found.ok()) return found.status();
  if (*found) {
    SyncRun previous;
    if (!DecodeSyncRun(old, &previous, &info.last_success_ms).ok()) info.last_success_ms = 0;
  }
  if (run.state == "ok") info.last_success_ms = run.finished_ms;
  std::unique_ptr<store::Batch> batch = store_->NewBatch();
  batch->Put(store::Cf::kMeta, key, EncodeSyncRun(run, info.last_success_ms));
  if (absl::Status s = Commit(*batch, state, nullptr, &sources); !s.ok()) return s;
  info.last_run = std::move(run);
  return info;
}

absl::StatusOr<Stats> DirectoryImpl::GetStats() const {
  Stats st;
  {
    absl::ReaderMutexLock r(&state_mu_);
    st.live_fragments = state_.live_fragments;
    st.tombstones = state_.tombstones;
    st.profiles = state_.profiles;
    st.linked_profiles = state_.linked_profiles;
    st.conflicts = static_cast<uint64_t>(std::max<int64_t>(0, state_.conflicts));
    st.rules = rules_->all().size();
    st.sources = sources_->size();
    st.sequence = state_.sequence;
    st.profiles_by_kind = state_.profiles_by_kind;
  }
  st.identifiers_estimate = store_->EstimateKeys(store::Cf::kIdent);
  st.edges_estimate = store_->EstimateKeys(store::Cf::kEdges) / 2;
  st.disk_bytes = store_->DiskBytes();
  st.keys_written = keys_written_.load();
  return st;
}

absl::StatusOr<ConflictPage> DirectoryImpl::ListConflicts(size_t page_size,
                                                          const std::string& page_token) const {
  if (page_size == 0) page_size = 100;
  if (page_size > options_.limits.max_page_size) {
    return absl::InvalidArgumentError("page_size " + std::to_string(page_size) +
                                      " is over the limit of " +
                                      std::to_string(options_.limits.max_page_size));
  }
  // The token is the key of the first conflict not yet returned.
  std::string start;
  if (!store::HexDecode(page_token, &start)) {
    return absl::InvalidArgumentError("page_token is not from ListConflicts");
  }
  std::unique_ptr<store::Snapshot> snap = store_->GetSnapshot();
  std::unique_ptr<store::Iterator> it = snap->NewIterator(store::Cf::kConflicts);
  ConflictPage page;
  it->Seek(start);
  for (; it->Valid(); it->Next()) {
    identity::Conflict c;
    if (absl::Status s = identity::DecodeConflict(it->value(), &c); !s.ok()) return s;
    if (it->key().size() < 8 || c.profiles.empty() ||
        store::DecodeFixed64BE(it->key().data()) != c.profiles.front()) {
      continue;  // the copy stored under the other profile
    }
    if (page.conflicts.size() == page_size) {
      page.next_page_token = store::HexEncode(it->key());
      break;
    }
    std::vector<FragmentName> names = NamesOf(c.fragkeys);
    page.conflicts.push_back({std::move(c), std::move(names)});
  }
  if (absl::Status s = it->status(); !s.ok()) return s;
  return page;
}

absl::StatusOr<MergeResult> DirectoryImpl::Merge(const std::vector<uint64_t>& ids,
                                                 const std::string& reason, int64_t now_ms) {
  const std::set<uint64_t> distinct(ids.begin(), ids.end());
  if (distinct.size() < 2)
    return absl::InvalidArgumentError("merge needs at least two different profile ids");
  if (distinct.size() > 100) return absl::InvalidArgumentError("merge takes at most 100 profiles");
  if (reason.size() > 512) return absl::InvalidArgumentError("reason is longer than 512 bytes");
  uint64_t rule_id = 0;
  std::vector<std::string> fragkeys;
  {
    absl::MutexLock w(&write_mu_);
    Drain();
    std::unique_ptr<store::Snapshot> snap = store_->GetSnapshot();
    identity::EntityClass first_class{};
    for (uint64_t id : distinct) {
      absl::StatusOr<std::optional<identity::Profile>> p = identity::ReadProfile(*snap, id);
      if (!p.ok()) return p.status();
      if (!*p) return absl::NotFoundError("no profile " + std::to_string(id));
      identity::EntityClass cls{};
      identity::ClassOfKind((*p)->kind, &cls);
      if (id != *distinct.begin() && cls != first_class) {
        return absl::FailedPreconditionError("profile " + std::to_string(id) + " is a " +
                                             (*p)->kind +
                                             ": only entities of one class can be merged");
      }
      first_class = cls;
      for (const identity::Member& m : (*p)->members) fragkeys.push_back(m.fragkey);
    }
    std::sort(fragkeys.begin(), fragkeys.end());
    const std::set<std::string> keyset(fragkeys.begin(), fragkeys.end());
    MetaState state;
    RuleSet rules;
    SourceRegistry sources;
    {
      absl::ReaderMutexLock r(&state_mu_);
      state = state_;
      rules = *rules_;
      sources = *sources_;
    }
    std::unique_ptr<store::Batch> batch = store_->NewBatch();
    // A split rule between fragments now merged contradicts this merge: drop it.
    const RuleSet current = rules;
    for (const auto& [rid, rule] : current.all()) {
      if (rule.type == Rule::Type::kSplit && Intersects(rule.fragkeys, keyset) &&
          Intersects(rule.apart, keyset)) {
        rules.Remove(rid);
        batch->Delete(store::Cf::kRules, identity::RuleKey(rid));
      }
    }
    Rule rule{state.next_rule++, Rule::Type::kMerge, fragkeys, {}, reason, now_ms};
    batch->Put(store::Cf::kRules, identity::RuleKey(rule.id), identity::EncodeRule(rule));
    rules.Put(rule);
    if (absl::Status s = Commit(*batch, state, &rules, nullptr); !s.ok()) return s;
    if (absl::Status s = RelinkFragments(fragkeys, state, rules, sources, true, now_ms); !s.ok())
      return s;
    rule_id = rule.id;
  }
  // The merged profile keeps one of the ids; find it through a fragment.
  absl::StatusOr<FragmentView> f = GetFragment(NameOf(fragkeys.front()));
  if (!f.ok()) return f.status();
  absl::StatusOr<ProfileView> view = GetProfile({f->stored.entity, {}, {}});
  if (!view.ok()) return view.status();
  return MergeResult{*std::move(view), rule_id};
}

absl::StatusOr<SplitResult> DirectoryImpl::Split(uint64_t id,
                                                 const std::vector<FragmentName>& fragments,
                                                 const std::string& reason, int64_t now_ms) {
  if (fragments.empty()) return absl::InvalidArgumentError("split needs the fragments to separate");
  if (reason.size() > 512) return absl::InvalidArgumentError("reason is longer than 512 bytes");
  absl::MutexLock w(&write_mu_);
  Drain();
  MetaState state;
  RuleSet rules;
  SourceRegistry sources;
  {
    absl::ReaderMutexLock r(&state_mu_);
    state = state_;
    rules = *rules_;
    sources = *sources_;
  }
  std::unique_ptr<store::Snapshot> snap = store_->GetSnapshot();
  absl::StatusOr<std::optional<identity::Profile>> p = identity::ReadProfile(*snap, id);
  if (!p.ok()) return p.status();
  if (!*p) return absl::NotFoundError("no profile " + std::to_string(id));
  std::set<std::string> members, apart;
  for (const identity::Member& m : (*p)->members) members.insert(m.fragkey);
  for (const FragmentName& n : fragments) {
    const identity::Source* src = sources.Find(n.source);
    const std::string key = src ? identity::FragmentKey(src->num, n.external_id) : std::string();
    if (members.count(key) == 0) {
      return absl::InvalidArgumentError("fragment " + n.source + "/" + n.external_id +
                                        " is not part of profile " + std::to_string(id));
    }
    apart.insert(key);
  }
  std::vector<std::string> rest;
  std::set_difference(members.begin(), members.end(), apart.begin(), apart.end(),
                      std::back_inserter(rest));
  if (rest.empty())
    return absl::InvalidArgumentError("split must leave at least one fragment in the profile");

  std::unique_ptr<store::Batch> batch = store_->NewBatch();
  // Merge rules joining the two sides lose the separated fragments.
  const RuleSet current = rules;
  for (const auto& [rid, old] : current.all()) {
    if (old.type != Rule::Type::kMerge || !Intersects(old.fragkeys, apart)) continue;
    Rule shrunk = old;
    std::erase_if(shrunk.fragkeys, [&](const std::string& k) { return apart.count(k) != 0; });
    rules.Remove(rid);
    if (shrunk.fragkeys.size() < 2) {
      batch->Delete(store::Cf::kRules, identity::RuleKey(rid));
      continue;
    }
    batch->Put(store::Cf::kRules, identity::RuleKey(rid), identity::EncodeRule(shrunk));
    rules.Put(std::move(shrunk));
  }
  Rule rule{
      state.next_rule++, Rule::Type::kSplit, {apart.begin(), apart.end()}, rest, reason, now_ms};
  batch->Put(store::Cf::kRules, identity::RuleKey(rule.id), identity::EncodeRule(rule));
  rules.Put(rule);
  if (absl::Status s = Commit(*batch, state, &rules, nullptr); !s.ok()) return s;
  const std::vector<std::string> all(members.begin(), members.end());
  if (absl::Status s = RelinkFragments(all, state, rules, sources, true, now_ms); !s.ok()) return s;

  SplitResult result{{}, rule.id};
  std::unique_ptr<store::Snapshot> after = store_->GetSnapshot();
  std::set<uint64_t> ids;
  for (const std::string& key : all) {
    absl::StatusOr<std::optional<identity::StoredFragment>> sf =
        identity::ReadFragment(*after, key);
    if (!sf.ok()) return sf.status();
    if (*sf && (*sf)->entity != 0) ids.insert((*sf)->entity);
  }
  result.profile_ids.assign(ids.begin(), ids.end());
  return result;
}

std::vector<RuleView> DirectoryImpl::ListRules() const {
  std::vector<Rule> rules;
  {
    absl::ReaderMutexLock r(&state_mu_);
    for (const auto& [id, rule] : rules_->all()) rules.push_back(rule);
  }
  std::vector<RuleView> out;
  for (Rule& rule : rules) {
    std::vector<FragmentName> a = NamesOf(rule.fragkeys), b = NamesOf(rule.apart);
    out.push_back({std::move(rule), std::move(a), std::move(b)});
  }
  return out;
}

absl::Status DirectoryImpl::DeleteRule(uint64_t id) {
  absl::MutexLock w(&write_mu_);
  Drain();
  MetaState state;
  RuleSet rules;
  SourceRegistry sources;
  {
    absl::ReaderMutexLock r(&state_mu_);
    state = state_;
    rules = *rules_;
    sources = *sources_;
  }
  const Rule* rule = rules.Find(id);
  if (rule == nullptr) return absl::NotFoundError("no rule " + std::to_string(id));
  std::vector<std::string> keys = rule->fragkeys;
  keys.insert(keys.end(), rule->apart.begin(), rule->apart.end());
  rules.Remove(id);
  std::unique_ptr<store::Batch> batch = store_->NewBatch();
  batch->Delete(store::Cf::kRules, identity::RuleKey(id));
  if (absl::Status s = Commit(*batch, state, &rules, nullptr); !s.ok()) return s;
  return RelinkFragments(keys, state, rules, sources, true, 0);
}

absl::StatusOr<uint64_t> DirectoryImpl::Backup(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  std::error_code ec;
  if (path.empty() || path.size() > 4096 || !p.is_absolute()) {
    return absl::InvalidArgumentError("backup path '" + path + "' is not an absolute path");
  }
  if (fs::exists(p, ec))
    return absl::AlreadyExistsError("backup path '" + path + "' already exists");
  if (!fs::is_directory(p.parent_path(), ec)) {
    return absl::FailedPreconditionError("backup path's folder '" + p.parent_path().string() +
                                         "' does not exist");
  }
  absl::MutexLock w(&write_mu_);  // between batches, so the sequence is exact
  Drain();
  if (absl::Status s = store_->Checkpoint(path); !s.ok()) return s;
  absl::ReaderMutexLock r(&state_mu_);
  return state_.sequence;
}

absl::StatusOr<std::string> DirectoryImpl::DerivedDigest() const {
  std::unique_ptr<store::Snapshot> snap = store_->GetSnapshot();
  return store::Digest(*snap, DerivedCfs(), index::PostingsMergeOperator().get());
}

absl::StatusOr<RebuildResult> DirectoryImpl::Rebuild() {
  absl::MutexLock w(&write_mu_);
  Drain();
  return RebuildLocked();
}

absl::StatusOr<RebuildResult> DirectoryImpl::RebuildLocked() {
  RebuildResult result;
  absl::StatusOr<std::string> before = DerivedDigest();
  if (!before.ok()) return before.status();
  result.digest_before = *before;
  MetaState state;
  RuleSet rules;
  SourceRegistry sources;
  {
    absl::ReaderMutexLock r(&state_mu_);
    state = state_;
    rules = *rules_;
    sources = *sources_;
  }
  // Mark first, so a crash in the middle resumes at the next Open.
  state.rebuilding = true;
  std::unique_ptr<store::Batch> batch = store_->NewBatch();
  if (absl::Status s = Commit(*batch, state, nullptr, nullptr); !s.ok()) return s;
  if (absl::Status s = store_->Clear(DerivedCfs()); !s.ok()) return s;
  state.ResetDerived();

  // Group live fragments by the profile they belong to, and relink group by group in
  // id order: each group is re-clustered whole, so every profile keeps its id. Only
  // the keys are held (a fragment is read again when its group comes), so memory
  // follows the number of fragments, not their size.
  std::map<uint64_t, std::vector<std::string>> groups;
  std::unique_ptr<store::Snapshot> snap = store_->GetSnapshot();
  std::unique_ptr<store::Iterator> it = snap->NewIterator(store::Cf::kFragments);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    identity::StoredFragment sf;
    if (absl::Status s = identity::DecodeFragment(it->value(), &sf); !s.ok()) return s;
    if (sf.fragment.tombstone) continue;
    ++result.fragments;
    groups[sf.entity].emplace_back(it->key());
  }
  if (absl::Status s = it->status(); !s.ok()) return s;
  batch = store_->NewBatch();
  uint64_t done = 0;
  auto last_notice = std::chrono::steady_clock::now();
  for (auto& [entity, keys] : groups) {
    if (options_.cancelled && options_.cancelled()) {
      return absl::CancelledError("rebuild interrupted after " + std::to_string(done) + " of " +
                                  std::to_string(result.fragments) +
                                  " fragments; it resumes at the next start");
    }
    std::vector<identity::Change> changes;
    for (std::string& key : keys) {
      absl::StatusOr<std::optional<identity::StoredFragment>> sf =
          identity::ReadFragment(*snap, key);
      if (!sf.ok()) return sf.status();
      if (!*sf) return absl::DataLossError("fragment vanished during rebuild");
      changes.push_back({std::move(key), std::nullopt, **std::move(sf), false});
    }
    done += changes.size();
    WriteContext ctx{*batch, state, sources, rules, 0, /*log_changes=*/false};
    if (absl::StatusOr<identity::LinkResult> r = Relink(ctx, changes); !r.ok()) return r.status();
    if (batch->bytes() > kRebuildBatchBytes) {
      if (absl::Status s = Commit(*batch, state, nullptr, nullptr); !s.ok()) return s;
      batch = store_->NewBatch();
      if (options_.notice &&
          std::chrono::steady_clock::now() - last_notice > std::chrono::seconds(10)) {
        options_.notice("rebuilding: " + std::to_string(done) + " of " +
                        std::to_string(result.fragments) + " fragments");
        last_notice = std::chrono::steady_clock::now();
      }
    }
  }
  state.rebuilding = false;
  if (absl::Status s = Commit(*batch, state, nullptr, nullptr); !s.ok()) return s;
  // Everything derived was just rewritten, much of it as merge operands: compacting now
  // gives searches merged postings instead of merging them on every read.
  if (absl::Status s = store_->CompactAll(); !s.ok()) return s;
  result.profiles = state.profiles;
  absl::StatusOr<std::string> after = DerivedDigest();
  if (!after.ok()) return after.status();
  result.digest_after = *after;
  return result;
}

}  // namespace tessera::directory
