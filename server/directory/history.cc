// Directory: ReadPath::History (reads.h), a customer's history, for the social team
// that lacks it.

#include <algorithm>
#include <set>

#include "server/directory/reads.h"
#include "server/expertise/people.h"
#include "server/graph/edges.h"
#include "server/identity/mentions.h"
#include "server/identity/records.h"
#include "server/text/text.h"

namespace tessera::directory {
namespace {

constexpr size_t kDefaultItems = 50, kMaxItems = 200, kExcerptBytes = 300;

bool Has(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

const std::string* AttrOf(const identity::Fragment& f, std::string_view name) {
  for (const identity::Attribute& a : f.attributes) {
    if (a.name == name && !a.value.empty()) return &a.value;
  }
  return nullptr;
}

// Reads what one history needs, on one snapshot.
class HistoryReader {
 public:
  HistoryReader(const store::Reader& reader, const expertise::ExpertiseOptions& o,
                const KindFilter& visible)
      : reader_(reader), o_(o), visible_(visible) {}

  // The visible people profile `from` names by `relations`; only from fragment
  // `fragkey` when it is not empty.
  absl::StatusOr<std::vector<index::PersonSummary>> People(
      ProfileId from, const std::vector<std::string>& relations, std::string_view fragkey,
      bool incoming = false) {
    std::vector<index::PersonSummary> out;
    std::set<ProfileId> seen;
    for (const std::string& rel : relations) {
      absl::StatusOr<std::vector<graph::Target>> edges =
          incoming ? graph::InEdges(reader_, from, rel) : graph::OutEdges(reader_, from, rel);
      if (!edges.ok()) return edges.status();
      for (const graph::Target& t : *edges) {
        if ((!fragkey.empty() && t.fragkey != fragkey) || !seen.insert(t.to).second) continue;
        absl::StatusOr<std::optional<identity::Profile>> p = Visible(t.to);
        if (!p.ok()) return p.status();
        if (*p && Has((*p)->kinds, "employee")) out.push_back(expertise::SummaryOf(**p));
      }
    }
    return out;
  }

  // Profile `id` when it exists and the caller may see it.
  absl::StatusOr<std::optional<identity::Profile>> Visible(ProfileId id) {
    absl::StatusOr<std::optional<identity::Profile>> p = identity::ReadProfile(reader_, id);
    if (!p.ok() || !*p) return p;
    if (visible_ && !visible_(id, (*p)->kinds)) return std::optional<identity::Profile>();
    return p;
  }

  // One item per evidence text of `member`'s fragment (a case's description, a
  // conversation), or one for the record itself when it has none.
  absl::Status AddItems(ProfileId profile, const identity::Member& member,
                        const identity::Profile& owner, bool is_case,
                        std::vector<HistoryItem>& items) {
    absl::StatusOr<std::optional<identity::StoredFragment>> sf =
        identity::ReadFragment(reader_, member.fragkey);
    if (!sf.ok()) return sf.status();
    if (!*sf || (*sf)->fragment.tombstone) return absl::OkStatus();
    const identity::Fragment& f = (*sf)->fragment;
    if (f.evidence.empty() && !is_case) return absl::OkStatus();  // a plain customer record
    const std::string* status = owner.Attr("status");
    const std::string* channel = AttrOf(f, "channel");
    if (channel == nullptr) channel = owner.Attr("channel");
    const std::string* title = owner.Attr("title");
    auto base = [&] {
      HistoryItem item;
      item.profile = profile;
      item.record = {member.source, member.external_id};
      item.time_ms = member.time_ms;
      item.channel = channel != nullptr ? *channel : "";
      item.status = is_case && status != nullptr ? *status : "";
      item.title = is_case && title != nullptr ? *title : "";
      return item;
    };
    // Who handled it: for a case, as its outcome says when it has one; for a
    // conversation, whom this record names.
    std::string fragkey =
        is_case ? expertise::CaseStateOf(owner, o_).outcome_fragkey : member.fragkey;
    absl::StatusOr<std::vector<index::PersonSummary>> handlers =
        People(profile, o_.handler_relations, fragkey);
    if (!handlers.ok()) return handlers.status();
    if (f.evidence.empty()) {
      HistoryItem item = base();
      item.kind = "case";
      item.handled_by = *handlers;
      items.push_back(std::move(item));
      return absl::OkStatus();
    }
    for (const identity::Evidence& e : f.evidence) {
      HistoryItem item = base();
      item.kind = e.kind;
      if (e.time_ms != 0) item.time_ms = e.time_ms;
      if (item.title.empty()) item.title = !e.title.empty() ? e.title : text::Excerpt(e.text, 60);
      item.excerpt = text::Excerpt(e.text, kExcerptBytes);
      item.handled_by = *handlers;
      items.push_back(std::move(item));
    }
    return absl::OkStatus();
  }

 private:
  const store::Reader& reader_;
  const expertise::ExpertiseOptions& o_;
  const KindFilter& visible_;
};

}  // namespace

absl::StatusOr<HistoryView> ReadPath::History(const HistoryQuery& q) const {
  const size_t limit = q.limit == 0 ? kDefaultItems : q.limit;
  if (limit > kMaxItems) {
    return absl::InvalidArgumentError("limit " + std::to_string(limit) + " is over the limit of " +
                                      std::to_string(kMaxItems));
  }
  std::unique_ptr<store::Snapshot> snap = write_.store().GetSnapshot();
  ProfileRef ref = q.customer;
  if (ref.id_type.empty() && !ref.id_value.empty()) {
    // A bare value: the first guess that names a profile (else the first, for the error).
    std::vector<std::pair<identity::IdType, std::string>> guesses =
        identity::GuessIdentifiers(ref.id_value, q.channel, options_.normalise);
    if (guesses.empty()) {
      return absl::InvalidArgumentError(
          "'" + ref.id_value.substr(0, 64) +
          "' is neither type:value, an e-mail address, a phone number, an @handle nor a "
          "profile id");
    }
    size_t pick = 0;
    for (size_t i = 0; i < guesses.size(); ++i) {
      absl::StatusOr<std::vector<ProfileId>> owners =
          identity::ReadOwnersOf(*snap, guesses[i].first, guesses[i].second);
      if (!owners.ok()) return owners.status();
      if (!owners->empty()) {
        pick = i;
        break;
      }
    }
    ref.id_type = std::string(identity::IdTypeName(guesses[pick].first));
    ref.id_value = guesses[pick].second;
  }
  ProfileId id = 0;
  absl::StatusOr<identity::Profile> customer = ReadVisible(*snap, ref, &id);
  if (!customer.ok()) return customer.status();
  HistoryView view;
  view.customer = *std::move(customer);
  HistoryReader reader(*snap, options_.expertise, q.customer.visible);

  // Account managers, stated either way.
  absl::StatusOr<std::vector<index::PersonSummary>> managers =
      reader.People(id, options_.expertise.manager_relations, "");
  if (!managers.ok()) return managers.status();
  view.account_managers = *std::move(managers);
  managers = reader.People(id, options_.expertise.managed_relations, "", /*incoming=*/true);
  if (!managers.ok()) return managers.status();
  for (index::PersonSummary& m : *managers) {
    const bool dup = std::any_of(view.account_managers.begin(), view.account_managers.end(),
                                 [&](const index::PersonSummary& a) { return a.id == m.id; });
    if (!dup) view.account_managers.push_back(std::move(m));
  }
  for (const identity::ProfileIdentifier& pi : view.customer.identifiers) {
    using identity::IdType;
    const IdType t = pi.type;
    if (t == IdType::kEmail || t == IdType::kPhone || t == IdType::kTwitter ||
        t == IdType::kFacebook || t == IdType::kInstagram || t == IdType::kWhatsapp) {
      view.channels.push_back(identity::IdentText(t, pi.value));
    }
  }

  // Their own records with text (conversations), then the cases they raised.
  for (const identity::Member& m : view.customer.members) {
    if (absl::Status s = reader.AddItems(id, m, view.customer, /*is_case=*/false, view.items);
        !s.ok())
      return s;
  }
  absl::StatusOr<std::vector<graph::Target>> cases =
      graph::InEdges(*snap, id, options_.expertise.raised_relation);
  if (!cases.ok()) return cases.status();
  std::set<ProfileId> seen;
  for (const graph::Target& t : *cases) {
    if (!seen.insert(t.to).second) continue;
    absl::StatusOr<std::optional<identity::Profile>> c = reader.Visible(t.to);
    if (!c.ok()) return c.status();
    if (!*c) continue;
    for (const identity::Member& m : (*c)->members) {
      if (m.source == expertise::kOutcomeSource) continue;  // says who, not what
      if (absl::Status s = reader.AddItems(t.to, m, **c, /*is_case=*/true, view.items); !s.ok())
        return s;
    }
  }
  std::stable_sort(view.items.begin(), view.items.end(),
                   [](const HistoryItem& a, const HistoryItem& b) {
                     return a.time_ms != b.time_ms ? a.time_ms > b.time_ms : a.profile < b.profile;
                   });
  if (view.items.size() > limit) {
    view.items.resize(limit);
    view.truncated = true;
  }
  return view;
}

}  // namespace tessera::directory
