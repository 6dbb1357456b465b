// tessera history: a customer's history for the social team.

#include <cstdio>

#include "client/cli/commands.h"
#include "client/cli/output.h"
#include "client/lib/text_formats.h"

namespace tessera::cli {
namespace {

std::string Names(const google::protobuf::RepeatedPtrField<v1::ProfileSummary>& people) {
  std::string out;
  for (const v1::ProfileSummary& p : people) out += (out.empty() ? "" : ", ") + p.display_name();
  return out.empty() ? "-" : out;
}

void PrintHistory(const v1::CustomerHistoryResponse& r) {
  const v1::ProfileSummary& c = r.customer();
  printf("%s (profile %llu, %s)\n", c.display_name().c_str(),
         static_cast<unsigned long long>(c.id()), c.kind().c_str());
  printf("account manager: %s\n", Names(r.account_managers()).c_str());
  std::string channels;
  for (const std::string& ch : r.channels()) channels += (channels.empty() ? "" : ", ") + ch;
  printf("reaches us by: %s\n", channels.empty() ? "-" : channels.c_str());
  if (r.items_size() == 0) {
    printf("\nno cases or conversations\n");
    return;
  }
  printf("\n");
  std::vector<std::vector<std::string>> rows = {
      {"DATE", "KIND", "CHANNEL", "STATUS", "TITLE", "HANDLED BY"}};
  for (const v1::HistoryItem& i : r.items()) {
    rows.push_back({client::FormatTime(i.time_unix_ms()).substr(0, 10), i.kind(),
                    i.channel().empty() ? "-" : i.channel(), i.status().empty() ? "-" : i.status(),
                    i.title(), Names(i.handled_by())});
  }
  PrintTable(rows);
  printf("\n");
  for (const v1::HistoryItem& i : r.items()) {
    printf("%s %s/%s: %s\n", client::FormatTime(i.time_unix_ms()).substr(0, 10).c_str(),
           i.record().source().c_str(), i.record().external_id().c_str(), i.excerpt().c_str());
  }
  if (r.truncated()) printf("(more: --limit N, up to 200)\n");
}

}  // namespace

Command AddHistory(CLI::App& app) {
  struct Args {
    std::string customer, channel;
    uint32_t limit = 50;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "history",
      "A customer's history, for the social team: who they are, their account manager, the\n"
      "channels they use, and their cases and conversations, newest first, with who handled\n"
      "each. Audited like any read of a customer.");
  sub->add_option("customer", a->customer,
                  "a profile id, type:value (whatsapp:+33..., customer_id:...), or what you have: "
                  "an e-mail, a "
                  "phone number, an @handle")
      ->required();
  sub->add_option("--channel", a->channel,
                  "the platform of a bare @handle (twitter, instagram, facebook)");
  sub->add_option("--limit", a->limit, "items to show")
      ->capture_default_str()
      ->check(CLI::Range(1, 200));
  return {sub, [a](const client::Client& c, const Globals& g) {
            v1::CustomerHistoryRequest req;
            const std::string& s = a->customer;
            const bool id = !s.empty() && s.size() <= 9 &&
                            s.find_first_not_of("0123456789") == std::string::npos &&
                            s.front() != '0';
            if (id) {
              req.set_id(std::stoull(s));
            } else {
              *req.mutable_identifier() = CustomerFrom(s);
            }
            req.set_channel(a->channel);
            req.set_limit(a->limit);
            absl::StatusOr<v1::CustomerHistoryResponse> r = c.CustomerHistory(req);
            if (!r.ok()) return Fail(r.status());
            if (g.json) {
              PrintJson(*r);
            } else {
              PrintHistory(*r);
            }
            return 0;
          }};
}

}  // namespace tessera::cli
