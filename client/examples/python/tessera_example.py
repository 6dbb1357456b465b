#!/usr/bin/python3
"""A small Tessera client in Python, built from proto/ at run time.

It generates the Python stubs from proto/tessera/v1/*.proto with grpc_tools.protoc,
then, against a running tesserad:

  1. registers a demo source (Admin.PutSource);
  2. ingests four fragments in one batch (Directory.Ingest): two employees, a
     customer whose account manager is one of them, and a case the other resolved;
  3. reads profiles back by identifier (Directory.GetProfile), written differently
     from the way they were ingested, and checks the names and ids;
  4. asks who can solve a customer's message (Expertise.FindExperts) and checks that
     the employee who resolved a similar case is among the experts, with evidence.

Every step checks what it gets back; any failure prints one "tessera_example: ..."
line on stderr and exits 1. Re-running it against the same database is harmless: the
fragments come back UNCHANGED. Debian 12: apt-get install python3-grpcio
python3-grpc-tools, and run it with /usr/bin/python3 (see README.md beside it).
"""

import argparse
import importlib
import os
import subprocess
import sys
import tempfile

SOURCE_ID = "tessera-example"
TEAM = "Tessera Example Cards"
# Fixed times (2024-01-15 and 2024-03-02, UTC) so that every run ingests the same bytes.
UPDATED_AT_MS = 1705312800000
CASE_TIME_MS = 1709370000000


class ExampleError(Exception):
    """A failed step or check; main() prints it and exits 1."""


def parse_args(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    default_proto = os.path.normpath(os.path.join(here, "..", "..", "..", "proto"))
    p = argparse.ArgumentParser(
        description="Tessera Python example client: registers a source, ingests a few "
        "fragments, reads a profile back and asks FindExperts, checking each answer.",
        epilog="Exit status: 0 when every call and check succeeded, 1 otherwise, 2 on usage errors.",
    )
    p.add_argument("--server", required=True, metavar="HOST:PORT", help="tesserad address, e.g. 127.0.0.1:50051")
    p.add_argument("--token", default=os.environ.get("TESSERA_TOKEN", ""),
                   help="bearer token, sent as 'authorization: Bearer TOKEN' (default: $TESSERA_TOKEN; "
                   "needs roles connector and agent, and source %s)" % SOURCE_ID)
    p.add_argument("--proto-dir", default=default_proto, help="folder holding tessera/v1/*.proto (default: %(default)s)")
    p.add_argument("--stubs-dir", default="",
                   help="generate the Python stubs into this folder and keep them (default: a temporary folder)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the server and for each call")
    p.add_argument("--json", action="store_true",
                   help="also print the profile and the FindExperts answer as proto3 JSON (MessageToJson)")
    return p.parse_args(argv)


def generate_stubs(proto_dir, out_dir):
    """Runs grpc_tools.protoc over proto_dir/tessera/v1/*.proto into out_dir."""
    v1 = os.path.join(proto_dir, "tessera", "v1")
    try:
        protos = sorted(os.path.join(v1, f) for f in os.listdir(v1) if f.endswith(".proto"))
    except OSError as e:
        raise ExampleError("cannot list the .proto files in %s: %s (give --proto-dir)" % (v1, e.strerror))
    if not protos:
        raise ExampleError("no .proto files in %s (give --proto-dir)" % v1)
    os.makedirs(out_dir, exist_ok=True)
    cmd = [sys.executable, "-m", "grpc_tools.protoc", "-I" + proto_dir,
           "--python_out=" + out_dir, "--grpc_python_out=" + out_dir] + protos
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if r.returncode != 0:
        raise ExampleError("grpc_tools.protoc failed (exit %d):\n%s" % (r.returncode, r.stdout.strip()))


def check(condition, message):
    if not condition:
        raise ExampleError("check failed: " + message)


def fragments(pb):
    """The demo records: two employees, a customer, a case. Only this source writes them."""
    def ident(t, v):
        return pb.types.Identifier(type=t, value=v)

    def attrs(**kv):
        return [pb.types.Attribute(name=k, value=v) for k, v in kv.items()]

    alice = pb.types.Fragment(
        source=SOURCE_ID, external_id="emp-1001", version=1, kind="employee", updated_at_unix_ms=UPDATED_AT_MS,
        attributes=attrs(display_name="Alice Martin", title="Card support specialist", team=TEAM, location="Lyon"),
        identifiers=[ident("email", "alice.martin@example.org"), ident("employee_id", "EX-1001")],
        evidence=[pb.types.Evidence(kind="skill", title="Cards", language="en",
                                    text="Blocked cards, refused card payments, contactless limits.")])
    bruno = pb.types.Fragment(
        source=SOURCE_ID, external_id="emp-1002", version=1, kind="employee", updated_at_unix_ms=UPDATED_AT_MS,
        attributes=attrs(display_name="Bruno Keller", title="Account manager", team=TEAM, location="Paris"),
        identifiers=[ident("email", "bruno.keller@example.org"), ident("employee_id", "EX-1002")],
        evidence=[pb.types.Evidence(kind="skill", title="Mortgages", language="en",
                                    text="Mortgage rates, loan insurance and early repayment.")])
    camille = pb.types.Fragment(
        source=SOURCE_ID, external_id="cust-77", version=1, kind="customer", updated_at_unix_ms=UPDATED_AT_MS,
        attributes=attrs(display_name="Camille Roussel"),
        identifiers=[ident("customer_id", "EXC-77"), ident("twitter", "@camille_example")],
        relations=[pb.types.Relation(type="managed_by", target=ident("email", "bruno.keller@example.org"))])
    case = pb.types.Fragment(
        source=SOURCE_ID, external_id="case-5001", version=1, kind="case", updated_at_unix_ms=CASE_TIME_MS,
        attributes=attrs(title="Card blocked abroad", status="closed"),
        identifiers=[ident("case", "EXAMPLE-5001")],
        relations=[pb.types.Relation(type="raised_by", target=ident("customer_id", "EXC-77")),
                   pb.types.Relation(type="resolved_by", target=ident("employee_id", "EX-1001"))],
        evidence=[pb.types.Evidence(kind="case", role="resolved_by", title="Card blocked abroad", language="en",
                                    time_unix_ms=CASE_TIME_MS,
                                    text="The customer's card was blocked after a payment abroad was refused. "
                                    "Unblocked the card and raised the foreign payment limit.")])
    return [alice, bruno, camille, case]


class Stubs:
    """The generated modules, imported once sys.path holds the stubs folder."""

    def __init__(self):
        try:
            from tessera.v1 import admin_pb2, admin_pb2_grpc, directory_pb2, directory_pb2_grpc
            from tessera.v1 import expertise_pb2, expertise_pb2_grpc, types_pb2
        except Exception as e:  # e.g. stubs from a protoc newer than the protobuf runtime
            raise ExampleError("cannot import the generated stubs: %s: %s" % (type(e).__name__, e))
        self.admin, self.admin_grpc = admin_pb2, admin_pb2_grpc
        self.directory, self.directory_grpc = directory_pb2, directory_pb2_grpc
        self.expertise, self.expertise_grpc = expertise_pb2, expertise_pb2_grpc
        self.types = types_pb2


def call(what, fn, *args, **kwargs):
    """Makes one RPC; a gRPC error becomes an ExampleError naming the call and the code."""
    import grpc
    try:
        return fn(*args, **kwargs)
    except grpc.RpcError as e:
        raise ExampleError("%s failed: %s: %s" % (what, e.code().name, e.details()))


def run(args, pb):
    import grpc
    from google.protobuf import json_format

    channel = grpc.insecure_channel(args.server)
    try:
        grpc.channel_ready_future(channel).result(timeout=args.timeout)
    except grpc.FutureTimeoutError:
        raise ExampleError("cannot connect to tesserad at %s within %g s (is it running? is the port right?)"
                           % (args.server, args.timeout))
    metadata = [("authorization", "Bearer " + args.token)] if args.token else []
    opts = {"metadata": metadata, "timeout": args.timeout}
    admin = pb.admin_grpc.AdminStub(channel)
    directory = pb.directory_grpc.DirectoryStub(channel)
    expertise = pb.expertise_grpc.ExpertiseStub(channel)

    # 1. The source must exist before its fragments are ingested. Its priority is only
    #    proposed: a source already registered keeps the registry's.
    src = call("Admin.PutSource", admin.PutSource,
               pb.admin.Source(id=SOURCE_ID, kind="manual", priority=50, propose_priority=True,
                               description="client/examples/python/tessera_example.py"), **opts)
    check(src.id == SOURCE_ID, "PutSource answered source '%s', expected '%s'" % (src.id, SOURCE_ID))
    print("source %s registered (kind %s, priority %d)" % (src.id, src.kind, src.priority))

    # 2. One batch, applied as one atomic write; the stream is closed after it.
    frags = fragments(pb)
    batch = pb.directory.IngestBatch(fragments=frags, batch_time_unix_ms=UPDATED_AT_MS)
    resp = call("Directory.Ingest", directory.Ingest, iter([batch]), **opts)
    check(len(resp.batches) == 1, "Ingest answered %d batch results, expected 1" % len(resp.batches))
    outcomes, ids = resp.batches[0].outcomes, resp.batches[0].profile_ids
    check(len(outcomes) == len(frags) and len(ids) == len(frags),
          "Ingest answered %d outcomes and %d profile ids for %d fragments" % (len(outcomes), len(ids), len(frags)))
    ok = {pb.directory.ADDED, pb.directory.UPDATED, pb.directory.UNCHANGED}
    for f, o, pid in zip(frags, outcomes, ids):
        name = pb.directory.Outcome.Name(o)
        check(o in ok, "fragment %s/%s: outcome %s, expected ADDED, UPDATED or UNCHANGED"
              % (f.source, f.external_id, name))
        check(pid != 0, "fragment %s/%s: no profile id" % (f.source, f.external_id))
        print("ingested %s/%s: %s, profile %d" % (f.source, f.external_id, name, pid))
    alice_id, camille_id = ids[0], ids[2]

    # 3. Identifiers are normalised on both sides: the lookup need not match the input.
    alice = call("Directory.GetProfile", directory.GetProfile,
                 pb.directory.GetProfileRequest(identifier=pb.types.Identifier(type="email", value="Alice.Martin@Example.ORG"),
                                                provenance=True), **opts)
    check(alice.id == alice_id, "GetProfile(email:Alice.Martin@Example.ORG) gave profile %d, expected %d"
          % (alice.id, alice_id))
    check(alice.display_name == "Alice Martin", "profile %d is named '%s', expected 'Alice Martin'"
          % (alice.id, alice.display_name))
    check(alice.kind == "employee", "profile %d is of kind '%s', expected 'employee'" % (alice.id, alice.kind))
    emails = [i.value for i in alice.identifiers if i.type == "email"]
    check("alice.martin@example.org" in emails, "profile %d has e-mails %s, expected alice.martin@example.org"
          % (alice.id, emails))
    print("profile %d: %s (%s), %s" % (alice.id, alice.display_name, alice.kind,
                                       ", ".join("%s=%s" % (a.name, a.value) for a in alice.attributes)))
    camille = call("Directory.GetProfile", directory.GetProfile,
                   pb.directory.GetProfileRequest(identifier=pb.types.Identifier(type="twitter", value="@Camille_Example")),
                   **opts)
    check(camille.id == camille_id and camille.display_name == "Camille Roussel",
          "GetProfile(twitter:@Camille_Example) gave profile %d '%s', expected %d 'Camille Roussel'"
          % (camille.id, camille.display_name, camille_id))
    print("profile %d: %s (%s)" % (camille.id, camille.display_name, camille.kind))
    if args.json:
        print(json_format.MessageToJson(alice))

    # 4. Who can solve this customer's message? Limited to the demo team, so that a
    #    populated directory does not crowd the demo people out.
    req = pb.expertise.FindExpertsRequest(
        text="Hello, my card was blocked and my payment abroad was refused. Can you help?",
        customer=pb.types.Identifier(type="twitter", value="@camille_example"),
        channel="twitter", language="en", team=TEAM, limit=5)
    found = call("Expertise.FindExperts", expertise.FindExperts, req, **opts)
    print("FindExperts (%s; terms: %s):" % (found.language, " ".join(found.query_terms)))
    for rank, e in enumerate(found.experts, 1):
        print("  %d. %-14s score %.3f  text %.3f  relationship %.3f  %s"
              % (rank, e.person.display_name, e.score, e.text_score, e.relationship_score, e.why))
        for h in e.evidence:
            print("       evidence: %s \"%s\"" % (h.kind, h.title))
    if args.json:
        print(json_format.MessageToJson(found))
    check(found.customer_profile_id == camille_id, "FindExperts found customer profile %d, expected %d"
          % (found.customer_profile_id, camille_id))
    solver = [e for e in found.experts if e.person.id == alice_id]
    check(solver, "Alice Martin (profile %d), who resolved a blocked-card case, is not among the %d experts"
          % (alice_id, len(found.experts)))
    check(len(solver[0].evidence) > 0 and solver[0].text_score > 0,
          "Alice Martin is an expert without matching evidence (text score %.3f)" % solver[0].text_score)
    print("ok: every call answered and every check passed")


def main(argv):
    args = parse_args(argv)
    try:
        for module in ("grpc", "grpc_tools.protoc", "google.protobuf.json_format"):
            importlib.import_module(module)
    except ImportError as e:
        print("tessera_example: %s. Install python3-grpcio and python3-grpc-tools (apt-get install), and run "
              "this with /usr/bin/python3 (a pyenv or venv python does not see Debian's packages)." % e,
              file=sys.stderr)
        return 1
    try:
        with tempfile.TemporaryDirectory(prefix="tessera-stubs-") as tmp:
            stubs = args.stubs_dir or tmp
            generate_stubs(args.proto_dir, stubs)
            sys.path.insert(0, stubs)
            run(args, Stubs())
    except ExampleError as e:
        print("tessera_example: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
