#pragma once

// Links fragments into profiles. Given changed fragments, it gathers the whole
// connected component they touch (profiles reachable through their identifiers,
// shared identifiers and rules), re-clusters it (cluster.h), keeps profile ids
// stable, and writes fragments, profiles, identifier owners and conflicts into the
// batch. It returns what changed so the graph and indexes can follow in the same batch.
//
// Because a component is always re-clustered whole, the result depends only on the
// fragments and rules, never on arrival order: Rebuild gives the same profiles.
// Profile ids: each cluster keeps the id most of its fragments had (then the smallest
// one); a cluster with no previous id gets the next one from `IdCounters`.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/identity/fragment.h"
#include "server/identity/profile.h"

namespace tessera::store {
class Batch;
}

namespace tessera::identity {

class RuleSet;
class SourceRegistry;

// A fragment to (re)store.
struct Change {
  std::string fragkey;
  std::optional<StoredFragment> before;  // what is stored now, live or not
  StoredFragment after;                  // what to store; a tombstone removes it
  bool write = true;                     // false in Rebuild: `after` is stored already
};

struct ProfileDelta {
  uint64_t id = 0;
  std::optional<Profile> before;  // nullopt: created
  std::optional<Profile> after;   // nullopt: deleted
};

struct OwnerDelta {
  std::string identkey;
  std::vector<uint64_t> before, after;
};

// A fragment whose content or profile changed; nullopt where it is not live.
struct FragmentDelta {
  std::string fragkey;
  std::optional<StoredFragment> before;
  std::optional<StoredFragment> after;
};

struct LinkResult {
  std::vector<ProfileDelta> profiles;
  std::vector<OwnerDelta> owners;
  std::vector<FragmentDelta> fragments;
  int64_t conflicts_delta = 0;
  // The profile each changed fragment belongs to now (0 when not live).
  std::map<std::string, uint64_t> profile_of;
};

struct IdCounters {
  uint64_t next_profile = 1;
};

// Thread-compatible; the registries outlive it.
class Linker {
 public:
  Linker(const SourceRegistry& sources, const RuleSet& rules, const Limits& limits)
      : sources_(sources), rules_(rules), limits_(limits) {}

  // Applies `changes` to `batch` (read through it, so earlier changes of the same
  // batch are seen). On error nothing useful is left in `batch`: drop it.
  absl::StatusOr<LinkResult> Apply(store::Batch& batch, std::span<const Change> changes,
                                   IdCounters& ids) const;

 private:
  const SourceRegistry& sources_;
  const RuleSet& rules_;
  const Limits& limits_;
};

}  // namespace tessera::identity
