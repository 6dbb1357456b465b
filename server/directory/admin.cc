// Directory: Admin (admin.h): sources and sync runs, statistics, conflicts, merge
// and split rules, backup. Rebuild is in rebuild.cc, sync-run records in sync_run.cc.

#include "server/directory/admin.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "server/directory/ingest.h"
#include "server/directory/reads.h"
#include "server/directory/sync_run.h"
#include "server/identity/records.h"
#include "server/store/coding.h"

namespace tessera::directory {
namespace {

using identity::Rule;
using identity::RuleSet;
using identity::SourceRegistry;

bool Intersects(const std::vector<std::string>& a, const std::set<std::string>& b) {
  return std::any_of(a.begin(), a.end(), [&](const std::string& k) { return b.count(k) != 0; });
}

}  // namespace

absl::StatusOr<SourceInfo> Admin::PutSource(identity::Source source, bool priority_if_new) {
  if (absl::Status s = identity::ValidateSource(source); !s.ok()) return s;
  WritePath::Writer w(write_);
  SourceRegistry sources = w.sources();
  const identity::Source* old = sources.Find(source.id);
  if (old != nullptr && priority_if_new) source.priority = old->priority;
  const bool reprioritised = old != nullptr && old->priority != source.priority;
  const identity::Source stored = sources.Put(std::move(source));
  std::unique_ptr<store::Batch> batch = write_.store().NewBatch();
  batch->Put(store::Cf::kMeta, identity::SourceMetaKey(stored.id), identity::EncodeSource(stored));
  if (absl::Status s = w.Commit(*batch, nullptr, &sources); !s.ok()) return s;
  if (reprioritised) {
    // Survivorship depends on priority: re-derive every profile this source feeds.
    std::vector<std::string> keys;
    std::string prefix;
    store::PutFixed32BE(prefix, stored.num);
    std::unique_ptr<store::Snapshot> snap = write_.store().GetSnapshot();
    std::unique_ptr<store::Iterator> it = snap->NewIterator(store::Cf::kFragments);
    for (it->Seek(prefix); it->Valid() && store::HasPrefix(it->key(), prefix); it->Next()) {
      keys.emplace_back(it->key());
    }
    if (absl::Status s = it->status(); !s.ok()) return s;
    if (absl::Status s = ingester_.RelinkFragments(w, keys, true, 0); !s.ok()) return s;
  }
  return SourceInfo{stored, w.state().live_by_source[stored.num]};
}

std::vector<SourceInfo> Admin::ListSources() const {
  std::vector<SourceInfo> out =
      write_.Published([](const MetaState& state, const SourceRegistry& sources, const RuleSet&) {
        std::vector<SourceInfo> out;
        for (identity::Source& s : sources.All()) {
          auto it = state.live_by_source.find(s.num);
          const uint64_t n = it == state.live_by_source.end() ? 0 : it->second;
          out.push_back({std::move(s), n, std::nullopt, 0});
        }
        return out;
      });
  for (SourceInfo& info : out) {
    std::string data;
    absl::StatusOr<bool> found =
        write_.store().Latest().Get(store::Cf::kMeta, SyncRunKey(info.source.id), &data);
    SyncRun run;
    // A sync report is informational: one that cannot be read is shown as absent.
    if (found.ok() && *found && DecodeSyncRun(data, &run, &info.last_success_ms).ok())
      info.last_run = std::move(run);
  }
  return out;
}

bool Admin::HasSource(std::string_view id) const { return write_.sources()->Find(id) != nullptr; }

absl::StatusOr<SourceInfo> Admin::ReportSync(std::string_view source_id, SyncRun run) {
  if (absl::Status s = ValidateSyncRun(run); !s.ok()) return s;
  WritePath::Writer w(write_);
  SourceInfo info;
  const identity::Source* src = w.sources().Find(source_id);
  if (src == nullptr) {
    return absl::FailedPreconditionError("unknown source '" + std::string(source_id.substr(0, 64)) +
                                         "': register it first (tessera admin source)");
  }
  info.source = *src;
  auto it = w.state().live_by_source.find(src->num);
  info.live_fragments = it == w.state().live_by_source.end() ? 0 : it->second;
  const std::string key = SyncRunKey(info.source.id);
  std::string old;
  absl::StatusOr<bool> found = write_.store().Latest().Get(store::Cf::kMeta, key, &old);
  if (!found.ok()) return found.status();
  if (*found) {
    SyncRun previous;
    if (!DecodeSyncRun(old, &previous, &info.last_success_ms).ok()) info.last_success_ms = 0;
  }
  if (run.state == "ok") info.last_success_ms = run.finished_ms;
  std::unique_ptr<store::Batch> batch = write_.store().NewBatch();
  batch->Put(store::Cf::kMeta, key, EncodeSyncRun(run, info.last_success_ms));
  if (absl::Status s = w.Commit(*batch); !s.ok()) return s;
  info.last_run = std::move(run);
  return info;
}

absl::StatusOr<Stats> Admin::GetStats() const {
  Stats st;
  write_.Published(
      [&](const MetaState& state, const SourceRegistry& sources, const RuleSet& rules) {
        st.live_fragments = state.live_fragments;
        st.tombstones = state.tombstones;
        st.profiles = state.profiles;
        st.linked_profiles = state.linked_profiles;
        st.conflicts = static_cast<uint64_t>(std::max<int64_t>(0, state.conflicts));
        st.rules = rules.all().size();
        st.sources = sources.size();
        st.sequence = state.sequence;
        st.profiles_by_kind = state.profiles_by_kind;
      });
  const store::Store& store = write_.store();
  st.identifiers_estimate = store.EstimateKeys(store::Cf::kIdent);
  st.edges_estimate = store.EstimateKeys(store::Cf::kEdges) / 2;
  st.disk_bytes = store.DiskBytes();
  st.keys_written = write_.keys_written();
  const store::Store::Figures figures = store.GetFigures();
  st.batch_bytes = figures.batch_bytes;
  st.flushed_bytes = figures.flushed_bytes;
  st.compacted_bytes = figures.compacted_bytes;
  st.block_cache_usage_bytes = figures.block_cache_usage_bytes;
  st.memtable_bytes = figures.memtable_bytes;
  st.table_readers_bytes = figures.table_readers_bytes;
  return st;
}

absl::StatusOr<ConflictPage> Admin::ListConflicts(size_t page_size,
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
  std::unique_ptr<store::Snapshot> snap = write_.store().GetSnapshot();
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
    std::vector<FragmentName> names = reads_.NamesOf(c.fragkeys);
    page.conflicts.push_back({std::move(c), std::move(names)});
  }
  if (absl::Status s = it->status(); !s.ok()) return s;
  return page;
}

absl::StatusOr<MergeResult> Admin::Merge(const std::vector<ProfileId>& ids,
                                         const std::string& reason, int64_t now_ms) {
  const std::set<ProfileId> distinct(ids.begin(), ids.end());
  if (distinct.size() < 2)
    return absl::InvalidArgumentError("merge needs at least two different profile ids");
  if (distinct.size() > 100) return absl::InvalidArgumentError("merge takes at most 100 profiles");
  if (reason.size() > 512) return absl::InvalidArgumentError("reason is longer than 512 bytes");
  uint64_t rule_id = 0;
  std::vector<std::string> fragkeys;
  {
    WritePath::Writer w(write_);
    std::unique_ptr<store::Snapshot> snap = write_.store().GetSnapshot();
    identity::EntityClass first_class{};
    for (ProfileId id : distinct) {
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
    RuleSet rules = w.rules();
    std::unique_ptr<store::Batch> batch = write_.store().NewBatch();
    // A split rule between fragments now merged contradicts this merge: drop it.
    for (const auto& [rid, rule] : w.rules().all()) {
      if (rule.type == Rule::Type::kSplit && Intersects(rule.fragkeys, keyset) &&
          Intersects(rule.apart, keyset)) {
        rules.Remove(rid);
        batch->Delete(store::Cf::kRules, identity::RuleKey(rid));
      }
    }
    Rule rule{w.state().next_rule++, Rule::Type::kMerge, fragkeys, {}, reason, now_ms};
    batch->Put(store::Cf::kRules, identity::RuleKey(rule.id), identity::EncodeRule(rule));
    rules.Put(rule);
    if (absl::Status s = w.Commit(*batch, &rules); !s.ok()) return s;
    if (absl::Status s = ingester_.RelinkFragments(w, fragkeys, true, now_ms); !s.ok()) return s;
    rule_id = rule.id;
  }
  // The merged profile keeps one of the ids; find it through a fragment.
  absl::StatusOr<FragmentView> f = reads_.GetFragment(reads_.NameOf(fragkeys.front()));
  if (!f.ok()) return f.status();
  absl::StatusOr<ProfileView> view = reads_.GetProfile({f->stored.entity, {}, {}});
  if (!view.ok()) return view.status();
  return MergeResult{*std::move(view), rule_id};
}

absl::StatusOr<SplitResult> Admin::Split(ProfileId id, const std::vector<FragmentName>& fragments,
                                         const std::string& reason, int64_t now_ms) {
  if (fragments.empty()) return absl::InvalidArgumentError("split needs the fragments to separate");
  if (reason.size() > 512) return absl::InvalidArgumentError("reason is longer than 512 bytes");
  WritePath::Writer w(write_);
  std::unique_ptr<store::Snapshot> snap = write_.store().GetSnapshot();
  absl::StatusOr<std::optional<identity::Profile>> p = identity::ReadProfile(*snap, id);
  if (!p.ok()) return p.status();
  if (!*p) return absl::NotFoundError("no profile " + std::to_string(id));
  std::set<std::string> members, apart;
  for (const identity::Member& m : (*p)->members) members.insert(m.fragkey);
  for (const FragmentName& n : fragments) {
    const identity::Source* src = w.sources().Find(n.source);
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

  RuleSet rules = w.rules();
  std::unique_ptr<store::Batch> batch = write_.store().NewBatch();
  // Merge rules joining the two sides lose the separated fragments.
  for (const auto& [rid, old] : w.rules().all()) {
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
  Rule rule{w.state().next_rule++,
            Rule::Type::kSplit,
            {apart.begin(), apart.end()},
            rest,
            reason,
            now_ms};
  batch->Put(store::Cf::kRules, identity::RuleKey(rule.id), identity::EncodeRule(rule));
  rules.Put(rule);
  if (absl::Status s = w.Commit(*batch, &rules); !s.ok()) return s;
  const std::vector<std::string> all(members.begin(), members.end());
  if (absl::Status s = ingester_.RelinkFragments(w, all, true, now_ms); !s.ok()) return s;

  SplitResult result{{}, rule.id};
  std::unique_ptr<store::Snapshot> after = write_.store().GetSnapshot();
  std::set<ProfileId> ids;
  for (const std::string& key : all) {
    absl::StatusOr<std::optional<identity::StoredFragment>> sf =
        identity::ReadFragment(*after, key);
    if (!sf.ok()) return sf.status();
    if (*sf && (*sf)->entity != 0) ids.insert((*sf)->entity);
  }
  result.profile_ids.assign(ids.begin(), ids.end());
  return result;
}

std::vector<RuleView> Admin::ListRules() const {
  std::vector<Rule> rules;
  for (const auto& [id, rule] : write_.rules()->all()) rules.push_back(rule);
  std::vector<RuleView> out;
  for (Rule& rule : rules) {
    std::vector<FragmentName> a = reads_.NamesOf(rule.fragkeys), b = reads_.NamesOf(rule.apart);
    out.push_back({std::move(rule), std::move(a), std::move(b)});
  }
  return out;
}

absl::Status Admin::DeleteRule(uint64_t id) {
  WritePath::Writer w(write_);
  RuleSet rules = w.rules();
  const Rule* rule = rules.Find(id);
  if (rule == nullptr) return absl::NotFoundError("no rule " + std::to_string(id));
  std::vector<std::string> keys = rule->fragkeys;
  keys.insert(keys.end(), rule->apart.begin(), rule->apart.end());
  rules.Remove(id);
  std::unique_ptr<store::Batch> batch = write_.store().NewBatch();
  batch->Delete(store::Cf::kRules, identity::RuleKey(id));
  if (absl::Status s = w.Commit(*batch, &rules); !s.ok()) return s;
  return ingester_.RelinkFragments(w, keys, true, 0);
}

absl::StatusOr<Sequence> Admin::Backup(const std::string& path) {
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
  WritePath::Writer w(write_);  // between batches, so the sequence is exact
  if (absl::Status s = write_.store().Checkpoint(path); !s.ok()) return s;
  return w.state().sequence;
}

}  // namespace tessera::directory
