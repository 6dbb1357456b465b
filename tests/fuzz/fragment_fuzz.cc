// Fuzz target for fragment validation, identifier normalisation and record decoding.
//
// Properties checked on every input:
//  - nothing crashes, whatever the bytes;
//  - normalising a normalised identifier gives it back (normal forms are fixed points);
//  - a fragment that validates survives encode -> decode -> encode unchanged;
//  - arbitrary bytes given to the record decoders are rejected, never trusted.
//
// Built two ways: with clang++ -fsanitize=fuzzer (TESSERA_FUZZ=ON) as a libFuzzer
// binary, and with any compiler as fragment_fuzz_replay, which runs the corpus in
// tests/fuzz/corpus under CTest.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/identity/fragment.h"
#include "server/identity/identifier.h"
#include "server/identity/profile.h"

namespace {

using namespace tessera::identity;

// Reads the fuzz input as a little program of bytes and strings.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}
  uint8_t Byte() {
    if (rest_.empty()) return 0;
    const auto b = static_cast<uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return b;
  }
  std::string String() {
    const size_t n = std::min<size_t>(Byte(), rest_.size());
    std::string s(rest_.substr(0, n));
    rest_.remove_prefix(n);
    return s;
  }
  bool empty() const { return rest_.empty(); }
  std::string_view all() const { return rest_; }

 private:
  std::string_view rest_;
};

const char* const kTypes[] = {"email",   "upn",      "employee_id", "customer_id", "phone",
                              "twitter", "facebook", "instagram",   "whatsapp",    "ldap_dn",
                              "team",    "case",     "document",    "bogus"};
const char* const kKinds[] = {"employee", "customer", "contact", "team",
                              "case",     "document", "robot"};

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "fuzz property violated: %s\n", what);
    abort();
  }
}

void CheckNormalisation(const std::string& type, const std::string& value) {
  std::optional<IdType> t = ParseIdType(type);
  if (!t) return;
  NormaliseOptions o{"FR"};
  absl::StatusOr<std::string> once = Normalise(*t, value, o);
  if (!once.ok()) return;
  absl::StatusOr<std::string> twice = Normalise(*t, *once, o);
  if (!twice.ok() || *twice != *once) {
    fprintf(
        stderr, "%s: '%s' -> '%s' -> %s\n", type.c_str(), value.c_str(), once->c_str(),
        twice.ok() ? ("'" + *twice + "'").c_str() : std::string(twice.status().message()).c_str());
  }
  Check(twice.ok() && *twice == *once, "normalisation is not idempotent");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  // Arbitrary bytes as stored records must decode to an error or to something valid.
  StoredFragment sf;
  (void)DecodeFragment(in.all(), &sf);
  Profile p;
  (void)DecodeProfile(in.all(), &p);
  Conflict c;
  (void)DecodeConflict(in.all(), &c);

  Fragment f;
  f.source = (in.Byte() & 1) ? "hr" : in.String();
  f.external_id = in.String();
  f.version = in.Byte();
  f.kind = kKinds[in.Byte() % 7];
  f.tombstone = in.Byte() == 0xff;
  for (int n = in.Byte() % 8; n > 0 && !in.empty(); --n) {
    f.identifiers.push_back({kTypes[in.Byte() % 14], in.String()});
    CheckNormalisation(f.identifiers.back().type, f.identifiers.back().value);
  }
  for (int n = in.Byte() % 4; n > 0 && !in.empty(); --n)
    f.attributes.push_back({in.String(), in.String()});
  for (int n = in.Byte() % 4; n > 0 && !in.empty(); --n) {
    f.relations.push_back({in.String(), {kTypes[in.Byte() % 14], in.String()}});
  }
  for (int n = in.Byte() % 3; n > 0 && !in.empty(); --n) {
    f.evidence.push_back(
        {in.String(), in.String(), in.String(), in.String(), in.String(), in.Byte()});
  }
  Limits limits;
  limits.max_fragment_bytes = 2048;
  if (!Validate(f, limits, NormaliseOptions{"FR"}).ok()) return 0;
  sf = StoredFragment{f, in.Byte(), in.Byte()};
  const std::string encoded = EncodeFragment(sf);
  StoredFragment back;
  Check(DecodeFragment(encoded, &back).ok(), "a valid fragment does not decode");
  Check(EncodeFragment(back) == encoded, "a valid fragment does not round-trip");
  return 0;
}
