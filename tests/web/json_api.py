"""The JSON API (/api/v1/) against the real tesserad holding the sample organisation:
every call answers exactly what the same gRPC call answers, for the same caller.

  (a) for an agent and for a reader, each read (GetProfile, SearchPeople, Neighbors,
      CustomerHistory, FindExperts, ListSources) gives over JSON the message gRPC gives,
      compared field by field after protobuf's own JSON mapping, or the same error
      (code and message) with its HTTP status;
  (b) a reader is refused customers over JSON as over gRPC (404, the words of an absent
      profile; none in a search) and ListSources and FindExperts (403, "needs the role");
  (c) a hand-over through Expertise/RecordOutcome moves the load: the new holder's
      open_cases in FindExperts grows by one, read back over gRPC; withdrawing it (the
      console's undo) takes the load and the case made from the message back;
  (d) refusals of the face itself: no token 401, an unknown method 404, GET 405, a
      text/plain body 415, broken JSON and an unknown field 400 naming the message
      type, a FindExperts over its size limits 400 as on gRPC; each is a JSON
      {"code", "message"} object, and nothing is written;
  (e) the console's reads are in the audit log like gRPC's (FindExperts with the
      customer's profile, GetProfile of a customer).

Run by run_json_api_test.sh. Exit status 0 when every case passed, 1 when one failed,
2 on bad arguments.
"""

import argparse
import http.client
import json
import os
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scim"))

import sample  # noqa: E402
from scimlib import CheckFailed, Tally, UsageError, add_common_args, connect, require  # noqa: E402

FRENCH = "Ma carte a été bloquée à l'étranger, je ne peux plus payer"
CAMILLE = {"type": "twitter", "value": "@CamilleRoussel_"}


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except ValueError:
            self.json = None

    def describe(self):
        return "%d %s: %s" % (self.status, self.headers.get("Content-Type"),
                              self.body[:300].decode("utf-8", "replace"))


class JsonApi:
    """POST /api/v1/{method} with a token."""

    def __init__(self, http_base, timeout):
        parts = urllib.parse.urlsplit(http_base)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout

    def send(self, method, path, body, headers):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return Answer(r.status, r.msg, r.read())
        finally:
            conn.close()

    def call(self, token, method, request, http_method="POST", content_type="application/json",
             raw=None):
        headers = {"Content-Type": content_type} if content_type else {}
        if token:
            headers["Authorization"] = "Bearer " + token
        body = raw if raw is not None else json.dumps(request, ensure_ascii=False).encode("utf-8")
        return self.send(http_method, "/api/v1/" + method, body, headers)


class Env:
    def __init__(self, args, api, tessera_agent, tessera_reader, tessera_admin):
        self.args = args
        self.api = api
        self.grpc = {"agent": tessera_agent, "reader": tessera_reader, "admin": tessera_admin}
        self.admin = tessera_admin
        self.tokens = {"agent": args.agent_token, "reader": args.reader_token, "admin": args.admin_token}


# The reads, each as (JSON API method, gRPC stub name, request message name, request).
def reads(env):
    return [
        ("Directory/GetProfile", "directory", "GetProfile", "directory_pb", "GetProfileRequest",
         {"identifier": CAMILLE}),
        ("Directory/GetProfile", "directory", "GetProfile", "directory_pb", "GetProfileRequest",
         {"identifier": {"type": "employee_id", "value": "E1029"}}),
        ("Directory/SearchPeople", "directory", "SearchPeople", "directory_pb",
         "SearchPeopleRequest", {"prefix": "isab", "pageSize": 5}),
        ("Directory/SearchPeople", "directory", "SearchPeople", "directory_pb",
         "SearchPeopleRequest", {"prefix": "camille"}),
        ("Directory/Neighbors", "directory", "Neighbors", "directory_pb", "NeighborsRequest",
         {"identifier": {"type": "employee_id", "value": "E1029"}}),
        ("Directory/CustomerHistory", "directory", "CustomerHistory", "directory_pb",
         "CustomerHistoryRequest", {"identifier": CAMILLE}),
        # A bare value, as an agent pastes it: the server guesses its type.
        ("Directory/CustomerHistory", "directory", "CustomerHistory", "directory_pb",
         "CustomerHistoryRequest", {"identifier": {"value": "06 71 24 38 95"}}),
        ("Expertise/FindExperts", "expertise", "FindExperts", "expertise_pb",
         "FindExpertsRequest", {"text": FRENCH, "customer": CAMILLE, "limit": 5}),
        ("Expertise/FindExperts", "expertise", "FindExperts", "expertise_pb",
         "FindExpertsRequest", {"text": "My card was blocked abroad and I cannot pay", "limit": 5}),
        ("Admin/ListSources", "admin", "ListSources", "admin_pb", "ListSourcesRequest", {}),
        ("Admin/ListRules", "admin", "ListRules", "admin_pb", "ListRulesRequest", {}),
    ]


def grpc_call(t, stub, rpc, module, message, request):
    """(code name, response dict or None, details) of the same call over gRPC."""
    from google.protobuf import json_format
    pb = getattr(t, module)
    req = json_format.ParseDict(request, getattr(pb, message)())
    fn = getattr(getattr(t, stub), rpc)
    try:
        resp = fn(req, metadata=t.metadata, timeout=t.timeout)
    except t.grpc.RpcError as e:
        return e.code().name, None, e.details()
    return "OK", json_format.MessageToDict(resp, including_default_value_fields=True), ""


def strip_timing(d):
    """FindExperts reports how long it took; that differs between two runs."""
    if isinstance(d, dict):
        return {k: strip_timing(v) for k, v in d.items() if not k.endswith("Micros")
                and not k.endswith("Ms") or k in ("timeUnixMs", "updatedAtMs")}
    if isinstance(d, list):
        return [strip_timing(x) for x in d]
    return d


def is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def first_difference(a, b, path="$"):
    if is_number(a) and is_number(b):  # JSON has one number type: 1 and 1.0 are one value
        return None if a == b else "%s: %r over JSON, %r over gRPC" % (path, a, b)
    if type(a) is not type(b):
        return "%s: %r over JSON, %r over gRPC" % (path, a, b)
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return "%s.%s only over %s" % (path, k, "JSON" if k in a else "gRPC")
            d = first_difference(a[k], b[k], path + "." + k)
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return "%s: %d items over JSON, %d over gRPC" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    return None if a == b else "%s: %r over JSON, %r over gRPC" % (path, a, b)


HTTP_OF = {"OK": 200, "INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "NOT_FOUND": 404,
           "PERMISSION_DENIED": 403, "UNAUTHENTICATED": 401, "RESOURCE_EXHAUSTED": 429}


def same_as_grpc(env, who, read):
    method, stub, rpc, module, message, request = read
    a = env.api.call(env.tokens[who], method, request)
    code, expected, details = grpc_call(env.grpc[who], stub, rpc, module, message, request)
    if (a.headers.get("Content-Type") or "").split(";")[0] != "application/json":
        raise CheckFailed("%s: Content-Type %r" % (method, a.headers.get("Content-Type")))
    if code != "OK":
        want = {"code": code, "message": details}
        if a.status != HTTP_OF[code] or a.json != want:
            raise CheckFailed("%s as %s: gRPC says %s %r; JSON answered %s"
                              % (method, who, code, details, a.describe()))
        return code
    if a.status != 200 or not isinstance(a.json, dict):
        raise CheckFailed("%s as %s: gRPC answered; JSON %s" % (method, who, a.describe()))
    diff = first_difference(strip_timing(a.json), strip_timing(expected))
    if diff:
        raise CheckFailed("%s as %s %s: %s" % (method, who, json.dumps(request, ensure_ascii=False),
                                                diff))
    return code


def a_reads(env, who):
    if who == "admin":
        codes = [same_as_grpc(env, who, r) for r in reads(env) if r[0].startswith("Admin/")]
        if codes != ["OK"] * len(codes):
            raise CheckFailed("the admin's Admin calls ended %s" % codes)
        return
    codes = [same_as_grpc(env, who, r) for r in reads(env)]
    if who == "agent":
        admin_only = sum(1 for r in reads(env) if r[0].startswith("Admin/"))
        if codes.count("OK") != len(codes) - admin_only:
            raise CheckFailed("the agent's calls ended %s, expected all OK but the Admin ones" % codes)
        # The sample's main case: Camille's account manager comes first, with her reason.
        r = env.api.call(env.tokens["agent"], "Expertise/FindExperts",
                         {"text": FRENCH, "customer": CAMILLE, "limit": 5})
        experts = (r.json or {}).get("experts", [])
        if not experts or experts[0]["person"]["displayName"] != "Isabelle Laurent":
            raise CheckFailed("FindExperts over JSON does not put Isabelle Laurent first: %s"
                              % r.describe())
    elif codes.count("OK") == 0:
        raise CheckFailed("the reader's calls all failed: %s" % codes)


def b_reader_refused(env):
    r = env.api.call(env.tokens["reader"], "Directory/GetProfile", {"identifier": CAMILLE})
    if r.status != 404 or r.json.get("code") != "NOT_FOUND" or \
            "no profile has identifier" not in r.json.get("message", ""):
        raise CheckFailed("a reader reading a customer: %s" % r.describe())
    r = env.api.call(env.tokens["reader"], "Directory/CustomerHistory", {"identifier": CAMILLE})
    if r.status != 404:
        raise CheckFailed("a reader reading a customer's history: %s" % r.describe())
    r = env.api.call(env.tokens["reader"], "Admin/ListSources", {})
    if r.status != 403 or "needs the role" not in r.json.get("message", ""):
        raise CheckFailed("a reader listing sources: %s" % r.describe())
    r = env.api.call(env.tokens["reader"], "Expertise/FindExperts", {"text": FRENCH})
    if r.status != 403 or "needs the role agent" not in r.json.get("message", ""):
        raise CheckFailed("a reader asking FindExperts (an agent's call): %s" % r.describe())
    r = env.api.call(env.tokens["reader"], "Directory/SearchPeople", {"prefix": "camille"})
    kinds = [p.get("kind") for p in (r.json or {}).get("people", [])]
    if r.status != 200 or "customer" in kinds:
        raise CheckFailed("a reader's search shows a customer: %s" % r.describe())


def open_cases(env, person_id):
    t = env.grpc["agent"]
    resp = t.expertise.FindExperts(t.expertise_pb.FindExpertsRequest(text=FRENCH, limit=50),
                                   metadata=t.metadata, timeout=t.timeout)
    for e in resp.experts:
        if e.person.id == person_id:
            return e.open_cases
    raise CheckFailed("profile %d is not among the experts for the French message" % person_id)


def c_hand_over(env):
    first = env.api.call(env.tokens["agent"], "Expertise/FindExperts",
                         {"text": FRENCH, "customer": CAMILLE, "limit": 3})
    experts = first.json.get("experts", []) if first.status == 200 else []
    if len(experts) < 2:
        raise CheckFailed("FindExperts gave fewer than 2 experts: %s" % first.describe())
    second = experts[1]["person"]
    person_id = int(second["id"])
    before = open_cases(env, person_id)
    email = second.get("email")
    if not email:
        raise CheckFailed("the second expert has no e-mail to hand over to: %s" % second)
    r = env.api.call(env.tokens["agent"], "Expertise/RecordOutcome", {
        "case": {"type": "case", "value": "WEB-TEST-1"},
        "handledBy": {"type": "email", "value": email}, "status": "open",
        "text": FRENCH, "customer": CAMILLE, "channel": "twitter"})
    if r.status != 200 or r.json.get("created") is not True or \
            r.json.get("personProfileId") != str(person_id):
        raise CheckFailed("RecordOutcome over JSON: %s" % r.describe())
    after = open_cases(env, person_id)
    if after != before + 1:
        raise CheckFailed("open_cases of %s went %d -> %d, expected +1" % (email, before, after))
    # Withdrawn (the console's undo): the load goes back, and the case made from the
    # message is gone; a second withdrawal has nothing to take back.
    undo = {"case": {"type": "case", "value": "WEB-TEST-1"},
            "handledBy": {"type": "email", "value": email}, "status": "withdrawn"}
    r = env.api.call(env.tokens["agent"], "Expertise/RecordOutcome", undo)
    if r.status != 200:
        raise CheckFailed("withdrawing the hand-over: %s" % r.describe())
    if open_cases(env, person_id) != before:
        raise CheckFailed("open_cases of %s is %d after the withdrawal, expected %d"
                          % (email, open_cases(env, person_id), before))
    r = env.api.call(env.tokens["agent"], "Directory/GetProfile",
                     {"identifier": {"type": "case", "value": "WEB-TEST-1"}})
    if r.status != 404:
        raise CheckFailed("the withdrawn hand-over's case is still there: %s" % r.describe())
    r = env.api.call(env.tokens["agent"], "Expertise/RecordOutcome", undo)
    if r.status != 404 or "case:WEB-TEST-1" not in r.json.get("message", ""):
        raise CheckFailed("withdrawing twice (the case is gone): %s" % r.describe())
    # A hand-over of an existing case (a sample case) withdrawn by someone it is not
    # open with has nothing to take back.
    r = env.api.call(env.tokens["agent"], "Expertise/RecordOutcome", {
        "case": {"type": "case", "value": "HD-5001"}, "handledBy": {"type": "email", "value": email},
        "status": "withdrawn"})
    if r.status != 400 or r.json.get("code") != "FAILED_PRECONDITION":
        raise CheckFailed("withdrawing a hand-over that was never made: %s" % r.describe())


def stats(env):
    s = env.admin.stats()
    return (s.sequence, s.live_fragments) if hasattr(s, "live_fragments") else (s.sequence,)


def d_refusals(env):
    agent = env.tokens["agent"]
    before = stats(env)
    cases = [
        ("no token", env.api.call("", "Directory/SearchPeople", {"prefix": "a"}), 401,
         "UNAUTHENTICATED", ""),
        ("unknown method", env.api.call(agent, "Directory/Erase", {}), 404, "NOT_FOUND",
         "Directory/GetProfile"),
        ("GET", env.api.call(agent, "Directory/GetProfile", None, http_method="GET", raw=b""),
         405, "INVALID_ARGUMENT", "POST"),
        ("text/plain", env.api.call(agent, "Directory/SearchPeople", {"prefix": "a"},
                                    content_type="text/plain"), 415, "INVALID_ARGUMENT",
         "application/json"),
        ("broken JSON", env.api.call(agent, "Directory/SearchPeople", None, raw=b'{"prefix": '),
         400, "INVALID_ARGUMENT", "tessera.v1.SearchPeopleRequest"),
        ("unknown field", env.api.call(agent, "Directory/SearchPeople", {"prefx": "a"}), 400,
         "INVALID_ARGUMENT", "prefx"),
        ("wrong type", env.api.call(agent, "Directory/SearchPeople", {"limit": "many"}), 400,
         "INVALID_ARGUMENT", "tessera.v1.SearchPeopleRequest"),
        ("channel over its limit", env.api.call(agent, "Expertise/FindExperts",
                                                {"text": "card", "channel": "x" * 65}), 400,
         "INVALID_ARGUMENT", "size limit"),
        ("a hand-over without a case", env.api.call(agent, "Expertise/RecordOutcome",
                                                    {"status": "open"}), 400,
         "INVALID_ARGUMENT", "identifiers"),
    ]
    problems = []
    for name, r, status, code, words in cases:
        ok = (r.status == status and isinstance(r.json, dict) and r.json.get("code") == code
              and words in r.json.get("message", "")
              and (r.headers.get("Content-Type") or "").startswith("application/json"))
        if not ok:
            problems.append("%s: expected %d %s mentioning %r, got %s"
                            % (name, status, code, words, r.describe()))
    if stats(env) != before:
        problems.append("the refused calls changed the database: %s -> %s" % (before, stats(env)))
    if problems:
        raise CheckFailed("; ".join(problems))


def e_audited(env):
    auditor = env.admin
    entries = auditor.audit_entries()
    web = [e for e in entries if e.peer.startswith("ipv4:127.0.0.1:")]
    finds = [e for e in web if e.method == "Expertise.FindExperts" and e.principal == "web-agent"
             and len(e.profile_ids) == 1]
    reads_ = [e for e in web if e.method == "Directory.GetProfile" and e.principal == "web-agent"
              and e.outcome == "OK" and e.profile_ids]
    if not finds or not reads_:
        raise CheckFailed("audit log: %d FindExperts naming the customer and %d GetProfile of a "
                          "customer by web-agent; expected both" % (len(finds), len(reads_)))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p, os.path.join(HERE, "..", "scim"))
    sample.add_args(p)
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    try:
        require(args, "base", "grpc", "admin_token", "agent_token", "reader_token", "loader_token",
                "cli")
        sample.load_sample(args)
        http_base = args.base[:args.base.index("/scim/v2")]
        env = Env(args, JsonApi(http_base, args.timeout), connect(args, args.agent_token),
                  connect(args, args.reader_token), connect(args))
    except UsageError as e:
        print("json_api: error: %s" % e, file=sys.stderr)
        return 2
    tally = Tally(args.verbose)
    tally.run("(a) an agent's reads: the same answers over JSON as over gRPC", a_reads, env,
              "agent")
    tally.run("(a) a reader's reads: the same answers and refusals", a_reads, env, "reader")
    tally.run("(a) an admin's ListSources and ListRules: the same answers", a_reads, env, "admin")
    tally.run("(b) a reader sees no customer and no sources", b_reader_refused, env)
    tally.run("(c) a hand-over over JSON adds one open case to the new holder", c_hand_over, env)
    tally.run("(d) refusals of the JSON face, each a JSON error; nothing written", d_refusals,
              env)
    tally.run("(e) the console's reads are audited", e_audited, env)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
