#!/usr/bin/env bash
# The README's first command. On a fresh Debian 12 machine: installs the packages,
# builds, starts tesserad on a throwaway RocksDB, loads the sample organisation
# (tests/data/sample) from six sources, shows one unified profile with provenance and
# the conflicts, and stops the server cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

step "Installing Debian packages"
deploy/install-deps.sh

step "Building tesserad and tessera (ccache; the first build takes a few minutes)"
deploy/build.sh tesserad tessera
BIN="$ROOT/${TESSERA_BUILD_DIR:-build}"

WORK=$(mktemp -d -t tessera-quickstart-XXXXXX)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

step "Starting tesserad on a fresh database in $WORK"
"$BIN/server/app/tesserad" --config deploy/quickstart.json --db "$WORK/db" \
  --listen 127.0.0.1:0 --port-file "$WORK/port" 2>"$WORK/tesserad.log" &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
[ -s "$WORK/port" ] || { cat "$WORK/tesserad.log"; echo "tesserad did not start" >&2; exit 1; }
export TESSERA_SERVER="127.0.0.1:$(cat "$WORK/port")"
tessera() { "$BIN/client/cli/tessera" "$@"; }
tessera health
tessera admin sources

step "Loading the sample organisation, source by source"
for src in hr ldap crm social helpdesk wiki; do
  printf '%-9s ' "$src:"
  tessera ingest "tests/data/sample/$src.jsonl"
done

step "What the directory holds now"
tessera admin stats

step "One customer, known to the CRM, Twitter and the helpdesk, as one profile (with provenance)"
tessera get twitter:@CamilleRoussel_ --provenance

step "Her relations: account manager, the agent who answered her, the case she raised"
tessera neighbors twitter:camilleroussel_

step "Who can solve this? A customer writes on Twitter (FindExperts, with why)"
echo '  "Ma carte a été bloquée à l étranger, je ne peux plus payer"  --customer twitter:@CamilleRoussel_'
tessera experts "Ma carte a été bloquée à l'étranger, je ne peux plus payer" \
  --customer twitter:@CamilleRoussel_ --limit 5

step "The same question without the customer, with the evidence behind each answer"
tessera experts "My card was blocked abroad and I cannot pay" --limit 3 --explain

step "Finding people by name prefix, accents ignored"
tessera search elo

step "Conflicts: records that share an e-mail but disagree on the employee id"
tessera admin conflicts

step "Re-deriving everything from the stored fragments changes nothing"
tessera admin rebuild

step "Stopping tesserad (SIGTERM: in-flight calls finish, the database is closed)"
kill -TERM "$SERVER_PID"
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=""
echo "tesserad exited with status $rc"
[ "$rc" -eq 0 ] || { cat "$WORK/tesserad.log"; exit 1; }
echo "Quickstart done. Next: tests/run.sh runs the whole test suite."
