// tessera admin ...: sources, statistics, conflicts, merge/split rules, backup, rebuild.

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "client/cli/commands.h"
#include "client/cli/output.h"
#include "client/lib/text_formats.h"

namespace tessera::cli {
namespace {

Command Stats(CLI::App& admin) {
  CLI::App* sub =
      admin.add_subcommand("stats", "Counts of fragments, profiles, conflicts, rules and sources.");
  return {sub, [](const client::Client& c, const Globals& g) {
            return Show(c.Stats(), g, &PrintStats);
          }};
}

Command Replicas(CLI::App& admin) {
  auto others = std::make_shared<std::vector<std::string>>();
  CLI::App* sub = admin.add_subcommand(
      "replicas",
      "Replicated mode: each replica's log position, lag and state - the server given by\n"
      "--server and each ADDRESS (host:port), with the same credentials. Exit code 1 when\n"
      "one cannot be reached, has stopped applying the log or lags beyond its bound.");
  sub->add_option("address", *others, "more replicas, host:port");
  return {sub, [=](const client::Client& c, const Globals& g) {
            std::vector<std::vector<std::string>> rows = {
                {"server", "node", "position", "log last", "lag", "state"}};
            int code = 0;
            auto row = [&](const std::string& address, const client::Client& one) {
              absl::StatusOr<v1::StatsResponse> st = one.Stats();
              if (!st.ok()) {
                rows.push_back({address, "", "", "", "",
                                "unreachable: " + std::string(st.status().message())});
                code = 1;
                return;
              }
              const v1::ReplicaState& r = st->replica();
              if (!r.replicated()) {
                rows.push_back({address, "", "", "", "", "plain mode (not replicated)"});
                return;
              }
              std::string state = "serving";
              if (!r.stopped().empty()) {
                state = "STOPPED: " + r.stopped();
                code = 1;
              } else if (r.lagging()) {
                state = "lagging: reads refused";
                code = 1;
              }
              if (!r.log_reachable()) state += " (log unreachable: writes fail)";
              rows.push_back({address, r.node(), std::to_string(r.position()),
                              std::to_string(r.log_last()), std::to_string(r.lag()), state});
            };
            row(g.client.server, c);
            for (const std::string& address : *others) {
              client::ClientOptions o = g.client;
              o.server = address;
              row(address, client::Client(o));
            }
            PrintTable(rows);
            return code;
          }};
}

Command Sources(CLI::App& admin) {
  CLI::App* sub = admin.add_subcommand(
      "sources", "The registered sources, their priorities and live fragments.");
  return {sub, [](const client::Client& c, const Globals& g) {
            return Show(c.ListSources(), g, &PrintSources);
          }};
}

Command PutSource(CLI::App& admin) {
  auto s = std::make_shared<v1::Source>();
  auto id = std::make_shared<std::string>();
  auto kind = std::make_shared<std::string>();
  auto description = std::make_shared<std::string>();
  auto priority = std::make_shared<int>(-1);
  CLI::App* sub = admin.add_subcommand(
      "source",
      "Register a source, or change its kind, priority or description (what is not\n"
      "given is kept). Higher priority wins when sources disagree; a change re-derives\n"
      "its profiles. The registry owns the priority: a connector's configuration only\n"
      "proposes one when it first registers the source.");
  sub->add_option("id", *id, "source id, [a-z0-9][a-z0-9_-]*")->required();
  sub->add_option("--kind", *kind,
                  "ldap, csv, crm, helpdesk, knowledge, social, ... (required for a new source)");
  sub->add_option("--priority", *priority, "0..1000 (a new source: 50)")
      ->check(CLI::Range(0, 1000));
  sub->add_option("--description", *description, "free text");
  return {sub, [=](const client::Client& c, const Globals& g) {
            // Start from the source as registered, so that one option changes one thing.
            absl::StatusOr<v1::ListSourcesResponse> all = c.ListSources();
            if (!all.ok()) return Fail(all.status());
            const v1::Source* old = nullptr;
            for (const v1::Source& x : all->sources()) {
              if (x.id() == *id) old = &x;
            }
            if (old == nullptr && kind->empty()) {
              fprintf(stderr, "tessera: source '%s' is new: give its --kind\n", id->c_str());
              return 2;
            }
            s->set_id(*id);
            s->set_kind(!kind->empty() ? *kind : old->kind());
            s->set_priority(*priority >= 0 ? *priority : old != nullptr ? old->priority() : 50);
            s->set_description(!description->empty() || old == nullptr ? *description
                                                                       : old->description());
            absl::StatusOr<v1::Source> r = c.PutSource(*s);
            if (!r.ok()) return Fail(r.status());
            if (g.json) {
              PrintJson(*r);
            } else {
              printf("source %s (%s), priority %d, %llu live fragments\n", r->id().c_str(),
                     r->kind().c_str(), r->priority(),
                     static_cast<unsigned long long>(r->fragments()));
            }
            return 0;
          }};
}

Command Conflicts(CLI::App& admin) {
  auto req = std::make_shared<v1::ListConflictsRequest>();
  auto limit = std::make_shared<uint32_t>(100);
  auto page = std::make_shared<std::string>();
  CLI::App* sub = admin.add_subcommand(
      "conflicts",
      "Fragments that share an identifier but disagree on a single-valued one\n"
      "(two employee ids...). They stay apart until merged or split.");
  sub->add_option("--limit", *limit, "conflicts per page")
      ->capture_default_str()
      ->check(CLI::Range(1, 500));
  sub->add_option("--page-token", *page, "continue from a previous page");
  return {sub, [=](const client::Client& c, const Globals& g) {
            req->set_page_size(*limit);
            req->set_page_token(*page);
            return Show(c.ListConflicts(*req), g, &PrintConflicts);
          }};
}

Command Fragment(CLI::App& admin) {
  auto ref = std::make_shared<v1::FragmentRef>();
  auto source = std::make_shared<std::string>();
  auto external_id = std::make_shared<std::string>();
  CLI::App* sub =
      admin.add_subcommand("fragment", "Show one stored fragment (normalised) and its profile.");
  sub->add_option("source", *source, "source id")->required();
  sub->add_option("external_id", *external_id, "the record's id in that source")->required();
  return {sub, [=](const client::Client& c, const Globals& g) {
            ref->set_source(*source);
            ref->set_external_id(*external_id);
            return Show(c.GetFragment(*ref), g, &PrintFragment);
          }};
}

Command Merge(CLI::App& admin) {
  auto ids = std::make_shared<std::vector<uint64_t>>();
  auto reason = std::make_shared<std::string>();
  CLI::App* sub = admin.add_subcommand(
      "merge",
      "Declare that profiles are one person. Stored as a rule naming their fragments,\n"
      "so it survives re-syncs; it overrides conflicts. Undo with rule-delete.");
  sub->add_option("ids", *ids, "two or more profile ids")->required()->expected(2, 100);
  sub->add_option("--reason", *reason, "why, for the record");
  return {sub, [=](const client::Client& c, const Globals& g) {
            v1::MergeRequest req;
            for (uint64_t id : *ids) req.add_profile_ids(id);
            req.set_reason(*reason);
            absl::StatusOr<v1::MergeResponse> r = c.Merge(req);
            if (!r.ok()) return Fail(r.status());
            if (g.json) {
              PrintJson(*r);
            } else {
              printf("merged into profile %llu (rule %llu)\n",
                     static_cast<unsigned long long>(r->profile().id()),
                     static_cast<unsigned long long>(r->rule_id()));
            }
            return 0;
          }};
}

Command Split(CLI::App& admin) {
  auto id = std::make_shared<uint64_t>(0);
  auto frags = std::make_shared<std::vector<std::string>>();
  auto reason = std::make_shared<std::string>();
  CLI::App* sub = admin.add_subcommand(
      "split",
      "Separate fragments from a profile they were wrongly linked into (a shared\n"
      "mailbox, say). Stored as a rule, so it survives re-syncs. Undo with rule-delete.");
  sub->add_option("id", *id, "the profile id")->required();
  sub->add_option("fragments", *frags, "SOURCE/EXTERNAL_ID of each fragment to separate")
      ->required();
  sub->add_option("--reason", *reason, "why, for the record");
  return {sub, [=](const client::Client& c, const Globals& g) {
            v1::SplitRequest req;
            req.set_profile_id(*id);
            req.set_reason(*reason);
            for (const std::string& f : *frags) {
              const size_t slash = f.find('/');
              if (slash == std::string::npos || slash == 0 || slash + 1 == f.size()) {
                return Fail(absl::InvalidArgumentError("'" + f + "' is not SOURCE/EXTERNAL_ID"));
              }
              v1::FragmentRef* ref = req.add_fragments();
              ref->set_source(f.substr(0, slash));
              ref->set_external_id(f.substr(slash + 1));
            }
            absl::StatusOr<v1::SplitResponse> r = c.Split(req);
            if (!r.ok()) return Fail(r.status());
            if (g.json) {
              PrintJson(*r);
            } else {
              std::string ids;
              for (uint64_t p : r->profile_ids())
                ids += (ids.empty() ? "" : ", ") + std::to_string(p);
              printf("fragments now in profiles %s (rule %llu)\n", ids.c_str(),
                     static_cast<unsigned long long>(r->rule_id()));
            }
            return 0;
          }};
}

Command Rules(CLI::App& admin) {
  CLI::App* sub = admin.add_subcommand("rules", "The manual merge and split rules.");
  return {sub, [](const client::Client& c, const Globals& g) {
            return Show(c.ListRules(), g, &PrintRules);
          }};
}

Command DeleteRule(CLI::App& admin) {
  auto id = std::make_shared<uint64_t>(0);
  CLI::App* sub = admin.add_subcommand("rule-delete",
                                       "Remove a merge or split rule; its fragments are relinked.");
  sub->add_option("id", *id, "rule id (see admin rules)")->required();
  return {sub, [id](const client::Client& c, const Globals& g) {
            if (absl::Status s = c.DeleteRule(*id); !s.ok()) return Fail(s);
            printf(g.json ? "{}\n" : "rule deleted\n");
            return 0;
          }};
}

Command Backup(CLI::App& admin) {
  auto path = std::make_shared<std::string>();
  CLI::App* sub = admin.add_subcommand(
      "backup",
      "Write a consistent checkpoint of the database on the server's machine;\n"
      "`tesserad --db PATH` opens it as a working database.");
  sub->add_option("path", *path,
                  "a folder that does not exist yet (relative paths are made absolute here)")
      ->required();
  return {sub, [path](const client::Client& c, const Globals& g) {
            v1::BackupRequest req;
            req.set_path(std::filesystem::absolute(*path).lexically_normal().string());
            absl::StatusOr<v1::BackupResponse> r = c.Backup(req);
            if (!r.ok()) return Fail(r.status());
            if (g.json) {
              PrintJson(*r);
            } else {
              printf("backup at %s (sequence %llu)\n", r->path().c_str(),
                     static_cast<unsigned long long>(r->sequence()));
            }
            return 0;
          }};
}

Command Rebuild(CLI::App& admin) {
  CLI::App* sub = admin.add_subcommand(
      "rebuild",
      "Re-derive every profile, identifier index and edge from the stored fragments\n"
      "and rules, and report whether anything differed.");
  return {
      sub, [](const client::Client& c, const Globals& g) {
        absl::StatusOr<v1::RebuildResponse> r = c.Rebuild();
        if (!r.ok()) return Fail(r.status());
        if (g.json) {
          PrintJson(*r);
        } else {
          printf(
              "rebuilt %llu fragments into %llu profiles in %llu ms; derived state %s (digest "
              "%s)\n",
              static_cast<unsigned long long>(r->fragments()),
              static_cast<unsigned long long>(r->profiles()),
              static_cast<unsigned long long>(r->duration_ms()),
              r->identical() ? "unchanged" : "CHANGED", r->digest_after().c_str());
          if (r->scim_resources() > 0) {
            printf("SCIM: %llu resources derived again: %llu fragments identical, %llu rewritten\n",
                   static_cast<unsigned long long>(r->scim_resources()),
                   static_cast<unsigned long long>(r->scim_identical()),
                   static_cast<unsigned long long>(r->scim_rewritten()));
          }
        }
        return 0;
      }};
}

Command Compact(CLI::App& admin) {
  CLI::App* sub = admin.add_subcommand(
      "compact",
      "Compact the database; after a large load, FindExperts and other reads get faster.");
  return {sub, [](const client::Client& c, const Globals& g) {
            absl::StatusOr<v1::CompactResponse> r = c.Compact();
            if (!r.ok()) return Fail(r.status());
            if (g.json) {
              PrintJson(*r);
            } else {
              printf("compacted in %llu ms; %llu bytes on disk\n",
                     static_cast<unsigned long long>(r->duration_ms()),
                     static_cast<unsigned long long>(r->disk_bytes()));
            }
            return 0;
          }};
}

Command Erase(CLI::App& admin) {
  struct Args {
    std::string name, reason;
    bool yes = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub = admin.add_subcommand(
      "erase",
      "Right to erasure: remove a person (their records from every source, their profile,\n"
      "index entries and edges, and the cases they raised) and refuse their records in\n"
      "later syncs. Cannot be undone; the audit log keeps only keyed hashes.");
  sub->add_option("profile", a->name,
                  "a profile id or an identifier: email:alice@example.com, phone:+33..., ...")
      ->required();
  sub->add_option("--reason", a->reason,
                  "why, e.g. the erasure request's ticket (kept in the audit log)")
      ->required();
  sub->add_flag("--yes", a->yes, "confirm: without it nothing is erased");
  return {sub, [a](const client::Client& c, const Globals& g) {
            if (!a->yes) {
              fprintf(stderr, "tessera: erasing cannot be undone; add --yes to erase %s\n",
                      a->name.c_str());
              return 2;
            }
            v1::EraseRequest req;
            if (absl::Status s = SetProfile(a->name, req); !s.ok()) return Fail(s);
            req.set_reason(a->reason);
            absl::StatusOr<v1::EraseResponse> r = c.Erase(req);
            if (!r.ok()) return Fail(r.status());
            if (g.json) {
              PrintJson(*r);
            } else {
              printf(
                  "erased profile %llu: %llu of their records and %llu naming them, %llu "
                  "provisioning rows; %d "
                  "identifiers and records suppressed (audit entry %llu)\n",
                  static_cast<unsigned long long>(r->profile_id()),
                  static_cast<unsigned long long>(r->fragments()),
                  static_cast<unsigned long long>(r->related()),
                  static_cast<unsigned long long>(r->provisioning_rows()), r->suppressed_size(),
                  static_cast<unsigned long long>(r->audit_sequence()));
            }
            return 0;
          }};
}

Command Audit(CLI::App& admin) {
  struct Args {
    uint64_t after = 0, limit = 0;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub = admin.add_subcommand(
      "audit",
      "Export the audit log as JSON Lines, oldest first (role auditor): who read customers'\n"
      "data, every admin call, every erasure, every refused call. Resume with --after.");
  sub->add_option("--after", a->after, "only entries with a greater sequence");
  sub->add_option("--limit", a->limit, "at most this many entries (default: all)");
  return {sub, [a](const client::Client& c, const Globals&) {
            v1::ReadAuditRequest req;
            req.set_after_sequence(a->after);
            uint64_t printed = 0;
            while (a->limit == 0 || printed < a->limit) {
              req.set_page_size(a->limit == 0 ? 1000
                                              : static_cast<uint32_t>(
                                                    std::min<uint64_t>(1000, a->limit - printed)));
              absl::StatusOr<v1::ReadAuditResponse> r = c.ReadAudit(req);
              if (!r.ok()) return Fail(r.status());
              for (const v1::AuditEntry& e : r->entries()) PrintJsonLine(e);
              printed += r->entries_size();
              if (r->next_after_sequence() == 0) break;
              req.set_after_sequence(r->next_after_sequence());
            }
            return 0;
          }};
}

}  // namespace

std::vector<Command> AddAdmin(CLI::App& app) {
  CLI::App* admin = app.add_subcommand(
      "admin", "Administration: sources, statistics, conflicts, rules, backup, erasure, audit.");
  admin->require_subcommand(1);
  return {Stats(*admin),     Replicas(*admin),   Sources(*admin), PutSource(*admin),
          Conflicts(*admin), Fragment(*admin),   Merge(*admin),   Split(*admin),
          Rules(*admin),     DeleteRule(*admin), Backup(*admin),  Rebuild(*admin),
          Compact(*admin),   Erase(*admin),      Audit(*admin)};
}

}  // namespace tessera::cli
