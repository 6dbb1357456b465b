// Fuzz target for the CRM connector (kind "crm", connectors/crm): the real connector,
// found in the registry, reads the input as a customer export, CSV or JSON lines. It
// covers connect::ReadCsv and ReadJsonLines behind the CRM's format choice, the
// customer's identifiers (handles with or without '@', phone numbers), the account
// manager as a relation, and the mapping.
//
// Input: one option byte, then the file.
//   byte 0 (mod 3): format "csv", "jsonl", or none given (chosen by the file name, .csv).
//
// Properties (tests/fuzz/connector_sink.h): fragments survive protobuf, messages are
// UTF-8; and every customer is a customer with a customer_id identifier.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nlohmann/json.hpp"
#include "tests/fuzz/connector_sink.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera;
  if (size < 1) return 0;
  const std::filesystem::path path = fuzz::ScratchDir() / "customers.csv";
  fuzz::WriteFile(path, std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  nlohmann::json input = {{"path", path.string()}};
  if (data[0] % 3 == 0) input["format"] = "csv";
  if (data[0] % 3 == 1) input["format"] = "jsonl";
  fuzz::RunConnector("crm", input, [](const v1::Fragment& f) {
    fuzz::Check(f.kind() == "customer", "a CRM record became something other than a customer");
    bool keyed = false;
    for (const v1::Identifier& id : f.identifiers()) keyed |= id.type() == "customer_id";
    fuzz::Check(keyed || f.tombstone(), "a customer has no customer_id identifier");
  });
  return 0;
}
