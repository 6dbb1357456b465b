// tessera-connect: syncs one source into Tessera through its connector.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "CLI/CLI.hpp"
#include "client/lib/client.h"
#include "client/lib/credential_flags.h"
#include "connectors/common/config.h"
#include "connectors/common/connector.h"
#include "connectors/common/sync.h"

namespace {

using namespace tessera;

std::string Description() {
  std::string d =
      "tessera-connect - sync one source (LDAP, HR export, CRM, helpdesk, knowledge pages,\n"
      "social conversations) into a Tessera directory.\n\n"
      "  tessera-connect --config hr.json              full sync: send every record, delete what\n"
      "                                                disappeared from the source\n"
      "  tessera-connect --config ldap.json --incremental   only what changed since the last run\n"
      "  tessera-connect --config crm.json --dry-run   say what would change; send nothing\n"
      "  tessera-connect --config helpdesk.json --bulk a first sync of many records, faster\n\n"
      "The configuration file (JSON) names the source, its kind, how to reach it and how its\n"
      "fields map to attributes, identifiers and relations; see connectors/README.md.\n"
      "The checkpoint (<source id>.state) is kept in state_dir, by default beside the file.\n\n"
      "Connector kinds:\n";
  for (const connect::ConnectorKind* k : connect::AllConnectors()) {
    d += "  " + k->name + std::string(k->name.size() < 10 ? 10 - k->name.size() : 1, ' ') +
         k->help + "\n";
  }
  d += "\nExit status: 0 when every record was applied, 3 when the run finished but some\n"
       "records were rejected (listed on stderr and in `tessera admin sources`), 1 when the\n"
       "source or tesserad could not be used, 2 for a usage error.\n";
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_file, server, state_dir;
  bool full = false, incremental = false, dry_run = false, allow_empty = false,
       allow_deletes = false, quiet = false, bulk = false;
  int timeout_ms = 0;
  CLI::App app{Description(), "tessera-connect"};
  app.add_option("--config", config_file, "the source's configuration file (JSON)")
      ->required()
      ->check(CLI::ExistingFile);
  auto* f = app.add_flag("--full", full,
                         "read everything; records gone from the source are deleted (the default)");
  app.add_flag("--incremental", incremental, "send only what changed since the last run")
      ->excludes(f);
  app.add_flag("--dry-run", dry_run,
               "compare with the last run; list who would be added, updated and deleted (external "
               "id and name) "
               "and print the counts; change nothing");
  app.add_flag("--allow-empty", allow_empty,
               "let a source that yields no records delete everything it sent before");
  app.add_flag("--allow-deletes", allow_deletes,
               "let this run delete more than the source's max_delete_share (default 20%) of the "
               "records synced "
               "before");
  app.add_flag("--bulk", bulk,
               "send the run as a bulk load, for a first sync of many records: tesserad sorts "
               "the expertise index apart and ingests it as SST files when the run ends (faster "
               "than the memtable; the run's evidence is searchable once it ends)");
  app.add_option("--server", server,
                 "tesserad host:port (overrides the file; else $TESSERA_SERVER)");
  app.add_option("--state-dir", state_dir, "where the checkpoint lives (overrides the file)");
  app.add_option("--timeout-ms", timeout_ms, "deadline of each call to tesserad")
      ->check(CLI::Range(100, 3'600'000));
  app.add_flag("-q,--quiet", quiet, "no progress line");
  client::CredentialFlags credentials;
  credentials.Add(app, "connector");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  absl::StatusOr<connect::SourceConfig> config =
      connect::LoadConfig(config_file, &connect::DefaultMapping);
  if (!config.ok()) {
    fprintf(stderr, "tessera-connect: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  if (const char* env = std::getenv("TESSERA_SERVER");
      env != nullptr && *env != '\0' && server.empty())
    server = env;
  if (!server.empty()) config->server = server;
  if (!state_dir.empty()) config->state_dir = state_dir;
  if (timeout_ms > 0) config->timeout_ms = timeout_ms;

  const connect::ConnectorKind* kind = connect::FindConnector(config->kind);
  absl::StatusOr<std::unique_ptr<connect::Connector>> connector = kind->make(*config);
  if (!connector.ok()) {
    fprintf(stderr, "tessera-connect: %s: %s\n", config_file.c_str(),
            std::string(connector.status().message()).c_str());
    return 2;
  }

  client::ClientOptions co;
  co.server = config->server;
  co.timeout_ms = static_cast<int>(config->timeout_ms);
  if (absl::Status s = credentials.Load(co); !s.ok()) {
    fprintf(stderr, "tessera-connect: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  const client::Client client(co);
  if (!dry_run) {
    if (absl::Status s = client.WaitReady(std::chrono::seconds(10)); !s.ok()) {
      fprintf(stderr, "tessera-connect: cannot reach tesserad at %s: %s\n", co.server.c_str(),
              std::string(s.message()).c_str());
      return 1;
    }
  }

  const bool tty = isatty(STDERR_FILENO) != 0;
  connect::SyncOptions options;
  options.incremental = incremental;
  options.dry_run = dry_run;
  options.allow_empty = allow_empty;
  options.allow_deletes = allow_deletes;
  options.bulk = bulk;
  if (bulk && !quiet) {
    options.on_bulk = [&](const v1::BulkLoadResult& b) {
      fprintf(stderr,
              "%s%s: bulk load: %llu postings keys in %llu SST files (%.1f MiB, %llu sorted "
              "runs), ingested in %.1f s\n",
              tty ? "\r\033[K" : "", config->id.c_str(), static_cast<unsigned long long>(b.keys()),
              static_cast<unsigned long long>(b.files()), b.sst_bytes() / 1048576.0,
              static_cast<unsigned long long>(b.runs()), b.seconds());
    };
  }
  if (dry_run) {
    // What would change, one line each, before the counts.
    options.on_planned = [](char op, std::string_view id, std::string_view name) {
      const char* what = op == '+' ? "add" : op == '~' ? "update" : "delete";
      printf("would %-6s %.*s%s%.*s\n", what, static_cast<int>(id.size()), id.data(),
             name.empty() ? "" : "  ", static_cast<int>(name.size()), name.data());
    };
  }
  size_t errors_shown = 0;
  options.on_error = [&](std::string_view e) {
    if (++errors_shown <= 50) {
      fprintf(stderr, "%s%s: %.*s\n", tty && !quiet ? "\r\033[K" : "", config->id.c_str(),
              static_cast<int>(e.size()), e.data());
    } else if (errors_shown == 51) {
      fprintf(stderr, "%s: more errors not shown\n", config->id.c_str());
    }
  };
  // On a terminal the progress line is redrawn in place; in a log, one line every 10 s.
  auto last_line = std::chrono::steady_clock::now();
  if (!quiet) {
    options.on_progress = [&](const v1::SyncRun& r, std::string_view note) {
      const auto now = std::chrono::steady_clock::now();
      if (!tty && now - last_line < std::chrono::seconds(10)) return;
      last_line = now;
      fprintf(stderr, "%s%s: %s%s%.*s%s", tty ? "\r\033[K" : "", config->id.c_str(),
              connect::FormatCounts(r).c_str(), note.empty() ? "" : " - ",
              static_cast<int>(note.size()), note.data(), tty ? "" : "\n");
    };
  }
  const auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<v1::SyncRun> run = connect::RunSync(*config, **connector, client, options);
  if (tty && !quiet) fprintf(stderr, "\r\033[K");
  if (!run.ok()) {
    fprintf(stderr, "tessera-connect: %s: %s\n", config->id.c_str(),
            std::string(run.status().message()).c_str());
    return 1;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  printf("%s%s %s sync %s: %s in %.1f s\n", dry_run ? "(dry run) " : "", config->id.c_str(),
         run->mode().c_str(), run->state().c_str(), connect::FormatCounts(*run).c_str(), secs);
  if (run->state() == "failed") {
    fprintf(stderr, "tessera-connect: %s: %s\n", config->id.c_str(), run->failure().c_str());
    return 1;
  }
  return run->state() == "partial" ? 3 : 0;
}
