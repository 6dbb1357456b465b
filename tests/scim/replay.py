#!/usr/bin/python3
"""Replays identity providers' SCIM 2.0 traffic against tesserad, then checks Tessera's side.

The fixture (idp_replay.json, format "tessera-scim-replay/1") holds scenarios of HTTP steps
transcribed from Microsoft Entra ID and Okta documentation; its "about" field defines the
format, which this runner implements:

  - variables in paths, headers, bodies and expected values: {{run}} (unique per run),
    {{uuid:NAME}} (one UUID per NAME per scenario), {{base}} (the --base URL) and the
    variables a step's "save" captured (name -> path into the response JSON);
  - default headers Authorization: Bearer TOKEN and Content-Type: application/scim+json,
    which a step's "headers" override (an empty value removes the header);
  - a body that is a JSON string is sent as raw text; any other JSON value is serialised;
  - "query_encoding" (per scenario): "percent" (default) or "plus" (see encode_target);
  - expectations: "status" (acceptable codes), "json" (path -> expected value),
    "present" and "absent" (lists of paths); see parse_path for the path syntax.

After particular steps it makes gRPC calls to tesserad (Directory.GetProfile,
Directory.Neighbors, Admin.GetFragment) to check what the SCIM layer wrote into the
directory: see CHECKS. Those checks count towards their scenario's result.

Output: one line per failed step or check (every step and check with -v), then
"N passed, M failed" (scenarios). Exit status 0 when no scenario failed, 1 otherwise,
2 on usage or fixture errors. Python 3 standard library, plus Debian's python3-grpcio and
python3-grpc-tools for the gRPC checks; run it with /usr/bin/python3.
"""

import argparse
import http.client
import json
import os
import re
import sys
import uuid

from scimlib import (MISSING, SCIM_CONTENT_TYPE, CheckFailed, Response, ScimClient, UsageError,
                     add_common_args, attribute_values, connect, describe_edges,
                     identifier_values, merge_headers)

FIXTURE_FORMAT = "tessera-scim-replay/1"


class MissingVariable(Exception):
    """A {{name}} no earlier step saved (usually because that step failed)."""


class PathSyntaxError(Exception):
    """An expectation path the syntax does not allow."""


# ---------------------------------------------------------------------------------------------
# Expectation paths
#
#   a.b              key b of object a
#   a[0].b           element 0 of array a, then key b
#   emails[type=work].value
#                    first element of emails whose "type" is "work"
#   X.length         length of array X (an object's own "length" key wins)
#   P:int            (suffix) the value at P must be a JSON integer
#   header:Name      response header Name; header:Name~text: it contains text
#   urn:...:User.b   a segment starting with "urn:" runs to the first '.' (or '[') after the
#                    last ':' of the rest of the path, so "2.0" inside a URN is not split
#   a\.b             backslash makes the next character literal: the single key "a.b"
# ---------------------------------------------------------------------------------------------


class Path:
    """A parsed expectation path: either a header reference or steps into the JSON body."""

    def __init__(self, text):
        self.text = text
        self.header = None       # header name, for header:... paths
        self.contains = None     # header:Name~text: the text it must contain
        self.want_int = False
        self.steps = []
        if text.startswith("header:"):
            rest = text[len("header:"):]
            name, sep, needle = rest.partition("~")
            if not name:
                raise PathSyntaxError("path %r names no header" % text)
            self.header = name
            self.contains = needle if sep else None
            return
        if text.endswith(":int"):
            self.want_int = True
            text = text[:-len(":int")]
        self.steps = parse_path(text)


def parse_path(text):
    """Splits a body path into ("key", name), ("index", n) and ("match", key, value) steps."""
    steps = []
    i, n = 0, len(text)
    if n == 0:
        raise PathSyntaxError("empty path")
    while i < n:
        if text.startswith("urn:", i):
            last_colon = text.rfind(":", i)
            ends = [p for p in (text.find(".", last_colon), text.find("[", last_colon)) if p >= 0]
            end = min(ends) if ends else n
            key = text[i:end]
            i = end
        else:
            chars = []
            while i < n and text[i] not in ".[":
                if text[i] == "\\" and i + 1 < n:
                    chars.append(text[i + 1])
                    i += 2
                elif text[i] == "]":
                    raise PathSyntaxError("path %r has a ']' without '['" % text)
                else:
                    chars.append(text[i])
                    i += 1
            key = "".join(chars)
        if not key:
            raise PathSyntaxError("path %r has an empty key at offset %d" % (text, i))
        steps.append(("key", key))
        while i < n and text[i] == "[":
            close = text.find("]", i)
            if close < 0:
                raise PathSyntaxError("path %r has an unclosed '['" % text)
            inner = text[i + 1:close]
            i = close + 1
            if inner.isdigit():
                steps.append(("index", int(inner)))
            elif "=" in inner:
                k, _, v = inner.partition("=")
                steps.append(("match", k, v))
            else:
                raise PathSyntaxError("path %r: '[%s]' is neither an index nor key=value"
                                      % (text, inner))
        if i < n:
            if text[i] != ".":
                raise PathSyntaxError("path %r: unexpected %r at offset %d" % (text, text[i], i))
            i += 1
            if i == n:
                raise PathSyntaxError("path %r ends with '.'" % text)
    return steps


def scalar_text(value):
    """How a value compares with the text of a [key=value] selector."""
    return value if isinstance(value, str) else json.dumps(value)


def resolve(doc, steps):
    """The value the steps lead to in doc, or MISSING."""
    cur = doc
    for step in steps:
        if step[0] == "key":
            if isinstance(cur, dict) and step[1] in cur:
                cur = cur[step[1]]
            elif isinstance(cur, list) and step[1] == "length":
                cur = len(cur)
            else:
                return MISSING
        elif step[0] == "index":
            if not isinstance(cur, list) or step[1] >= len(cur):
                return MISSING
            cur = cur[step[1]]
        else:  # match
            if not isinstance(cur, list):
                return MISSING
            _, key, want = step
            found = [e for e in cur
                     if isinstance(e, dict) and key in e and scalar_text(e[key]) == want]
            if not found:
                return MISSING
            cur = found[0]
    return cur


def is_json_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def json_equal(a, b):
    """Equality of two JSON values: true is not 1, 1 equals 1.0, objects ignore key order."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return False


def unassigned(value):
    """RFC 7643 §2.5: a missing attribute, null and an empty array are the same state."""
    return value is MISSING or value is None or value == []


def show(value):
    """A value for a failure message."""
    if value is MISSING:
        return "(missing)"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "..."


def lookup(response, path):
    """The value a Path names in a response: a header's text, or a JSON value, or MISSING."""
    if path.header is not None:
        value = response.header(path.header)
        return MISSING if value is None else value
    if response.json is MISSING:
        return MISSING
    return resolve(response.json, path.steps)


def check_expectations(expect, response):
    """Every way the response differs from the step's 'expect' (already substituted)."""
    problems = []
    statuses = expect.get("status")
    if statuses and response.status not in statuses:
        problems.append("status %d, expected %s"
                        % (response.status, " or ".join(map(str, statuses))))
    body_paths = list(expect.get("json", {})) + expect.get("present", []) + expect.get("absent", [])
    if response.json is MISSING and any(not p.startswith("header:") for p in body_paths):
        why = "not JSON (%s)" % response.json_error if response.json_error else "empty"
        problems.append("response body is %s" % why)
        return problems
    for text, want in expect.get("json", {}).items():
        path = Path(text)
        got = lookup(response, path)
        if got is MISSING:
            problems.append("%s is missing, expected %s" % (text, show(want)))
        elif path.want_int and not is_json_int(got):
            problems.append("%s is %s, expected a JSON integer" % (text, show(got)))
        elif isinstance(want, str):
            if not (isinstance(got, str) and got == want):
                problems.append("%s is %s, expected %s" % (text, show(got), show(want)))
        elif not json_equal(got, want):
            problems.append("%s is %s, expected %s" % (text, show(got), show(want)))
    for text in expect.get("present", []):
        path = Path(text)
        got = lookup(response, path)
        if path.header is not None:
            if got is MISSING:
                problems.append("header %s is missing" % path.header)
            elif path.contains is not None and path.contains not in got:
                problems.append("header %s is %r, expected it to contain %r"
                                % (path.header, got, path.contains))
        elif got is MISSING:
            problems.append("%s is missing" % text)
        elif unassigned(got):
            problems.append("%s is %s, expected a value" % (text, show(got)))
        elif path.want_int and not is_json_int(got):
            problems.append("%s is %s, expected a JSON integer" % (text, show(got)))
    for text in expect.get("absent", []):
        path = Path(text)
        got = lookup(response, path)
        if path.header is not None:
            if got is not MISSING and (path.contains is None or path.contains in got):
                problems.append("header %s is %r, expected it absent" % (path.header, got))
        elif not unassigned(got):
            problems.append("%s is %s, expected it absent" % (text, show(got)))
    return problems


# ---------------------------------------------------------------------------------------------
# Request targets
# ---------------------------------------------------------------------------------------------

UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
HEX = frozenset("0123456789abcdefABCDEF")
# Characters RFC 3986 allows raw in a path segment besides the unreserved ones, and '/'.
PATH_SAFE = UNRESERVED | frozenset("!$&'()*+,;=:@/")


def percent_encode(text, safe, plus=False):
    """Percent-encodes text's UTF-8 bytes outside `safe`. A '%' followed by two hex digits is
    taken as an escape already written in the fixture and left alone (never '%25XX'). With
    plus=True a space becomes '+' and a literal '+' is encoded."""
    data = text.encode("utf-8")
    out = []
    i = 0
    while i < len(data):
        c = chr(data[i])
        if c == "%" and i + 2 < len(data) and chr(data[i + 1]) in HEX and chr(data[i + 2]) in HEX:
            out.append(data[i:i + 3].decode("ascii"))
            i += 3
            continue
        if plus and c == " ":
            out.append("+")
        elif c in safe and not (plus and c == "+"):
            out.append(c)
        else:
            out.append("%%%02X" % data[i])
        i += 1
    return "".join(out)


def encode_target(path, encoding):
    """The request target (relative to the base URL) for a fixture path written unencoded.

    The query is split at '&' into parameters and each at its first '=' into name and value;
    each part is then encoded by the scenario's query_encoding:
      percent  RFC 3986: everything but unreserved characters as %XX, so a space is %20,
               '"' %22 and '@' %40 (as Okta sends: userName%20eq%20%22a%40b%22)
      plus     a space as '+', '"' and '@' left raw, the rest as above (as logged from
               Entra: filter=userName+eq+"...")
    Escapes already in the fixture (%20, %22, ...) are kept as written.
    """
    if encoding not in ("percent", "plus"):
        raise UsageError("unknown query_encoding %r (percent or plus)" % encoding)
    base, sep, query = path.partition("?")
    target = percent_encode(base, PATH_SAFE)
    if not sep:
        return target
    plus = encoding == "plus"
    safe = UNRESERVED | frozenset('"@') if plus else UNRESERVED
    params = []
    for param in query.split("&"):
        name, eq, value = param.partition("=")
        encoded = percent_encode(name, safe, plus)
        if eq:
            encoded += "=" + percent_encode(value, safe, plus)
        params.append(encoded)
    return target + "?" + "&".join(params)


# ---------------------------------------------------------------------------------------------
# Variables
# ---------------------------------------------------------------------------------------------

VARIABLE = re.compile(r"\{\{([^{}]+)\}\}")


class Variables:
    """{{run}}, {{base}}, {{uuid:NAME}} and saved values; uuids and saves are per scenario."""

    def __init__(self, run, base):
        self.run = run
        self.base = base
        self.uuids = {}
        self.saved = {}

    def text(self, template):
        def one(m):
            name = m.group(1).strip()
            if name == "run":
                return self.run
            if name == "base":
                return self.base
            if name.startswith("uuid:"):
                return self.uuids.setdefault(name[len("uuid:"):], str(uuid.uuid4()))
            if name in self.saved:
                value = self.saved[name]
                return value if isinstance(value, str) else json.dumps(value)
            raise MissingVariable(name)
        return VARIABLE.sub(one, template)

    def value(self, v):
        """Substitutes in every string of a JSON value, object keys included."""
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if isinstance(v, dict):
            return {self.text(k): self.value(x) for k, x in v.items()}
        return v


# ---------------------------------------------------------------------------------------------
# Tessera's side: checks over gRPC (the calls are scimlib.Tessera's)
# ---------------------------------------------------------------------------------------------


def saved(ctx, name):
    if name not in ctx.variables.saved:
        raise CheckFailed("variable '%s' was not saved (an earlier step failed)" % name)
    return ctx.variables.saved[name]


# The checks. Each takes (tessera, ctx): ctx.variables holds the scenario's variables,
# ctx.request_body the step's substituted JSON body, ctx.state a dict kept for the scenario.


def check_user_created(t, ctx):
    """entra-user-lifecycle, after POST /Users: a profile found by scim_id, carrying the
    userName as upn and each e-mail as email (both normalised to lower case)."""
    if not isinstance(ctx.request_body, dict) or "userName" not in ctx.request_body:
        raise CheckFailed("the step's request body has no userName to compare with")
    p = t.profile(saved(ctx, "uid"))
    problems = []
    if "employee" not in p.kinds:
        problems.append("profile %d has kinds %s, expected employee" % (p.id, list(p.kinds)))
    want_upn = ctx.request_body["userName"].lower()
    if identifier_values(p, "upn") != [want_upn]:
        problems.append("upn %s, expected [%s]" % (identifier_values(p, "upn"), want_upn))
    emails = identifier_values(p, "email")
    for e in ctx.request_body.get("emails", []):
        if e["value"].lower() not in emails:
            problems.append("email %s not among %s" % (e["value"].lower(), emails))
    if problems:
        raise CheckFailed("profile %d: %s" % (p.id, "; ".join(problems)))


def check_end_date_set(t, ctx):
    """After active "False": the profile carries end_date (YYYY-MM-DD)."""
    p = t.profile(saved(ctx, "uid"))
    dates = attribute_values(p, "end_date")
    if not dates or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", dates[0]):
        raise CheckFailed("profile %d: end_date is %s, expected a YYYY-MM-DD date"
                          % (p.id, dates or "absent"))


def check_end_date_cleared(t, ctx):
    """After active true again: no end_date."""
    p = t.profile(saved(ctx, "uid"))
    dates = attribute_values(p, "end_date")
    if dates:
        raise CheckFailed("profile %d still has end_date %s" % (p.id, dates))


def check_user_tombstoned(t, ctx):
    """After DELETE: the fragment is a tombstone (or gone) and scim_id finds no profile."""
    uid = saved(ctx, "uid")
    problems = []
    if t.fragment_code(uid) == "OK":
        f = t.fragment(uid)
        if not f.deleted:
            problems.append("Admin.GetFragment(%s, %s) answers a live fragment (version %d), "
                            "expected deleted" % (t.source, uid, f.fragment.version))
    code = t.profile_code(uid)
    if code != "NOT_FOUND":
        problems.append("GetProfile(scim_id:%s/%s) answered %s, expected NOT_FOUND"
                        % (t.source, uid, code))
    if problems:
        raise CheckFailed("; ".join(problems))


def check_reports_to(t, ctx):
    """entra-manager, after the first manager PATCH: rep's profile reports_to mgr's."""
    rep, mgr = t.profile(saved(ctx, "rep")), t.profile(saved(ctx, "mgr"))
    edges = t.out_edges(rep.id, "reports_to")
    if not any(e.profile_id == mgr.id for e in edges):
        raise CheckFailed("profile %d (rep) has reports_to edges %s, expected one to profile %d "
                          "(mgr, scim_id:%s/%s)"
                          % (rep.id, describe_edges(edges), mgr.id, t.source, saved(ctx, "mgr")))


def check_member_of(t, ctx):
    """entra-groups, after the members are added: u3's profile is member_of the group's
    profile, which is a team."""
    group, u3 = t.profile(saved(ctx, "gid")), t.profile(saved(ctx, "u3"))
    problems = []
    if group.kind != "team":
        problems.append("group profile %d is of kind '%s', expected team" % (group.id, group.kind))
    edges = t.out_edges(u3.id, "member_of")
    if not any(e.profile_id == group.id for e in edges):
        problems.append("profile %d (u3) has member_of edges %s, expected one to profile %d "
                        "(group, scim_id:%s/%s)"
                        % (u3.id, describe_edges(edges), group.id, t.source, saved(ctx, "gid")))
    if problems:
        raise CheckFailed("; ".join(problems))


def check_group_version_before(t, ctx):
    """okta-push-groups, after POST /Groups: remember the group fragment's version."""
    f = t.fragment(saved(ctx, "gid"))
    if f.deleted:
        raise CheckFailed("the group's fragment %s/%s is deleted" % (t.source, saved(ctx, "gid")))
    if f.fragment.kind != "team":
        raise CheckFailed("the group's fragment is of kind '%s', expected team" % f.fragment.kind)
    ctx.state["group_version"] = f.fragment.version


def check_group_version_unchanged(t, ctx):
    """After a replace that renames the group to its own name: the same version."""
    before = ctx.state.get("group_version")
    if before is None:
        raise CheckFailed("no version was read before the PATCH (that check failed)")
    after = t.fragment(saved(ctx, "gid")).fragment.version
    if after != before:
        raise CheckFailed("the group's fragment went from version %d to %d, expected no change"
                          % (before, after))


class Check:
    """A Tessera-side check run right after step `after` of `scenario` (whose method must be
    `method`: a guard against the fixture's steps moving)."""

    def __init__(self, scenario, after, method, name, fn):
        self.scenario, self.after, self.method = scenario, after, method
        self.name, self.fn = name, fn


LIFECYCLE = "entra-user-lifecycle"
CHECKS = [
    Check(LIFECYCLE, 1, "POST", "user is a profile with upn and email", check_user_created),
    Check(LIFECYCLE, 9, "PATCH", "disabled user has end_date", check_end_date_set),
    Check(LIFECYCLE, 12, "PATCH", "re-enabled user has no end_date", check_end_date_cleared),
    Check(LIFECYCLE, 13, "DELETE", "deleted user is a tombstone", check_user_tombstoned),
    Check("entra-manager", 3, "PATCH", "reports_to edge to the manager", check_reports_to),
    Check("entra-groups", 6, "PATCH", "member_of edge to the group", check_member_of),
    Check("okta-push-groups", 2, "POST", "group fragment version read",
          check_group_version_before),
    Check("okta-push-groups", 3, "PATCH", "no-op PATCH keeps the version",
          check_group_version_unchanged),
]


# ---------------------------------------------------------------------------------------------
# Scenario requirements
# ---------------------------------------------------------------------------------------------


def seed_user_body(run):
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "seed_%s@example.com" % run,
            "name": {"givenName": "Seed", "familyName": "User%s" % run},
            "active": True,
            "emails": [{"primary": True, "type": "work", "value": "seed_%s@example.com" % run}]}


# ---------------------------------------------------------------------------------------------
# The runner
# ---------------------------------------------------------------------------------------------


class StepContext:
    def __init__(self, variables, state, request_body):
        self.variables = variables
        self.state = state
        self.request_body = request_body


class Runner:
    def __init__(self, args, client, tessera):
        self.args = args
        self.client = client
        self.tessera = tessera
        self.run = uuid.uuid4().hex[:12]

    def say(self, line):
        print(line, flush=True)

    def run_scenario(self, sc):
        """Runs one scenario; True when every step, requirement and check passed."""
        sid = sc["id"]
        variables = Variables(self.run, self.client.base)
        state = {}
        ok = True
        encoding = sc.get("query_encoding", "percent")
        if self.args.verbose:
            self.say("== %s (%s)" % (sid, sc.get("client", "?")))
        cleanup = []  # (description, method, target) run after the steps
        for req in sc.get("requires", []):
            kind = req.partition(":")[0].strip()
            if kind == "seed_user":
                seed_ok, seed_id = self.create_seed_user(sid)
                ok &= seed_ok
                if seed_id:
                    cleanup.append(("seed_user cleanup", "DELETE", "/Users/" + seed_id))
            else:
                self.say("FAIL %s: requirement %r: the runner does not know how to meet it"
                         % (sid, req))
                ok = False
        checks = {}
        for c in CHECKS:
            if c.scenario == sid and (self.tessera is not None):
                checks.setdefault(c.after, []).append(c)
        for index, step in enumerate(sc["steps"]):
            ok &= self.run_step(sid, index, step, variables, encoding)
            if index in checks:
                try:
                    request_body = variables.value(step["req"].get("body"))
                except MissingVariable:
                    request_body = None
                ctx = StepContext(variables, state, request_body)
                for c in checks[index]:
                    ok &= self.run_check(sid, index, c, ctx)
        for what, method, target in cleanup:
            r = self.request(sid, what, method, target, self.client.default_headers(), None)
            if r is not None and r.status != 204:
                self.say("FAIL %s %s: %s %s: status %d, expected 204 | %s"
                         % (sid, what, method, target, r.status, r.excerpt()))
                ok = False
            elif r is None:
                ok = False
        return ok

    def request(self, sid, what, method, target, headers, body):
        """Sends one request; on a transport error prints a failure line and returns None."""
        try:
            return self.client.send(method, target, headers, body)
        except (OSError, http.client.HTTPException) as e:
            self.say("FAIL %s %s: %s %s: request failed: %s: %s"
                     % (sid, what, method, target, type(e).__name__, e))
            return None

    def create_seed_user(self, sid):
        """okta-spec-test needs a user with a name, userName, active and emails to exist."""
        body = json.dumps(seed_user_body(self.run)).encode("utf-8")
        r = self.request(sid, "requirement seed_user", "POST", "/Users",
                         self.client.default_headers(), body)
        if r is None:
            return False, None
        seed_id = r.json.get("id") if isinstance(r.json, dict) else None
        if r.status != 201 or not isinstance(seed_id, str):
            self.say("FAIL %s requirement seed_user: POST /Users: status %d, expected 201 with "
                     "an id | %s" % (sid, r.status, r.excerpt()))
            return False, seed_id if isinstance(seed_id, str) else None
        if self.args.verbose:
            self.say("ok   %s requirement seed_user: POST /Users -> 201, id %s" % (sid, seed_id))
        return True, seed_id

    def run_step(self, sid, index, step, variables, encoding):
        req, expect = step["req"], step.get("expect", {})
        method = req["method"]
        label = "%s #%d %r" % (sid, index, step.get("name", ""))
        try:
            path = variables.text(req["path"])
            target = encode_target(path, encoding)
            headers = merge_headers(self.client.default_headers(),
                                    variables.value(req.get("headers", {})))
            body = None
            if "body" in req:
                raw = req["body"]
                body = (variables.text(raw) if isinstance(raw, str)
                        else json.dumps(variables.value(raw), ensure_ascii=False)).encode("utf-8")
            expect = variables.value(expect)
        except MissingVariable as e:
            self.say("FAIL %s: %s %s: not sent: variable '%s' is not set (an earlier step failed)"
                     % (label, method, req["path"], e.args[0]))
            return False
        r = self.request(sid, "#%d %r" % (index, step.get("name", "")), method, target, headers,
                         body)
        if r is None:
            return False
        problems = check_expectations(expect, r)
        for name, path_text in step.get("save", {}).items():
            value = MISSING if r.json is MISSING else resolve(r.json, Path(path_text).steps)
            if value is MISSING or value is None:
                problems.append("cannot save '%s': %s is missing" % (name, path_text))
            else:
                variables.saved[name] = value
        if problems:
            self.say("FAIL %s: %s %s: %s | got %d: %s"
                     % (label, method, target, "; ".join(problems), r.status, r.excerpt()))
            return False
        if self.args.verbose:
            self.say("ok   %s: %s %s -> %d" % (label, method, target, r.status))
        return True

    def run_check(self, sid, index, check, ctx):
        label = "%s check after #%d %r" % (sid, index, check.name)
        try:
            check.fn(self.tessera, ctx)
        except CheckFailed as e:
            self.say("FAIL %s: %s" % (label, e))
            return False
        except Exception as e:  # a bug in a check, or an answer it did not foresee
            self.say("FAIL %s: the check raised %s: %s" % (label, type(e).__name__, e))
            return False
        if self.args.verbose:
            self.say("ok   %s" % label)
        return True


# ---------------------------------------------------------------------------------------------
# Self-test of the path evaluator and the query encodings
# ---------------------------------------------------------------------------------------------


def self_test():
    ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    doc = {
        "id": "u1", "active": False, "totalResults": 2, "ratio": 2.0, "flag": True,
        "name": {"givenName": "Ann"}, "name.givenName": "literal",
        "emails": [{"type": "home", "value": "h@x"}, {"type": "work", "value": "w@x"},
                   {"type": "work", "value": "w2@x"}],
        "flags": [{"primary": True, "value": "p"}],
        "Resources": [{"id": "r0", "emails": [{"value": "e0"}]}],
        ent: {"manager": {"value": "m1"}, "employeeNumber": "E1"},
        "members": [], "nothing": None, "obj": {"length": 7},
    }
    cases = [  # (path, expected value or MISSING)
        ("id", "u1"), ("name.givenName", "Ann"), ("name\\.givenName", "literal"),
        ("emails[0].value", "h@x"), ("emails[type=work].value", "w@x"),
        ("emails[type=other].value", MISSING), ("emails[5]", MISSING), ("emails.length", 3),
        ("members.length", 0), ("obj.length", 7), ("flags[primary=true].value", "p"),
        ("Resources[0].emails[0].value", "e0"), ("Resources[1].id", MISSING),
        (ent + ".manager.value", "m1"), (ent + ".employeeNumber", "E1"), (ent, doc[ent]),
        (ent + ".nope", MISSING), ("name.familyName", MISSING), ("id.x", MISSING),
    ]
    failures = []
    for text, want in cases:
        got = resolve(doc, Path(text).steps)
        if not (got is want if want is MISSING else got is not MISSING and json_equal(got, want)):
            failures.append("resolve %r: got %s, expected %s" % (text, show(got), show(want)))
    p = Path("totalResults:int")
    if not (p.want_int and resolve(doc, p.steps) == 2):
        failures.append("P:int suffix not parsed")
    p = Path("header:Content-Type~application/scim+json")
    if (p.header, p.contains) != ("Content-Type", "application/scim+json"):
        failures.append("header path parsed as %r/%r" % (p.header, p.contains))
    for bad in ("", "a.", "a[", "a[x]", "a]b", ".a"):
        try:
            Path(bad)
            failures.append("bad path %r accepted" % bad)
        except PathSyntaxError:
            pass
    equal = [(1, 1.0, True), (True, 1, False), (0, False, False), ("1", 1, False),
             (None, None, True), ([1, "a"], [1, "a"], True), ([1], [1, 2], False),
             ({"a": 1, "b": 2}, {"b": 2, "a": 1}, True)]
    for a, b, want in equal:
        if json_equal(a, b) != want:
            failures.append("json_equal(%r, %r) != %r" % (a, b, want))

    # Expectations against a canned response.
    class Headers(dict):
        def get_all(self, name):
            return [v for k, v in self.items() if k.lower() == name.lower()] or None

    resp = Response(200, Headers({"Content-Type": "application/scim+json; charset=utf-8",
                                  "ETag": 'W/"3"'}), json.dumps(doc).encode())
    good = {"status": [200, 204], "json": {"active": False, "totalResults": 2, "ratio": 2,
                                           "emails[type=work].value": "w@x", "totalResults:int": 2},
            "present": ["header:Content-Type~application/scim+json", "header:ETag", "id",
                        "totalResults:int"],
            "absent": ["members", "nothing", "nickName", "members[0]", "header:Location"]}
    if check_expectations(good, resp):
        failures.append("expectations that hold reported: %s" % check_expectations(good, resp))
    bad = {"status": [201], "json": {"active": "false", "totalResults": "2", "id": "U1", "nope": 1},
           "present": ["members", "ratio:int", "header:Content-Type~text/json", "header:Location"],
           "absent": ["id", "header:ETag"]}
    n = len(check_expectations(bad, resp))
    if n != 11:
        failures.append("expected 11 problems, got %d: %s" % (n, check_expectations(bad, resp)))
    if not check_expectations({"status": [400], "json": {"scimType": "x"}},
                              Response(400, Headers(), b"oops")):
        failures.append("a non-JSON body passed a json expectation")

    headers = merge_headers({"Authorization": "Bearer t", "Content-Type": SCIM_CONTENT_TYPE},
                            {"content-type": "application/json", "AUTHORIZATION": "",
                             "If-Match": "x"})
    if headers != {"content-type": "application/json", "If-Match": "x"}:
        failures.append("merge_headers gave %r" % headers)

    targets = [
        ('/Users?filter=userName eq "a.b@x.com"', "percent",
         "/Users?filter=userName%20eq%20%22a.b%40x.com%22"),
        ('/Users?filter=userName eq "a.b@x.com"', "plus", '/Users?filter=userName+eq+"a.b@x.com"'),
        ("/Users?filter=userName%20eq%20%22t.u%40okta.local%22&startIndex=1&count=100", "percent",
         "/Users?filter=userName%20eq%20%22t.u%40okta.local%22&startIndex=1&count=100"),
        ('/Groups?excludedAttributes=members&filter=displayName eq "G 1+2"', "plus",
         '/Groups?excludedAttributes=members&filter=displayName+eq+"G+1%2B2"'),
        ("/Users/abc-1", "percent", "/Users/abc-1"),
        ("/Users?filter=50% é", "percent", "/Users?filter=50%25%20%C3%A9"),
        ("/Users?count", "plus", "/Users?count"),
    ]
    for path, enc, want in targets:
        got = encode_target(path, enc)
        if got != want:
            failures.append("encode_target(%r, %s) = %r, expected %r" % (path, enc, got, want))

    v = Variables("R1", "http://h/scim/v2")
    v.saved["uid"] = "U"
    got = v.value({"a{{run}}": ["{{uid}}", "{{base}}/Users/{{uid}}", 3],
                   "b": "{{uuid:x}}={{uuid:x}}"})
    left, right = got["b"].split("=")
    if got["aR1"] != ["U", "http://h/scim/v2/Users/U", 3] or left != right or len(left) != 36:
        failures.append("substitution gave %r" % got)
    try:
        v.text("{{nope}}")
        failures.append("an unknown variable was substituted")
    except MissingVariable:
        pass

    for f in failures:
        print("self-test: FAIL: " + f)
    print("self-test: %s" % ("FAIL" if failures else "ok"))
    return 1 if failures else 0


# ---------------------------------------------------------------------------------------------


def parse_args(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(
        description="Replays Entra ID and Okta SCIM traffic (idp_replay.json) against tesserad's "
        "SCIM endpoint and checks over gRPC what it wrote into the directory.",
        epilog="Exit status: 0 when every scenario passed, 1 when one failed, 2 on usage or "
        "fixture errors.")
    add_common_args(p, here,
                    grpc_help="tesserad's gRPC address for the Tessera-side checks (without it "
                    "they are skipped)",
                    verbose_help="print every step and check")
    p.add_argument("--fixture", default=os.path.join(here, "idp_replay.json"),
                   help="the replay file (default: %(default)s)")
    p.add_argument("--only", metavar="SCENARIO",
                   help="run only this scenario (comma-separated ids)")
    p.add_argument("--self-test", action="store_true",
                   help="test the path evaluator and query encoding on built-in data, then exit")
    return p.parse_args(argv)


def load_fixture(path):
    try:
        with open(path, encoding="utf-8") as f:
            fixture = json.load(f)
    except (OSError, ValueError) as e:
        raise UsageError("cannot read the fixture %s: %s" % (path, e))
    if fixture.get("format") != FIXTURE_FORMAT:
        raise UsageError("%s: format %r, expected %r"
                         % (path, fixture.get("format"), FIXTURE_FORMAT))
    scenarios = fixture.get("scenarios", [])
    by_id = {sc["id"]: sc for sc in scenarios}
    for c in CHECKS:  # a check must sit after the step it was written for
        steps = by_id.get(c.scenario, {}).get("steps", [])
        if c.after >= len(steps) or steps[c.after]["req"]["method"] != c.method:
            raise UsageError("%s: check %r expects step %d of %s to be a %s: update CHECKS"
                             % (path, c.name, c.after, c.scenario, c.method))
    for sc in scenarios:  # every path must parse before anything is sent
        for step in sc["steps"]:
            e = step.get("expect", {})
            for text in list(e.get("json", {})) + e.get("present", []) + e.get("absent", []):
                try:
                    Path(text)
                except PathSyntaxError as err:
                    raise UsageError("%s: scenario %s: %s" % (path, sc["id"], err))
    return scenarios


def connect_tessera(args):
    """Generates the stubs and connects; None when --grpc is not given."""
    if not args.grpc:
        print("note: no --grpc: the Tessera-side checks are skipped", flush=True)
        return None
    return connect(args)


def main(argv):
    args = parse_args(argv)
    if args.self_test:
        return self_test()
    try:
        if not args.base or args.token is None:
            raise UsageError("--base and --token are required")
        scenarios = load_fixture(args.fixture)
        if args.only:
            wanted = [s.strip() for s in args.only.split(",") if s.strip()]
            known = [sc["id"] for sc in scenarios]
            unknown = [w for w in wanted if w not in known]
            if unknown:
                raise UsageError("unknown scenario %s (known: %s)"
                                 % (", ".join(unknown), ", ".join(known)))
            scenarios = [sc for sc in scenarios if sc["id"] in wanted]
        client = ScimClient(args.base, args.token, args.timeout)
        tessera = connect_tessera(args)
    except UsageError as e:
        print("replay: error: %s" % e, file=sys.stderr)
        return 2
    runner = Runner(args, client, tessera)
    passed = failed = 0
    for sc in scenarios:
        if runner.run_scenario(sc):
            passed += 1
        else:
            failed += 1
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
