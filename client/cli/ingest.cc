// tessera ingest: fragments from JSON-lines files into tesserad.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "client/cli/commands.h"
#include "client/cli/output.h"
#include "client/lib/ingester.h"
#include "client/lib/text_formats.h"
#include "nlohmann/json.hpp"

namespace tessera::cli {
namespace {

constexpr size_t kMaxLineBytes = 1 << 20;  // the server's fragment limit is far below

struct IngestArgs {
  std::vector<std::string> files;
  size_t batch_size = 1000;
  std::string batch_time;
  bool bulk = false;
};

// Progress on stderr: rewritten in place on a terminal, a line every 10 s otherwise.
class Progress {
 public:
  Progress() : tty_(isatty(STDERR_FILENO) != 0), start_(Clock::now()), last_(start_) {}
  void Update(const client::IngestProgress& p, bool force = false) {
    const auto now = Clock::now();
    if (!force && now - last_ < (tty_ ? std::chrono::milliseconds(500) : std::chrono::seconds(10)))
      return;
    if (force && !shown_ && now - start_ < std::chrono::seconds(2))
      return;  // short runs: summary only
    last_ = now;
    const double secs = std::chrono::duration<double>(now - start_).count();
    fprintf(stderr, "%singest: %llu fragments in %llu batches, %.0f/s%s", tty_ ? "\r" : "",
            static_cast<unsigned long long>(p.fragments()),
            static_cast<unsigned long long>(p.batches), secs > 0 ? p.fragments() / secs : 0.0,
            tty_ ? "" : "\n");
    shown_ = true;
  }
  void Done() {
    if (tty_ && shown_) fprintf(stderr, "\n");
  }
  double Seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  using Clock = std::chrono::steady_clock;
  bool tty_;
  bool shown_ = false;
  Clock::time_point start_, last_;
};

int Run(const IngestArgs& args, const client::Client& client, const Globals& g) {
  client::IngestOptions options;
  options.batch_size = args.batch_size;
  options.bulk = args.bulk;
  if (!args.batch_time.empty()) {
    absl::StatusOr<int64_t> t = client::ParseTime(args.batch_time);
    if (!t.ok())
      return Fail(absl::InvalidArgumentError("--batch-time: " + std::string(t.status().message())));
    options.batch_time_ms = *t;
  }
  Progress progress;
  // Tags number lines across all files; file_starts maps a tag back to "file:line".
  std::vector<std::pair<uint64_t, std::string>> file_starts;
  auto where = [&](uint64_t tag) {
    size_t i = file_starts.size() - 1;
    while (i > 0 && file_starts[i].first > tag) --i;
    return file_starts[i].second + ":" + std::to_string(tag - file_starts[i].first + 1);
  };
  uint64_t local_rejects = 0;
  options.on_progress = [&](const client::IngestProgress& p) { progress.Update(p); };
  options.on_reject = [&](uint64_t tag, const absl::Status& why) {
    fprintf(stderr, "%s: rejected: %s\n", where(tag).c_str(), std::string(why.message()).c_str());
  };
  client::Ingester ingester(client, options);
  uint64_t tag = 0;
  for (const std::string& file : args.files) {
    std::ifstream in_file;
    if (file != "-") {
      in_file.open(file);
      if (!in_file) return Fail(absl::NotFoundError("cannot read '" + file + "'"));
    }
    std::istream& in = file == "-" ? std::cin : in_file;
    file_starts.emplace_back(tag, file == "-" ? "stdin" : file);
    std::string line;
    while (std::getline(in, line)) {
      const uint64_t this_tag = tag++;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank line
      absl::StatusOr<v1::Fragment> f = line.size() > kMaxLineBytes
                                           ? absl::InvalidArgumentError("line is longer than 1 MiB")
                                           : client::ParseFragmentJson(line);
      if (!f.ok()) {
        ++local_rejects;
        fprintf(stderr, "%s: rejected: %s\n", where(this_tag).c_str(),
                std::string(f.status().message()).c_str());
        continue;
      }
      if (absl::Status s = ingester.Add(*std::move(f), this_tag); !s.ok()) return Fail(s);
    }
  }
  absl::StatusOr<client::IngestProgress> done = ingester.Finish();
  if (!done.ok()) return Fail(done.status());
  progress.Update(*done, true);
  progress.Done();
  client::IngestProgress p = *done;
  p.rejected += local_rejects;
  if (g.json) {
    nlohmann::json j = {{"added", p.added},           {"updated", p.updated},
                        {"unchanged", p.unchanged},   {"stale", p.stale},
                        {"deleted", p.deleted},       {"rejected", p.rejected},
                        {"suppressed", p.suppressed}, {"batches", p.batches},
                        {"sequence", p.sequence},     {"position", p.position}};
    if (args.bulk) {
      j["bulk"] = {{"postings_keys", p.bulk.keys()},
                   {"sst_files", p.bulk.files()},
                   {"sst_bytes", p.bulk.sst_bytes()},
                   {"sorted_runs", p.bulk.runs()},
                   {"seconds", p.bulk.seconds()}};
    }
    printf("%s\n", j.dump(2).c_str());
  } else {
    printf(
        "added %llu, updated %llu, unchanged %llu, stale %llu, deleted %llu, rejected %llu, "
        "suppressed %llu "
        "(%llu fragments in %llu batches, %.1f s)\n",
        static_cast<unsigned long long>(p.added), static_cast<unsigned long long>(p.updated),
        static_cast<unsigned long long>(p.unchanged), static_cast<unsigned long long>(p.stale),
        static_cast<unsigned long long>(p.deleted), static_cast<unsigned long long>(p.rejected),
        static_cast<unsigned long long>(p.suppressed),
        static_cast<unsigned long long>(p.fragments()), static_cast<unsigned long long>(p.batches),
        progress.Seconds());
    if (p.position != 0) {
      printf("log position %llu: read these writes from any replica with --min-position %llu\n",
             static_cast<unsigned long long>(p.position),
             static_cast<unsigned long long>(p.position));
    }
    if (args.bulk) {
      printf(
          "bulk load: %llu postings keys in %llu SST files (%.1f MiB, %llu sorted runs), "
          "ingested in %.1f s\n",
          static_cast<unsigned long long>(p.bulk.keys()),
          static_cast<unsigned long long>(p.bulk.files()), p.bulk.sst_bytes() / 1048576.0,
          static_cast<unsigned long long>(p.bulk.runs()), p.bulk.seconds());
    }
  }
  return p.rejected == 0 ? 0 : 1;
}

}  // namespace

Command AddIngest(CLI::App& app) {
  auto args = std::make_shared<IngestArgs>();
  CLI::App* sub = app.add_subcommand(
      "ingest",
      "Load fragments from JSON-lines files ('-' for stdin), one fragment per line, in batches.\n"
      "A line the server rejects is reported with its file:line and skipped; the rest goes in.\n"
      "Prints added/updated/unchanged/stale/deleted/rejected/suppressed; exits 1 if anything was "
      "rejected.");
  sub->add_option("files", args->files, "JSONL files (README.md: \"Fragment JSONL format\")")
      ->required();
  sub->add_option("--batch-size", args->batch_size, "fragments per batch")
      ->capture_default_str()
      ->check(CLI::Range(1, 5000));
  sub->add_option("--batch-time", args->batch_time,
                  "batch time (RFC 3339) for fragments without updated_at; default: when the "
                  "server receives them");
  sub->add_flag("--bulk", args->bulk,
                "load as a bulk load (a first sync of many records): the expertise index is "
                "sorted apart and ingested as SST files at the end, which is faster; the "
                "evidence becomes searchable when the command ends");
  return {sub, [args](const client::Client& c, const Globals& g) { return Run(*args, c, g); }};
}

}  // namespace tessera::cli
