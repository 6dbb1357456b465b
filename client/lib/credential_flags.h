#pragma once

// The credential flags of Tessera's command-line tools (tessera, tessera-connect).
// Header-only: only programs that already use CLI11 include it.

#include <string>

#include "CLI/CLI.hpp"
#include "client/lib/client.h"

namespace tessera::client {

struct CredentialFlags {
  std::string ca, cert, key, token_file;

  // Adds --ca, --cert, --key and --token-file; `who` ends the --cert help ("client").
  void Add(CLI::App& app, const std::string& who) {
    app.add_option("--ca", ca, "TLS: PEM file of the CA that signed tesserad's certificate")
        ->check(CLI::ExistingFile);
    app.add_option("--cert", cert, "mutual TLS: this " + who + "'s certificate (PEM; with --key)")
        ->check(CLI::ExistingFile);
    app.add_option("--key", key, "mutual TLS: this " + who + "'s private key (PEM)")
        ->check(CLI::ExistingFile);
    app.add_option("--token-file", token_file,
                   "bearer token file (first line); else $TESSERA_TOKEN")
        ->check(CLI::ExistingFile);
  }
  [[nodiscard]] absl::Status Load(ClientOptions& options) const {
    return LoadCredentials(options, ca, cert, key, token_file);
  }
};

}  // namespace tessera::client
