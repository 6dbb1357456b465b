#pragma once

// The tessera CLI's subcommands. Each Add* registers one on the app and returns a
// runner that the main function calls when that subcommand was given.

#include <functional>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "client/cli/output.h"
#include "client/lib/client.h"
#include "client/lib/text_formats.h"

namespace tessera::cli {

struct Globals {
  client::ClientOptions client;
  bool json = false;
};

// Runs a subcommand: returns the process exit code.
using Runner = std::function<int(const client::Client&, const Globals&)>;

struct Command {
  CLI::App* app;
  Runner run;
};

Command AddIngest(CLI::App& app);
Command AddGet(CLI::App& app);
Command AddSearch(CLI::App& app);
Command AddNeighbors(CLI::App& app);
Command AddWatch(CLI::App& app);
Command AddHealth(CLI::App& app);
Command AddExperts(CLI::App& app);
Command AddOutcome(CLI::App& app);
Command AddHistory(CLI::App& app);

// A customer as an agent has them: "type:value" with a known type, else a bare value
// (an e-mail, a phone number, an @handle, a profile id) that tesserad recognises.
v1::Identifier CustomerFrom(const std::string& text);
// The admin subcommands, each its own Command.
std::vector<Command> AddAdmin(CLI::App& app);

// Prints "tessera: CODE: message" on stderr and returns the exit code for it (1).
int Fail(const absl::Status& s);

// Prints a call's result (as JSON with --json, else with `print`) or its error.
template <typename Resp>
int Show(const absl::StatusOr<Resp>& r, const Globals& g, void (*print)(const Resp&)) {
  if (!r.ok()) return Fail(r.status());
  if (g.json) {
    PrintJson(*r);
  } else {
    print(*r);
  }
  return 0;
}

// Sets the oneof `id`/`identifier` of a request from a command-line profile name
// (a profile id or "type:value").
template <typename Req>
[[nodiscard]] absl::Status SetProfile(const std::string& text, Req& req) {
  absl::StatusOr<client::ProfileName> name = client::ParseProfileName(text);
  if (!name.ok()) return name.status();
  if (name->id != 0) {
    req.set_id(name->id);
  } else {
    *req.mutable_identifier() = name->identifier;
  }
  return absl::OkStatus();
}

}  // namespace tessera::cli
