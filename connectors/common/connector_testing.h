#pragma once

// Test fixture for connector integration tests: a real tesserad on a loopback port,
// configuration files in a temporary folder, and tessera-connect run as a person would.

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "client/lib/client.h"
#include "tessera/v1/admin.pb.h"
#include "tessera/v1/expertise.pb.h"
#include "tests/integration/tesserad_process.h"
#include "tests/unit/temp_dir.h"

namespace tessera::testing {

struct ConnectResult {
  int exit = -1;
  std::string out, err;
};

class ConnectorFixture {
 public:
  ConnectorFixture() : server_(tmp.path()) {
    server_.Start();
    client::ClientOptions o;
    o.server = server_.address();
    client_ = std::make_unique<client::Client>(o);
  }

  std::string Write(const std::string& name, const std::string& content) const {
    std::ofstream(tmp.Sub(name), std::ios::binary | std::ios::trunc) << content;
    return tmp.Sub(name);
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Runs tessera-connect with `args` against this server.
  ConnectResult Connect(const std::string& args, const std::string& server = "") const {
    const std::string out = tmp.Sub("connect.out"), err = tmp.Sub("connect.err");
    const std::string cmd = std::string(TESSERA_CONNECT_PATH) + " --quiet --server " +
                            (server.empty() ? server_.address() : server) + " " + args + " >" +
                            out + " 2>" + err;
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, Read(out), Read(err)};
  }
  // Loads employees from `csv` (an HR export with a header) through the csv connector,
  // as source "hr"; throws when the sync fails.
  void SyncEmployees(const std::string& csv) const {
    Write("people.csv", csv);
    const ConnectResult hr =
        Connect("--config " + Write("hr.json", R"({"source": {"id": "hr", "kind": "csv"},
      "input": {"path": "people.csv"}})"));
    if (hr.exit != 0) throw std::runtime_error("HR sync failed: " + hr.err);
  }
  // Runs the tessera CLI.
  ConnectResult Cli(const std::string& args) const {
    const std::string out = tmp.Sub("cli.out"), err = tmp.Sub("cli.err");
    const std::string cmd = std::string(TESSERA_CLI_PATH) + " --server " + server_.address() + " " +
                            args + " >" + out + " 2>" + err;
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, Read(out), Read(err)};
  }

  // The profile an identifier ("email:x") belongs to; NOT_FOUND when none.
  absl::StatusOr<v1::Profile> Get(const std::string& identifier) const {
    v1::GetProfileRequest req;
    const size_t colon = identifier.find(':');
    req.mutable_identifier()->set_type(identifier.substr(0, colon));
    req.mutable_identifier()->set_value(identifier.substr(colon + 1));
    return client_->GetProfile(req);
  }
  // An attribute of that profile ("" when absent, "<status>" without a profile).
  std::string AttrOf(const std::string& identifier, const std::string& name) const {
    auto p = Get(identifier);
    return p.ok() ? Attr(*p, name) : "<" + p.status().ToString() + ">";
  }
  bool Missing(const std::string& identifier) const {
    return Get(identifier).status().code() == absl::StatusCode::kNotFound;
  }
  uint64_t IdOf(const std::string& identifier) const {
    auto p = Get(identifier);
    return p.ok() ? p->id() : 0;
  }
  // The outgoing edges of type `type` of the profile `from` ("email:x").
  absl::StatusOr<v1::NeighborsResponse> Out(const std::string& from,
                                            const std::string& type) const {
    v1::NeighborsRequest req;
    const size_t colon = from.find(':');
    req.mutable_identifier()->set_type(from.substr(0, colon));
    req.mutable_identifier()->set_value(from.substr(colon + 1));
    req.set_type(type);
    req.set_direction(v1::OUT);
    return client_->Neighbors(req);
  }
  // The names FindExperts gives for `text`, best first, joined with ", " (or the error).
  std::string Experts(const std::string& text) const {
    v1::FindExpertsRequest req;
    req.set_text(text);
    absl::StatusOr<v1::FindExpertsResponse> r = client_->FindExperts(req);
    if (!r.ok()) return r.status().ToString();
    std::string names;
    for (const v1::Expert& e : r->experts())
      names += (names.empty() ? "" : ", ") + e.person().display_name();
    return names;
  }
  // The stored fragment `source`/`external_id` (empty when absent).
  v1::Fragment Fragment(const std::string& source, const std::string& external_id) const {
    v1::FragmentRef ref;
    ref.set_source(source);
    ref.set_external_id(external_id);
    absl::StatusOr<v1::GetFragmentResponse> r = client_->GetFragment(ref);
    return r.ok() ? r->fragment() : v1::Fragment();
  }
  // The last run tesserad recorded for `source`.
  v1::Source Source(const std::string& id) const {
    absl::StatusOr<v1::ListSourcesResponse> r = client_->ListSources();
    if (r.ok()) {
      for (const v1::Source& s : r->sources()) {
        if (s.id() == id) return s;
      }
    }
    return v1::Source();
  }
  static std::string Attr(const v1::Profile& p, const std::string& name) {
    for (const auto& a : p.attributes()) {
      if (a.name() == name) return a.value();
    }
    return "";
  }

  const client::Client& client() const { return *client_; }
  const std::string& address() const { return server_.address(); }
  TesseradProcess& server() { return server_; }

  TempDir tmp;

 private:
  TesseradProcess server_;
  std::unique_ptr<client::Client> client_;
};

}  // namespace tessera::testing
