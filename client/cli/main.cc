// tessera: the command-line tool for a Tessera directory.

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "client/cli/commands.h"
#include "client/lib/credential_flags.h"

namespace {

constexpr char kDescription[] =
    "tessera - look people up in a Tessera directory and keep it in sync.\n\n"
    "Examples:\n"
    "  tessera experts \"Ma carte est bloquée\" --customer twitter:@bob   who can solve this, and "
    "why\n"
    "  tessera ingest hr.jsonl ldap.jsonl       load fragments (one JSON object per line)\n"
    "  tessera get email:alice@example.com      one unified profile (--provenance: where each "
    "value came from)\n"
    "  tessera search ali mar                   people whose names, e-mails or handles start so\n"
    "  tessera neighbors 12 --type reports_to   walk the graph\n"
    "  tessera watch --after 1200 --profiles    follow profile changes as they happen\n"
    "  tessera admin conflicts                  identifiers that disagree across sources\n\n"
    "The server is --server, else $TESSERA_SERVER, else 127.0.0.1:50051. With authentication\n"
    "on, give a token (--token-file or $TESSERA_TOKEN) or a client certificate (--cert/--key);\n"
    "--ca turns TLS on.\n"
    "Exit status: 0 on success, 1 when the call failed (one line on stderr says why),\n"
    "2 for a usage error.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace tessera::cli;
  Globals g;
  if (const char* env = std::getenv("TESSERA_SERVER"); env != nullptr && *env != '\0')
    g.client.server = env;
  CLI::App app{kDescription, "tessera"};
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--server", g.client.server, "tesserad address host:port")->capture_default_str();
  app.add_flag("--json", g.json, "print results as JSON (the protobuf messages' JSON form)");
  app.add_option("--timeout-ms", g.client.timeout_ms, "deadline of each call, 0 for none")
      ->capture_default_str()
      ->check(CLI::Range(0, 3'600'000));
  app.add_option("--reason", g.client.reason,
                 "why you make this call (e.g. a ticket id); kept in the server's audit log");
  app.add_option("--min-position", g.client.min_position,
                 "replicated mode: answer only once the replica has applied this log position "
                 "(an ingest prints the position of its writes)");
  tessera::client::CredentialFlags credentials;
  credentials.Add(app, "client");

  std::vector<Command> commands = {AddExperts(app), AddIngest(app),    AddGet(app),
                                   AddSearch(app),  AddNeighbors(app), AddWatch(app),
                                   AddOutcome(app), AddHistory(app),   AddHealth(app)};
  for (Command& c : AddAdmin(app)) commands.push_back(std::move(c));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is a "parse error" with code 0; every real one is a usage error: 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (absl::Status s = credentials.Load(g.client); !s.ok()) {
    fprintf(stderr, "tessera: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  const tessera::client::Client client(g.client);
  for (const Command& c : commands) {
    if (c.app->parsed()) return c.run(client, g);
  }
  fprintf(stderr, "tessera: no command given; see tessera --help\n");
  return 2;
}
