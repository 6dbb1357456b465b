#pragma once

// FindExperts' knobs, with the defaults server/expertise/README.md ("Ranking") documents. Each
// is a trade-off an organisation may want to move; tessera-eval measures them.

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace tessera::expertise {

struct ExpertiseOptions {
  // BM25 term-frequency saturation and length normalisation.
  double k1 = 1.2;
  double b = 0.75;
  // How strongly each kind of evidence shows ability; unknown kinds count as "other".
  std::map<std::string, double> kind_weight = {
      {"case", 1.0},  {"answer", 0.8}, {"conversation", 0.7}, {"document", 0.6},
      {"skill", 0.4}, {"bio", 0.3},    {"other", 0.5}};
  // How evidence loses weight with age (index/search.h): (1 + age/recency_days)^-recency_power,
  // a power law (evidence a year old counts 25% as much as today's, four years old 4%);
  // with recency_power 0, exp(-age/recency_days) (a year: 37%, four years: 2%).
  // recency_days 0 turns decay off.
  double recency_days = 365;
  double recency_power = 2;
  // Best evidence documents considered per query, and per person summed into the
  // person's text score (a few strong, recent items beat many weak ones).
  size_t evidence_pool = 200;
  size_t evidence_per_person = 10;
  // Weight of a person's language (Balog's candidate model, language.h) added to their
  // normalised evidence score, both 0..1 over the best candidates; 0 turns it off.
  double language_weight = 0.75;
  // Long queries (a pasted message) keep their telling terms: with more than
  // short_query_terms terms, those in more than common_term_share of the evidence
  // (they say little and cost the most) are dropped, and of the rest the
  // max_query_terms rarest are kept. Short queries keep every term.
  size_t short_query_terms = 8;
  double common_term_share = 0.3;
  size_t max_query_terms = 24;
  // Added to a person's text score (normalised to 0..1 over the candidates) when the
  // query names a customer: their account manager (2: above anyone else unless away
  // or busy), and people who handled the customer's earlier cases (scaled by how
  // many, up to 3).
  double account_manager_boost = 2.0;
  double previous_handler_boost = 0.3;
  // Relations linking a customer to an account manager: stated by the customer's
  // records (customer -> manager) or by the manager's (manager -> customer).
  std::vector<std::string> manager_relations = {"managed_by", "account_manager"};
  std::vector<std::string> managed_relations = {"account_manager_of", "manages"};
  // A case names its customer with `raised_relation` and its handlers with these.
  std::string raised_relation = "raised_by";
  std::vector<std::string> handler_relations = {"resolved_by", "assigned_to", "answered_by"};
  // Multiplies the score of people marked away (attribute availability).
  double away_factor = 0.3;
  // Score x 1 / (1 + load_per_open_case x open cases): a busy expert yields to a free one.
  double load_per_open_case = 0.15;
  // Open cases held through these relations count as load; a case is open when its
  // status attribute is one of open_statuses (compared case-insensitively).
  std::vector<std::string> load_relations = {"resolved_by", "assigned_to"};
  std::vector<std::string> open_statuses = {"open",        "new",      "pending",
                                            "in_progress", "assigned", "reopened"};
  // Terms of the other language (text::Lexicon) are searched too, their idf times
  // this; 0 turns translation off. Dictionaries give every sense of a word, hence < 1.
  double translation_weight = 0.5;
  size_t max_translated_terms = 16;
  // A query not in the default language is also searched with its words stemmed as
  // the default language, and a query that reads as the default only for want of
  // stop words (a short message) with its words stemmed as the other language, at
  // this weight (the same words, hence 1); 0 turns it off. Evidence is stemmed in each
  // item's language, and items without stop words get the default language.
  double other_stem_weight = 1.0;
  // The organisation's own handles (with or without '@', e.g. "@banquelumen"): in a
  // pasted message they name the organisation, not the customer, and are no search
  // words either.
  std::vector<std::string> own_handles;
  // Limits on what a caller sends. A longer text is cut at a word boundary (and the
  // answer says so), up to kMaxPastedBytes (ranker.h), beyond which it is refused.
  size_t max_query_bytes = 8192;
  size_t max_limit = 50;
};

}  // namespace tessera::expertise
