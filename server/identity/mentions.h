#pragma once

// Identifiers in free text. A customer's message often carries who they are ("write
// to me at camille.roussel@courriel.example or 06 71 24 38 95"), and an agent pastes
// what they have: a bare e-mail, a phone number, an @handle. These find the
// identifiers a text or a bare value may be, so FindExperts can recognise the
// customer, and keep them out of the words it searches.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/identity/identifier.h"

namespace tessera::identity {

// The platforms an @handle may belong to, when nothing says which.
inline constexpr IdType kHandleTypes[] = {IdType::kTwitter, IdType::kInstagram, IdType::kFacebook};

// One identifier found in a text.
struct Mention {
  IdType type = IdType::kEmail;  // kEmail, kPhone, or kTwitter for an @handle
  bool handle = false;           // an @handle: its platform is not known
  std::string value;             // normalised (an @handle without '@', lower-cased)
  size_t begin = 0, end = 0;     // its bytes in the text
};

// The e-mail addresses, phone numbers (valid for `options.default_region` or written
// with a country code) and @handles of `text`, in order. `text` must be valid UTF-8.
std::vector<Mention> FindMentions(std::string_view text, const NormaliseOptions& options);

// What a bare value an agent typed may be, most likely first, normalised: "a@b.example"
// an e-mail; "@name" a handle on `channel` when it names a platform (twitter, x,
// instagram, facebook, whatsapp), else on each platform; anything a phone number parses
// from, a phone (and a WhatsApp id). Empty when it is none of these.
std::vector<std::pair<IdType, std::string>> GuessIdentifiers(std::string_view raw,
                                                             std::string_view channel,
                                                             const NormaliseOptions& options);

// Identifier types that name the same thing: a WhatsApp id that is a phone number is
// that phone number. The other type and value to look up too, if any.
bool AliasOf(IdType type, std::string_view normalised, IdType* alias);

}  // namespace tessera::identity
