#pragma once

// FindExperts: the internal people best able to solve an issue, and why.
//
// Document-centric (Balog, Azzopardi & de Rijke, SIGIR 2006, "model 2"): the issue
// text ranks evidence (index/search.h: BM25, evidence-kind weights, recency decay),
// each of the best evidence items gives its score to the people it names (a case to
// who resolved it, a page to who wrote it, a skill to its owner), and a person's text
// score is the sum of their best few items. For the best candidates, their language
// (language.h: Balog's candidate model over everything credited to them) is added to
// it. Then, per person:
//
//   score = (text / max text + relationship) · availability · 1/(1 + load · open cases)
//
// where relationship rewards the customer's account manager and the people who
// handled the customer's earlier cases, availability demotes people marked away, and
// people who left (end_date passed) are not ranked at all unless asked for.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/expertise/options.h"
#include "server/identity/identifier.h"
#include "server/identity/profile.h"
#include "server/index/names.h"
#include "server/text/analyzer.h"
#include "server/text/lexicon.h"

namespace tessera::store {
class Reader;
}

namespace tessera::expertise {

class CaseCache;

// Text longer than this is refused; up to it, the first max_query_bytes are used.
inline constexpr size_t kMaxPastedBytes = 1 << 20;

struct Query {
  std::string text;
  std::string language;  // BCP 47 tag of a supported language (en, fr); empty: guessed
  // The language of the answer's words (why, relationship, notes): en (empty) or fr.
  std::string reply_language;
  // The customer, optional: an identifier, or with an empty type a bare value that is
  // guessed (identity::GuessIdentifiers: an e-mail, a phone number, an @handle on
  // `channel` or on every platform) or a profile id (1 to 9 digits, no leading 0).
  // When absent, identifiers in the text that name a customer or contact are used.
  std::string customer_type;
  std::string customer_value;
  std::string
      channel;  // where the issue came from (twitter, email...): picks a bare @handle's platform
  std::string team;  // only people of this team (case- and accent-insensitive)
  std::string location;
  size_t limit = 10;
  int64_t as_of_ms = 0;              // "now" for recency and end dates
  bool include_unavailable = false;  // rank people who left too (flagged)
  // Evaluation switches: each turns one ranking feature off (tessera-eval's ablation).
  bool no_recency = false, no_kind_weights = false, no_relationship = false, no_load = false;
  bool single_best_evidence = false;  // a person's text score is their best item only
  bool all_terms = false;             // search every query term (no common-term pruning)
  // Case states already read on the same data (cases.h), and that data's generation;
  // optional.
  CaseCache* case_cache = nullptr;
  uint64_t generation = 0;
  // The caller's visibility (server/access), when it does not see every kind: experts
  // it may not see are left out, evidence from profiles (cases) it may not see is left
  // out of the explanations (it still counts in the ranking, which names none of it),
  // and a customer it may not see is not named.
  identity::ProfileFilter visible;
};

struct EvidenceHit {
  uint64_t doc = 0;
  uint64_t profile = 0;  // the profile of the record the evidence belongs to (a case, a page)
  double score = 0;
  std::string kind;
  std::string title;
  std::string source, external_id;  // the fragment it comes from
  int64_t time_ms = 0;
  std::string snippet;                     // a short excerpt around the first match
  std::vector<std::string> matched_words;  // query words it matched, as written there
};

struct Expert {
  index::PersonSummary person;
  double score = 0;
  // Normalised to 0..1 over the candidates: the evidence found, plus language_weight ×
  // language_score.
  double text_score = 0;
  double language_score = 0;      // how their whole history matches (language.h), 0..1
  double relationship_score = 0;  // boosts added
  double availability = 1;        // factor: 1, or away_factor
  double load_factor = 1;         // 1 / (1 + load_per_open_case · open cases)
  size_t open_cases = 0;
  bool away = false;
  bool left = false;                      // only with include_unavailable
  std::vector<EvidenceHit> evidence;      // best first, at most 3
  std::vector<std::string> relationship;  // "account manager of Camille Roussel (crm/C-20002)"
  std::string why;                        // one line
};

struct Ranking {
  // The people whose evidence matches the text, best first.
  std::vector<Expert> experts;
  // People to inform rather than ask to solve: related to the customer (their account
  // manager, who handled them before) without evidence matching the text. Strongest
  // relationship first; no evidence.
  std::vector<Expert> inform;
  std::vector<std::string> query_terms;  // after analysis (stems)
  std::vector<std::string> query_words;  // the same, as written in the text (folded)
  std::string language;                  // "en" or "fr"
  uint64_t customer = 0;                 // the customer's profile, when one was named and found
  bool customer_found = false;
  bool customer_from_text = false;  // recognised from identifiers in the text
  std::string customer_identifier;  // "phone:+33...": what found them, or what was asked
  std::string customer_name;        // when found and the caller may see them
  // What the caller should know about how the query was read: text cut, language
  // guessed, customer not in the directory, customer recognised from the text.
  std::vector<std::string> notes;
  uint64_t evidence_considered = 0;
  uint64_t postings_read = 0;
};

// Corpus size for BM25; the directory keeps docs and length exact.
struct Corpus {
  uint64_t docs = 0;
  uint64_t length = 0;
  // The mean credited length per identifier (language.h); 0: scanned by the query.
  double person_length = 0;
};

// Thread-safe; borrows everything.
class Ranker {
 public:
  // `lexicon` (optional) translates query terms into the other language.
  Ranker(const ExpertiseOptions& options, const text::Analyzer& analyzer,
         const identity::NormaliseOptions& normalise, const text::Lexicon* lexicon = nullptr)
      : options_(options), analyzer_(analyzer), normalise_(normalise), lexicon_(lexicon) {}

  // INVALID_ARGUMENT for text over kMaxPastedBytes or empty after analysis, a limit
  // out of range, a language that is not supported, or a customer that is no
  // identifier. A customer the directory does not have is not an error: the ranking
  // has no relationship part and says so (customer_found, notes).
  absl::StatusOr<Ranking> Find(const store::Reader& reader, const Corpus& corpus,
                               const Query& q) const;

 private:
  const ExpertiseOptions& options_;
  const text::Analyzer& analyzer_;
  const identity::NormaliseOptions& normalise_;
  const text::Lexicon* lexicon_;
};

}  // namespace tessera::expertise
