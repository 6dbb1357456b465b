// tessera get, search, neighbors, watch and health.

#include "client/cli/commands.h"

#include <cstdio>

#include "client/cli/output.h"
#include "client/lib/text_formats.h"

namespace tessera::cli {

int Fail(const absl::Status& s) {
  fprintf(stderr, "tessera: %s: %s\n", absl::StatusCodeToString(s.code()).c_str(),
          std::string(s.message()).c_str());
  return 1;
}

Command AddGet(CLI::App& app) {
  struct Args {
    std::string name;
    bool provenance = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub =
      app.add_subcommand("get", "Show one unified profile, by id or by any identifier.");
  sub->add_option("profile", a->name,
                  "a profile id (12) or an identifier: email:alice@example.com, twitter:@Alice, "
                  "phone:+33142685300, employee_id:E1001, ...")
      ->required();
  sub->add_flag("--provenance", a->provenance,
                "show every value with the source, record, version and time it came from");
  return {sub, [a](const client::Client& c, const Globals& g) {
            v1::GetProfileRequest req;
            if (absl::Status s = SetProfile(a->name, req); !s.ok()) return Fail(s);
            req.set_provenance(a->provenance);
            absl::StatusOr<v1::Profile> p = c.GetProfile(req);
            if (!p.ok()) return Fail(p.status());
            if (g.json) {
              PrintJson(*p);
            } else {
              PrintProfile(*p, a->provenance);
            }
            return 0;
          }};
}

Command AddSearch(CLI::App& app) {
  auto req = std::make_shared<v1::SearchPeopleRequest>();
  auto words = std::make_shared<std::vector<std::string>>();
  auto kinds = std::make_shared<std::vector<std::string>>();
  auto limit = std::make_shared<uint32_t>(50);
  auto page = std::make_shared<std::string>();
  auto team = std::make_shared<std::string>();
  auto location = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "search",
      "Find people whose names, e-mails, handles or ids start with the given words\n"
      "(case and accents ignored; every word must match).");
  sub->add_option("prefix", *words, "one or more word prefixes")->required();
  sub->add_option("--kind", *kinds, "employee, customer or contact (repeatable; default: all)");
  sub->add_option("--team", *team, "only this team");
  sub->add_option("--location", *location, "only this location");
  sub->add_option("--limit", *limit, "results per page")
      ->capture_default_str()
      ->check(CLI::Range(1, 500));
  sub->add_option("--page-token", *page, "continue from a previous page");
  return {sub, [=](const client::Client& c, const Globals& g) {
            std::string prefix;
            for (const auto& w : *words) prefix += (prefix.empty() ? "" : " ") + w;
            req->set_prefix(prefix);
            for (const auto& k : *kinds) req->add_kinds(k);
            req->set_team(*team);
            req->set_location(*location);
            req->set_page_size(*limit);
            req->set_page_token(*page);
            return Show(c.SearchPeople(*req), g, &PrintSearch);
          }};
}

Command AddNeighbors(CLI::App& app) {
  struct Args {
    std::string name, type, direction = "both", page;
    uint32_t limit = 100;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "neighbors", "Walk the typed edges of one profile (reports_to, member_of, ...).");
  sub->add_option("profile", a->name, "a profile id or an identifier")->required();
  sub->add_option("--type", a->type, "only this relation type");
  sub->add_option("--direction", a->direction,
                  "out (relations it states), in (stated about it) or both")
      ->capture_default_str()
      ->check(CLI::IsMember({"in", "out", "both"}));
  sub->add_option("--limit", a->limit, "edges per page")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  sub->add_option("--page-token", a->page, "continue from a previous page");
  return {sub, [a](const client::Client& c, const Globals& g) {
            v1::NeighborsRequest req;
            if (absl::Status s = SetProfile(a->name, req); !s.ok()) return Fail(s);
            req.set_type(a->type);
            req.set_direction(a->direction == "in"    ? v1::IN
                              : a->direction == "out" ? v1::OUT
                                                      : v1::DIRECTION_UNSPECIFIED);
            req.set_limit(a->limit);
            req.set_page_token(a->page);
            return Show(c.Neighbors(req), g, &PrintNeighbors);
          }};
}

Command AddWatch(CLI::App& app) {
  struct Args {
    uint64_t after = 0, count = 0;
    bool from_now = false, profiles = false;
    uint32_t progress_ms = 10'000;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "watch",
      "Follow profile changes as they happen (one line per change; Ctrl-C stops).\n"
      "Each line starts with the change's sequence: to resume, pass the last one to --after.");
  sub->add_option("--after", a->after,
                  "start after this sequence (default 0: every retained change)");
  sub->add_flag("--from-now", a->from_now, "only changes made from now on")->excludes("--after");
  sub->add_flag("--profiles", a->profiles,
                "print each changed profile as it is now (with --json: in the event)");
  sub->add_option("--count", a->count, "stop after this many changes (default: never)");
  sub->add_option("--progress-ms", a->progress_ms,
                  "how often the server reports its position while idle")
      ->capture_default_str()
      ->check(CLI::Range(100, 60'000));
  return {sub, [a](const client::Client& c, const Globals& g) {
            v1::WatchRequest req;
            req.set_after_sequence(a->after);
            req.set_from_now(a->from_now);
            req.set_include_profiles(a->profiles);
            req.set_progress_interval_ms(a->progress_ms);
            std::unique_ptr<grpc::ClientContext> ctx = c.NewContext(/*deadline=*/false);
            std::unique_ptr<grpc::ClientReader<v1::ChangeEvent>> stream =
                c.directory().Watch(ctx.get(), req);
            v1::ChangeEvent e;
            uint64_t changes = 0;
            while ((a->count == 0 || changes < a->count) && stream->Read(&e)) {
              if (e.op() == v1::ChangeEvent::PROGRESS)
                continue;  // keeps the stream alive; nothing to show
              ++changes;
              if (g.json) {
                PrintJsonLine(e);
              } else {
                std::string what = e.op() == v1::ChangeEvent::DELETE ? "deleted" : "changed";
                if (e.has_profile())
                  what += "  " + e.profile().display_name() + " (" + e.profile().kind() + ")";
                printf("%llu  profile %llu %s\n", static_cast<unsigned long long>(e.sequence()),
                       static_cast<unsigned long long>(e.profile_id()), what.c_str());
              }
              fflush(stdout);
            }
            if (a->count != 0 && changes >= a->count) {
              ctx->TryCancel();
              stream->Finish();
              return 0;
            }
            return Fail(client::FromGrpc(stream->Finish()));
          }};
}

Command AddHealth(CLI::App& app) {
  CLI::App* sub =
      app.add_subcommand("health", "Check that tesserad is up and serving (gRPC health check).");
  return {sub, [](const client::Client& c, const Globals& g) {
            absl::Status s = c.Health();
            if (!s.ok()) return Fail(s);
            printf(g.json ? "{\"status\": \"SERVING\"}\n" : "SERVING\n");
            return 0;
          }};
}

}  // namespace tessera::cli
