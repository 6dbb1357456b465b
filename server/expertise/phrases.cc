#include "server/expertise/phrases.h"

namespace tessera::expertise {
namespace {

bool Fr(Reply r) { return r == Reply::kFrench; }

std::string Count(size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

// Quoted as each language quotes: "…" or « … ».
std::string Quote(Reply r, std::string_view s) {
  return Fr(r) ? "« " + std::string(s) + " »" : "\"" + std::string(s) + "\"";
}

}  // namespace

absl::StatusOr<Reply> ReplyLanguage(std::string_view tag) {
  const std::string_view base = tag.substr(0, tag.find_first_of("-_"));
  if (base.empty() || base == "en" || base == "EN") return Reply::kEnglish;
  if (base == "fr" || base == "FR") return Reply::kFrench;
  return absl::InvalidArgumentError("reply_language '" + std::string(tag.substr(0, 16)) +
                                    "' is not supported: en or fr");
}

std::string KindPhrase(Reply r, std::string_view kind, size_t n) {
  if (Fr(r)) {
    if (kind == "case") return "a résolu " + Count(n, "dossier similaire", "dossiers similaires");
    if (kind == "document") return "a écrit " + Count(n, "page", "pages") + " sur le sujet";
    if (kind == "answer") return "a donné " + Count(n, "réponse similaire", "réponses similaires");
    if (kind == "conversation")
      return "a répondu à " + Count(n, "message similaire", "messages similaires");
    if (kind == "skill")
      return n == 1 ? "le cite comme compétence" : "cite " + Count(n, "", "compétences liées");
    if (kind == "bio") return "son profil le mentionne";
    return Count(n, "fiche liée", "fiches liées");
  }
  if (kind == "case") return "solved " + Count(n, "similar case", "similar cases");
  if (kind == "document") return "wrote " + Count(n, "page", "pages") + " on it";
  if (kind == "answer") return "gave " + Count(n, "similar answer", "similar answers");
  if (kind == "conversation") return "answered " + Count(n, "similar message", "similar messages");
  if (kind == "skill")
    return n == 1 ? "lists it as a skill" : "lists " + Count(n, "", "matching skills");
  if (kind == "bio") return "their profile mentions it";
  return Count(n, "related record", "related records");
}

std::string BestMatch(Reply r, std::string_view title) {
  return Fr(r) ? " (le plus proche : " + Quote(r, title) + ")"
               : " (best match: " + Quote(r, title) + ")";
}

std::string ThisCustomer(Reply r) { return Fr(r) ? "ce client" : "this customer"; }

std::string ManagerOf(Reply r, std::string_view customer) {
  return (Fr(r) ? "conseiller de " : "account manager of ") + std::string(customer);
}

std::string HandledEarlier(Reply r, size_t cases, bool answered, std::string_view customer) {
  std::string path;
  if (Fr(r)) {
    if (cases > 0) path = "a traité " + Count(cases, "dossier précédent", "dossiers précédents");
    if (answered)
      path += std::string(path.empty() ? "" : " et ") + "a répondu à un message précédent";
    return path + " de " + std::string(customer);
  }
  if (cases > 0) path = "handled " + Count(cases, "earlier case", "earlier cases");
  if (answered) path += std::string(path.empty() ? "" : " and ") + "answered an earlier message";
  return path + " of " + std::string(customer);
}

std::string HasLeft(Reply r) { return Fr(r) ? "a quitté l'entreprise" : "has left"; }
std::string Away(Reply r) { return Fr(r) ? "absent" : "away"; }
std::string AwayRankedLower(Reply r) {
  return Fr(r) ? "absent, donc classé plus bas" : "away, so ranked lower";
}

std::string Busy(Reply r, size_t open_cases) {
  return Fr(r) ? "occupé : " + Count(open_cases, "dossier ouvert", "dossiers ouverts")
               : "busy with " + Count(open_cases, "open case", "open cases");
}

std::string MessageCut(Reply r, size_t total_bytes, size_t read_bytes) {
  if (Fr(r)) {
    return "le message fait " + std::to_string(total_bytes) + " octets : seuls les " +
           std::to_string(read_bytes) +
           " premiers ont été lus, coupés entre deux mots (expertise.max_query_bytes)";
  }
  return "the message is " + std::to_string(total_bytes) + " bytes: only its first " +
         std::to_string(read_bytes) + " were read, cut between words (expertise.max_query_bytes)";
}

std::string LanguageGuessed(Reply r, std::string_view language, std::string_view also) {
  if (!also.empty()) {
    return Fr(r) ? "langue non précisée : lu comme " + std::string(language) +
                       " (aucun mot courant ne l'indique ; ses mots sont aussi cherchés en " +
                       std::string(also) + ")"
                 : "language not given: read as " + std::string(language) +
                       " (no common words tell; its words also searched as " + std::string(also) +
                       ")";
  }
  return Fr(r) ? "langue non précisée : lu comme " + std::string(language) +
                     " (d'après ses mots courants)"
               : "language not given: read as " + std::string(language) +
                     " (from its common words, else the default)";
}

std::string CustomerUnknown(Reply r, std::string_view identifier) {
  return Fr(r) ? "le client " + Quote(r, identifier) +
                     " n'est pas dans l'annuaire : ni conseiller ni dossier précédent pour guider"
               : "customer '" + std::string(identifier) +
                     "' is not in the directory: no account manager or earlier cases to go by";
}

std::string CustomerFoundInText(Reply r, std::string_view identifier, std::string_view name) {
  const std::string who =
      std::string(identifier) + (name.empty() ? "" : " (" + std::string(name) + ")");
  return (Fr(r) ? "client reconnu dans le message : " : "customer recognised from the message: ") +
         who;
}

}  // namespace tessera::expertise
