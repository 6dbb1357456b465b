#pragma once

// The tessera CLI's subcommands. Each Add* registers one on the app and returns a
// runner that the main function calls when that subcommand was given.

#include <functional>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "client/lib/client.h"

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
Command AddHealth(CLI::App& app);
// The admin subcommands, each its own Command.
std::vector<Command> AddAdmin(CLI::App& app);

// Prints "tessera: CODE: message" on stderr and returns the exit code for it (1).
int Fail(const absl::Status& s);

}  // namespace tessera::cli
