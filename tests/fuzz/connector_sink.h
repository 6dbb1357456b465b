#pragma once

// A connect::Sink for the connector fuzz targets: it maps records as tessera-connect's
// runtime does (MapRecord, then the connector's `extend`; connectors/common/sync.cc)
// and checks what a reader hands over, where it would travel next:
//  - every fragment survives protobuf serialisation and parsing (its strings are
//    UTF-8, or tesserad could not even read the batch);
//  - every fragment has a kind and a key;
//  - every reject and warning message is UTF-8, since it travels to tesserad in
//    SyncRun.errors (a proto3 string) and a bad one fails the whole report.

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/common/connector.h"
#include "nlohmann/json.hpp"
#include "tests/fuzz/fuzz_util.h"

namespace tessera::fuzz {

// TESSERA_FUZZ_VERBOSE=1 in the environment prints what a reader hands over, to see
// what an input reaches.
inline bool Verbose() {
  static const bool kVerbose = std::getenv("TESSERA_FUZZ_VERBOSE") != nullptr;
  return kVerbose;
}

class CheckingSink final : public connect::Sink {
 public:
  // `also` checks what is particular to one connector on every emitted fragment.
  explicit CheckingSink(const connect::Mapping& mapping,
                        std::function<void(const v1::Fragment&)> also = {})
      : mapping_(mapping), also_(std::move(also)) {}

  absl::Status Emit(v1::Fragment fragment, std::string_view locator) override {
    std::string bytes;
    Check(fragment.SerializeToString(&bytes), "an emitted fragment does not serialise");
    v1::Fragment back;
    Check(back.ParseFromString(bytes), "an emitted fragment does not parse back (not UTF-8?)");
    Check(!fragment.kind().empty(), "an emitted fragment has no kind");
    Check(!fragment.external_id().empty() || fragment.tombstone(),
          "an emitted fragment has no key");
    if (also_) also_(fragment);
    if (Verbose()) fprintf(stderr, "emitted: %s\n", fragment.ShortDebugString().c_str());
    ++emitted_;
    return absl::OkStatus();
  }

  absl::Status EmitRecord(
      const connect::Record& r,
      const std::function<absl::Status(const connect::Record&, v1::Fragment&)>& extend) override {
    std::vector<std::string> warnings;
    absl::StatusOr<v1::Fragment> f = connect::MapRecordWith(mapping_, r, extend, &warnings);
    for (const std::string& w : warnings) Warn(r.locator, w);
    if (!f.ok()) {
      Reject(r.locator, std::string(f.status().message()));
      return absl::OkStatus();
    }
    return Emit(*std::move(f), r.locator);
  }

  absl::Status Delete(std::string_view external_id, std::string_view locator) override {
    Check(ValidUtf8(external_id), "a deleted key is not UTF-8");
    return absl::OkStatus();
  }
  void Reject(std::string_view locator, std::string_view why) override {
    if (Verbose()) fprintf(stderr, "rejected: %.200s\n", std::string(why).c_str());
    Check(ValidUtf8(why), "a reject message is not UTF-8 (SyncRun.errors would not parse)");
    ++rejected_;
  }
  void Warn(std::string_view locator, std::string_view why) override {
    if (Verbose()) fprintf(stderr, "warning: %.200s\n", std::string(why).c_str());
    Check(ValidUtf8(why), "a warning is not UTF-8 (SyncRun.errors would not parse)");
  }
  void Note(std::string_view what) override {}

  size_t emitted() const { return emitted_; }
  size_t rejected() const { return rejected_; }

 private:
  const connect::Mapping& mapping_;
  std::function<void(const v1::Fragment&)> also_;
  size_t emitted_ = 0, rejected_ = 0;
};

// Runs the registered connector `kind` (its library linked whole, so that it registers)
// with its default mapping and `input` as the configuration's "input" object, once,
// into a CheckingSink. A configuration the kind refuses is a broken property: targets
// only build valid ones.
inline void RunConnector(const std::string& kind, const nlohmann::json& input,
                         std::function<void(const v1::Fragment&)> also = {}) {
  const connect::ConnectorKind* k = connect::FindConnector(kind);
  Check(k != nullptr, "the connector kind is not linked in");
  connect::SourceConfig config;
  config.file = (ScratchDir() / "source.json").string();
  config.id = "fuzz";
  config.kind = kind;
  config.mapping = k->default_mapping();
  config.input_json = input.dump();
  absl::StatusOr<std::unique_ptr<connect::Connector>> connector = k->make(config);
  Check(connector.ok(), "the connector refuses a valid configuration");
  CheckingSink sink(config.mapping, std::move(also));
  absl::StatusOr<connect::ReadResult> read = (*connector)->Read(connect::ReadRequest{}, sink);
  if (!read.ok())
    Check(ValidUtf8(std::string(read.status().message())), "a read error is not UTF-8");
}

}  // namespace tessera::fuzz
