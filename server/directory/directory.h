#pragma once

// The directory core: applies ingest batches (validate, link, derive the graph and
// indexes, log changes: one atomic write per batch) and answers reads and admin calls
// in plain structs. server/api maps gRPC onto it; nothing here knows gRPC.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/directory/ids.h"
#include "server/expertise/cases.h"
#include "server/expertise/options.h"
#include "server/expertise/ranker.h"
#include "server/graph/edges.h"
#include "server/identity/fragment.h"
#include "server/identity/identifier.h"
#include "server/identity/profile.h"
#include "server/identity/rules.h"
#include "server/identity/source.h"
#include "server/index/names.h"
#include "server/store/store.h"
#include "server/text/analyzer.h"
#include "server/text/lexicon.h"

namespace tessera::directory {

struct DirectoryOptions {
  store::StoreOptions store;
  identity::Limits limits;
  identity::NormaliseOptions normalise;
  // Whether normalise.default_region was chosen by the operator. A database keeps the
  // region it was created with (phone numbers are stored normalised with it): an
  // operator's region that differs is refused at open; otherwise the database's is used.
  bool region_given = false;
  // Change-log entries kept; older ones are trimmed. Default 1,000,000.
  uint64_t change_log_retain = 1'000'000;
  // Name-index entries one search reads at most before saying "truncated".
  size_t search_max_scan = 20'000;
  // Language of evidence and queries that neither say nor show theirs.
  text::AnalyzerOptions analyzer;
  // Translates FindExperts' query terms into the other language; may be null.
  std::shared_ptr<const text::Lexicon> lexicon;
  // FindExperts ranking (and which relations and statuses make load).
  expertise::ExpertiseOptions expertise;
  // Told about long work (rebuilding derived data: at the start, every ~10 s, at the
  // end); may be empty.
  std::function<void(const std::string&)> notice;
  // Asked between steps of a rebuild (at open, or Admin.Rebuild): true stops it with
  // CANCELLED; the rebuild resumes at the next open. May be empty.
  std::function<bool()> cancelled;
  // Erase also removes the fragments whose relations of these types name the person
  // (the cases they raised: their words). Default: raised_by.
  std::vector<std::string> erase_related_relations = {"raised_by"};
  // The key of the keyed hash that records erased people (suppressions). Empty: a
  // random key made at the first erasure and kept in the database.
  std::string suppression_key;
  // Bulk loads (BeginBulk): memory the collected postings may hold before they are
  // written to a sorted run on disk (default 64 MiB), and how long a bulk load may go
  // without a BeginBulk before it is finished on its own (default 30 s).
  uint64_t bulk_memory_bytes = 64ull << 20;
  absl::Duration bulk_idle = absl::Seconds(30);
};

// On an Ingest error caused by one fragment, the status carries this payload: the
// fragment's index in the batch, in decimal, so callers can drop it and resend.
inline constexpr char kFragmentIndexPayload[] = "type.tessera.dev/fragment-index";

// On an IngestWith refused because a fragment names an erased person, the status
// (FAILED_PRECONDITION) carries this payload, the fragment's index.
inline constexpr char kSuppressedPayload[] = "type.tessera.dev/suppressed";

// A row another module keeps beside the fragments (server/scim keeps the resources
// identity providers send), written in the same atomic batch as an ingest.
struct SideWrite {
  std::string key;
  std::optional<std::string> value;  // none: delete the key
};

// kSuppressed: the fragment names an erased person (Erase); it was not stored.
enum class Outcome : uint8_t { kAdded = 1, kUpdated, kUnchanged, kStale, kDeleted, kSuppressed };

struct IngestCounts {
  uint64_t added = 0, updated = 0, unchanged = 0, stale = 0, deleted = 0, suppressed = 0;
};

struct BatchResult {
  std::vector<Outcome> outcomes;       // one per fragment, in order
  std::vector<ProfileId> profile_ids;  // 0 for tombstones and suppressed fragments
  IngestCounts counts;
  Sequence sequence = 0;  // change-log sequence after the batch
};

// Whether a caller may see a profile (identity::ProfileFilter): empty sees every one.
using KindFilter = identity::ProfileFilter;

// A profile named by id or by an identifier as a caller wrote it.
struct ProfileRef {
  ProfileId id = 0;
  std::string id_type;  // set with id_value when naming by identifier
  std::string id_value;
  // When set, a profile it rejects reads exactly as an absent one (same NOT_FOUND),
  // and Neighbors leaves out edges to such profiles.
  KindFilter visible;
  // When set and naming by identifier: whether the caller may find a profile of these
  // kinds by an identifier of this type (not when the type is a field withheld from
  // it); if not, the profile reads as absent, so a hidden value cannot be probed.
  std::function<bool(std::string_view id_type, const std::vector<std::string>& kinds)> may_look_up;
};

struct FragmentName {
  std::string source;
  std::string external_id;
};

// See Directory::SetSideEraser.
using SideEraser = std::function<absl::StatusOr<std::vector<SideWrite>>(
    const store::Reader& latest, const std::vector<FragmentName>& erased)>;

struct ConflictView {
  identity::Conflict conflict;
  std::vector<FragmentName> fragments;  // of conflict.fragkeys
};

struct ProfileView {
  identity::Profile profile;
  std::vector<ConflictView> conflicts;
};

struct NeighborView {
  graph::Direction dir = graph::Direction::kOut;
  std::string type;
  ProfileId other = 0;  // 0: no profile carries the target identifier yet
  identity::IdType target_type = identity::IdType::kEmail;
  std::string target_value;
  std::optional<index::PersonSummary> summary;
  std::vector<FragmentName> stated_by;
};

struct NeighborsQuery {
  ProfileRef start;
  std::string type;
  std::optional<graph::Direction> direction;
  size_t limit = 0;  // 0: 100
  std::string page_token;
};

// A customer's history: what the social team lacks when a message arrives.
struct HistoryQuery {
  // The customer. An identifier with an empty type is a bare value, guessed as
  // FindExperts does (an e-mail, a phone, an @handle on `channel` or any platform).
  ProfileRef customer;
  std::string channel;
  size_t limit = 0;  // items, 1..200; 0: 50
};

// One case or conversation the customer had.
struct HistoryItem {
  ProfileId profile = 0;  // the case's profile; the customer's own for a conversation
  FragmentName record;    // the record it comes from
  std::string kind;       // "case", "conversation", ...
  int64_t time_ms = 0;    // when (its evidence's time, else the record's)
  std::string channel, status, title;
  std::string excerpt;  // the start of its text, at most ~300 bytes
  std::vector<index::PersonSummary> handled_by;
};

struct HistoryView {
  identity::Profile customer;
  std::vector<index::PersonSummary> account_managers;
  // The identifiers the customer reaches the organisation by: e-mail, phone and the
  // social handles, "type:value".
  std::vector<std::string> channels;
  std::vector<HistoryItem> items;  // newest first
  bool truncated = false;          // more than `limit` items
};

struct NeighborsView {
  ProfileId id = 0;
  std::vector<std::string> kinds;  // of the start profile
  std::vector<NeighborView> edges;
  std::string next_page_token;
};

struct FragmentView {
  identity::StoredFragment stored;
  bool deleted = false;
};

// One connector run over a source, as the connector reported it (admin.proto SyncRun).
struct SyncRun {
  std::string mode, state;
  int64_t started_ms = 0, finished_ms = 0;
  uint64_t read = 0, added = 0, updated = 0, unchanged = 0, deleted = 0, rejected = 0,
           suppressed = 0;
  std::vector<std::string> errors;
  std::string failure;
};

struct SourceInfo {
  identity::Source source;
  uint64_t live_fragments = 0;
  std::optional<SyncRun> last_run;
  int64_t last_success_ms = 0;
};

struct Stats {
  uint64_t live_fragments = 0, tombstones = 0, profiles = 0, linked_profiles = 0;
  uint64_t conflicts = 0, rules = 0, sources = 0;
  Sequence sequence = 0;
  std::map<std::string, uint64_t> profiles_by_kind;
  uint64_t identifiers_estimate = 0, edges_estimate = 0, disk_bytes = 0;
  uint64_t keys_written = 0;  // by this process, since it opened the database
  // By this process, since it opened the database: bytes of the batches it wrote, and
  // of the table files RocksDB's flushes and compactions wrote.
  uint64_t batch_bytes = 0, flushed_bytes = 0, compacted_bytes = 0;
  // Memory now: the block cache's usage (memtables are charged to it), the memtables
  // alone, and RocksDB's table readers outside the cache.
  uint64_t block_cache_usage_bytes = 0, memtable_bytes = 0, table_readers_bytes = 0;
};

struct ConflictPage {
  std::vector<ConflictView> conflicts;
  std::string next_page_token;
};

struct RuleView {
  identity::Rule rule;
  std::vector<FragmentName> fragments, apart;
};

struct MergeResult {
  ProfileView profile;
  uint64_t rule_id = 0;
};

struct SplitResult {
  std::vector<ProfileId> profile_ids;
  uint64_t rule_id = 0;
};

// One change-log entry as the change feed (Directory.Watch) serves it.
struct ChangeEvent {
  Sequence sequence = 0;
  ProfileId profile = 0;
  bool deleted = false;
  int64_t time_ms = 0;
  // With ChangesQuery::with_profiles, for an upsert: the profile as it is now (it may
  // have changed again since, or be gone: then absent).
  std::optional<identity::Profile> current;
};

struct ChangesQuery {
  Sequence after = 0;  // events with a greater sequence
  size_t limit = 0;    // events per page; 0: 256, at most 1,000
  bool with_profiles = false;
  // When set, changes of profiles it rejects are left out (the page still advances).
  KindFilter visible;
};

struct ChangesPage {
  std::vector<ChangeEvent> events;
  // The last sequence this page examined: ask for the changes after it next. Equals
  // `after` when nothing newer exists yet.
  Sequence position = 0;
};

// One audit-log record. It holds no personal data: profiles by id, erased people by
// keyed hash, and never a request's identifiers or text.
struct AuditEntry {
  Sequence sequence = 0;  // assigned when appended
  int64_t time_ms = 0;
  std::string principal;            // empty: authentication is off
  std::string peer;                 // the caller's address as gRPC gives it ("ipv4:10.0.0.7:51234")
  std::string method;               // "Directory.GetProfile"
  std::string outcome;              // status code name: "OK", "NOT_FOUND", "PERMISSION_DENIED", ...
  std::string reason;               // what the caller said the call was for
  std::vector<ProfileId> profiles;  // profiles read (customers), or the profile erased
  std::string detail;
};

struct AuditPage {
  std::vector<AuditEntry> entries;
  Sequence next_after = 0;  // ask for the entries after this next; 0: that was the end
};

struct EraseResult {
  ProfileId profile = 0;
  uint64_t fragments = 0;  // the person's own fragments removed
  uint64_t related = 0;    // fragments naming them (erase_related_relations) removed
  uint64_t side_rows = 0;  // side rows (SCIM resources, their indexes) deleted or rewritten
  std::vector<std::string> suppressed;  // hex keyed hashes now refused at ingest
  Sequence audit_sequence = 0;
};

// Who handled a case (Expertise.RecordOutcome), identifiers as a caller wrote them.
struct CaseOutcome {
  std::string case_type, case_value;
  std::string person_type, person_value;
  // "open" (a hand-over: they hold it now), "closed" (they resolved it), or
  // "withdrawn" (an open hand-over to them taken back).
  std::string status;
  int64_t time_ms = 0;
  // For a case the directory does not have yet (a fresh tweet): the customer's message
  // and who they are; the case is then created in source kHandoverSource.
  std::string text;
  std::string customer_type, customer_value;
  std::string channel;
};

struct OutcomeResult {
  ProfileId case_profile = 0;
  ProfileId person_profile = 0;
  bool created = false;  // the case was created from the message
  std::string case_title;
  index::PersonSummary person;                         // who handles it now
  std::vector<index::PersonSummary> previous_holders;  // who held it before and no longer does
};

// The source cases created by a hand-over live in (registered on first use).
inline constexpr char kHandoverSource[] = "tessera-handovers";

// The source RecordOutcome writes into (registered on first use).
inline constexpr const char* kOutcomeSource = expertise::kOutcomeSource;

// Replicated mode: a position in the replicated log (its stream sequence).
struct LogPosition {
  uint64_t applied = 0;
  bool partial = false;
};

// What a replica knows of its log (Directory::Replication).
struct ReplicaStatus {
  bool replicated = false;
  uint64_t applied = 0;   // the last log position applied
  uint64_t log_last = 0;  // the log's last position, as last heard (0: not yet)
  uint64_t lag = 0;       // log_last - applied, when known
  bool log_reachable = false;
  // lag is over the replica's bound: reads that name no min_position are refused.
  bool lagging = false;
  // Set when the replica stopped applying (a gap in the log, a command it could not
  // apply): it serves no reads until restarted.
  std::string stopped;
  std::string node;  // this replica's name
};

struct RebuildResult {
  uint64_t fragments = 0, profiles = 0;
  std::string digest_before, digest_after;
};

// The directory's entry points. Each says what it returns on success, on not-found
// and on error, and its limits. Times are milliseconds since the Unix epoch (UTC);
// sizes are bytes. Beyond the codes named, any call may return what the store says
// of a failed read or write (DATA_LOSS for a record that does not decode, the
// store's code for an I/O error).
//
// Thread-safety: every method may be called from any thread at once. Reads run
// concurrently, each on one consistent snapshot (or, for point reads, the latest
// committed state). Writes are serialised by one write lock, in arrival order: ingest
// batches are applied one after another and written in that order (a batch is applied
// while the one before it is written); admin writes (sources, sync runs, rules, merge,
// split, erase, backup, rebuild) wait until every batch in flight is written first. A
// write is acknowledged only once durable (through the WAL); its effects are then
// visible to every later read.
class Directory {
 public:
  // Opens (or creates) the database at `path` and loads sources, rules and counters;
  // finishes an interrupted Rebuild and rebuilds derived data written with another
  // index layout (options.notice hears about it). FAILED_PRECONDITION when the
  // database's phone region differs from an operator's (options.region_given) or its
  // suppression key is missing; DATA_LOSS for a corrupt record; the store's error when
  // the database cannot be opened (e.g. another process holds it).
  static absl::StatusOr<std::unique_ptr<Directory>> Open(const std::string& path,
                                                         const DirectoryOptions& options);
  virtual ~Directory() = default;

  // --- Ingest ---

  // Validates the whole batch (no lock; concurrent callers validate in parallel), then
  // applies it as one atomic write. Success: one outcome and profile id per fragment,
  // the counts, and the change-log sequence after the batch; a fragment naming an
  // erased person is kSuppressed and not stored. Errors, with nothing written:
  // INVALID_ARGUMENT for more than limits.max_batch_fragments fragments, or an invalid
  // fragment ("fragment N: field: ..."); FAILED_PRECONDITION for an unregistered
  // source; UNAVAILABLE when the batch before it could not be written (send it
  // again). An error caused by fragment N carries kFragmentIndexPayload. Neither an
  // absent profile nor anything else is NOT_FOUND here. `batch_time_ms` stands in for
  // missing updated_at times, so the same batches give the same database.
  virtual absl::StatusOr<BatchResult> Ingest(std::vector<identity::Fragment> fragments,
                                             int64_t batch_time_ms) = 0;
  // Ingest plus `side` rows of store::Cf::kScim in the same atomic write. A fragment
  // naming an erased person then fails the whole batch (FAILED_PRECONDITION with
  // kSuppressedPayload and kFragmentIndexPayload) instead of being counted
  // suppressed: the side rows would describe something that does not exist.
  virtual absl::StatusOr<BatchResult> IngestWith(std::vector<identity::Fragment> fragments,
                                                 int64_t batch_time_ms,
                                                 std::vector<SideWrite> side) = 0;
  // The latest committed side rows (store::Cf::kScim only). The reader lives as long
  // as the Directory; each read sees the latest committed write.
  virtual const store::Reader& SideReader() const = 0;
  // Who keeps side rows about fragments forgets an erased person's with them: Erase
  // calls `eraser` under the directory's write lock, with the latest committed rows
  // and the fragments it removes, and commits the side writes it returns in the
  // erasure's atomic batch (an error fails the erasure). `eraser` must not call the
  // Directory. Null (the default) removes it. Waits for an erasure under way.
  virtual void SetSideEraser(SideEraser eraser) = 0;
  // RocksDB's figures, for the metrics page. Never fails.
  virtual store::Store::Figures StoreFigures() const = 0;
  // The phone region identifiers are normalised with (the database's own). Never fails.
  virtual std::string DefaultRegion() const = 0;

  // --- Reads ---

  // A profile by id or by identifier (ref.id_type/id_value, normalised as at ingest;
  // whatsapp and phone numbers are one), with its conflicts. NOT_FOUND when absent or
  // when ref.visible or ref.may_look_up rejects it (worded alike); FAILED_PRECONDITION
  // when the identifier names several profiles (conflicting or split apart: the
  // message lists them); INVALID_ARGUMENT for neither id nor identifier, an unknown
  // identifier type or a value that does not normalise. Reads the latest state.
  virtual absl::StatusOr<ProfileView> GetProfile(const ProfileRef& ref) const = 0;
  // People (employees, customers, contacts) each word of whose query.prefix starts one
  // of their tokens (names from every source, e-mails, handles, phone numbers, ids;
  // accents and case folded), by ascending id after query.after_id. An empty page is
  // not an error. INVALID_ARGUMENT for a prefix empty, over limits.max_prefix_bytes or
  // not UTF-8, a page_size over limits.max_page_size (0: 50), or a kind that is not a
  // person kind. Stops after options.search_max_scan index entries (page.truncated).
  virtual absl::StatusOr<index::NamePage> SearchPeople(index::NameQuery query) const = 0;
  // The typed edges of query.start (resolved as GetProfile, with its errors), of
  // query.type if given, one way or both, a page of query.limit (0: 100, at most
  // limits.max_neighbors; INVALID_ARGUMENT above, or for a type over 48 bytes or a
  // page_token not from this call). The last page of outgoing edges adds relations to
  // identifiers no profile carries yet (other 0), unless start.visible is set; edges to
  // profiles start.visible rejects are left out.
  virtual absl::StatusOr<NeighborsView> Neighbors(const NeighborsQuery& query) const = 0;
  // The customer's history (HistoryView), newest first, at most query.limit items
  // (0: 50; INVALID_ARGUMENT over 200, or for a bare value that is neither an e-mail,
  // a phone number, an @handle nor a profile id). NOT_FOUND and the other errors as
  // GetProfile. Cases and the people in them that `query.customer.visible` rejects
  // are left out.
  virtual absl::StatusOr<HistoryView> History(const HistoryQuery& query) const = 0;
  // One stored (normalised) fragment; a deleted one is returned with deleted set.
  // NOT_FOUND when the source is not registered or holds no such fragment.
  virtual absl::StatusOr<FragmentView> GetFragment(const FragmentName& name) const = 0;
  // Whether an edge of one of `relations` joins profiles `a` and `b` (either way).
  // Absent profiles are simply not linked: false, not NOT_FOUND.
  virtual absl::StatusOr<bool> Linked(ProfileId a, ProfileId b,
                                      const std::vector<std::string>& relations) const = 0;

  // --- Change feed ---

  // The change log after query.after: at most query.limit events (0: 256; at most
  // 1,000, else INVALID_ARGUMENT), examining at most 16 times that many entries, so
  // a filtered page may be short or empty: resume from page.position. OUT_OF_RANGE
  // when entries after `after` were already trimmed (the caller must re-read what it
  // mirrors; options.change_log_retain entries are kept) or when `after` is beyond the
  // log's end (e.g. the database was restored from an older backup).
  virtual absl::StatusOr<ChangesPage> ReadChanges(const ChangesQuery& query) const = 0;
  // Blocks until the change-log sequence passes `after` or `timeout` ends; returns the
  // sequence then (not past `after` on a timeout). Never fails.
  virtual Sequence WaitForChanges(Sequence after, absl::Duration timeout) const = 0;

  // --- Expertise ---

  // Expertise location (server/expertise/ranker.h) on a consistent snapshot.
  // INVALID_ARGUMENT for a message too long or empty after analysis, a limit out of
  // range, an unsupported language or a customer that is no identifier; a customer
  // the directory does not have is not an error (the ranking says so).
  virtual absl::StatusOr<expertise::Ranking> FindExperts(const expertise::Query& query) const = 0;
  // Records who handles a case as a fragment of source `tessera-outcomes`, linked to
  // the case by its identifier (expertise/cases.h: status open hands the case over, its
  // load moving to them; closed makes it their evidence), and answers who holds it
  // now and who no longer does. NOT_FOUND ("handled_by: ..." or "case: ...") when no
  // profile carries the person's identifier, or the case's and no message is given to
  // create it; INVALID_ARGUMENT for another status or a text over
  // limits.max_evidence_text_bytes. Status "withdrawn" takes back an open hand-over to
  // that person (the console's undo): the outcome record goes (the load leaves them),
  // and a case that hand-over created from a message goes too; FAILED_PRECONDITION
  // unless the case is open with them. Each step is an ingest (its errors apply).
  virtual absl::StatusOr<OutcomeResult> RecordOutcome(const CaseOutcome& outcome) = 0;

  // --- Admin ---

  // Registers or updates a source; a priority change re-derives its profiles (under
  // the write lock: ingest waits). With `priority_if_new`, `source.priority` applies
  // only to a new source: a registered one keeps its priority (the answer carries
  // it). INVALID_ARGUMENT for an id, kind, priority or description out of bounds.
  virtual absl::StatusOr<SourceInfo> PutSource(identity::Source source, bool priority_if_new) = 0;
  // Every source with its live fragments and last sync run (one that cannot be read
  // is shown as absent). Never fails.
  virtual std::vector<SourceInfo> ListSources() const = 0;
  // Whether a source is registered: cheap, for per-request checks (ListSources also
  // reads every source's last sync report).
  virtual bool HasSource(std::string_view id) const = 0;
  // Stores `run` as the last run of `source_id`. INVALID_ARGUMENT for a run whose mode,
  // state, errors (at most 20 of at most 512 bytes), failure (at most 1,024 bytes) or
  // times are out of bounds, or whose counts do not add up to `read` unless it failed;
  // FAILED_PRECONDITION for an unregistered source.
  virtual absl::StatusOr<SourceInfo> ReportSync(std::string_view source_id, SyncRun run) = 0;
  // Counts from the published state; identifiers and edges are RocksDB's estimates.
  virtual absl::StatusOr<Stats> GetStats() const = 0;
  // Conflicts, a page of `page_size` (0: 100; INVALID_ARGUMENT over
  // limits.max_page_size, or for a page_token not from this call).
  virtual absl::StatusOr<ConflictPage> ListConflicts(size_t page_size,
                                                     const std::string& page_token) const = 0;

  // Merges profiles `ids` by a rule naming their fragments (so it survives re-syncs),
  // dropping split rules it contradicts; returns the merged profile (it keeps the id
  // most of its fragments had) and the rule. INVALID_ARGUMENT for fewer than 2 or more
  // than 100 distinct ids, or a reason over 512 bytes; NOT_FOUND ("no profile N");
  // FAILED_PRECONDITION for profiles of different classes (a person and a team).
  virtual absl::StatusOr<MergeResult> Merge(const std::vector<ProfileId>& ids,
                                            const std::string& reason, int64_t now_ms) = 0;
  // Separates `fragments` from profile `id` by a rule; merge rules joining the two
  // sides lose them. Returns the profiles the fragments now form and the rule.
  // INVALID_ARGUMENT for no fragments, a reason over 512 bytes, a fragment not in the
  // profile or nothing left in it; NOT_FOUND ("no profile N").
  virtual absl::StatusOr<SplitResult> Split(ProfileId id,
                                            const std::vector<FragmentName>& fragments,
                                            const std::string& reason, int64_t now_ms) = 0;
  // Every rule with the fragments it names. Never fails.
  virtual std::vector<RuleView> ListRules() const = 0;
  // Deletes rule `id` and relinks the fragments it named (each side gets its own id
  // back). NOT_FOUND ("no rule N").
  [[nodiscard]] virtual absl::Status DeleteRule(uint64_t id) = 0;

  // --- Audit ---

  // Appends to the audit log (its own column family; only TrimAudit deletes from it),
  // assigning the next sequence. Concurrent appends share one write; returns once
  // this entry is durable.
  [[nodiscard]] virtual absl::Status AppendAudit(AuditEntry entry) = 0;
  // Audit entries after sequence `after`, oldest first; `limit` 0: 500, at most 1,000
  // (else INVALID_ARGUMENT). An empty page is not an error.
  virtual absl::StatusOr<AuditPage> ReadAudit(Sequence after, size_t limit) const = 0;
  // Retention: deletes the oldest audit entries, those written before `before_ms`.
  // Returns how many. Sequences continue where they were.
  virtual absl::StatusOr<uint64_t> TrimAudit(int64_t before_ms) = 0;

  // Right to erasure: removes the person `who` names (by identifier or id) - their
  // fragments, profile, index entries and edges, and the fragments naming them by an
  // erase_related_relations relation with those fragments' evidence text - and records
  // a suppression (keyed hash) of each of their identifiers and fragments, so that a
  // later sync from any source cannot bring them back (Outcome::kSuppressed). One
  // atomic write, `audit` included (its profiles and detail are filled in here).
  // NOT_FOUND when absent (or invisible to who.visible); FAILED_PRECONDITION when the
  // identifier names several or the profile is not a person; INVALID_ARGUMENT as
  // GetProfile. An error prefixed "erased, but" comes after the commit: the erasure
  // stands, and `admin rebuild` repairs what the message names.
  virtual absl::StatusOr<EraseResult> Erase(const ProfileRef& who, AuditEntry audit) = 0;

  // --- Maintenance ---

  // A RocksDB checkpoint at `path`, between two writes; returns the change-log
  // sequence it holds. INVALID_ARGUMENT unless `path` is absolute (at most 4,096
  // bytes); ALREADY_EXISTS when it exists; FAILED_PRECONDITION when its folder does not.
  virtual absl::StatusOr<Sequence> Backup(const std::string& path) = 0;
  // Re-derives every derived column family from fragments and rules, under the write
  // lock (every write waits), and says whether the digest changed. CANCELLED when
  // options.cancelled says so (the rebuild resumes at the next Open).
  virtual absl::StatusOr<RebuildResult> Rebuild() = 0;
  // Compacts the database (reads get faster after a large load; writes continue).
  [[nodiscard]] virtual absl::Status Compact() = 0;

  // --- Bulk loads ---

  // Starts a bulk load, or keeps the one running open: until FinishBulk, the postings
  // every write derives (the expertise index, most of a text-bearing record's keys)
  // are collected and sorted apart, then ingested as SST files at the end
  // (store::Store::BeginBulk). Everything else is written and visible as usual, but
  // FindExperts does not see the evidence written meanwhile until the load finishes.
  // A bulk load finishes when FinishBulk is called, after options.bulk_idle without a
  // BeginBulk, before a Backup or an Erase, and when the Directory closes; a crash
  // before then makes the next Open rebuild the derived data. Rebuild drops a running
  // one (it derives everything again). The result is the same database as without a
  // bulk load. Errors: the store's, when the collection cannot start.
  [[nodiscard]] virtual absl::Status BeginBulk() = 0;
  // Finishes the bulk load: ingests what it collected and returns the figures (all zero
  // when none was running). When that fails the derived data is rebuilt before the
  // error returns, so nothing stays missing.
  virtual absl::StatusOr<store::Store::BulkFigures> FinishBulk() = 0;
  virtual bool BulkActive() const = 0;
  // FNV-1a digest of the derived column families (what Rebuild compares), 16 hex digits.
  virtual absl::StatusOr<std::string> DerivedDigest() const = 0;

  // --- Replication (server/replica) ---

  // The last position of the replicated log this database applied (0: none, always in
  // plain mode) and whether that command is only partly applied. Never fails.
  virtual LogPosition Position() const = 0;
  // Whether the database has applied log `position` within `timeout`: OK, or
  // FAILED_PRECONDITION naming the position reached (a read's min_position).
  [[nodiscard]] virtual absl::Status AwaitPosition(uint64_t position,
                                                   absl::Duration timeout) const = 0;
  // The replica's applier only: every write the calling thread makes from now on
  // records log `position` in the state it commits, in the same atomic batch, with
  // `partial` when the command makes several writes; 0 stops. CommitPosition then
  // records the position as complete (one small write unless a write already did).
  virtual void StampWrites(uint64_t position, bool partial) = 0;
  // The applier of audit records another replica published: appends `entries` (their
  // sequences assigned here, in order) in one atomic write with the stamped position.
  [[nodiscard]] virtual absl::Status ApplyAudit(std::vector<AuditEntry> entries) = 0;
  [[nodiscard]] virtual absl::Status CommitPosition(uint64_t position) = 0;
  // The replication state a health or status call shows; empty in plain mode.
  virtual ReplicaStatus Replication() const = 0;
};

}  // namespace tessera::directory
