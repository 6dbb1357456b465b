#pragma once

// The SCIM 2.0 service provider's operations (RFC 7644 §3), in plain structs: the HTTP
// layer (server/http) parses requests and sends `Reply`s; nothing here knows HTTP.
//
// Resources live in store::Cf::kScim exactly as the identity provider sent them
// (resource.h), with their indexes; each write derives the Tessera fragments it
// changes (the user or group, and members whose groups changed) and writes them with
// the resource rows in one atomic batch (Directory::IngestWith). Writes to one source
// are serialised by a lock per source, so uniqueness checks and membership updates
// are check-and-set; reads go to the latest committed rows without a lock.
// service.cc's header comment documents the key layout and the mapping to fragments.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/directory/directory.h"
#include "server/scim/resource.h"
#include "server/scim/schema.h"

namespace tessera::scim {

struct Record;  // a stored resource (service.cc)

struct ScimOptions {
  Limits limits;
  // Largest page (filter.maxResults); a larger `count` is cut to it.
  size_t max_results = 200;
  // The identifier userName becomes on the person's profile: "upn" (Entra's default
  // userName is the userPrincipalName), "email", or "none".
  std::string user_name_identifier = "upn";
  // The kind of users' fragments: employee (a workforce directory), or contact or
  // customer for an identity provider of customers.
  std::string user_kind = "employee";
  // An unfiltered listing counts as a walk in progress until this long after its last
  // page; meanwhile deleted resources keep their places, so a walk with startIndex
  // under concurrent deletions skips nobody (service.cc, "Paging").
  int64_t walk_idle_ms = 60 * 1000;
  // Region for phone numbers without a country code (the directory's).
  std::string default_region = "US";
};

// An answer: the HTTP status, the body (JSON; empty for 204), and headers.
struct Reply {
  int status = 200;
  std::string body;
  std::string etag;      // W/"<version>" when the body is one resource
  std::string location;  // of a created resource
  absl::Status outcome;  // for the gate's log and audit: OK or the error
};

struct ListQuery {
  std::optional<std::string> filter;
  int64_t start_index = 1;
  std::optional<int64_t> count;
  std::string attributes;           // comma-separated, as sent
  std::string excluded_attributes;  // comma-separated, as sent
};

struct RederiveResult {
  uint64_t resources = 0;  // SCIM resources read
  uint64_t identical = 0;  // whose stored fragment equals the one derived again
  uint64_t rewritten = 0;  // whose fragment differed and was written again
};

// Thread-safe; `dir` outlives it.
class Service {
 public:
  Service(directory::Directory& dir, ScimOptions options, std::function<int64_t()> now_ms);

  const ScimOptions& options() const { return options_; }

  // `base` is the SCIM base URL as the client reached it, for `location`s.
  Reply Create(std::string_view source, Resource r, std::string_view body, std::string_view base);
  Reply Get(std::string_view source, Resource r, std::string_view id, const ListQuery& projection,
            std::string_view base) const;
  Reply Replace(std::string_view source, Resource r, std::string_view id, std::string_view body,
                std::string_view if_match, std::string_view base);
  Reply Patch(std::string_view source, Resource r, std::string_view id, std::string_view body,
              std::string_view if_match, std::string_view base);
  Reply Delete(std::string_view source, Resource r, std::string_view id, std::string_view if_match);
  Reply List(std::string_view source, Resource r, const ListQuery& query,
             std::string_view base) const;

  // The rows that forget erased users: register it with Directory::SetSideEraser (it
  // reads dir.SideReader(), the latest rows the eraser is given). Their resources, indexes,
  // places and memberships go; their groups' versions move. It runs under the
  // directory's write lock, so it takes no source lock: a SCIM write prepared before
  // the erasure and committed after it names the erased person and is refused.
  absl::StatusOr<std::vector<directory::SideWrite>> Forget(
      const std::vector<directory::FragmentName>& erased);

  // Derives every SCIM-made fragment again from the stored resources and compares it
  // with the stored fragment; a fragment that differs is written again.
  absl::StatusOr<RederiveResult> Rederive();

  // A SCIM Error reply for `s` (status from its code, scimType from its payload).
  static Reply ErrorReply(const absl::Status& s);

 private:
  class Write;
  absl::Mutex& SourceLock(std::string_view source) const;
  [[nodiscard]] absl::Status CheckSource(std::string_view source, std::string* kind) const;
  // The fragment of a resource; a user's carries `groups` as member_of relations.
  absl::StatusOr<identity::Fragment> DeriveFragment(const std::string& source,
                                                    const std::string& kind, Resource r,
                                                    std::string_view id, const Record& rec,
                                                    const std::vector<std::string>& groups) const;
  // The end of PUT and PATCH: `after` replaces the stored resource, `members` apply.
  Reply Update(Write& w, Resource r, std::string_view id, Record rec, Json after,
               const MemberOps& members, std::string_view base, bool group_no_content);
  Json Render(std::string_view source, Resource r, std::string_view id, const Record& rec,
              std::string_view base, bool with_members) const;

  // Whether an unfiltered listing of (source, type) ran in the last walk_idle_ms.
  bool WalkActive(const std::string& key, int64_t now) const;
  void NoteWalk(const std::string& key, int64_t now) const;

  directory::Directory& dir_;
  const ScimOptions options_;
  mutable absl::Mutex walks_mu_;
  mutable std::map<std::string, int64_t, std::less<>> last_walk_ms_ ABSL_GUARDED_BY(walks_mu_);
  std::function<int64_t()> now_ms_;
  mutable absl::Mutex locks_mu_;
  mutable std::map<std::string, std::unique_ptr<absl::Mutex>, std::less<>> locks_
      ABSL_GUARDED_BY(locks_mu_);
};

}  // namespace tessera::scim
