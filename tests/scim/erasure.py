"""SCIM and the right to erasure, against the real tesserad: a user an identity provider
provisioned is erased over gRPC (Admin.Erase), and afterwards nothing of theirs is left
in the SCIM store either.

  (a) a group with two members, Ann and Bob, provisioned over SCIM;
  (b) Admin.Erase of Ann by her scim_id reports provisioning rows removed;
  (c) Ann's resource is gone: GET /Users/{id} 404, the filters on her userName, e-mail and
      externalId find nothing, the group lists Bob alone, a listing of /Users holds Bob alone;
  (d) a PATCH of her old id gets 404 and writes nothing;
  (e) provisioning her again (the IdP re-sends her) is refused: 403 whose detail tells the
      IdP administrator what to do, and nothing is added;
  (f) Bob is untouched: his resource, group membership and member_of edge;
  (g) Admin.Rebuild re-derives the SCIM fragments, and Ann's does not come back;
  (h) the erasure's audit entry counts the provisioning rows.

Run by run_erasure_test.sh with the arguments of scimlib.add_common_args. Exit status 0
when every case passed, 1 when one failed, 2 on bad arguments.
"""

import argparse
import os
import sys

from scimlib import (CheckFailed, Tally, UsageError, ScimClient, add_common_args, connect,
                     describe_edges, expect_status, group_body, json_of, patch_body, quote_query,
                     require, scim_error, user_body)

HERE = os.path.dirname(os.path.abspath(__file__))

ANN = "ann.erased@lumen.example"
BOB = "bob.kept@lumen.example"


class Env:
    def __init__(self, args, client, tessera):
        self.args = args
        self.client = client
        self.tessera = tessera
        self.ids = {}        # ann, bob, group -> SCIM id
        self.erase = None    # EraseResponse


def created_id(r, what):
    expect_status(r, 201, what=what)
    rid = json_of(r, what).get("id")
    if not isinstance(rid, str) or not rid:
        raise CheckFailed("%s: no id in %s" % (what, r.describe()))
    return rid


def listed_users(env):
    """The ids an unfiltered GET /Users lists (this test's source holds a handful)."""
    r = expect_status(env.client.get("/Users?count=100"), 200, what="GET /Users")
    return sorted(u.get("id") for u in json_of(r, "GET /Users").get("Resources", []))


def a_provision(env):
    c = env.client
    env.ids["ann"] = created_id(c.post("/Users", user_body(ANN, "Ann", "Erased", emails=[ANN],
                                                           externalId="ext-ann-1")),
                                "POST Ann")
    env.ids["bob"] = created_id(c.post("/Users", user_body(BOB, "Bob", "Kept", emails=[BOB])),
                                "POST Bob")
    env.ids["group"] = created_id(c.post("/Groups", group_body("Erasure test group")),
                                  "POST group")
    add = patch_body({"op": "Add", "path": "members",
                      "value": [{"value": env.ids["ann"]}, {"value": env.ids["bob"]}]})
    expect_status(c.patch("/Groups/" + env.ids["group"], add), 204, 200, what="PATCH group")
    listed = listed_users(env)
    if listed != sorted([env.ids["ann"], env.ids["bob"]]):
        raise CheckFailed("GET /Users lists %s, expected Ann and Bob" % listed)
    ann = env.tessera.profile(env.ids["ann"])  # her profile exists before
    if ANN not in [i.value for i in ann.identifiers]:
        raise CheckFailed("Ann's profile lacks her e-mail before the erasure")


def b_erase(env):
    t = env.tessera
    req = t.admin_pb.EraseRequest(identifier=t.scim_id(env.ids["ann"]),
                                  reason="erasure test: SCIM rows go too")
    env.erase = t._call("Admin.Erase(Ann)", t.admin.Erase, req)
    if env.erase.fragments < 1:
        raise CheckFailed("Erase removed %d fragments" % env.erase.fragments)
    # Her record, place, userName, e-mail and externalId indexes, two membership rows,
    # and the group's record (its version moves): at least 8 rows.
    if env.erase.provisioning_rows < 8:
        raise CheckFailed("Erase reports %d provisioning rows, expected at least 8"
                          % env.erase.provisioning_rows)


def c_gone(env):
    c = env.client
    scim_error(c.get("/Users/" + env.ids["ann"]), 404)
    for flt in ('userName eq "%s"' % ANN, 'emails.value eq "%s"' % ANN,
                'externalId eq "ext-ann-1"'):
        r = expect_status(c.get("/Users?filter=" + quote_query(flt)), 200, what=flt)
        body = json_of(r, flt)
        if body.get("totalResults") != 0 or body.get("Resources"):
            raise CheckFailed("filter %s still finds: %s" % (flt, r.describe()))
    r = expect_status(c.get("/Groups/" + env.ids["group"]), 200, what="GET group")
    members = sorted(m.get("value") for m in json_of(r).get("members", []))
    if members != [env.ids["bob"]]:
        raise CheckFailed("the group's members are %s, expected Bob alone (%s)"
                          % (members, env.ids["bob"]))
    listed = listed_users(env)
    if listed != [env.ids["bob"]]:
        raise CheckFailed("GET /Users lists %s after the erasure, expected Bob alone (%s)"
                          % (listed, env.ids["bob"]))


def d_patch_old_id(env):
    c = env.client
    body = patch_body({"op": "Replace", "path": "displayName", "value": "Ann Again"})
    scim_error(c.patch("/Users/" + env.ids["ann"], body), 404)
    code = env.tessera.fragment_code(env.ids["ann"])
    if code != "NOT_FOUND":
        raise CheckFailed("Admin.GetFragment of Ann's old id: %s, expected NOT_FOUND" % code)


def e_reprovision_refused(env):
    c = env.client
    r = c.post("/Users", user_body(ANN, "Ann", "Erased", emails=[ANN]))
    scim_error(r, 403)
    detail = json_of(r).get("detail", "")
    if "erased" not in detail or "identity provider" not in detail:
        raise CheckFailed("the 403's detail does not tell the IdP admin what happened and what to "
                          "do: %r" % detail)
    listed = listed_users(env)
    if listed != [env.ids["bob"]]:
        raise CheckFailed("GET /Users lists %s after a refused POST, expected Bob alone" % listed)


def f_bob_untouched(env):
    c = env.client
    r = expect_status(c.get("/Users/" + env.ids["bob"]), 200, what="GET Bob")
    groups = [g.get("value") for g in json_of(r).get("groups", [])]
    if groups != [env.ids["group"]]:
        raise CheckFailed("Bob's groups are %s, expected [%s]" % (groups, env.ids["group"]))
    bob = env.tessera.profile(env.ids["bob"])
    edges = env.tessera.out_edges(bob.id, "member_of")
    if not any(e.target.value == env.args.source + "/" + env.ids["group"] for e in edges):
        raise CheckFailed("Bob's member_of edges: %s" % describe_edges(edges))


def g_rebuild(env):
    t = env.tessera
    r = t._call("Admin.Rebuild", t.admin.Rebuild, t.admin_pb.RebuildRequest())
    if r.scim_resources < 2:
        raise CheckFailed("Rebuild read %d SCIM resources, expected Bob and the group at least"
                          % r.scim_resources)
    if r.scim_rewritten != 0:
        raise CheckFailed("Rebuild rewrote %d SCIM fragments, expected none" % r.scim_rewritten)
    code = t.fragment_code(env.ids["ann"])
    if code != "NOT_FOUND":
        raise CheckFailed("after Rebuild, Admin.GetFragment of Ann: %s, expected NOT_FOUND" % code)
    code = t.profile_code(env.ids["ann"])
    if code != "NOT_FOUND":
        raise CheckFailed("after Rebuild, GetProfile(scim_id of Ann): %s, expected NOT_FOUND" % code)


def h_audit(env):
    entries = env.tessera.audit_entries()
    mine = [e for e in entries if e.sequence == env.erase.audit_sequence]
    if not mine:
        raise CheckFailed("no audit entry %d (the erasure's)" % env.erase.audit_sequence)
    want = "%d provisioning rows" % env.erase.provisioning_rows
    if want not in mine[0].detail:
        raise CheckFailed("the erasure's audit detail lacks %r: %r" % (want, mine[0].detail))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p, HERE)
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    try:
        require(args, "base", "token", "grpc", "admin_token")
        env = Env(args, ScimClient(args.base, args.token, args.timeout), connect(args))
    except UsageError as e:
        print("erasure: error: %s" % e, file=sys.stderr)
        return 2
    tally = Tally(args.verbose)
    steps = [
        ("(a) a group with Ann and Bob provisioned over SCIM", a_provision),
        ("(b) Admin.Erase of Ann reports provisioning rows removed", b_erase),
        ("(c) Ann's resource, indexes and membership are gone", c_gone),
        ("(d) a PATCH of her old id: 404, nothing written", d_patch_old_id),
        ("(e) provisioning her again: 403 with an actionable detail", e_reprovision_refused),
        ("(f) Bob is untouched", f_bob_untouched),
        ("(g) Admin.Rebuild does not bring Ann back", g_rebuild),
        ("(h) the audit entry counts the provisioning rows", h_audit),
    ]
    for name, fn in steps:
        if not tally.run(name, fn, env) and fn in (a_provision, b_erase):
            break  # the later cases need these
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
