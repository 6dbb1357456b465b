#!/usr/bin/python3
"""Bad SCIM requests against the real tesserad: each is refused, and nothing is written.

Each case sends one bad request and checks the answer:
  - a SCIM refusal: the HTTP status; Content-Type application/scim+json; a JSON body whose
    "schemas" holds urn:ietf:params:scim:api:messages:2.0:Error, whose "status" is the
    status as a JSON string, whose "scimType" is the expected one (where RFC 7644 §3.12
    gives one) and whose "detail" is a non-empty string; 401s carry WWW-Authenticate;
  - a refusal by the HTTP listener at one of its limits (413 body, 414 URL, 431 headers):
    the status and a one-line text/plain reason (the listener answers these before any
    SCIM code runs, so not in SCIM's JSON);
and then that nothing was written: before and after every case it compares
GET /Users?count=0 and GET /Groups?count=0 (totalResults), Admin.Stats (live_fragments,
tombstones, sequence: the change log moves with every changed profile), and for each
fixture resource (two users, two groups) its GET body (meta.version, meta.lastModified,
members), its ETag header and its fragment's version (Admin.GetFragment).

The refusals for want of a role or a source binding (403) must also be in the audit log:
Admin.ReadAudit (auditor token) shows a PERMISSION_DENIED entry of Scim.Write for the
principal.

Output: one line per failed case (every case with -v), then "N passed, M failed". Exit
status 0 when no case failed, 1 otherwise, 2 on usage errors or when the fixtures cannot
be made. Run it with /usr/bin/python3 (python3-grpcio, python3-grpc-tools);
run_bad_input_test.sh starts tesserad and passes every argument.
"""

import argparse
import http.client
import json
import os
import socket
import sys
import uuid

from scimlib import (PATCH_SCHEMA, SCIM_CONTENT_TYPE, USER_SCHEMA, CheckFailed, Response,
                     ScimClient, Tally, UsageError, add_common_args, connect, expect_status,
                     group_body, json_of, patch_body, quote_query, require, scim_error,
                     text_refusal, total_results, user_body)

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
DEFAULT_MAX_BODY = 4 << 20     # http.max_body_bytes
DEFAULT_MAX_URL = 4096         # http.max_url_bytes
DEFAULT_MAX_HEADERS = 16 << 10  # http.max_header_bytes
MAX_STRING = 4096              # scim.max_string_bytes
MAX_VALUES = 64                # scim.max_values
MAX_RESOURCE = 64 << 10        # scim.max_resource_bytes


# ---------------------------------------------------------------------------------------------
# The state that must not change
# ---------------------------------------------------------------------------------------------


class Env:
    def __init__(self, args, client, tessera, auditor):
        self.args = args
        self.client = client
        self.tessera = tessera
        self.auditor = auditor
        self.run = uuid.uuid4().hex[:10]
        self.ids = {}  # fixture label -> (endpoint, id)

    def name(self, label):
        return "%s.%s@example.com" % (label, self.run)

    def user(self, label="alice"):
        return self.ids[label][1]

    def group(self, label="team"):
        return self.ids[label][1]


def snapshot(env):
    s = {"GET /Users totalResults": total_results(env.client, "Users"),
         "GET /Groups totalResults": total_results(env.client, "Groups")}
    st = env.tessera.stats()
    s["Admin.Stats live_fragments"] = st.live_fragments
    s["Admin.Stats tombstones"] = st.tombstones
    s["Admin.Stats sequence"] = st.sequence
    for label, (endpoint, rid) in sorted(env.ids.items()):
        r = env.client.get("/%s/%s" % (endpoint, rid))
        key = "%s %s" % (endpoint[:-1].lower(), label)
        if r.status != 200 or not isinstance(r.json, dict):
            s[key] = "GET answered " + r.describe()
            continue
        body = dict(r.json)
        members = sorted(m.get("value") for m in body.pop("members", []) or [])
        groups = sorted(g.get("value") for g in body.pop("groups", []) or [])
        s[key + " ETag"] = r.header("ETag")
        s[key + " meta.version"] = body.get("meta", {}).get("version")
        s[key + " members"] = members
        s[key + " groups"] = groups
        s[key + " body"] = json.dumps(body, sort_keys=True)
        f = env.tessera.fragment(rid)
        s[key + " fragment version"] = (f.fragment.version, f.deleted)
    return s


def differences(before, after):
    out = []
    for k in sorted(set(before) | set(after)):
        a, b = before.get(k), after.get(k)
        if a != b:
            a_text, b_text = (json.dumps(x) if not isinstance(x, tuple) else str(x) for x in (a, b))
            if len(a_text) > 200 or len(b_text) > 200:
                out.append("%s changed" % k)
            else:
                out.append("%s %s -> %s" % (k, a_text, b_text))
    return out


# ---------------------------------------------------------------------------------------------
# Raw HTTP, for what http.client will not send
# ---------------------------------------------------------------------------------------------


def raw_exchange(client, data, method, timeout):
    """Sends bytes on a fresh connection and parses the one response."""
    sock = socket.create_connection((client.host, client.port), timeout=timeout)
    try:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        resp = http.client.HTTPResponse(sock, method=method)
        resp.begin()
        return Response(resp.status, resp.msg, resp.read())
    finally:
        sock.close()


def chunked(payload, size=64 << 10):
    out = bytearray()
    for i in range(0, len(payload), size):
        part = payload[i:i + size]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


# ---------------------------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------------------------

CASES = []


def case(name):
    def register(fn):
        CASES.append((name, fn))
        return fn
    return register


def post_user(env, body, **kw):
    return env.client.post("/Users", body, **kw)


def new_user(env, **extra):
    """A valid new user's body (a fresh userName), with `extra` merged in."""
    b = user_body(env.name("new-" + uuid.uuid4().hex[:8]), "New", "Person")
    b.update(extra)
    return b


# --- bodies that are not SCIM resources


@case("POST /Users malformed JSON -> 400 invalidSyntax")
def _(env):
    scim_error(post_user(env, '{"userName": "%s", "name": {' % env.name("x")), 400,
               "invalidSyntax")


@case("POST /Users body a JSON array -> 400 invalidSyntax")
def _(env):
    scim_error(post_user(env, "[%s]" % json.dumps(new_user(env))), 400, "invalidSyntax")


@case("POST /Users body a JSON string -> 400 invalidSyntax")
def _(env):
    scim_error(post_user(env, '"userName"'), 400, "invalidSyntax")


@case("POST /Users empty body -> 400 invalidSyntax")
def _(env):
    scim_error(post_user(env, b""), 400, "invalidSyntax")


@case("POST /Users userName 5 (a number) -> 400 invalidValue")
def _(env):
    scim_error(post_user(env, new_user(env, userName=5)), 400, "invalidValue")


@case("POST /Users active \"maybe\" -> 400 invalidValue")
def _(env):
    scim_error(post_user(env, new_user(env, active="maybe")), 400, "invalidValue")


@case("POST /Users emails \"x\" (a bare string, not an address) -> 400 invalidValue")
def _(env):
    # tesserad reads a bare string for a complex attribute as {"value": ...} (for Entra's
    # manager), so this is refused because "x" is not an e-mail address.
    scim_error(post_user(env, new_user(env, emails="x")), 400, "invalidValue")


@case("POST /Users emails 5 (a number) -> 400 invalidValue")
def _(env):
    scim_error(post_user(env, new_user(env, emails=5)), 400, "invalidValue")


@case("POST /Users emails [{value: 7}] -> 400 invalidValue")
def _(env):
    scim_error(post_user(env, new_user(env, emails=[{"value": 7, "type": "work"}])), 400,
               "invalidValue")


@case("POST /Users name \"x\" (must be an object) -> 400 invalidValue")
def _(env):
    scim_error(post_user(env, new_user(env, name="Ann Example")), 400, "invalidValue")


@case("POST /Users name.givenName 5 -> 400 invalidValue")
def _(env):
    scim_error(post_user(env, new_user(env, name={"givenName": 5})), 400, "invalidValue")


@case("POST /Users unknown attribute -> 400 invalidValue")
def _(env):
    scim_error(post_user(env, new_user(env, favouriteColour="teal")), 400, "invalidValue")


@case("POST /Users unknown sub-attribute name.nosuch -> 400 invalidValue")
def _(env):
    scim_error(post_user(env, new_user(env, name={"givenName": "A", "nosuch": "x"})), 400,
               "invalidValue")


@case("POST /Users unknown extension URN key -> 400 invalidValue")
def _(env):
    urn = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
    b = new_user(env, **{urn: {"badge": "B-1"}})
    b["schemas"] = [USER_SCHEMA, urn]
    scim_error(post_user(env, b), 400, "invalidValue")


@case("POST /Users unknown attribute in the enterprise extension -> 400 invalidValue")
def _(env):
    b = new_user(env, **{ENTERPRISE: {"department": "R&D", "shoeSize": "44"}})
    b["schemas"] = [USER_SCHEMA, ENTERPRISE]
    scim_error(post_user(env, b), 400, "invalidValue")


@case("POST /Users without userName -> 400 invalidValue")
def _(env):
    b = new_user(env)
    del b["userName"]
    scim_error(post_user(env, b), 400, "invalidValue")


@case("POST /Users emails[0].value not an e-mail address -> 400 invalidValue")
def _(env):
    scim_error(post_user(env, new_user(env, emails=[{"value": "not-an-address", "type": "work"}])),
               400, "invalidValue")


# --- sizes


@case("POST /Users givenName of 5000 bytes (limit 4096) -> 400 invalidValue")
def _(env):
    scim_error(post_user(env, new_user(env, name={"givenName": "g" * 5000})), 400, "invalidValue")


@case("POST /Users 65 emails (limit 64 values) -> 400 invalidValue")
def _(env):
    emails = [{"value": "e%d.%s@example.com" % (i, env.run), "type": "work"}
              for i in range(MAX_VALUES + 1)]
    scim_error(post_user(env, new_user(env, emails=emails)), 400, "invalidValue")


@case("POST /Users resource of ~80 KiB (scim.max_resource_bytes 64 KiB) -> 413 SCIM error")
def _(env):
    addresses = [{"type": "work", "streetAddress": "s" * 2000} for _ in range(40)]
    body = new_user(env, addresses=addresses)
    if len(json.dumps(body)) <= MAX_RESOURCE:
        raise CheckFailed("the case is wrong: its body is not over %d bytes" % MAX_RESOURCE)
    scim_error(post_user(env, body), 413)


def over_size_body(env):
    """A valid user, padded with JSON whitespace to just over http.max_body_bytes: if the
    limit does not hold, it is created."""
    text = json.dumps(new_user(env)).encode()
    return text[:-1] + b" " * (DEFAULT_MAX_BODY + 1 - len(text)) + b"}"


@case("POST /Users body over http.max_body_bytes (4 MiB, Content-Length) -> 413 text")
def _(env):
    body = over_size_body(env)
    text_refusal(post_user(env, body), 413)


# cpp-httplib bounds only bodies with a Content-Length, so the listener refuses chunked
# bodies outright (411) before reading them.
@case("POST /Users with a chunked body (4 MiB) -> 411 text, nothing read")
def _(env):
    body = over_size_body(env)
    head = ("POST %s/Users HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: %s\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            % (env.client.prefix, env.client.host, env.client.port, env.client.token,
               SCIM_CONTENT_TYPE)).encode()
    text_refusal(raw_exchange(env.client, head + chunked(body), "POST", env.args.timeout), 411)


# The runner sets http.read_timeout_ms to 1500: a body that stops coming gets 408 once a
# read has waited that long (the socket below waits up to --timeout for the answer).
@case("POST /Users whose body stops after 10 of 100 bytes -> 408 text, nothing written")
def _(env):
    head = ("POST %s/Users HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: %s\r\nContent-Length: 100\r\n\r\n"
            % (env.client.prefix, env.client.host, env.client.port, env.client.token,
               SCIM_CONTENT_TYPE)).encode()
    text_refusal(raw_exchange(env.client, head + b'{"schemas"', "POST", env.args.timeout), 408)


# --- uniqueness and references


@case("POST /Users userName of an existing user in other case -> 409 uniqueness")
def _(env):
    scim_error(post_user(env, user_body(env.name("alice").upper(), "Alice", "Again")), 409,
               "uniqueness")


@case("POST /Groups displayName of an existing group -> 409 uniqueness")
def _(env):
    scim_error(env.client.post("/Groups", group_body("Fixture Team " + env.run)), 409, "uniqueness")


@case("POST /Groups displayName of an existing group in other case -> 409 uniqueness")
def _(env):
    scim_error(env.client.post("/Groups", group_body("FIXTURE TEAM " + env.run.upper())), 409,
               "uniqueness")


@case("POST /Groups with an unknown member id -> 400 invalidValue")
def _(env):
    body = group_body("New Team " + uuid.uuid4().hex[:8], [env.user("bob"), str(uuid.uuid4())])
    scim_error(env.client.post("/Groups", body), 400, "invalidValue")


# --- filters


def list_with_filter(env, endpoint, text):
    return env.client.get("/%s?filter=%s" % (endpoint, quote_query(text)))


for _text in ['userName eq', 'userName xx "a"', '(userName eq "a"', 'userName eq "a")',
              'title co "x"', 'name.familyName sw "Ex"', 'userName ne "a"',
              'emails[type eq "work"', 'userName eq "a" or userName eq "b"', 'userName']:
    def _filter_case(env, text=_text):
        scim_error(list_with_filter(env, "Users", text), 400, "invalidFilter")
    case("GET /Users?filter=%s -> 400 invalidFilter" % _text)(_filter_case)

for _text in ['displayName co "x"', 'displayName eq']:
    def _group_filter_case(env, text=_text):
        scim_error(list_with_filter(env, "Groups", text), 400, "invalidFilter")
    case("GET /Groups?filter=%s -> 400 invalidFilter" % _text)(_group_filter_case)


@case("GET /Users?startIndex=abc -> 400 invalidValue")
def _(env):
    scim_error(env.client.get("/Users?startIndex=abc"), 400, "invalidValue")


# --- PATCH


def patch_user(env, body, label="alice", **kw):
    return env.client.patch("/Users/" + env.user(label), body, **kw)


for _path in ['emails[type eq "work"', 'nosuch', 'name.nosuch', 'emails[type eq "work"].nosuch',
              'urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge',
              'title[value eq "x"]']:
    def _path_case(env, path=_path):
        scim_error(patch_user(env, patch_body({"op": "replace", "path": path, "value": "x"})),
                   400, "invalidPath")
    case("PATCH /Users/{id} path %s -> 400 invalidPath" % _path)(_path_case)


@case("PATCH /Users/{id} without Operations -> 400 invalidSyntax")
def _(env):
    scim_error(patch_user(env, {"schemas": [PATCH_SCHEMA]}), 400, "invalidSyntax")


@case("PATCH /Users/{id} Operations [] -> 400 invalidSyntax")
def _(env):
    scim_error(patch_user(env, patch_body()), 400, "invalidSyntax")


@case("PATCH /Users/{id} malformed JSON -> 400 invalidSyntax")
def _(env):
    scim_error(patch_user(env, '{"schemas": ["%s"], "Operations": [' % PATCH_SCHEMA), 400,
               "invalidSyntax")


@case("PATCH /Users/{id} body a JSON array -> 400 invalidSyntax")
def _(env):
    scim_error(patch_user(env, [{"op": "replace", "path": "title", "value": "x"}]), 400,
               "invalidSyntax")


@case("PATCH /Users/{id} op \"frobnicate\" -> 400 invalidSyntax")
def _(env):
    scim_error(patch_user(env, patch_body({"op": "frobnicate", "path": "title", "value": "x"})),
               400, "invalidSyntax")


@case("PATCH /Users/{id} remove without path -> 400 noTarget")
def _(env):
    scim_error(patch_user(env, patch_body({"op": "remove"})), 400, "noTarget")


@case("PATCH /Users/{unknown id} -> 404")
def _(env):
    r = env.client.patch("/Users/" + str(uuid.uuid4()),
                         patch_body({"op": "replace", "path": "title", "value": "x"}))
    scim_error(r, 404)


@case("PATCH /Users/{id} 2nd of 2 ops has a bad path: atomic -> 400 invalidPath")
def _(env):
    scim_error(patch_user(env, patch_body(
        {"op": "replace", "path": "displayName", "value": "Changed " + env.run},
        {"op": "replace", "path": "nosuch", "value": "x"})), 400, "invalidPath")


@case("PATCH /Users/{id} 2nd of 2 ops has a bad value: atomic -> 400 invalidValue")
def _(env):
    scim_error(patch_user(env, patch_body(
        {"op": "Replace", "path": "title", "value": "Changed title"},
        {"op": "Replace", "path": "active", "value": "maybe"})), 400, "invalidValue")


@case("PATCH /Users/{id} 2nd of 2 no-path ops has a bad key: atomic -> 400")
def _(env):
    scim_error(patch_user(env, patch_body(
        {"op": "replace", "value": {"nickName": "Changed"}},
        {"op": "replace", "value": {"name.givenName": 5}})), 400, "invalidValue")


@case("PATCH /Users/{id} name.givenName of 5000 bytes -> 400 invalidValue")
def _(env):
    scim_error(patch_user(env, patch_body(
        {"op": "replace", "path": "name.givenName", "value": "g" * 5000})), 400, "invalidValue")


@case("PATCH /Users/{id} add 65 emails -> 400 invalidValue")
def _(env):
    emails = [{"value": "p%d.%s@example.com" % (i, env.run), "type": "other"}
              for i in range(MAX_VALUES + 1)]
    scim_error(patch_user(env, patch_body({"op": "add", "path": "emails", "value": emails})), 400,
               "invalidValue")


@case("PATCH /Users/{id} userName to another user's in other case -> 409 uniqueness")
def _(env):
    scim_error(patch_user(env, patch_body(
        {"op": "replace", "path": "userName", "value": env.name("alice").upper()}), label="bob"),
        409, "uniqueness")


@case("PATCH /Users/{id} If-Match of another version -> 412")
def _(env):
    scim_error(patch_user(env, patch_body({"op": "replace", "path": "title", "value": "x"}),
                          headers={"If-Match": 'W/"999999"'}), 412)


@case("PUT /Users/{id} If-Match of another version -> 412")
def _(env):
    body = user_body(env.name("alice"), "Alice", "Replaced")
    scim_error(env.client.put("/Users/" + env.user(), body, headers={"If-Match": 'W/"999999"'}),
               412)


@case("DELETE /Users/{id} If-Match of another version -> 412 (user kept)")
def _(env):
    scim_error(env.client.delete("/Users/" + env.user(), headers={"If-Match": 'W/"999999"'}), 412)


@case("PUT /Users/{id} without userName -> 400 invalidValue")
def _(env):
    body = user_body("x", "Alice", "Replaced")
    del body["userName"]
    scim_error(env.client.put("/Users/" + env.user(), body), 400, "invalidValue")


@case("DELETE /Users/{unknown id} -> 404")
def _(env):
    scim_error(env.client.delete("/Users/" + str(uuid.uuid4())), 404)


# --- group PATCH


def patch_group(env, body, label="team"):
    return env.client.patch("/Groups/" + env.group(label), body)


@case("PATCH /Groups/{id} add a known and an unknown member -> 400 invalidValue")
def _(env):
    scim_error(patch_group(env, patch_body({"op": "add", "path": "members", "value": [
        {"value": env.user("bob")}, {"value": str(uuid.uuid4())}]})), 400, "invalidValue")


@case("PATCH /Groups/{id} Entra-style Add of an unknown member alone -> 400 invalidValue")
def _(env):
    scim_error(patch_group(env, patch_body({"op": "Add", "path": "members", "value": [
        {"$ref": None, "value": str(uuid.uuid4())}]})), 400, "invalidValue")


@case("PATCH /Groups/{id} add a member, then a bad displayName: atomic -> 400 invalidValue")
def _(env):
    scim_error(patch_group(env, patch_body(
        {"op": "add", "path": "members", "value": [{"value": env.user("bob")}]},
        {"op": "replace", "path": "displayName", "value": 5})), 400, "invalidValue")


@case("PATCH /Groups/{id} members[value eq ...] with add -> 400 invalidPath")
def _(env):
    scim_error(patch_group(env, patch_body(
        {"op": "add", "path": 'members[value eq "%s"]' % env.user("bob"), "value": "x"})), 400,
        "invalidPath")


@case("PATCH /Groups/{id} displayName to another group's in other case -> 409 uniqueness")
def _(env):
    scim_error(patch_group(env, patch_body(
        {"op": "replace", "path": "displayName", "value": "fixture team " + env.run}),
        label="other-team"), 409, "uniqueness")


# --- credentials


@case("POST /Users without a token -> 401 + WWW-Authenticate")
def _(env):
    scim_error(post_user(env, new_user(env), headers={"Authorization": ""}), 401)


@case("POST /Users with an unknown token -> 401 + WWW-Authenticate")
def _(env):
    scim_error(post_user(env, new_user(env),
                         headers={"Authorization": "Bearer " + uuid.uuid4().hex * 2}), 401)


@case("POST /Users with Basic credentials -> 401 + WWW-Authenticate")
def _(env):
    scim_error(post_user(env, new_user(env), headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401)


@case("GET /Users without a token -> 401 + WWW-Authenticate")
def _(env):
    scim_error(env.client.get("/Users?count=0", headers={"Authorization": ""}), 401)


def last_audit_sequence(env):
    entries = env.auditor.audit_entries(0)
    return entries[-1].sequence if entries else 0


def expect_denial_audited(env, after, principal, method):
    entries = env.auditor.audit_entries(after)
    hits = [e for e in entries if e.principal == principal and e.method == method
            and e.outcome == "PERMISSION_DENIED"]
    if not hits:
        seen = ", ".join("%s/%s/%s" % (e.principal or "-", e.method, e.outcome) for e in entries)
        raise CheckFailed("no PERMISSION_DENIED audit entry of %s for principal %s after sequence "
                          "%d (entries since: %s)" % (method, principal, after, seen or "none"))


@case("POST /Users with a reader-role token -> 403, audited")
def _(env):
    after = last_audit_sequence(env)
    reader = env.client.with_token(env.args.reader_token)
    scim_error(reader.post("/Users", new_user(env)), 403)
    expect_denial_audited(env, after, env.args.reader_principal, "Scim.Write")


@case("GET /Users with a reader-role token -> 403, audited")
def _(env):
    after = last_audit_sequence(env)
    reader = env.client.with_token(env.args.reader_token)
    scim_error(reader.get("/Users?count=0"), 403)
    expect_denial_audited(env, after, env.args.reader_principal, "Scim.Read")


@case("POST /scim/v2/<our source>/Users with a connector bound to another source -> 403, audited")
def _(env):
    after = last_audit_sequence(env)
    other = env.client.with_token(env.args.other_token)
    scim_error(other.post("/%s/Users" % env.args.source, new_user(env)), 403)
    expect_denial_audited(env, after, env.args.other_principal, "Scim.Write")


@case("PATCH /scim/v2/<our source>/Users/{id} with a connector bound to another source -> 403")
def _(env):
    other = env.client.with_token(env.args.other_token)
    scim_error(other.patch("/%s/Users/%s" % (env.args.source, env.user()),
                           patch_body({"op": "replace", "path": "title", "value": "x"})), 403)


# --- the HTTP listener's limits


@case("GET with a URL over http.max_url_bytes (4096) -> 414 text")
def _(env):
    r = env.client.get("/Users?filter=" + quote_query('userName eq "%s"' % ("u" * DEFAULT_MAX_URL)))
    text_refusal(r, 414)


@case("GET with a URL over 8192 bytes (the HTTP library's own limit) -> 414 text")
def _(env):
    r = env.client.get("/Users?filter=" + quote_query('userName eq "%s"' % ("u" * 9000)))
    text_refusal(r, 414)


@case("POST /Users with headers over http.max_header_bytes (4 x 5000 bytes) -> 431 text")
def _(env):
    pads = {"X-Pad-%d" % i: "p" * 5000 for i in range(4)}
    text_refusal(post_user(env, new_user(env), headers=pads), 431)


# One header line over 8 KiB is refused by cpp-httplib itself, before tesserad sees
# the request: 400 with its reason (README "Configuration" says so).
@case("POST /Users with one 17000-byte header line -> 400 text (the library's line limit)")
def _(env):
    text_refusal(post_user(env, new_user(env), headers={"X-Pad": "p" * 17000}), 400)


# --- methods


@case("POST /ServiceProviderConfig -> 405 SCIM error with Allow")
def _(env):
    r = env.client.post("/ServiceProviderConfig", {"patch": {"supported": False}})
    scim_error(r, 405)
    if "GET" not in (r.header("Allow") or ""):
        raise CheckFailed("Allow is %r, expected GET" % (r.header("Allow"),))


@case("PATCH /Users (the collection) -> 405 SCIM error")
def _(env):
    scim_error(env.client.patch("/Users", patch_body({"op": "replace", "path": "title",
                                                      "value": "x"})), 405)


# ---------------------------------------------------------------------------------------------


def make_fixtures(env):
    """Two users, a group holding the first, and a second, empty group."""
    def create(label, endpoint, body):
        r = expect_status(env.client.post("/" + endpoint, body), 201,
                          what="fixture %s: POST /%s" % (label, endpoint))
        env.ids[label] = (endpoint, json_of(r)["id"])

    alice = user_body(env.name("alice"), "Alice", "Fixture", emails=[env.name("alice")],
                      title="Engineer")
    alice["schemas"] = [USER_SCHEMA, ENTERPRISE]
    alice[ENTERPRISE] = {"department": "R&D", "employeeNumber": "E-" + env.run}
    create("alice", "Users", alice)
    create("bob", "Users", user_body(env.name("bob"), "Bob", "Fixture", emails=[env.name("bob")]))
    create("team", "Groups", group_body("Fixture Team " + env.run, [env.user("alice")]))
    create("other-team", "Groups", group_body("Other Team " + env.run))


def run_case(env, name, fn):
    before = snapshot(env)
    failure = None
    try:
        fn(env)
    except CheckFailed as e:
        failure = str(e)
    except (OSError, http.client.HTTPException) as e:
        failure = "request failed: %s: %s" % (type(e).__name__, e)
    after = snapshot(env)
    changed = differences(before, after)
    problems = ([failure] if failure else []) + (
        ["WRITTEN despite the refusal: " + "; ".join(changed)] if changed else [])
    if problems:
        raise CheckFailed(" || ".join(problems))


def parse_args(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(p, here)
    p.add_argument("--reader-token", help="a token with the reader role only")
    p.add_argument("--reader-principal", default="reader-only",
                   help="its principal name (default: %(default)s)")
    p.add_argument("--other-token", help="a connector token bound to another source")
    p.add_argument("--other-principal", default="other-idp",
                   help="its principal name (default: %(default)s)")
    p.add_argument("--auditor-token", help="a token with the auditor role (Admin.ReadAudit)")
    p.add_argument("--only", metavar="TEXT", help="run only the cases whose name contains TEXT")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    if args.list:
        for name, _fn in CASES:
            print(name)
        return 0
    try:
        require(args, "base", "token", "grpc", "admin_token", "reader_token", "other_token",
                "auditor_token")
        client = ScimClient(args.base, args.token, args.timeout)
        env = Env(args, client, connect(args), connect(args, args.auditor_token))
    except UsageError as e:
        print("bad_input: error: %s" % e, file=sys.stderr)
        return 2
    tally = Tally(args.verbose)
    try:
        make_fixtures(env)
    except (CheckFailed, OSError, http.client.HTTPException) as e:
        tally.fail("fixtures (two users, two groups)", str(e))
        return tally.finish()
    cases = [(n, f) for n, f in CASES if not args.only or args.only in n]
    if not cases:
        print("bad_input: error: no case matches %r" % args.only, file=sys.stderr)
        return 2
    for name, fn in cases:
        tally.run(name, run_case, env, name, fn)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
