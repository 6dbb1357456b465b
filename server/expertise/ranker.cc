#include "server/expertise/ranker.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "server/expertise/cases.h"
#include "server/expertise/explain.h"
#include "server/expertise/language.h"
#include "server/expertise/people.h"
#include "server/graph/edges.h"
#include "server/identity/mentions.h"
#include "server/identity/records.h"
#include "server/index/evidence.h"
#include "server/index/postings.h"
#include "server/index/search.h"
#include "server/text/text.h"

namespace tessera::expertise {
namespace {

constexpr int64_t kMsPerDay = 86'400'000;

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// One FindExperts call.
class Search {
 public:
  Search(const ExpertiseOptions& o, const text::Analyzer& analyzer,
         const identity::NormaliseOptions& normalise, const text::Lexicon* lexicon,
         const store::Reader& reader, const Corpus& corpus, const Query& q)
      : o_(o),
        analyzer_(analyzer),
        normalise_(normalise),
        lexicon_(lexicon),
        reader_(reader),
        corpus_(corpus),
        q_(q),
        edges_(reader) {}

  absl::StatusOr<Ranking> Run() {
    if (absl::Status s = Analyse(); !s.ok()) return s;
    if (absl::Status s = FindCustomer(); !s.ok()) return s;
    if (absl::Status s = FindEvidence(); !s.ok()) return s;
    if (absl::Status s = Spread(); !s.ok()) return s;
    if (absl::Status s = Language(); !s.ok()) return s;
    if (!q_.no_relationship && out_.customer != 0) {
      if (absl::Status s = Relationships(); !s.ok()) return s;
    }
    if (absl::Status s = Rank(); !s.ok()) return s;
    return std::move(out_);
  }

 private:
  struct Hit {
    double score;
    size_t pool_index;
  };
  struct Candidate {
    double text = 0;
    double language = 0;    // language.h, 0..1 over the window
    std::vector<Hit> hits;  // best first
    double relationship = 0;
    std::vector<std::string> paths;
  };

  absl::Status Analyse() {
    if (q_.text.size() > kMaxPastedBytes) {
      return absl::InvalidArgumentError("text is " + std::to_string(q_.text.size()) +
                                        " bytes, more than " + std::to_string(kMaxPastedBytes) +
                                        " can be read");
    }
    if (!text::IsValidUtf8(q_.text)) return absl::InvalidArgumentError("text is not valid UTF-8");
    if (q_.limit > o_.max_limit) {
      return absl::InvalidArgumentError("limit " + std::to_string(q_.limit) +
                                        " is over the limit of " + std::to_string(o_.max_limit));
    }
    if (absl::Status s = CheckLanguage(q_.language); !s.ok()) return s;
    absl::StatusOr<Reply> reply = ReplyLanguage(q_.reply_language);
    if (!reply.ok()) return reply.status();
    reply_ = *reply;
    std::string text(text::CutBetweenWords(q_.text, o_.max_query_bytes));
    if (text.size() < q_.text.size()) {
      out_.notes.push_back(MessageCut(reply_, q_.text.size(), text.size()));
    }
    // E-mail addresses, phone numbers and handles say who wrote, not what about.
    mentions_ = identity::FindMentions(text, normalise_);
    for (const identity::Mention& m : mentions_)
      std::fill(text.begin() + m.begin, text.begin() + m.end, ' ');
    bool undecided = false;
    lang_ = analyzer_.Pick(q_.language, text, &undecided);
    stem_langs_ = StemLanguages(undecided);
    searched_text_ = text;
    if (q_.language.empty()) {
      out_.notes.push_back(LanguageGuessed(
          reply_, text::LanguageName(lang_),
          undecided && stem_langs_.size() > 1 ? text::LanguageName(stem_langs_[1]) : ""));
    }
    std::set<std::string> uniq;
    for (std::string& t : analyzer_.Terms(text, lang_)) {
      if (terms_.size() < index::kMaxQueryTerms && uniq.insert(t).second) terms_.push_back(t);
    }
    if (terms_.empty()) {
      return absl::InvalidArgumentError(
          "text has no searchable words once stop words and punctuation are removed; describe the "
          "issue in words");
    }
    out_.query_terms = terms_;
    out_.query_words = AsTyped(text, terms_);
    out_.language = std::string(text::LanguageName(lang_));
    return absl::OkStatus();
  }

  // Keeps a long query's telling terms: drops those in more than common_term_share of
  // the evidence (unless nothing would be left), then keeps the max_query_terms rarest.
  absl::Status SelectTerms() {
    if (terms_.size() <= o_.short_query_terms) return absl::OkStatus();
    std::vector<std::pair<uint64_t, std::string>> by_df;
    for (const std::string& t : terms_) {
      absl::StatusOr<uint64_t> df = index::ReadDf(reader_, t);
      if (!df.ok()) return df.status();
      by_df.emplace_back(*df, t);
    }
    std::stable_sort(by_df.begin(), by_df.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    const double cap = o_.common_term_share * static_cast<double>(corpus_.docs);
    std::vector<std::string> kept;
    for (const auto& [df, t] : by_df) {
      if (kept.size() == o_.max_query_terms) break;
      if (static_cast<double>(df) <= cap || kept.empty()) kept.push_back(t);
    }
    terms_ = std::move(kept);
    return absl::OkStatus();
  }

  absl::Status FindEvidence() {
    if (!q_.all_terms) {
      if (absl::Status s = SelectTerms(); !s.ok()) return s;
    }
    index::SearchParams p;
    p.k = o_.evidence_pool;
    p.k1 = o_.k1;
    p.b = o_.b;
    p.docs = corpus_.docs;
    p.avg_length =
        corpus_.docs > 0 ? std::max(1.0, static_cast<double>(corpus_.length) / corpus_.docs) : 1;
    static const char* const kKinds[] = {"other",        "case",  "document", "answer",
                                         "conversation", "skill", "bio"};
    for (int i = 0; i < index::kEvidenceKinds; ++i) {
      auto it = o_.kind_weight.find(kKinds[i]);
      p.kind_weight[i] = q_.no_kind_weights ? 1.0 : it != o_.kind_weight.end() ? it->second : 0.5;
    }
    p.recency_tau_days = q_.no_recency ? 0 : o_.recency_days;
    p.recency_power = o_.recency_power;
    p.today = static_cast<uint32_t>(std::max<int64_t>(0, q_.as_of_ms / kMsPerDay));
    Translate(p);
    term_weight_ = p.term_weight;
    index::SearchStats stats;
    absl::StatusOr<std::vector<index::ScoredDoc>> pool = index::TopK(reader_, terms_, p, &stats);
    if (!pool.ok()) return pool.status();
    pool_ = *std::move(pool);
    out_.evidence_considered = pool_.size();
    out_.postings_read = stats.postings_read;
    return absl::OkStatus();
  }

  // Gives each evidence item's score to the people it names.
  absl::Status Spread() {
    records_.resize(pool_.size());
    std::map<std::pair<uint64_t, std::string>, std::vector<uint64_t>> people_of;  // (entity, role)
    for (size_t i = 0; i < pool_.size(); ++i) {
      std::string value;
      absl::StatusOr<bool> found =
          reader_.Get(store::Cf::kEvidence, index::EvidenceKey(pool_[i].doc), &value);
      if (!found.ok()) return found.status();
      if (!*found) continue;  // removed since the postings were read
      if (absl::Status s = index::DecodeEvidence(value, &records_[i]); !s.ok()) return s;
      const index::EvidenceRecord& r = records_[i];
      auto key = std::make_pair(r.entity, r.role);
      auto it = people_of.find(key);
      if (it == people_of.end()) {
        std::vector<uint64_t> people;
        if (r.role.empty()) {
          people.push_back(r.entity);
        } else {
          // A case credits its resolvers once closed, and only those its outcome names
          // when it has one (cases.h); an open case is load, not expertise.
          absl::StatusOr<CaseState> c = CaseOf(r.entity);
          if (!c.ok()) return c.status();
          absl::StatusOr<std::vector<graph::Target>> out = edges_.Out(r.entity, r.role);
          if (!out.ok()) return out.status();
          for (const graph::Target& t : *out) {
            if (c->open || (!c->outcome_fragkey.empty() && t.fragkey != c->outcome_fragkey))
              continue;
            people.push_back(t.to);
          }
          std::sort(people.begin(), people.end());
          people.erase(std::unique(people.begin(), people.end()), people.end());
        }
        it = people_of.emplace(key, std::move(people)).first;
      }
      for (uint64_t person : it->second) candidates_[person].hits.push_back({pool_[i].score, i});
    }
    const size_t per_person =
        q_.single_best_evidence ? 1 : std::max<size_t>(1, o_.evidence_per_person);
    for (auto& [id, c] : candidates_) {
      // Pool order is best first, so hits already are.
      for (size_t j = 0; j < c.hits.size() && j < per_person; ++j) c.text += c.hits[j].score;
    }
    return absl::OkStatus();
  }

  // The candidates ranked first, by evidence: at least 30, three times the limit.
  size_t Window() const { return std::max<size_t>(3 * q_.limit, 30); }
  // Those whose language is read: at least 20, twice the limit (the prototype measured
  // 20, 30 and 50 alike; each costs a read per query term).
  size_t LanguageWindow() const { return std::max<size_t>(2 * q_.limit, 20); }

  // Fuses a person's language (language.h) into the text score of the best
  // LanguageWindow() candidates by evidence that Rank may show:
  //   text = evidence / best evidence + language_weight × language / best language.
  // Those further down keep their evidence score alone, which is below every fused
  // one; people found only through the customer keep 0. Measured on the development
  // sets (server/expertise/README.md): fusing over the people the evidence found, not
  // everyone, keeps the gain and every shown person's evidence.
  absl::Status Language() {
    std::vector<std::pair<uint64_t, Candidate*>> order;
    for (auto& [id, c] : candidates_) {
      if (c.text > 0) order.emplace_back(id, &c);
    }
    if (order.empty()) return absl::OkStatus();
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return a.second->text != b.second->text ? a.second->text > b.second->text : a.first < b.first;
    });
    const double best = order.front().second->text;
    for (auto& [id, c] : order) c->text /= best;
    if (o_.language_weight <= 0) return absl::OkStatus();
    LanguageQuery lq;
    lq.k1 = o_.k1;
    lq.b = o_.b;
    lq.avg_length = corpus_.person_length;
    if (lq.avg_length <= 0) {
      absl::StatusOr<double> mean = ScanMeanLength(reader_, q_.as_of_ms / kMsPerDay);
      if (!mean.ok()) return mean.status();
      lq.avg_length = *mean;
    }
    if (lq.avg_length <= 0) return absl::OkStatus();  // nothing credited to anyone
    const auto n = static_cast<double>(corpus_.docs);
    for (size_t t = 0; t < terms_.size(); ++t) {
      absl::StatusOr<uint64_t> df = index::ReadDf(reader_, terms_[t]);
      if (!df.ok()) return df.status();
      if (*df == 0) continue;
      const auto d = static_cast<double>(*df);
      lq.terms.push_back(terms_[t]);
      lq.weights.push_back(term_weight_[t] * std::log(1 + (n - d + 0.5) / (d + 0.5)));
    }
    // The window holds people Rank may show: employees, and unless asked for, present.
    const int64_t today = q_.as_of_ms / kMsPerDay;
    std::vector<Candidate*> window;
    double best_language = 0;
    for (auto& [id, c] : order) {
      if (window.size() == LanguageWindow()) break;
      absl::StatusOr<std::optional<identity::Profile>> p = identity::ReadProfile(reader_, id);
      if (!p.ok()) return p.status();
      if (!*p || !Contains((*p)->kinds, "employee") ||
          (!q_.include_unavailable && HasLeft(**p, today))) {
        continue;
      }
      absl::StatusOr<double> score = LanguageScore(reader_, **p, lq);
      if (!score.ok()) return score.status();
      c->language = *score;
      best_language = std::max(best_language, *score);
      window.push_back(c);
    }
    if (best_language <= 0) return absl::OkStatus();
    for (Candidate* c : window) {
      c->language /= best_language;
      c->text += o_.language_weight * c->language;
    }
    return absl::OkStatus();
  }

  // Each of `terms` as `text` wrote it ("bloquée" for "bloqu"), for explanations a
  // person can read: the first word of the text that analyses to the term.
  std::vector<std::string> AsTyped(std::string_view text,
                                   const std::vector<std::string>& terms) const {
    std::map<std::string, std::string> typed;  // folded word -> as written
    size_t start = 0;
    for (size_t i = 0; i <= text.size(); ++i) {
      const bool cut = i == text.size() ||
                       std::strchr(" \t\r\n.,;:!?()[]{}\"'/_<>", text[i]) != nullptr ||
                       text.substr(i, 3) == "\u2019";  // typographic apostrophe
      if (!cut) continue;
      if (i > start)
        typed.emplace(text::Fold(text.substr(start, i - start)),
                      std::string(text.substr(start, i - start)));
      start = i + (i < text.size() && text.substr(i, 3) == "\u2019" ? 3 : 1);
    }
    std::map<std::string, std::string> by_term;
    for (const text::Analyzer::Word& w : analyzer_.Words(text, lang_)) {
      auto it = typed.find(w.surface);
      by_term.emplace(w.term, it != typed.end() ? it->second : w.surface);
    }
    std::vector<std::string> out;
    out.reserve(terms.size());
    for (const std::string& t : terms) out.push_back(by_term.count(t) != 0 ? by_term[t] : t);
    return out;
  }

  static absl::Status CheckLanguage(std::string_view tag) {
    if (tag.empty() || text::LanguageOfTag(tag)) return absl::OkStatus();
    return absl::InvalidArgumentError(
        "language '" + std::string(tag.substr(0, 16)) +
        "' is not supported (supported: en, fr; leave it empty to guess)");
  }

  // Adds the query's words stemmed as the default language (AddOtherStems), then the
  // other language's terms for the query's (text::Lexicon), with a lower weight, so a
  // French message reaches English evidence and the reverse.
  void Translate(index::SearchParams& p) {
    p.term_weight.assign(terms_.size(), 1.0);
    const size_t original = terms_.size();
    std::set<std::string> have(terms_.begin(), terms_.end());
    AddOtherStems(p, have);
    if (lexicon_ == nullptr || o_.translation_weight <= 0) return;
    const size_t translated_from = terms_.size();
    for (size_t i = 0; i < original; ++i) {
      const std::vector<std::string>* tr = lexicon_->Translate(lang_, terms_[i]);
      if (tr == nullptr) continue;
      for (const std::string& t : *tr) {
        if (terms_.size() - translated_from >= o_.max_translated_terms ||
            terms_.size() >= index::kMaxQueryTerms)
          return;
        if (!have.insert(t).second) continue;
        terms_.push_back(t);
        p.term_weight.push_back(o_.translation_weight);
      }
    }
  }

  // The languages the query's words are stemmed in: its own, then the other one
  // AddOtherStems searches, if any. `undecided`: lang_ is the default for want of
  // stop words in the text.
  std::vector<text::Language> StemLanguages(bool undecided) const {
    std::vector<text::Language> langs = {lang_};
    if (o_.other_stem_weight <= 0) return langs;
    if (lang_ != analyzer_.default_language()) {
      langs.push_back(analyzer_.default_language());
    } else if (undecided) {  // en and fr are the supported languages (text/analyzer.h)
      langs.push_back(lang_ == text::Language::kEnglish ? text::Language::kFrench
                                                        : text::Language::kEnglish);
    }
    return langs;
  }

  // The query's kept words are also searched stemmed as another language, at
  // other_stem_weight (stem_langs_). Evidence is stemmed in the language found for
  // each item, and an item without stop words (a title, a commit subject) gets the
  // default, so an organisation writing French under an English default holds its
  // words under two stems: "pages" is "pag" in its French items, "page" in its short
  // ones. A query in another language than the default also searches the default's
  // stems; a query that reads as the default only for want of stop words (a short
  // message: "pages utilisateur vides") also searches the other language's, as its
  // words may be in the items stemmed that way.
  void AddOtherStems(index::SearchParams& p, std::set<std::string>& have) {
    if (stem_langs_.size() < 2) return;
    const text::Language other = stem_langs_[1];
    std::map<std::string, std::string> other_term;  // folded word -> its other stem
    for (text::Analyzer::Word& w : analyzer_.Words(searched_text_, other))
      other_term.emplace(std::move(w.surface), std::move(w.term));
    const std::set<std::string> kept(terms_.begin(), terms_.end());
    for (const text::Analyzer::Word& w : analyzer_.Words(searched_text_, lang_)) {
      if (terms_.size() >= index::kMaxQueryTerms) return;
      auto it = other_term.find(w.surface);
      if (kept.count(w.term) == 0 || it == other_term.end() || !have.insert(it->second).second)
        continue;
      terms_.push_back(it->second);
      p.term_weight.push_back(o_.other_stem_weight);
    }
  }

  absl::Status FindCustomer();
  absl::Status CustomerFromText();
  // What profile `id` says about the case it may be (cached: evidence repeats cases).
  absl::StatusOr<CaseState> CaseOf(uint64_t id) {
    if (auto it = cases_.find(id); it != cases_.end()) return it->second;
    CaseState s;
    if (q_.case_cache != nullptr && q_.case_cache->Get(q_.generation, id, &s))
      return cases_[id] = s;
    absl::StatusOr<std::optional<identity::Profile>> p = identity::ReadProfile(reader_, id);
    if (!p.ok()) return p.status();
    s = *p ? CaseStateOf(**p, o_) : CaseState();
    if (q_.case_cache != nullptr) q_.case_cache->Put(q_.generation, id, s);
    return cases_[id] = s;
  }
  // The person profile `id`, if any; `kinds` gets its kinds.
  absl::StatusOr<bool> IsProfile(uint64_t id, std::vector<std::string>* kinds);
  absl::Status Relationships();
  absl::Status Rank();

  const ExpertiseOptions& o_;
  const text::Analyzer& analyzer_;
  const identity::NormaliseOptions& normalise_;
  const text::Lexicon* lexicon_;
  const store::Reader& reader_;
  const Corpus& corpus_;
  const Query& q_;
  graph::EdgeReader edges_;
  text::Language lang_ = text::Language::kEnglish;
  std::vector<text::Language> stem_langs_;  // StemLanguages: lang_, then any other
  Reply reply_ = Reply::kEnglish;           // the language of the answer's words
  std::vector<std::string> terms_;
  std::vector<double> term_weight_;  // per term of terms_: 1, or the translation weight
  std::vector<index::ScoredDoc> pool_;
  std::vector<index::EvidenceRecord> records_;
  // Whether the evidence at `pool_index` comes from a profile the caller may see.
  absl::StatusOr<bool> MayShow(size_t pool_index) {
    if (!q_.visible) return true;
    const uint64_t entity = records_[pool_index].entity;
    auto it = shown_.find(entity);
    if (it != shown_.end()) return it->second;
    absl::StatusOr<std::optional<identity::Profile>> p = identity::ReadProfile(reader_, entity);
    if (!p.ok()) return p.status();
    const bool shown = *p && q_.visible(entity, (*p)->kinds);
    shown_.emplace(entity, shown);
    return shown;
  }

  std::vector<identity::Mention> mentions_;
  std::string searched_text_;  // the query text as analysed (mentions blanked)
  std::map<uint64_t, CaseState> cases_;
  std::map<uint64_t, Candidate> candidates_;
  std::map<size_t, const Candidate*> hit_index_;  // ranked position -> its candidate
  std::map<uint64_t, bool> shown_;                // evidence profile -> visible to the caller
  Ranking out_;
};

absl::StatusOr<bool> Search::IsProfile(uint64_t id, std::vector<std::string>* kinds) {
  absl::StatusOr<std::optional<identity::Profile>> p = identity::ReadProfile(reader_, id);
  if (!p.ok()) return p.status();
  if (!*p) return false;
  *kinds = (*p)->kinds;
  return true;
}

// Who the customer is: named by the caller (an identifier, a bare value, a profile
// id), or else recognised from the identifiers in the text. Not finding them is no
// error, but the answer says so.
absl::Status Search::FindCustomer() {
  std::vector<std::pair<identity::IdType, std::string>> candidates;
  const bool named = !q_.customer_value.empty() || !q_.customer_type.empty();
  if (named && !q_.customer_type.empty()) {
    std::optional<identity::IdType> type = identity::ParseIdType(q_.customer_type);
    if (!type) {
      return absl::InvalidArgumentError("customer: unknown identifier type '" + q_.customer_type +
                                        "' (known: " + std::string(identity::IdTypeList()) + ")");
    }
    absl::StatusOr<std::string> value = identity::Normalise(*type, q_.customer_value, normalise_);
    if (!value.ok())
      return absl::InvalidArgumentError("customer: " + std::string(value.status().message()));
    candidates.emplace_back(*type, *value);
  } else if (named) {
    const std::string_view v = q_.customer_value;
    const bool profile_id =
        v.size() <= 9 && v.front() != '0' &&
        std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (profile_id) {
      const uint64_t id = std::stoull(std::string(v));
      std::vector<std::string> kinds;
      absl::StatusOr<bool> exists = IsProfile(id, &kinds);
      if (!exists.ok()) return exists.status();
      out_.customer_identifier = "profile " + std::string(v);
      if (*exists) out_.customer = id;
    } else {
      candidates = identity::GuessIdentifiers(v, q_.channel, normalise_);
      if (candidates.empty()) {
        return absl::InvalidArgumentError(
            "customer '" + std::string(v.substr(0, 64)) +
            "' is neither type:value, an e-mail address, a phone number, an @handle "
            "nor a profile id");
      }
    }
  }
  for (const auto& [type, value] : candidates) {
    if (out_.customer_identifier.empty())
      out_.customer_identifier = identity::IdentText(type, value);
    absl::StatusOr<std::vector<uint64_t>> owners = identity::ReadOwnersOf(reader_, type, value);
    if (!owners.ok()) return owners.status();
    if (owners->empty()) continue;
    out_.customer = owners->front();
    out_.customer_identifier = identity::IdentText(type, value);
    break;
  }
  if (!named) {
    if (absl::Status s = CustomerFromText(); !s.ok()) return s;
  }
  out_.customer_found = out_.customer != 0;
  if (named && !out_.customer_found) {
    out_.notes.push_back(CustomerUnknown(reply_, out_.customer_identifier));
  }
  if (out_.customer_found) {
    absl::StatusOr<std::optional<identity::Profile>> p =
        identity::ReadProfile(reader_, out_.customer);
    if (!p.ok()) return p.status();
    if (*p && (!q_.visible || q_.visible(out_.customer, (*p)->kinds)))
      out_.customer_name = (*p)->display_name;
    if (out_.customer_from_text) {
      out_.notes.push_back(
          CustomerFoundInText(reply_, out_.customer_identifier, out_.customer_name));
    }
  }
  return absl::OkStatus();
}

// The first identifier of the text that names a customer or contact (not the
// organisation's own handles, nor an employee mentioned in passing).
absl::Status Search::CustomerFromText() {
  auto own = [&](const identity::Mention& m) {
    if (!m.handle) return false;
    return std::any_of(o_.own_handles.begin(), o_.own_handles.end(), [&](const std::string& h) {
      return text::Fold(h.empty() || h.front() != '@' ? h : h.substr(1)) == m.value;
    });
  };
  for (const identity::Mention& m : mentions_) {
    if (own(m)) continue;
    std::vector<std::pair<identity::IdType, std::string>> typed;
    if (m.handle) {
      typed = identity::GuessIdentifiers("@" + m.value, q_.channel, normalise_);
    } else {
      typed.emplace_back(m.type, m.value);
    }
    for (const auto& [type, value] : typed) {
      absl::StatusOr<std::vector<uint64_t>> owners = identity::ReadOwnersOf(reader_, type, value);
      if (!owners.ok()) return owners.status();
      for (uint64_t id : *owners) {
        std::vector<std::string> kinds;
        absl::StatusOr<bool> exists = IsProfile(id, &kinds);
        if (!exists.ok()) return exists.status();
        if (*exists && (Contains(kinds, "customer") || Contains(kinds, "contact"))) {
          out_.customer = id;
          out_.customer_from_text = true;
          out_.customer_identifier = identity::IdentText(type, value);
          return absl::OkStatus();
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Search::Relationships() {
  const uint64_t customer = out_.customer;
  const std::string name = out_.customer_name.empty() ? ThisCustomer(reply_) : out_.customer_name;
  auto add_manager = [&](const graph::Target& t) {
    Candidate& c = candidates_[t.to];
    if (c.relationship < o_.account_manager_boost) c.relationship = o_.account_manager_boost;
    c.paths.push_back(ManagerOf(reply_, name));
  };
  for (const std::string& rel : o_.manager_relations) {
    absl::StatusOr<std::vector<graph::Target>> out = edges_.Out(customer, rel);
    if (!out.ok()) return out.status();
    for (const graph::Target& t : *out) add_manager(t);
  }
  for (const std::string& rel : o_.managed_relations) {
    absl::StatusOr<std::vector<graph::Target>> in = edges_.In(customer, rel);
    if (!in.ok()) return in.status();
    for (const graph::Target& t : *in) add_manager(t);
  }
  absl::StatusOr<std::vector<graph::Target>> cases = edges_.In(customer, o_.raised_relation);
  if (!cases.ok()) return cases.status();
  std::map<uint64_t, std::set<uint64_t>> handled;  // person -> cases
  for (const graph::Target& c : *cases) {
    for (const std::string& rel : o_.handler_relations) {
      absl::StatusOr<std::vector<graph::Target>> out = edges_.Out(c.to, rel);
      if (!out.ok()) return out.status();
      for (const graph::Target& t : *out) handled[t.to].insert(c.to);
    }
  }
  // Conversations (a social-care answer) are the customer's own records naming who
  // answered them: earlier handling too.
  std::set<uint64_t> answered;
  for (const std::string& rel : o_.handler_relations) {
    absl::StatusOr<std::vector<graph::Target>> out = edges_.Out(customer, rel);
    if (!out.ok()) return out.status();
    for (const graph::Target& t : *out) answered.insert(t.to);
  }
  for (uint64_t person : answered) handled[person];  // counted below as one more
  for (const auto& [person, set] : handled) {
    const size_t conversations = answered.count(person);
    const size_t n = set.size() + conversations;
    Candidate& c = candidates_[person];
    c.relationship += o_.previous_handler_boost * std::min<double>(3, n) / 3;
    c.paths.push_back(HandledEarlier(reply_, set.size(), conversations > 0, name));
  }
  return absl::OkStatus();
}

absl::Status Search::Rank() {
  std::vector<std::pair<uint64_t, Candidate*>> order;
  for (auto& [id, c] : candidates_) order.emplace_back(id, &c);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    const double sa = a.second->text + a.second->relationship * 1e6,
                 sb = b.second->text + b.second->relationship * 1e6;
    return sa != sb ? sa > sb : a.first < b.first;
  });
  double max_text = 0;
  for (const auto& [id, c] : order) max_text = std::max(max_text, c->text);
  const int64_t today = q_.as_of_ms / kMsPerDay;
  const size_t window = Window();
  std::vector<Expert> ranked;
  for (const auto& [id, c] : order) {
    if (ranked.size() >= window && c->relationship == 0) break;
    absl::StatusOr<std::optional<identity::Profile>> p = identity::ReadProfile(reader_, id);
    if (!p.ok()) return p.status();
    if (!*p || !Contains((*p)->kinds, "employee")) continue;
    if (q_.visible && !q_.visible(id, (*p)->kinds)) continue;
    const identity::Profile& profile = **p;
    Expert e;
    e.person = SummaryOf(profile);
    e.left = HasLeft(profile, today);
    if (e.left && !q_.include_unavailable) continue;
    if (!q_.team.empty() && text::Fold(e.person.team) != text::Fold(q_.team)) continue;
    if (!q_.location.empty() && text::Fold(e.person.location) != text::Fold(q_.location)) continue;
    const std::string* availability = profile.Attr("availability");
    e.away = availability != nullptr && Contains({"away", "absent", "leave", "on_leave", "ooo",
                                                  "out_of_office", "vacation", "unavailable"},
                                                 text::Fold(*availability));
    if (!q_.no_load) {
      absl::StatusOr<size_t> open = graph::OpenCases(reader_, id);
      if (!open.ok()) return open.status();
      e.open_cases = *open;
    }
    e.text_score = max_text > 0 ? c->text / max_text : 0;
    e.language_score = c->language;
    e.relationship_score = c->relationship;
    e.availability = e.away ? o_.away_factor : 1.0;
    e.load_factor = 1.0 / (1.0 + o_.load_per_open_case * static_cast<double>(e.open_cases));
    e.score = (e.text_score + e.relationship_score) * e.availability * e.load_factor *
              (e.left ? 0.01 : 1.0);
    e.relationship = c->paths;
    if (c->text == 0) {
      // Related to the customer, but nothing they did matches: to inform, not to ask.
      if (c->relationship > 0 && out_.inform.size() < q_.limit) {
        for (const std::string& path : e.relationship) e.why += (e.why.empty() ? "" : "; ") + path;
        if (e.away) e.why += "; " + Away(reply_);
        if (e.left) e.why += "; " + HasLeft(reply_);
        out_.inform.push_back(std::move(e));
      }
      continue;
    }
    for (size_t j = 0; j < c->hits.size() && e.evidence.size() < 3; ++j) {
      absl::StatusOr<bool> shown = MayShow(c->hits[j].pool_index);
      if (!shown.ok()) return shown.status();
      if (*shown) {
        EvidenceHit hit;
        hit.doc = pool_[c->hits[j].pool_index].doc;
        hit.score = c->hits[j].score;
        e.evidence.push_back(std::move(hit));
      }
    }
    ranked.push_back(std::move(e));
    ranked.back().evidence.shrink_to_fit();
    hit_index_[ranked.size() - 1] = c;
  }
  std::vector<size_t> idx(ranked.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    return ranked[a].score != ranked[b].score ? ranked[a].score > ranked[b].score
                                              : ranked[a].person.id < ranked[b].person.id;
  });
  const size_t limit = q_.limit == 0 ? 10 : q_.limit;
  for (size_t i = 0; i < idx.size() && out_.experts.size() < limit; ++i) {
    Expert e = std::move(ranked[idx[i]]);
    const Candidate* c = hit_index_[idx[i]];
    std::vector<size_t> hits;
    for (const Hit& h : c->hits) {
      absl::StatusOr<bool> shown = MayShow(h.pool_index);
      if (!shown.ok()) return shown.status();
      if (*shown) hits.push_back(h.pool_index);
    }
    if (absl::Status s = Explain(reader_, analyzer_, q_.text, stem_langs_, terms_, pool_, records_,
                                 hits, reply_, e);
        !s.ok()) {
      return s;
    }
    out_.experts.push_back(std::move(e));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Ranking> Ranker::Find(const store::Reader& reader, const Corpus& corpus,
                                     const Query& q) const {
  return Search(options_, analyzer_, normalise_, lexicon_, reader, corpus, q).Run();
}

}  // namespace tessera::expertise
