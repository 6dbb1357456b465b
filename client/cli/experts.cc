// tessera experts and tessera outcome.

#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>

#include "client/cli/commands.h"
#include "client/cli/output.h"
#include "client/lib/text_formats.h"

namespace tessera::cli {
namespace {

std::string Fixed(double v, int digits) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

v1::Identifier CustomerFrom(const std::string& text) {
  static const char* const kTypes[] = {
      "employee_id", "customer_id", "upn",     "email", "phone", "twitter",  "facebook",
      "instagram",   "whatsapp",    "ldap_dn", "team",  "case",  "document", "ad_guid"};
  v1::Identifier id;
  const size_t colon = text.find(':');
  if (colon != std::string::npos) {
    for (const char* t : kTypes) {
      if (text.compare(0, colon, t) == 0 && std::string_view(t).size() == colon) {
        id.set_type(t);
        id.set_value(text.substr(colon + 1));
        return id;
      }
    }
  }
  id.set_value(text);
  return id;
}

namespace {

// Who the customer is, or that they are not in the directory; then the notes.
void PrintCustomerAndNotes(const v1::FindExpertsResponse& r) {
  if (r.customer_found()) {
    printf("customer: %s (profile %llu, %s%s)\n",
           r.customer_name().empty() ? "-" : r.customer_name().c_str(),
           static_cast<unsigned long long>(r.customer_profile_id()),
           r.customer_identifier().c_str(), r.customer_from_text() ? ", from the message" : "");
  }
  for (const std::string& n : r.notes()) {
    // The customer not found is a warning: their account manager cannot be put first.
    const bool warning = n.find("is not in the directory") != std::string::npos;
    fprintf(warning ? stderr : stdout, "%s: %s\n", warning ? "warning" : "note", n.c_str());
  }
}

// "case:HD-5059 "Carte bloquée" handed over to Chloé Lambert; Inès Bouchard and Aïcha
// Benali no longer hold it".
void PrintOutcome(const v1::RecordOutcomeResponse& r, const std::string& case_id,
                  const std::string& status) {
  const std::string who = r.person().display_name().empty()
                              ? "profile " + std::to_string(r.person_profile_id())
                              : r.person().display_name();
  printf("%s%s \"%s\" (profile %llu) %s %s\n", r.created() ? "new case " : "", case_id.c_str(),
         r.case_title().c_str(), static_cast<unsigned long long>(r.case_profile_id()),
         status == "open"        ? "handed over to"
         : status == "withdrawn" ? "taken back from"
                                 : "resolved by",
         who.c_str());
  if (r.previous_holders_size() == 0) return;
  std::string names;
  for (int i = 0; i < r.previous_holders_size(); ++i) {
    names += (i == 0                               ? ""
              : i + 1 == r.previous_holders_size() ? " and "
                                                   : ", ") +
             r.previous_holders(i).display_name();
  }
  printf("%s no longer hold%s it\n", names.c_str(), r.previous_holders_size() == 1 ? "s" : "");
}

void PrintExperts(const v1::FindExpertsResponse& r, bool explain) {
  PrintCustomerAndNotes(r);
  // Who should know (the account manager...), apart from who can solve it.
  for (const v1::Expert& e : r.inform()) {
    printf(
        "inform: %s (%s)%s\n", e.person().display_name().c_str(), e.why().c_str(),
        e.open_cases() > 0 ? (", " + std::to_string(e.open_cases()) + " open cases").c_str() : "");
  }
  if (r.inform_size() > 0) printf("\ncan solve it:\n");
  if (r.experts_size() == 0) {
    printf("no one found: no evidence matches these words (%zu terms searched)\n",
           static_cast<size_t>(r.query_terms_size()));
    return;
  }
  std::vector<std::vector<std::string>> rows = {{"#", "NAME", "TEAM", "SCORE", "OPEN", "WHY"}};
  for (int i = 0; i < r.experts_size(); ++i) {
    const v1::Expert& e = r.experts(i);
    rows.push_back({std::to_string(i + 1), e.person().display_name(), e.person().team(),
                    Fixed(e.score(), 2), std::to_string(e.open_cases()), e.why()});
  }
  PrintTable(rows);
  if (!explain) return;
  std::string words;
  for (const auto& w : r.query_words()) words += (words.empty() ? "" : ", ") + w;
  printf("\nwords searched (read as %s): %s; %llu evidence items considered\n",
         r.language().c_str(), words.c_str(),
         static_cast<unsigned long long>(r.evidence_considered()));
  for (int i = 0; i < r.experts_size(); ++i) {
    const v1::Expert& e = r.experts(i);
    printf("\n%d. %s <%s>, %s%s\n", i + 1, e.person().display_name().c_str(),
           e.person().email().c_str(), e.person().title().c_str(),
           e.person().location().empty() ? "" : (", " + e.person().location()).c_str());
    printf(
        "   score %s = (text %s + relationship %s) x availability %s x load %s (%u open case%s)\n",
        Fixed(e.score(), 3).c_str(), Fixed(e.text_score(), 3).c_str(),
        Fixed(e.relationship_score(), 2).c_str(), Fixed(e.availability(), 2).c_str(),
        Fixed(e.load_factor(), 2).c_str(), e.open_cases(), e.open_cases() == 1 ? "" : "s");
    if (e.language_score() > 0) {
      printf("   text includes their whole history's match to the words: %s of the best\n",
             Fixed(e.language_score(), 2).c_str());
    }
    for (const auto& rel : e.relationship()) printf("   relationship: %s\n", rel.c_str());
    for (const v1::EvidenceHit& h : e.evidence()) {
      std::string words;
      for (const auto& w : h.matched_words()) words += (words.empty() ? "" : ", ") + w;
      printf("   [%s] %s %s \"%s\" (matched: %s)\n       %s\n", h.kind().c_str(),
             FragmentText(h.fragment()).c_str(),
             client::FormatTime(h.time_unix_ms()).substr(0, 10).c_str(), h.title().c_str(),
             words.c_str(), h.snippet().c_str());
    }
  }
}

}  // namespace

Command AddExperts(CLI::App& app) {
  struct Args {
    std::vector<std::string> words;
    std::string customer, team, location, language, reply_language, channel, as_of;
    uint32_t limit = 10;
    bool explain = false, include_left = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "experts",
      "Find the people best able to solve an issue: paste the customer's message.\n"
      "Ranks people by the cases they resolved, pages they wrote and skills they declared,\n"
      "newer evidence counting more; the customer's account manager first; people away or\n"
      "with many open cases demoted; people who left excluded.");
  sub->add_option("text", a->words, "the issue, as the customer wrote it; - reads it from stdin")
      ->required();
  sub->add_option(
      "--customer", a->customer,
      "the customer, as you have them: camille@mail.example, 06 71 24 38 95, +33..., @handle "
      "(on --channel's platform, else any), a profile id, or type:value (whatsapp:+33..., "
      "customer_id:...); default: recognised from e-mails, phones and handles in the text");
  sub->add_option("--limit", a->limit, "people to list")
      ->capture_default_str()
      ->check(CLI::Range(1, 50));
  sub->add_flag("--explain", a->explain, "show each person's evidence, snippets and score parts");
  sub->add_option("--team", a->team, "only this team");
  sub->add_option("--location", a->location, "only this location");
  sub->add_option("--language", a->language, "language of the text (fr, en); default: guessed");
  sub->add_option("--reply-language", a->reply_language,
                  "language of the reasons and notes (en, fr); default: en")
      ->check(CLI::IsMember({"en", "fr"}));
  sub->add_option("--channel", a->channel, "where the message came from (twitter, email...)");
  sub->add_option("--as-of", a->as_of, "rank as of this time (RFC 3339); default: now");
  sub->add_flag("--include-unavailable", a->include_left,
                "also list people who have left (flagged, last); the API's include_unavailable");
  return {sub, [a](const client::Client& c, const Globals& g) {
            v1::FindExpertsRequest req;
            std::string text;
            if (a->words.size() == 1 && a->words[0] == "-") {
              // A long e-mail pasted into a pipe; tesserad reads its first 8 KiB and says so.
              constexpr size_t kMaxStdinBytes = 1 << 20;
              std::istreambuf_iterator<char> it(std::cin), end;
              for (; it != end && text.size() <= kMaxStdinBytes; ++it) text.push_back(*it);
              if (text.size() > kMaxStdinBytes) {
                return Fail(absl::InvalidArgumentError("the message on stdin is over 1 MiB"));
              }
            } else {
              for (const auto& w : a->words) text += (text.empty() ? "" : " ") + w;
            }
            req.set_text(text);
            if (!a->customer.empty()) *req.mutable_customer() = CustomerFrom(a->customer);
            if (!a->as_of.empty()) {
              absl::StatusOr<int64_t> t = client::ParseTime(a->as_of);
              if (!t.ok())
                return Fail(
                    absl::InvalidArgumentError("--as-of: " + std::string(t.status().message())));
              req.set_as_of_unix_ms(*t);
            }
            req.set_limit(a->limit);
            req.set_team(a->team);
            req.set_location(a->location);
            req.set_language(a->language);
            req.set_reply_language(a->reply_language);
            req.set_channel(a->channel);
            req.set_include_unavailable(a->include_left);
            absl::StatusOr<v1::FindExpertsResponse> r = c.FindExperts(req);
            if (!r.ok()) return Fail(r.status());
            if (g.json) {
              PrintJson(*r);
            } else {
              PrintExperts(*r, a->explain);
            }
            return 0;
          }};
}

Command AddOutcome(CLI::App& app) {
  struct Args {
    std::string case_id, person, status = "closed", time, text, customer, channel;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "outcome",
      "Record who handles a case. --status open hands it over: it becomes their load and\n"
      "leaves whoever held it. --status closed: they resolved it, and it becomes their\n"
      "evidence. --status withdrawn takes an open hand-over to them back (a case it created\n"
      "goes too). A case not in the directory yet (a fresh tweet) is created from --text.");
  sub->add_option("case", a->case_id, "the case, as an identifier: case:HD-5001")->required();
  sub->add_option("handled_by", a->person, "who handled it: email:..., employee_id:...")
      ->required();
  sub->add_option("--status", a->status, "open, closed, or withdrawn (take an open hand-over back)")
      ->capture_default_str()
      ->check(CLI::IsMember({"open", "closed", "withdrawn"}));
  sub->add_option("--time", a->time, "when (RFC 3339); default: now");
  sub->add_option("--text", a->text, "for a new case: the customer's message (- reads stdin)");
  sub->add_option("--customer", a->customer,
                  "for a new case: who wrote it, as for experts --customer");
  sub->add_option("--channel", a->channel,
                  "for a new case: where it came from (twitter, whatsapp...)");
  return {
      sub, [a](const client::Client& c, const Globals& g) {
        v1::RecordOutcomeRequest req;
        absl::StatusOr<v1::Identifier> cs = client::ParseIdentifier(a->case_id);
        absl::StatusOr<v1::Identifier> who = client::ParseIdentifier(a->person);
        if (!cs.ok()) return Fail(cs.status());
        if (!who.ok()) return Fail(who.status());
        *req.mutable_case_() = *cs;
        *req.mutable_handled_by() = *who;
        req.set_status(a->status);
        if (a->text == "-") {
          a->text.clear();
          std::istreambuf_iterator<char> it(std::cin), end;
          for (; it != end && a->text.size() <= (1u << 20); ++it) a->text.push_back(*it);
        }
        req.set_text(a->text);
        if (!a->customer.empty()) *req.mutable_customer() = CustomerFrom(a->customer);
        req.set_channel(a->channel);
        if (!a->time.empty()) {
          absl::StatusOr<int64_t> t = client::ParseTime(a->time);
          if (!t.ok())
            return Fail(absl::InvalidArgumentError("--time: " + std::string(t.status().message())));
          req.set_time_unix_ms(*t);
        }
        absl::StatusOr<v1::RecordOutcomeResponse> r = c.RecordOutcome(req);
        if (!r.ok()) return Fail(r.status());
        if (g.json) {
          PrintJson(*r);
        } else {
          PrintOutcome(*r, a->case_id, a->status);
        }
        return 0;
      }};
}

}  // namespace tessera::cli
