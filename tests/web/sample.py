"""What the web tests share (json_api.py, console.py, a11y.py, tests/bench/console_bench.py):
the sample organisation (tests/data/sample) loaded into tesserad with `tessera ingest`, and
the arguments their runners pass (sample.sh)."""

import os
import subprocess

from scimlib import UsageError

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE_FILES = ("hr.jsonl", "ldap.jsonl", "crm.jsonl", "helpdesk.jsonl", "social.jsonl", "wiki.jsonl")


def add_args(p):
    """The tokens and paths sample.sh's web_run_python passes."""
    p.add_argument("--agent-token", default="", help="web-agent (role agent)")
    p.add_argument("--reader-token", default="", help="web-reader (role reader)")
    p.add_argument("--loader-token", default="", help="a connector of the sample's sources")
    p.add_argument("--cli", default="", help="the tessera command, to load the sample")
    p.add_argument("--sample", default=os.path.join(HERE, "..", "data", "sample"))


def load(files, args):
    """Ingests JSON-lines files with the tessera command as the loader; UsageError when
    anything is rejected."""
    cmd = [args.cli, "--server", args.grpc, "ingest"] + list(files)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                       env=dict(os.environ, TESSERA_TOKEN=args.loader_token))
    if r.returncode != 0:
        raise UsageError("loading %s failed (%s):\n%s" % (", ".join(files), " ".join(cmd), r.stdout))


def load_sample(args):
    load([os.path.join(args.sample, f) for f in SAMPLE_FILES], args)
