#pragma once

// Short forms of a profile: the people-search entry (summary plus search tokens).

#include "server/expertise/people.h"
#include "server/identity/profile.h"
#include "server/index/names.h"

namespace tessera::directory {

// Tokens: the words of every name value from every source (so "Bob" in one source and
// "Robert" in another both find the person), each e-mail (a prefix of it is its local
// part), handles, phone numbers without '+', employee and customer ids.
index::NameEntry NameEntryOf(const identity::Profile& p);

// Whether the profile is a person (the name index and SearchPeople cover only those).
bool IsPerson(const identity::Profile& p);

}  // namespace tessera::directory
