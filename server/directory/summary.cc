// Directory: a profile's people-search entry (summary.h).

#include "server/directory/summary.h"

#include <set>

#include "server/text/text.h"

namespace tessera::directory {

using expertise::SummaryOf;

using identity::IdType;

bool IsPerson(const identity::Profile& p) { return identity::IsPersonKind(p.kind); }

index::NameEntry NameEntryOf(const identity::Profile& p) {
  std::set<std::string> tokens;
  auto words = [&tokens](std::string_view s) {
    for (std::string& w : text::FoldedWords(s)) tokens.insert(std::move(w));
  };
  words(p.display_name);
  for (const identity::ProfileAttribute& a : p.attributes) {
    if (a.name != "display_name" && a.name != "given_name" && a.name != "family_name" &&
        a.name != "name" && a.name != "cn" && a.name != "nickname") {
      continue;
    }
    for (const identity::SourcedValue& v : a.values) words(v.value);
  }
  for (const identity::ProfileIdentifier& id : p.identifiers) {
    switch (id.type) {
      case IdType::kEmail:
      case IdType::kUpn:
        tokens.insert(id.value);  // its local part is a prefix of it: no token of its own
        break;
      case IdType::kPhone:
      case IdType::kWhatsapp:
        // Without the '+': SearchNames drops a leading '+' from query words too.
        tokens.insert(!id.value.empty() && id.value[0] == '+' ? id.value.substr(1) : id.value);
        break;
      case IdType::kTwitter:
      case IdType::kFacebook:
      case IdType::kInstagram:
        tokens.insert(id.value);
        break;
      case IdType::kEmployeeId:
      case IdType::kCustomerId:
        tokens.insert(text::Fold(id.value));
        break;
      default:
        break;
    }
  }
  tokens.erase(std::string());
  return {SummaryOf(p), std::vector<std::string>(tokens.begin(), tokens.end())};
}

}  // namespace tessera::directory
