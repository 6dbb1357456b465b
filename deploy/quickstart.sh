#!/usr/bin/env bash
# The README's first command. On a fresh Debian 12 machine: installs the packages,
# builds, starts tesserad on a throwaway RocksDB and a throwaway OpenLDAP server with
# the sample directory, syncs the sample organisation (tests/data/sample) from six
# sources through the connectors, shows one unified profile with provenance, a
# customer's history, who can solve her issue, a hand-over moving the load, the
# conflicts, an incremental LDAP sync seen in the change feed, an erasure that a later
# sync cannot undo, and stops cleanly.
#
#   deploy/quickstart.sh [--keep-running [--port N]]
#
# --keep-running: after the tour, serve the web console on the sample organisation
# (tokens on, an agent token and an admin token printed) until Ctrl-C, then stop
# cleanly. --port N: the console's port (default 8080; 0 picks a free one).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

KEEP_RUNNING=0
CONSOLE_PORT=8080
while [ $# -gt 0 ]; do
  case "$1" in
    --keep-running) KEEP_RUNNING=1 ;;
    --port)
      [ $# -ge 2 ] && [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -le 65535 ] ||
        { echo "quickstart: --port needs a port number (0-65535)" >&2; exit 2; }
      CONSOLE_PORT=$2
      shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "quickstart: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '\n==> %s\n' "$*"; }

step "Installing Debian packages"
deploy/install-deps.sh

step "Building tesserad, tessera and tessera-connect (ccache; the first build takes a few minutes)"
deploy/build.sh tesserad tessera tessera-connect
BUILD_DIR=${TESSERA_BUILD_DIR:-build}
case "$BUILD_DIR" in /*) BIN=$BUILD_DIR ;; *) BIN="$ROOT/$BUILD_DIR" ;; esac

WORK=$(mktemp -d -t tessera-quickstart-XXXXXX)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; fi
  if [ -s "$WORK/ldap/slapd.pid" ]; then kill "$(cat "$WORK/ldap/slapd.pid")" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

step "Starting tesserad on a fresh database in $WORK"
"$BIN/server/app/tesserad" --config deploy/quickstart.json --db "$WORK/db" \
  --listen 127.0.0.1:0 --port-file "$WORK/port" \
  --http-listen 127.0.0.1:0 --http-port-file "$WORK/http_port" 2>"$WORK/tesserad.log" &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
[ -s "$WORK/port" ] || { cat "$WORK/tesserad.log"; echo "tesserad did not start" >&2; exit 1; }
export TESSERA_SERVER="127.0.0.1:$(cat "$WORK/port")"
tessera() { "$BIN/client/cli/tessera" "$@"; }
tessera health
tessera admin sources

step "Starting a throwaway OpenLDAP server with the sample directory (tests/data/sample/ldap.ldif)"
SUFFIX=dc=banque-lumen,dc=example
LDAP_URI=$(deploy/throwaway-slapd.sh "$WORK/ldap" "$SUFFIX" tests/data/sample/ldap.ldif)
echo "slapd at $LDAP_URI"
SAMPLE="$ROOT/tests/data/sample"
cat > "$WORK/ldap.json" <<JSON
{
  "source": {"id": "ldap", "kind": "ldap", "priority": 80, "description": "OpenLDAP people directory"},
  "input": {"uri": "$LDAP_URI", "bind_dn": "cn=admin,$SUFFIX", "password_file": "$WORK/ldap/password",
            "base_dn": "ou=people,$SUFFIX"}
}
JSON
connect() { "$BIN/connectors/tessera-connect" --state-dir "$WORK/state" "$@"; }

step "Syncing the sample organisation through the connectors, source by source"
connect --config "$SAMPLE/connect/hr.json"        # HR export, CSV
connect --config "$WORK/ldap.json"                # LDAP, paged search
connect --config "$SAMPLE/connect/crm.json"       # CRM customers and account managers
connect --config "$SAMPLE/connect/social.json"    # Twitter/Facebook/Instagram/WhatsApp conversations
connect --config "$SAMPLE/connect/helpdesk.json"  # helpdesk cases (FR and EN)
connect --config "$SAMPLE/connect/knowledge.json" # knowledge pages (Markdown)
tessera admin sources

step "What the directory holds now"
tessera admin stats

step "One customer, known to the CRM, Twitter and the helpdesk, as one profile (with provenance)"
tessera get twitter:@CamilleRoussel_ --provenance

step "Her relations: account manager, the agent who answered her, the case she raised"
tessera neighbors twitter:camilleroussel_

step "Her history, as the social team needs it (found by her WhatsApp number)"
tessera history whatsapp:+33671243895

step "Who can solve this? A customer writes on WhatsApp (FindExperts, with why)"
echo '  "Ma carte a été bloquée à l étranger, je ne peux plus payer"  --customer "06 71 24 38 95"'
tessera experts "Ma carte a été bloquée à l'étranger, je ne peux plus payer" \
  --customer "06 71 24 38 95" --limit 5

step "A case handed over: the load moves from the helpdesk's assignees to Chloé"
tessera outcome case:HD-5059 email:chloe.lambert@banque-lumen.example --status open

step "The same question without the customer, with the evidence behind each answer"
tessera experts "My card was blocked abroad and I cannot pay" --limit 3 --explain

step "Finding people by name prefix, accents ignored"
tessera search elo

step "Conflicts: records that share an e-mail but disagree on the employee id"
tessera admin conflicts

step "Someone changes a title in LDAP; an incremental sync brings just that change"
SEQ=$(tessera --json admin stats | sed -n 's/.*"sequence": "\{0,1\}\([0-9]*\).*/\1/p')
ldapmodify -x -H "$LDAP_URI" -D "cn=admin,$SUFFIX" -y "$WORK/ldap/password" >/dev/null <<LDIF
dn: uid=slefevre,ou=people,$SUFFIX
changetype: modify
replace: title
title: Directrice Crédit immobilier
LDIF
connect --config "$WORK/ldap.json" --incremental
# HR outranks LDAP for the displayed title; provenance shows both, LDAP's the new one.
tessera get email:sophie.lefevre@banque-lumen.example --provenance | grep -A3 '^  title'
# The change feed (what other applications follow) has it too, from the position before.
tessera watch --after "$SEQ" --count 1 --profiles

step "Re-deriving everything from the stored fragments changes nothing"
tessera admin rebuild

step "A customer asks to be forgotten: erased, and refused by later syncs"
tessera admin erase customer_id:C-20001 --reason "request Q-1" --yes
tessera get customer_id:C-20001 || echo "(gone, as if never there)"
echo '{"source":"crm","external_id":"C-20001","version":9,"kind":"customer","identifiers":["email:julie.blanc@mail.example"]}' |
  tessera ingest -
echo "The audit log keeps who erased whom, why, and keyed hashes only:"
tessera admin audit | tail -n 1

step "Entra ID provisions over SCIM 2.0 (curl, as Entra sends it): users join the same people's LDAP and HR records"
SCIM="http://127.0.0.1:$(cat "$WORK/http_port")/scim/v2/scim-entra"
# scim METHOD PATH [BODY]: prints the HTTP status, then the body.
scim() {
  curl -sS -X "$1" "$SCIM$2" -H 'Content-Type: application/scim+json' ${3:+--data-binary "$3"} \
    -o "$WORK/scim.out" -w '%{http_code} '
  cat "$WORK/scim.out"; echo
}
id_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/scim.out"; }
echo "Entra looks for Karim by his UPN, finds nobody, creates him:"
scim GET '/Users?filter=userName+eq+"karim.benali%40banque-lumen.example"'
scim POST /Users '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "externalId":"6f1c2e9a-31d4-4c8e-9f0b-2a7d5e8c1b42","userName":"karim.benali@banque-lumen.example","active":true,
  "name":{"givenName":"Karim","familyName":"Benali"},"emails":[{"primary":true,"type":"work","value":"Karim.Benali@banque-lumen.example"}],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"E1002","department":"Cards"}}' >/dev/null
KARIM=$(id_of)
echo "Karim is SCIM user $KARIM. A new hire known only to Entra, reporting to him:"
scim GET '/Users?filter=userName+eq+"leo.fabre%40banque-lumen.example"' >/dev/null
scim POST /Users '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"leo.fabre@banque-lumen.example","active":true,
  "name":{"givenName":"Léo","familyName":"Fabre"},"emails":[{"primary":true,"type":"work","value":"leo.fabre@banque-lumen.example"}]}' >/dev/null
LEO=$(id_of)
scim PATCH "/Users/$LEO" '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
  {"op":"Replace","path":"title","value":"Conseiller Cartes"},
  {"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"'"$KARIM"'"}]}' | cut -c1-160
echo "A group, then its members (Entra's capitalised ops; 204 is Entra's expected answer):"
scim POST /Groups '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Cards Team"}' >/dev/null
GROUP=$(id_of)
scim PATCH "/Groups/$GROUP" '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
  {"op":"Add","path":"members","value":[{"value":"'"$KARIM"'"},{"value":"'"$LEO"'"}]}]}'
echo "Karim's one profile: LDAP, HR and now Entra (his UPN came from Entra):"
tessera get email:karim.benali@banque-lumen.example --provenance | grep -E 'sources|upn|scim_id|^  (title|department) ' || true
tessera neighbors "scim_id:scim-entra/$LEO" --type reports_to
echo "Léo leaves: Entra disables him (active=\"False\", its default job's string), and he is marked as left:"
scim PATCH "/Users/$LEO" '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}' | cut -c1-120
tessera get "scim_id:scim-entra/$LEO" | grep -E 'end_date' || true
echo "Three lines of the Prometheus metrics page:"
curl -sS "http://127.0.0.1:$(cat "$WORK/http_port")/metrics" | grep -E '^tessera_(fragments_ingested_total\{outcome="added"|requests_total\{code="OK",method="Scim.Write"|rocksdb_block_cache_usage_bytes)' | head -n 3

step "Stopping tesserad (SIGTERM: in-flight calls finish, the database is closed)"
kill -TERM "$SERVER_PID"
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=""
echo "tesserad exited with status $rc"
if [ -s "$WORK/ldap/slapd.pid" ]; then kill "$(cat "$WORK/ldap/slapd.pid")" 2>/dev/null || true; fi
[ "$rc" -eq 0 ] || { cat "$WORK/tesserad.log"; exit 1; }
if [ "$KEEP_RUNNING" -eq 0 ]; then
  echo "Quickstart done. Next: tests/run.sh runs the whole test suite; deploy/quickstart.sh --keep-running"
  echo "leaves the web console running on this sample."
  exit 0
fi

step "Serving the web console on the sample organisation (tokens on) until Ctrl-C"
# Two people: an agent (the community manager) and an admin (who also sees Sources).
new_token() { "$BIN/server/app/tesserad" --new-token "$1" --roles "$2" 2>/dev/null; }
AGENT_LINES=$(new_token console-agent agent,reader)
ADMIN_LINES=$(new_token console-admin admin,agent,reader,auditor)
printf '{"tokens": [%s,\n %s]}\n' "$(sed -n 2p <<<"$AGENT_LINES")" "$(sed -n 2p <<<"$ADMIN_LINES")" \
  >"$WORK/principals.json"
python3 - "$ROOT/deploy/quickstart.json" "$WORK/principals.json" >"$WORK/console.json" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config.setdefault("security", {})["principals"] = sys.argv[2]
json.dump(config, sys.stdout, indent=1)
PY
rm -f "$WORK/http_port"
"$BIN/server/app/tesserad" --config "$WORK/console.json" --db "$WORK/db" --listen 127.0.0.1:0 \
  --http-listen "127.0.0.1:$CONSOLE_PORT" --http-port-file "$WORK/http_port" 2>>"$WORK/tesserad.log" &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$WORK/http_port" ] && break; kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
if [ ! -s "$WORK/http_port" ]; then
  tail -n 5 "$WORK/tesserad.log" >&2
  echo "tesserad could not serve on port $CONSOLE_PORT (in use? try --port 0)" >&2
  exit 1
fi
cat <<TXT

  The console:   http://127.0.0.1:$(cat "$WORK/http_port")/console/
  Agent token:   $(sed -n 1p <<<"$AGENT_LINES")
  Admin token:   $(sed -n 1p <<<"$ADMIN_LINES")

  Sign in with a token, paste a customer's message, for instance
    Ma carte a été bloquée à l'étranger, je ne peux plus payer
  with the customer @CamilleRoussel_. Ctrl-C stops tesserad and removes the sample.
TXT
STOPPING=0
trap 'STOPPING=1; echo; echo "Stopping tesserad"; kill -TERM "$SERVER_PID" 2>/dev/null || true' INT TERM
# wait returns when Ctrl-C arrives (the trap has asked tesserad to stop): the second
# wait collects tesserad's own exit status. Without Ctrl-C, tesserad itself ended.
rc=0
wait "$SERVER_PID" || rc=$?
if [ "$STOPPING" -eq 1 ]; then
  rc=0
  wait "$SERVER_PID" 2>/dev/null || rc=$?
fi
SERVER_PID=""
echo "tesserad exited with status $rc"
[ "$rc" -eq 0 ] || { tail -n 20 "$WORK/tesserad.log"; exit 1; }
