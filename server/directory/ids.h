#pragma once

// Names for the numbers the directory hands out. They are aliases of uint64_t, not
// strong types: a strong type would ripple through every caller (server/api, gate,
// scim, http, the client and the tests) and through identity, graph and index, which
// all speak uint64_t. The names document what a number is; the compiler does not check.

#include <cstdint>

namespace tessera::directory {

// A profile: allocated from 1, kept when fragments join or leave it; 0 names none.
using ProfileId = uint64_t;
// An evidence document: index::DocId(fragment number, ordinal within the fragment).
using DocId = uint64_t;
// A position in the change log or in the audit log: entries are numbered from 1
// without gaps, so 0 is the position before the first.
using Sequence = uint64_t;

}  // namespace tessera::directory
