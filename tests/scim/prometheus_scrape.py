#!/usr/bin/python3
"""A real Prometheus scrapes tesserad's /metrics: what it stores is what the README promises.

Starts Debian's prometheus (/usr/bin/prometheus) on a free loopback port with a throwaway
TSDB and a configuration scraping tesserad's HTTP listener at /metrics every second (job
"tesserad", no token: the listener is on loopback), ingests a fragment by POSTing a SCIM
user, reads /metrics itself (200 without a token, text format 0.0.4, the families named
below), then polls Prometheus' HTTP API (/api/v1/query) until, within --deadline seconds of the
ingest (one deadline for all four):
  - up{job="tesserad"} is 1;
  - tessera_fragments_ingested_total{outcome="added"} is >= 1;
  - tessera_rocksdb_block_cache_capacity_bytes is present and > 0 (equal to
    --block-cache-bytes when given);
  - tessera_requests_total{transport="http",method="Scim.Write",code="OK"} is >= 1.
On a failure it prints the scrape target's state and lastError
(/api/v1/targets) and the end of Prometheus' log. Prometheus is stopped at the end
(SIGTERM, then SIGKILL after 10 s).

Output: one line per failed case (every case with -v), then "N passed, M failed". Exit
status 0 when no case failed, 1 otherwise, 2 on usage errors. run_prometheus_test.sh
starts tesserad and passes every argument.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from scimlib import (CheckFailed, ScimClient, Tally, UsageError, add_common_args, expect_status,
                     require, user_body)

JOB = "tesserad"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout):
    """(status, content type, body text) of a GET; a refused connection raises OSError."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode("utf-8", "replace")


class Prometheus:
    """One prometheus process on a loopback port, with its configuration and TSDB in workdir."""

    def __init__(self, binary, workdir, target, timeout, pid_file=None):
        self.binary = binary
        self.workdir = workdir
        self.target = target
        self.timeout = timeout
        self.pid_file = pid_file
        self.proc = None
        self.port = None
        self.log_path = os.path.join(workdir, "prometheus.log")

    def config(self):
        return ("global:\n"
                "  scrape_interval: 1s\n"
                "  scrape_timeout: 1s\n"
                "  evaluation_interval: 1s\n"
                "scrape_configs:\n"
                "  - job_name: %s\n"
                "    metrics_path: /metrics\n"
                "    scheme: http\n"
                "    static_configs:\n"
                "      - targets: [\"%s\"]\n" % (JOB, self.target))

    def start(self, deadline_s):
        """Starts it and waits for /-/ready; a port taken meanwhile is retried (3 times)."""
        os.makedirs(self.workdir, exist_ok=True)
        config_path = os.path.join(self.workdir, "prometheus.yml")
        with open(config_path, "w") as f:
            f.write(self.config())
        for attempt in range(3):
            self.port = free_port()
            tsdb = os.path.join(self.workdir, "tsdb-%d" % attempt)
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [self.binary, "--config.file=" + config_path, "--storage.tsdb.path=" + tsdb,
                 "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=info"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            log.close()
            if self.pid_file:
                with open(self.pid_file, "w") as f:
                    f.write("%d\n" % self.proc.pid)
            deadline = time.monotonic() + deadline_s
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    status, _, _ = http_get(self.url("/-/ready"), 2)
                    if status == 200:
                        return
                except OSError:
                    pass
                time.sleep(0.2)
            if self.proc.poll() is None:
                raise CheckFailed("prometheus (pid %d) not ready on 127.0.0.1:%d within %g s; "
                                  "log:\n%s"
                                  % (self.proc.pid, self.port, deadline_s, self.log_tail()))
            if "address already in use" not in self.log_tail():
                raise CheckFailed("prometheus exited with %d; log:\n%s"
                                  % (self.proc.returncode, self.log_tail()))
        raise CheckFailed("prometheus found no free port in 3 attempts; log:\n%s" % self.log_tail())

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def api(self, path, **params):
        query = "?" + urllib.parse.urlencode(params) if params else ""
        status, _, text = http_get(self.url(path + query), self.timeout)
        try:
            doc = json.loads(text)
        except ValueError:
            raise CheckFailed("GET %s%s: %d, not JSON: %s" % (path, query, status, text[:200]))
        if status != 200 or doc.get("status") != "success":
            raise CheckFailed("GET %s%s: %d %s" % (path, query, status, text[:300]))
        return doc["data"]

    def query(self, expr):
        """[(labels, float value)] of an instant query."""
        data = self.api("/api/v1/query", query=expr)
        if data.get("resultType") != "vector":
            raise CheckFailed("query %s: resultType %s, expected vector" % (expr,
                                                                         data.get("resultType")))
        return [(r["metric"], float(r["value"][1])) for r in data["result"]]

    def targets(self):
        """The state of the scrape targets, for a failure message."""
        try:
            active = self.api("/api/v1/targets").get("activeTargets", [])
        except (CheckFailed, OSError) as e:
            return "(cannot read /api/v1/targets: %s)" % e
        if not active:
            return "no active targets"
        return "; ".join("target %s job=%s health=%s lastScrape=%s lastError=%r"
                         % (t.get("scrapeUrl"), t.get("labels", {}).get("job"), t.get("health"),
                            t.get("lastScrape"), t.get("lastError")) for t in active)

    def log_tail(self, lines=20):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.rstrip("\n").split("\n")[-lines:])

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.pid_file:
            # Stopped: nobody must signal that process id again (it may be reused).
            try:
                os.remove(self.pid_file)
            except FileNotFoundError:
                pass


class Env:
    def __init__(self, args, client, prom):
        self.args = args
        self.client = client
        self.prom = prom
        self.started = False
        self.deadline_at = None  # one deadline for all the series, from the ingest on


def wait_for(env, expr, ok, what):
    """Polls the query until ok(samples) holds, at most --deadline seconds."""
    if not env.started:
        raise CheckFailed("not run: prometheus did not start")
    if env.deadline_at is None:
        env.deadline_at = time.monotonic() + env.args.deadline
    deadline = env.deadline_at
    samples = []
    while True:
        samples = env.prom.query(expr)
        if ok(samples):
            return samples
        if time.monotonic() >= deadline:
            raise CheckFailed("%g s after the ingest, %s gives %s, expected %s | %s"
                              % (env.args.deadline, expr,
                                 [("%s" % ",".join("%s=%s" % kv for kv in sorted(m.items())), v)
                                  for m, v in samples] or "no sample", what,
                                 env.prom.targets()))
        time.sleep(0.25)


def check_metrics_page(env):
    status, ctype, text = http_get(env.args.http_base + "/metrics", env.args.timeout)
    problems = []
    if status != 200:
        problems.append("status %d: %s" % (status, text[:200]))
    if not ctype.startswith("text/plain") or "version=0.0.4" not in ctype:
        problems.append("Content-Type %r, expected text/plain; version=0.0.4" % ctype)
    # (A family with no sample yet has no lines at all: requests_total has one after the
    # POST, which the gate counted before answering.)
    for family, kind in (("tessera_requests_total", "counter"),
                         ("tessera_fragments_ingested_total", "counter"),
                         ("tessera_rocksdb_block_cache_capacity_bytes", "gauge")):
        if "# TYPE %s %s" % (family, kind) not in text:
            problems.append("no '# TYPE %s %s' line" % (family, kind))
    if problems:
        raise CheckFailed("GET /metrics (no token, loopback): " + "; ".join(problems))


def start_prometheus(env):
    env.prom.start(env.args.deadline)
    env.started = True


def ingest(env):
    name = "prom.%s@example.com" % uuid.uuid4().hex[:10]
    env.deadline_at = time.monotonic() + env.args.deadline
    expect_status(env.client.post("/Users", user_body(name, "Prom", "Etheus", emails=[name])), 201,
                  what="POST /Users " + name)


def check_up(env):
    wait_for(env, 'up{job="%s"}' % JOB, lambda s: len(s) == 1 and s[0][1] == 1, "one sample, 1")


def check_ingested(env):
    wait_for(env, 'tessera_fragments_ingested_total{job="%s",outcome="added"}' % JOB,
             lambda s: len(s) == 1 and s[0][1] >= 1, "one sample >= 1")


def check_block_cache(env):
    want = env.args.block_cache_bytes
    wait_for(env, 'tessera_rocksdb_block_cache_capacity_bytes{job="%s"}' % JOB,
             lambda s: len(s) == 1 and (s[0][1] == want if want else s[0][1] > 0),
             "one sample, %s" % (want if want else "> 0"))


def check_requests(env):
    wait_for(env, 'tessera_requests_total{job="%s",transport="http",method="Scim.Write",code="OK"}'
             % JOB, lambda s: len(s) == 1 and s[0][1] >= 1, "one sample >= 1")


def parse_args(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(p, here)
    p.add_argument("--http-base", help="tesserad's HTTP listener, http://127.0.0.1:PORT")
    p.add_argument("--prometheus", default="/usr/bin/prometheus",
                   help="the prometheus binary (default: %(default)s)")
    p.add_argument("--workdir", default="",
                   help="folder for Prometheus' configuration, TSDB and log (default: a "
                   "temporary folder)")
    p.add_argument("--pid-file", default="", help="write prometheus' process id here")
    p.add_argument("--deadline", type=float, default=60.0,
                   help="seconds to wait for Prometheus to start, and for all the series "
                   "after the ingest (default %(default)s)")
    p.add_argument("--block-cache-bytes", type=float, default=0,
                   help="the block cache capacity tesserad was given (default: only > 0 is "
                   "checked)")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    try:
        require(args, "base", "token", "http_base")
        if not os.access(args.prometheus, os.X_OK):
            raise UsageError("%s is not an executable (apt-get install prometheus)"
                             % args.prometheus)
        client = ScimClient(args.base, args.token, args.timeout)
        target = urllib.parse.urlsplit(args.http_base).netloc
        if not target:
            raise UsageError("--http-base %r is not a URL" % args.http_base)
    except UsageError as e:
        print("prometheus_scrape: error: %s" % e, file=sys.stderr)
        return 2
    workdir = args.workdir or tempfile.mkdtemp(prefix="tessera-prometheus-")
    prom = Prometheus(args.prometheus, workdir, target, min(args.timeout, 10.0), args.pid_file)
    env = Env(args, client, prom)
    tally = Tally(args.verbose)
    try:
        tally.run("prometheus started on loopback and ready", start_prometheus, env)
        tally.run("a fragment ingested (POST /Users -> 201)", ingest, env)
        tally.run("tesserad /metrics on loopback without a token: Prometheus text format",
                  check_metrics_page, env)
        tally.run('up{job="%s"} is 1' % JOB, check_up, env)
        tally.run('tessera_fragments_ingested_total{outcome="added"} >= 1', check_ingested, env)
        tally.run("tessera_rocksdb_block_cache_capacity_bytes present", check_block_cache, env)
        tally.run('tessera_requests_total{transport="http",method="Scim.Write",code="OK"} >= 1',
                  check_requests, env)
        if tally.failed and env.started:
            print("prometheus log (last lines):\n" + prom.log_tail(), flush=True)
    finally:
        prom.stop()
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
