#!/usr/bin/python3
"""Concurrent SCIM writes against the real tesserad: no membership lost, no duplicate user.

(a) One group, 200 users (created by 16 threads at once). 16 threads, released together by
    a barrier, PATCH the same group, each adding its own disjoint slice of the users a few
    at a time (Entra's capitalised "Add" with {"$ref": null, "value"} and Okta's "add"
    alternating; some threads send Okta's no-path rename to the same name before each
    change, which must not touch the members). Every third thread also removes two of its
    users (Entra's "Remove" with a value, Okta's members[value eq "..."]) and adds them
    again; every fourth thread finally removes one of its users for good. Then:
    GET /Groups/{id} holds exactly the expected members (and as many); a sample of 20
    members has the group in GET /Users/{id} "groups" and, over gRPC, a member_of edge
    (Directory.Neighbors) from the member's profile to the group's; each user removed for
    good has neither.
(b) 20 times: 16 threads released together POST one userName, each in a different case:
    exactly one 201, fifteen 409 uniqueness; GET /Users?filter=userName eq "..." finds
    exactly that one user; over gRPC its profile has the userName as upn. At the end the
    number of users grew by exactly 20.
(c) No connection was reset. A request whose connection tesserad resets before answering
    (seen when a burst of new connections overflows the listen queue: the kernel falls
    back to SYN cookies and some fail) is retried, up to 3 times, so that (a) and (b)
    still judge the data; each reset is counted and fails this case, with the kernel's
    ListenOverflows / SyncookiesFailed counters (/proc/net/netstat) over the run.

Output: one line per failed case (every case with -v), then "N passed, M failed". Exit
status 0 when no case failed, 1 otherwise, 2 on usage errors. Run it with /usr/bin/python3
(python3-grpcio, python3-grpc-tools); run_concurrency_test.sh starts tesserad and passes
every argument.
"""

import argparse
import os
import random
import sys
import threading
import time
import uuid

from scimlib import (CheckFailed, ScimClient, Tally, UsageError, add_common_args, connect,
                     describe_edges, expect_status, group_body, identifier_values, json_of,
                     patch_body, quote_query, require, scim_error, total_results, user_body)

JOIN_SECONDS = 120  # the longest a batch of threads may take
RETRIES = 3         # of a request whose connection was reset before an answer


class ResetCountingClient(ScimClient):
    """A ScimClient that retries a request whose connection was reset before any answer
    (ConnectionResetError, http.client.RemoteDisconnected) and records each reset."""

    def __init__(self, base, token, timeout):
        super().__init__(base, token, timeout)
        self.resets = []
        self.lock = threading.Lock()

    def send(self, method, target, headers, body):
        for attempt in range(RETRIES + 1):
            try:
                return super().send(method, target, headers, body)
            except ConnectionResetError as e:
                with self.lock:
                    self.resets.append("%s %s: %s" % (method, target[:60], e))
                if attempt == RETRIES:
                    raise
                time.sleep(0.05 * (attempt + 1))  # a back-off, as an identity provider would


def kernel_tcp_counters():
    """A few TcpExt counters of /proc/net/netstat (empty where unreadable)."""
    wanted = ("ListenOverflows", "ListenDrops", "SyncookiesSent", "SyncookiesFailed")
    out = {}
    try:
        with open("/proc/net/netstat") as f:
            lines = f.read().splitlines()
    except OSError:
        return out
    for names, values in zip(lines[::2], lines[1::2]):
        if not names.startswith("TcpExt:"):
            continue
        for n, v in zip(names.split()[1:], values.split()[1:]):
            if n in wanted:
                out[n] = int(v)
    return out


def run_threads(n, fn):
    """Runs fn(i) on n threads released together by a barrier; returns their results, or
    CheckFailed naming every thread that raised (or did not end within JOIN_SECONDS)."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, [None] * n

    def body(i):
        try:
            barrier.wait(timeout=JOIN_SECONDS)
            results[i] = fn(i)
        except BaseException as e:  # reported below, with the thread's number
            errors[i] = "%s: %s" % (type(e).__name__, e)

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + JOIN_SECONDS
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = [i for i, t in enumerate(threads) if t.is_alive()]
    if stuck:
        raise CheckFailed("threads %s did not end within %d s" % (stuck, JOIN_SECONDS))
    failed = ["thread %d: %s" % (i, e) for i, e in enumerate(errors) if e is not None]
    if failed:
        raise CheckFailed("; ".join(failed[:8]) + (" (and %d more)" % (len(failed) - 8)
                                                   if len(failed) > 8 else ""))
    return results


def case_variants(name, n):
    """n different spellings of name that differ only in the case of its letters."""
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    bits = max(1, (n - 1).bit_length())
    if len(letters) < bits:
        raise ValueError("%r has too few letters for %d variants" % (name, n))
    out = []
    for j in range(n):
        chars = list(name.lower())
        for bit in range(bits):
            if (j >> bit) & 1:
                chars[letters[bit]] = chars[letters[bit]].upper()
        out.append("".join(chars))
    assert len(set(out)) == n
    return out


class Env:
    def __init__(self, args, client, tessera):
        self.args = args
        self.client = client
        self.tessera = tessera
        self.run = uuid.uuid4().hex[:10]
        self.rng = random.Random(args.seed)
        self.gid = None
        self.users = []         # ids of part (a)'s users, in creation order
        self.expected = set()   # the members part (a) must end with
        self.removed = set()    # users removed for good
        self.patched = False
        self.users_before_b = None
        self.tcp_before = kernel_tcp_counters()


# ---------------------------------------------------------------------------------------------
# (a) concurrent membership PATCHes of one group
# ---------------------------------------------------------------------------------------------


def a_create(env):
    r = expect_status(env.client.post("/Groups", group_body("Concurrent Team " + env.run)), 201,
                      what="POST /Groups")
    env.gid = json_of(r)["id"]
    n, threads = env.args.users, env.args.threads

    def create(i):
        ids = []
        for k in range(i, n, threads):
            name = "member%03d.%s@example.com" % (k, env.run)
            r = env.client.post("/Users", user_body(name, "Member", "N%03d" % k, emails=[name]))
            if r.status != 201:
                raise CheckFailed("POST /Users %s: %s" % (name, r.describe()))
            ids.append((k, json_of(r)["id"]))
        return ids

    created = sorted(p for part in run_threads(threads, create) for p in part)
    env.users = [uid for _, uid in created]
    if len(set(env.users)) != n:
        raise CheckFailed("%d distinct ids for %d users" % (len(set(env.users)), n))


def member_value(uid, entra):
    return {"$ref": None, "value": uid} if entra else {"value": uid, "display": "member"}


def a_patch(env):
    if env.gid is None or not env.users:
        raise CheckFailed("not run: the group or the users were not created")
    threads = env.args.threads
    slices = [env.users[i::threads] for i in range(threads)]
    removed = {slices[i][-1] for i in range(threads) if i % 4 == 3 and slices[i]}
    env.expected = set(env.users) - removed
    env.removed = removed
    group_name = "Concurrent Team " + env.run
    target = "/Groups/" + env.gid

    def send(body, what):
        r = env.client.patch(target, body)
        if r.status != 204:
            raise CheckFailed("%s: %s" % (what, r.describe()))

    def worker(i):
        mine = slices[i]
        okta_rename = i % 5 == 1
        sent = 0
        for start in range(0, len(mine), 3):
            chunk = mine[start:start + 3]
            entra = (i + start) % 2 == 0
            if okta_rename:
                send(patch_body({"op": "replace",
                                 "value": {"id": env.gid, "displayName": group_name}}),
                     "Okta rename to the same name")
            send(patch_body({"op": "Add" if entra else "add", "path": "members",
                             "value": [member_value(u, entra) for u in chunk]}),
                 "%s members %s" % ("Add" if entra else "add", chunk))
            sent += 1
        if i % 3 == 0:
            for k, uid in enumerate(mine[:2]):
                if k % 2 == 0:  # Entra: Remove with a value
                    send(patch_body({"op": "Remove", "path": "members",
                                     "value": [member_value(uid, True)]}), "Remove " + uid)
                else:  # Okta: a value filter
                    send(patch_body({"op": "remove", "path": 'members[value eq "%s"]' % uid}),
                         "remove members[value eq %s]" % uid)
                send(patch_body({"op": "add", "path": "members",
                                 "value": [member_value(uid, False)]}), "re-add " + uid)
                sent += 2
        if i % 4 == 3 and mine:
            send(patch_body({"op": "Remove", "path": "members",
                             "value": [member_value(mine[-1], True)]}),
                 "Remove for good " + mine[-1])
            sent += 1
        return sent

    sent = sum(run_threads(threads, worker))
    env.patched = True
    if env.args.verbose:
        print("     (a) %d PATCHes from %d threads, %d members expected, %d removed for good"
              % (sent, threads, len(env.expected), len(env.removed)), flush=True)


def a_members(env):
    if not env.patched:
        raise CheckFailed("not run: the PATCHes failed")
    r = expect_status(env.client.get("/Groups/" + env.gid), 200, what="GET /Groups/{id}")
    values = [m.get("value") for m in json_of(r).get("members", []) or []]
    got = set(values)
    problems = []
    if len(values) != len(got):
        problems.append("%d members listed, %d distinct" % (len(values), len(got)))
    missing, extra = env.expected - got, got - env.expected
    if missing:
        problems.append("%d expected members missing (lost updates?): %s"
                        % (len(missing), sorted(missing)[:5]))
    if extra:
        problems.append("%d members that should not be there: %s" % (len(extra), sorted(extra)[:5]))
    if len(values) != len(env.expected):
        problems.append("%d members, expected %d" % (len(values), len(env.expected)))
    if problems:
        raise CheckFailed("; ".join(problems))


def a_edges(env):
    if not env.patched:
        raise CheckFailed("not run: the PATCHes failed")
    t = env.tessera
    group = t.profile(env.gid)
    sample = env.rng.sample(sorted(env.expected), min(20, len(env.expected)))
    problems = []
    for uid in sample:
        r = expect_status(env.client.get("/Users/" + uid), 200, what="GET /Users/" + uid)
        groups = [g.get("value") for g in json_of(r).get("groups", []) or []]
        if env.gid not in groups:
            problems.append("GET /Users/%s: groups %s lack the group %s" % (uid, groups, env.gid))
        p = t.profile(uid)
        edges = t.out_edges(p.id, "member_of")
        if not any(e.profile_id == group.id for e in edges):
            problems.append("profile %d (user %s) has member_of edges %s, expected one to profile "
                            "%d (the group)" % (p.id, uid, describe_edges(edges), group.id))
    for uid in sorted(env.removed):
        r = expect_status(env.client.get("/Users/" + uid), 200, what="GET /Users/" + uid)
        groups = [g.get("value") for g in json_of(r).get("groups", []) or []]
        if env.gid in groups:
            problems.append("GET /Users/%s (removed) still lists the group" % uid)
        p = t.profile(uid)
        edges = t.out_edges(p.id, "member_of")
        if any(e.profile_id == group.id for e in edges):
            problems.append("profile %d (user %s, removed) still has a member_of edge to the "
                            "group's profile %d" % (p.id, uid, group.id))
    if problems:
        raise CheckFailed("; ".join(problems[:10]))


# ---------------------------------------------------------------------------------------------
# (b) concurrent POSTs of one userName
# ---------------------------------------------------------------------------------------------


def b_race(env, k):
    if env.users_before_b is None:
        env.users_before_b = total_results(env.client, "Users")
    name = "race%02d.%s@example.com" % (k, env.run)
    variants = case_variants(name, env.args.threads)

    def post(i):
        return env.client.post("/Users", user_body(variants[i], "Race", "Runner%d" % i,
                                                   emails=[variants[i]]))

    answers = run_threads(env.args.threads, post)
    created = [(i, r) for i, r in enumerate(answers) if r.status == 201]
    problems = []
    if len(created) != 1:
        problems.append("%d answers 201 (from variants %s), expected exactly 1"
                        % (len(created), [variants[i] for i, _ in created]))
    for i, r in enumerate(answers):
        if r.status == 201:
            continue
        try:
            scim_error(r, 409, "uniqueness")
        except CheckFailed as e:
            problems.append("POST %s: %s" % (variants[i], e))
    if problems:
        raise CheckFailed("; ".join(problems[:6]))
    winner = json_of(created[0][1])["id"]
    r = expect_status(env.client.get("/Users?filter=" + quote_query('userName eq "%s"' % name)),
                      200, what="filter GET")
    body = json_of(r)
    found = [u.get("id") for u in body.get("Resources", []) or []]
    if body.get("totalResults") != 1 or found != [winner]:
        raise CheckFailed("GET /Users?filter=userName eq \"%s\": totalResults %s, ids %s; expected "
                          "1 and [%s]" % (name, body.get("totalResults"), found, winner))
    p = env.tessera.profile(winner)
    if identifier_values(p, "upn") != [name.lower()]:
        raise CheckFailed("profile %d: upn %s, expected [%s]"
                          % (p.id, identifier_values(p, "upn"), name.lower()))


def c_no_resets(env):
    resets = env.client.resets
    if resets:
        after = kernel_tcp_counters()
        counters = ", ".join("%s +%d" % (k, after[k] - env.tcp_before.get(k, 0))
                             for k in sorted(after)) or "unreadable"
        raise CheckFailed("tesserad reset %d connections before answering (each retried): %s%s; "
                          "kernel counters over the run (all of this host): %s"
                          % (len(resets), "; ".join(resets[:3]),
                             " ..." if len(resets) > 3 else "", counters))


def b_total(env):
    if env.users_before_b is None:
        raise CheckFailed("not run")
    after = total_results(env.client, "Users")
    if after != env.users_before_b + env.args.names:
        raise CheckFailed("GET /Users totalResults went from %d to %d, expected +%d"
                          % (env.users_before_b, after, env.args.names))


# ---------------------------------------------------------------------------------------------


def parse_args(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(p, here)
    p.add_argument("--threads", type=int, default=16, help="threads (default %(default)s)")
    p.add_argument("--users", type=int, default=200, help="users in (a) (default %(default)s)")
    p.add_argument("--names", type=int, default=20,
                   help="userNames raced for in (b) (default %(default)s)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the sample of members checked (default: random)")
    args = p.parse_args(argv)
    if args.threads < 2 or args.users < args.threads or args.names < 1:
        p.error("need --threads >= 2, --users >= --threads, --names >= 1")
    return args


def main(argv):
    args = parse_args(argv)
    try:
        require(args, "base", "token", "grpc", "admin_token")
        env = Env(args, ResetCountingClient(args.base, args.token, args.timeout), connect(args))
    except UsageError as e:
        print("concurrency: error: %s" % e, file=sys.stderr)
        return 2
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
        env.rng = random.Random(args.seed)
    print("concurrency: %d threads, %d users, %d userNames, --seed %d"
          % (args.threads, args.users, args.names, args.seed), flush=True)
    tally = Tally(args.verbose)
    tally.run("(a) a group and %d users created by %d threads" % (args.users, args.threads),
              a_create, env)
    tally.run("(a) %d threads PATCH the group's members at once: every answer 204" % args.threads,
              a_patch, env)
    tally.run("(a) GET /Groups/{id}: exactly the expected members", a_members, env)
    tally.run("(a) 20 members have the group in groups and a member_of edge; removed ones not",
              a_edges, env)
    for k in range(args.names):
        tally.run("(b) #%d: %d POSTs of one userName in different cases: one 201, the rest 409"
                  % (k + 1, args.threads), b_race, env, k)
    tally.run("(b) the users grew by exactly %d" % args.names, b_total, env)
    tally.run("(c) no connection reset by tesserad", c_no_resets, env)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
