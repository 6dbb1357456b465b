"""What the SCIM test runners in tests/scim share: HTTP to tesserad's SCIM endpoint, the
gRPC side (stubs generated from proto/, a few Directory and Admin calls), the common
command-line arguments, and the "N passed, M failed" tally.

Used by replay.py, bad_input.py, concurrency.py and prometheus_scrape.py; run those with
/usr/bin/python3 (Python 3 standard library, plus Debian's python3-grpcio and
python3-grpc-tools for the gRPC part).
"""

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import traceback
import urllib.parse

SCIM_CONTENT_TYPE = "application/scim+json"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
BODY_EXCERPT_BYTES = 300


class UsageError(Exception):
    """Bad arguments, or an environment the runner cannot use: exit status 2."""


class CheckFailed(Exception):
    """A check did not hold; the message says what was found."""


# A path that names nothing in the response.
MISSING = object()


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers   # http.client.HTTPMessage: case-insensitive names
        self.body = body         # bytes
        self.json = MISSING      # parsed body; MISSING when empty or not JSON
        self.json_error = None
        if body.strip():
            try:
                self.json = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                self.json_error = str(e)

    def header(self, name):
        values = self.headers.get_all(name) if self.headers is not None else None
        return ", ".join(values) if values else None

    def excerpt(self, limit=BODY_EXCERPT_BYTES):
        text = self.body[:limit].decode("utf-8", "replace")
        return text.replace("\r", "\\r").replace("\n", "\\n")

    def describe(self):
        """Status, content type and the start of the body, for a failure message."""
        return "%d (%s): %s" % (self.status, self.header("Content-Type") or "no Content-Type",
                                self.excerpt())


def merge_headers(defaults, overrides):
    """Headers in `overrides` replace defaults of the same name (any case); an empty value
    removes the header."""
    merged = dict(defaults)
    for name, value in overrides.items():
        for existing in [k for k in merged if k.lower() == name.lower()]:
            del merged[existing]
        if value != "":
            merged[name] = value
    return merged


class ScimClient:
    """Requests to one SCIM base URL (http://host:port/scim/v2[/source]) with a bearer token.
    Every request uses a fresh connection, so a client can be shared by threads."""

    def __init__(self, base, token, timeout):
        parts = urllib.parse.urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError("--base must be an http:// or https:// URL, not %r" % base)
        self.base = base.rstrip("/")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port
        self.prefix = parts.path.rstrip("/")
        self.token = token
        self.timeout = timeout

    def with_token(self, token):
        """The same endpoint with another token."""
        return ScimClient(self.base, token, self.timeout)

    def with_base(self, base):
        """Another base URL on the same server, same token."""
        return ScimClient(base, self.token, self.timeout)

    def default_headers(self):
        return {"Authorization": "Bearer " + self.token, "Content-Type": SCIM_CONTENT_TYPE}

    def send(self, method, target, headers, body):
        """One request (target relative to the base URL, already encoded) on a fresh
        connection; returns a Response or raises OSError / http.client.HTTPException."""
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        conn = cls(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, self.prefix + target, body=body, headers=headers)
            resp = conn.getresponse()
            return Response(resp.status, resp.msg, resp.read())
        finally:
            conn.close()

    def request(self, method, target, body=None, headers=None):
        """send() with the default headers (overridden by `headers`, see merge_headers); a
        body that is not bytes or str is sent as JSON."""
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body, ensure_ascii=False)
        if isinstance(body, str):
            body = body.encode("utf-8")
        return self.send(method, target, merge_headers(self.default_headers(), headers or {}), body)

    def get(self, target, **kw):
        return self.request("GET", target, **kw)

    def post(self, target, body, **kw):
        return self.request("POST", target, body, **kw)

    def patch(self, target, body, **kw):
        return self.request("PATCH", target, body, **kw)

    def put(self, target, body, **kw):
        return self.request("PUT", target, body, **kw)

    def delete(self, target, **kw):
        return self.request("DELETE", target, **kw)


def quote_query(value):
    """A query parameter value percent-encoded as Okta sends it (a space is %20)."""
    return urllib.parse.quote(value, safe="")


def media_type(r):
    return (r.header("Content-Type") or "").split(";")[0].strip().lower()


def scim_error(r, status, scim_type=None):
    """CheckFailed unless r is a SCIM Error of `status` (and `scim_type`, when given)."""
    problems = []
    if r.status != status:
        problems.append("status %d, expected %d" % (r.status, status))
    if media_type(r) != SCIM_CONTENT_TYPE:
        problems.append("Content-Type %r, expected %s" % (r.header("Content-Type"),
                                                           SCIM_CONTENT_TYPE))
    body = r.json
    if not isinstance(body, dict):
        problems.append("the body is not a JSON object")
    else:
        schemas = body.get("schemas")
        if not isinstance(schemas, list) or ERROR_SCHEMA not in schemas:
            problems.append("schemas %s lacks %s" % (json.dumps(schemas), ERROR_SCHEMA))
        if body.get("status") != str(status):
            problems.append("\"status\" is %s, expected the string \"%d\""
                            % (json.dumps(body.get("status")), status))
        if scim_type is not None and body.get("scimType") != scim_type:
            problems.append("scimType %s, expected %s"
                            % (json.dumps(body.get("scimType")), scim_type))
        detail = body.get("detail")
        if not isinstance(detail, str) or not detail.strip():
            problems.append("\"detail\" is %s, expected a non-empty string" % json.dumps(detail))
    if status == 401:
        challenge = r.header("WWW-Authenticate") or ""
        if not challenge.lower().startswith("bearer"):
            problems.append("WWW-Authenticate is %r, expected a Bearer challenge"
                            % (r.header("WWW-Authenticate"),))
    if problems:
        raise CheckFailed("; ".join(problems) + " | got " + r.describe())


def text_refusal(r, status):
    """CheckFailed unless r is `status` with a one-line text/plain reason."""
    problems = []
    if r.status != status:
        problems.append("status %d, expected %d" % (r.status, status))
    if media_type(r) != "text/plain":
        problems.append("Content-Type %r, expected text/plain" % (r.header("Content-Type"),))
    text = r.body.decode("utf-8", "replace").strip()
    if not text:
        problems.append("the reason is empty")
    elif "\n" in text:
        problems.append("the reason is %d lines, expected one" % (text.count("\n") + 1))
    if problems:
        raise CheckFailed("; ".join(problems) + " | got " + r.describe())


def patch_body(*operations):
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}


def expect_status(r, *statuses, what=""):
    """Raises CheckFailed unless the response has one of the statuses."""
    if r.status not in statuses:
        raise CheckFailed("%sstatus %s, expected %s" % (what + ": " if what else "", r.describe(),
                                                       " or ".join(map(str, statuses))))
    return r


def json_of(r, what=""):
    """The response's JSON object, or CheckFailed."""
    if not isinstance(r.json, dict):
        raise CheckFailed("%sthe body is not a JSON object: %s"
                          % (what + ": " if what else "", r.describe()))
    return r.json


def total_results(client, endpoint, query=""):
    """totalResults of GET /{endpoint}?count=0[&query]."""
    target = "/%s?count=0%s" % (endpoint, "&" + query if query else "")
    r = expect_status(client.get(target), 200, what="GET " + target)
    total = json_of(r, "GET " + target).get("totalResults")
    if not isinstance(total, int) or isinstance(total, bool):
        raise CheckFailed("GET %s: totalResults is %r, not an integer" % (target, total))
    return total


def user_body(user_name, given="Test", family="User", emails=None, **extra):
    body = {"schemas": [USER_SCHEMA], "userName": user_name,
            "name": {"givenName": given, "familyName": family}, "active": True}
    if emails is not None:
        body["emails"] = [{"value": e, "type": "work", "primary": i == 0}
                          for i, e in enumerate(emails)]
    body.update(extra)
    return body


def group_body(display_name, members=None):
    body = {"schemas": [GROUP_SCHEMA], "displayName": display_name}
    if members is not None:
        body["members"] = [{"value": m} for m in members]
    return body


# ---------------------------------------------------------------------------------------------
# gRPC: Tessera's side
# ---------------------------------------------------------------------------------------------


def generate_stubs(proto_dir, out_dir):
    """grpc_tools.protoc over proto_dir/tessera/v1/*.proto, Python messages and services."""
    v1 = os.path.join(proto_dir, "tessera", "v1")
    try:
        protos = sorted(os.path.join(v1, f) for f in os.listdir(v1) if f.endswith(".proto"))
    except OSError as e:
        raise UsageError("cannot read %s: %s (give --proto-dir)" % (v1, e.strerror))
    if not protos:
        raise UsageError("no .proto files in %s (give --proto-dir)" % v1)
    os.makedirs(out_dir, exist_ok=True)
    r = subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I" + proto_dir,
                        "--python_out=" + out_dir, "--grpc_python_out=" + out_dir] + protos,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if r.returncode != 0:
        raise UsageError("grpc_tools.protoc exited %d:\n%s" % (r.returncode, r.stdout.strip()))


_stubs_lock = threading.Lock()
_stubs_ready = set()


def load_stubs(proto_dir, stubs_dir):
    """Generates the stubs once (into stubs_dir, or a temporary folder) and makes them
    importable."""
    try:
        import grpc  # noqa: F401
        import grpc_tools.protoc  # noqa: F401
    except ImportError as e:
        raise UsageError("%s: install python3-grpcio and python3-grpc-tools and run this with "
                         "/usr/bin/python3 (a venv python does not see Debian's packages)" % e)
    with _stubs_lock:
        key = (proto_dir, stubs_dir)
        if key in _stubs_ready:
            return
        stubs = stubs_dir or tempfile.mkdtemp(prefix="tessera-scim-stubs-")
        generate_stubs(proto_dir, stubs)
        sys.path.insert(0, stubs)
        _stubs_ready.add(key)


class Tessera:
    """The gRPC calls the checks make with one token, each failing as CheckFailed."""

    def __init__(self, address, token, source, timeout):
        import grpc
        from tessera.v1 import (admin_pb2, admin_pb2_grpc, directory_pb2, directory_pb2_grpc,
                                expertise_pb2, expertise_pb2_grpc, types_pb2)
        self.grpc = grpc
        self.admin_pb = admin_pb2
        self.directory_pb = directory_pb2
        self.expertise_pb = expertise_pb2
        self.types_pb = types_pb2
        self.source = source
        self.timeout = timeout
        self.metadata = [("authorization", "Bearer " + token)] if token else []
        self.channel = grpc.insecure_channel(address)
        try:
            grpc.channel_ready_future(self.channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise UsageError("cannot connect to tesserad's gRPC port %s within %g s"
                             % (address, timeout))
        self.directory = directory_pb2_grpc.DirectoryStub(self.channel)
        self.admin = admin_pb2_grpc.AdminStub(self.channel)
        self.expertise = expertise_pb2_grpc.ExpertiseStub(self.channel)

    def scim_id(self, scim_resource_id):
        return self.types_pb.Identifier(type="scim_id", value=self.source + "/" + scim_resource_id)

    def _call(self, what, fn, request):
        try:
            return fn(request, metadata=self.metadata, timeout=self.timeout)
        except self.grpc.RpcError as e:
            raise CheckFailed("%s: %s: %s" % (what, e.code().name, e.details()))

    def code_of(self, fn, request):
        """The status code name a call ends with ("OK" when it answers)."""
        try:
            fn(request, metadata=self.metadata, timeout=self.timeout)
            return "OK"
        except self.grpc.RpcError as e:
            return e.code().name

    def profile(self, scim_resource_id):
        ident = self.scim_id(scim_resource_id)
        return self._call("Directory.GetProfile(scim_id:%s)" % ident.value,
                          self.directory.GetProfile,
                          self.directory_pb.GetProfileRequest(identifier=ident))

    def profile_by(self, type_, value):
        ident = self.types_pb.Identifier(type=type_, value=value)
        return self._call("Directory.GetProfile(%s:%s)" % (type_, value),
                          self.directory.GetProfile,
                          self.directory_pb.GetProfileRequest(identifier=ident))

    def profile_code(self, scim_resource_id):
        ident = self.scim_id(scim_resource_id)
        return self.code_of(self.directory.GetProfile,
                            self.directory_pb.GetProfileRequest(identifier=ident))

    def fragment(self, external_id):
        ref = self.types_pb.FragmentRef(source=self.source, external_id=external_id)
        return self._call("Admin.GetFragment(%s, %s)" % (self.source, external_id),
                          self.admin.GetFragment, ref)

    def fragment_code(self, external_id):
        return self.code_of(self.admin.GetFragment,
                            self.types_pb.FragmentRef(source=self.source, external_id=external_id))

    def out_edges(self, profile_id, relation):
        req = self.directory_pb.NeighborsRequest(id=profile_id, type=relation,
                                                 direction=self.types_pb.OUT, limit=1000)
        return self._call("Directory.Neighbors(%d, %s)" % (profile_id, relation),
                          self.directory.Neighbors, req).edges

    def stats(self):
        return self._call("Admin.Stats", self.admin.Stats, self.admin_pb.StatsRequest())

    def audit_entries(self, after_sequence=0):
        """Every audit entry with a greater sequence, oldest first (needs the auditor role)."""
        out = []
        after = after_sequence
        while True:
            page = self._call("Admin.ReadAudit(after %d)" % after, self.admin.ReadAudit,
                              self.admin_pb.ReadAuditRequest(after_sequence=after, page_size=1000))
            out.extend(page.entries)
            if page.next_after_sequence == 0 or not page.entries:
                return out
            after = page.next_after_sequence


def identifier_values(profile, type_):
    return sorted(i.value for i in profile.identifiers if i.type == type_)


def attribute_values(profile, name):
    return [a.value for a in profile.attributes if a.name == name]


def describe_edges(edges):
    if not edges:
        return "none"
    return ", ".join("%s -> %s:%s (profile %d)"
                     % (e.type, e.target.type, e.target.value, e.profile_id) for e in edges)


# ---------------------------------------------------------------------------------------------
# Arguments and the tally
# ---------------------------------------------------------------------------------------------


def add_common_args(p, here, grpc_help="tesserad's gRPC address",
                    verbose_help="print every case"):
    """The arguments every runner takes (the runner scripts pass them all); `here` is the
    runner's folder (tests/scim), for the default --proto-dir."""
    p.add_argument("--base", help="SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2")
    p.add_argument("--token", help="SCIM bearer token (a connector bound to the SCIM source)")
    p.add_argument("--grpc", metavar="HOST:PORT", help=grpc_help)
    p.add_argument("--admin-token", default="",
                   help="bearer token for the gRPC checks (roles admin and reader)")
    p.add_argument("--proto-dir", default=os.path.normpath(os.path.join(here, "..", "..", "proto")),
                   help="folder holding tessera/v1/*.proto (default: %(default)s)")
    p.add_argument("--stubs-dir", default="",
                   help="generate the Python stubs here and keep them (default: a temporary "
                   "folder)")
    p.add_argument("--source", default="scim-test",
                   help="the SCIM source id (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    p.add_argument("-v", "--verbose", action="store_true", help=verbose_help)


def require(args, *names):
    """UsageError unless every named argument was given."""
    missing = ["--" + n.replace("_", "-") for n in names if not getattr(args, n)]
    if missing:
        raise UsageError("%s required" % ", ".join(missing))


def connect(args, token=None):
    """A Tessera on args.grpc with `token` (default: --admin-token); generates the stubs."""
    load_stubs(args.proto_dir, args.stubs_dir)
    try:
        return Tessera(args.grpc, args.admin_token if token is None else token, args.source,
                       min(args.timeout, 10.0))
    except ImportError as e:
        raise UsageError("cannot import the generated stubs: %s" % e)


class Tally:
    """Runs named cases: a case passes when its function returns without raising. Prints one
    line per failed case (every case with verbose), then "N passed, M failed"."""

    def __init__(self, verbose=False):
        self.verbose = verbose
        self.passed = 0
        self.failed = 0
        self.lock = threading.Lock()

    def say(self, line):
        with self.lock:
            print(line, flush=True)

    def run(self, name, fn, *args):
        try:
            fn(*args)
        except CheckFailed as e:
            self.fail(name, str(e))
            return False
        except (OSError, http.client.HTTPException) as e:
            self.fail(name, "request failed: %s: %s" % (type(e).__name__, e))
            return False
        except Exception as e:  # a bug in the case, or an answer it did not foresee
            self.fail(name, "the case raised %s: %s\n%s"
                      % (type(e).__name__, e, traceback.format_exc().rstrip()))
            return False
        with self.lock:
            self.passed += 1
        if self.verbose:
            self.say("ok   %s" % name)
        return True

    def fail(self, name, why):
        with self.lock:
            self.failed += 1
        self.say("FAIL %s: %s" % (name, why))

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        return 0 if self.failed == 0 else 1
