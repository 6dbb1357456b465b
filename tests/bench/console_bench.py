"""The console's latency beside FindExperts' own, on the real tesserad: for each message,
the time from pressing "Find" to the rendered list in headless Chromium (measured in the
page, performance.now() from the submit to the status line announcing the results), and
the same FindExperts request over gRPC. Then the page's transfer size.

Run by console_bench.sh (README "Benchmarks"); prints a table.
"""

import argparse
import gzip
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "web"))
sys.path.insert(0, os.path.join(HERE, "..", "scim"))

import console as C  # noqa: E402
import sample  # noqa: E402
from scimlib import UsageError, connect  # noqa: E402

# Submits the form and resolves with the milliseconds until the status line announces the
# results (app.js says "N colleagues found." once the list is in the DOM).
MEASURE = """
const [text, done] = [arguments[0], arguments[arguments.length - 1]];
const status = document.getElementById('status');
document.getElementById('message').value = text;
document.getElementById('customer').value = '';
status.textContent = '';
const t0 = performance.now();
const obs = new MutationObserver(() => {
  const s = status.textContent;
  if (s && !s.endsWith('…')) { obs.disconnect(); done([performance.now() - t0, s]); }
});
obs.observe(status, {childList: true, characterData: true, subtree: true});
document.querySelector('#find-form button[type=submit]').click();
"""


def messages(sample_dir, n):
    """n customer-like messages: the first sentence of each sample case and conversation."""
    out = []
    for name in ("helpdesk.jsonl", "social.jsonl"):
        with open(os.path.join(sample_dir, name), encoding="utf-8") as f:
            for line in f:
                for ev in json.loads(line).get("evidence", []):
                    text = ev.get("text", "").split(". ")[0][:300]
                    if len(text.split()) >= 4:
                        out.append(text)
    if not out:
        raise UsageError("no messages in %s" % sample_dir)
    return [out[i % len(out)] for i in range(n)]


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    C.add_common_args(p, os.path.join(HERE, "..", "scim"))
    sample.add_args(p)
    p.add_argument("--chromium", default="/usr/bin/chromium")
    p.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    p.add_argument("--screenshots", default="")
    p.add_argument("--messages", type=int, default=100)
    p.add_argument("--no-load", action="store_true", help="the database already holds the data")
    p.add_argument("--label", default="sample organisation", help="what the database is, for the table")
    args = p.parse_args(argv)
    try:
        if not args.no_load:
            sample.load_sample(args)
        env = C.Env(args, args.base[:args.base.index("/scim/v2")])
        env.driver = env.browser()
        grpc_side = connect(args, args.agent_token)
    except UsageError as e:
        print("console_bench: error: %s" % e, file=sys.stderr)
        return 2
    texts = messages(args.sample, args.messages)
    page_ms, grpc_ms = [], []
    try:
        env.sign_in(args.agent_token)
        env.driver.set_script_timeout(60)
        env.driver.execute_async_script(MEASURE, texts[0])  # warm the page and the caches
        for text in texts:
            ms, status = env.driver.execute_async_script(MEASURE, text)
            if "Something went wrong" in status or "erreur" in status:
                raise SystemExit("console_bench: the page failed: %s" % status)
            page_ms.append(ms)
            t = grpc_side
            start = time.perf_counter()
            t.expertise.FindExperts(t.expertise_pb.FindExpertsRequest(text=text, channel="twitter", limit=10),
                                    metadata=t.metadata, timeout=30)
            grpc_ms.append((time.perf_counter() - start) * 1000)
        resources = env.driver.execute_script(
            "return performance.getEntriesByType('navigation').concat("
            "performance.getEntriesByType('resource')).map(e => [e.name, e.transferSize, e.decodedBodySize])")
    finally:
        env.driver.quit()
    files = {}
    for name, transfer, body in resources:
        path = name.split("?")[0]
        if "/console/" in path and path not in files:
            status, _, data = env.http.send("GET", path[path.index("/console/"):])
            files[path] = (len(data), len(gzip.compress(data, 9)), transfer)
    print("Console latency over %d messages (%s; %s)" % (len(texts), args.label, time.strftime("%Y-%m-%d")))
    print()
    print("| what | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|")
    print("| press Find → list rendered (Chromium) | %.1f | %.1f | %.1f |" % (pct(page_ms, 50), pct(page_ms, 95), max(page_ms)))
    print("| FindExperts over gRPC (Python client) | %.1f | %.1f | %.1f |" % (pct(grpc_ms, 50), pct(grpc_ms, 95), max(grpc_ms)))
    print("| the console's overhead (difference) | %.1f | %.1f | |" % (pct(page_ms, 50) - pct(grpc_ms, 50),
                                                                       pct(page_ms, 95) - pct(grpc_ms, 95)))
    print()
    raw = sum(v[0] for v in files.values())
    packed = sum(v[1] for v in files.values())
    print("Page: %d files, %.1f KB as sent (tesserad does not compress), %.1f KB gzip -9 (target <= 150 KB)"
          % (len(files), raw / 1024.0, packed / 1024.0))
    ok = pct(page_ms, 95) <= pct(grpc_ms, 95) + 50 and raw <= 150 * 1024
    print("Target: p95 <= FindExperts p95 + 50 ms: %s" % ("met" if ok else "NOT met"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
