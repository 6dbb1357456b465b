// tessera get, search, neighbors and health.

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
  CLI::App* sub = app.add_subcommand("get", "Show one unified profile, by id or by any identifier.");
  sub->add_option("profile", a->name,
                  "a profile id (12) or an identifier: email:alice@example.com, twitter:@Alice, "
                  "phone:+33142685300, employee_id:E1001, ...")
      ->required();
  sub->add_flag("--provenance", a->provenance, "show every value with the source, record, version and time it came from");
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
      "search", "Find people whose names, e-mails, handles or ids start with the given words\n"
                "(case and accents ignored; every word must match).");
  sub->add_option("prefix", *words, "one or more word prefixes")->required();
  sub->add_option("--kind", *kinds, "employee, customer or contact (repeatable; default: all)");
  sub->add_option("--team", *team, "only this team");
  sub->add_option("--location", *location, "only this location");
  sub->add_option("--limit", *limit, "results per page")->capture_default_str()->check(CLI::Range(1, 500));
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
  CLI::App* sub = app.add_subcommand("neighbors", "Walk the typed edges of one profile (reports_to, member_of, ...).");
  sub->add_option("profile", a->name, "a profile id or an identifier")->required();
  sub->add_option("--type", a->type, "only this relation type");
  sub->add_option("--direction", a->direction, "out (relations it states), in (stated about it) or both")
      ->capture_default_str()
      ->check(CLI::IsMember({"in", "out", "both"}));
  sub->add_option("--limit", a->limit, "edges per page")->capture_default_str()->check(CLI::Range(1, 1000));
  sub->add_option("--page-token", a->page, "continue from a previous page");
  return {sub, [a](const client::Client& c, const Globals& g) {
            v1::NeighborsRequest req;
            if (absl::Status s = SetProfile(a->name, req); !s.ok()) return Fail(s);
            req.set_type(a->type);
            req.set_direction(a->direction == "in" ? v1::IN : a->direction == "out" ? v1::OUT : v1::DIRECTION_UNSPECIFIED);
            req.set_limit(a->limit);
            req.set_page_token(a->page);
            return Show(c.Neighbors(req), g, &PrintNeighbors);
          }};
}

Command AddHealth(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("health", "Check that tesserad is up and serving (gRPC health check).");
  return {sub, [](const client::Client& c, const Globals& g) {
            absl::Status s = c.Health();
            if (!s.ok()) return Fail(s);
            printf(g.json ? "{\"status\": \"SERVING\"}\n" : "SERVING\n");
            return 0;
          }};
}

}  // namespace tessera::cli
