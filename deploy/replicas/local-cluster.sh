#!/usr/bin/env bash
# Three tesserad replicas on a three-node NATS JetStream cluster, all on loopback, on
# throwaway folders: the README's "Replicas" tour. Syncs the sample organisation's
# HR, CRM, social, helpdesk and knowledge sources through replica 1, shows every
# replica's log position, asks replica 3 who can solve a customer's message (reading
# at the position the sync returned), kills replica 2 and shows it catch up, and stops.
#
#   deploy/replicas/local-cluster.sh [--keep-running]
#
# Needs a build (deploy/build.sh tesserad tessera tessera-connect) and nats-server
# (deploy/install-deps.sh installs it). --keep-running: leave the cluster up until
# Ctrl-C, printing the addresses.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
KEEP=0
case "${1:-}" in
  --keep-running) KEEP=1 ;;
  -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "local-cluster: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac
BUILD_DIR=${TESSERA_BUILD_DIR:-build}
case "$BUILD_DIR" in /*) BIN=$BUILD_DIR ;; *) BIN="$ROOT/$BUILD_DIR" ;; esac
for b in server/app/tesserad client/cli/tessera connectors/tessera-connect; do
  [ -x "$BIN/$b" ] || { echo "local-cluster: $BIN/$b is missing: deploy/build.sh tesserad tessera tessera-connect" >&2; exit 1; }
done
command -v nats-server >/dev/null || { echo "local-cluster: nats-server is missing: deploy/install-deps.sh" >&2; exit 1; }

WORK=$(mktemp -d -t tessera-replicas-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
step() { printf '\n==> %s\n' "$*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

step "Starting a 3-node NATS JetStream cluster on loopback"
declare -a NP CP
for i in 1 2 3; do NP[$i]=$(free_port); CP[$i]=$(free_port); done
URLS=""
for i in 1 2 3; do
  routes=""
  for j in 1 2 3; do [ "$j" = "$i" ] || routes="${routes:+$routes,}nats://127.0.0.1:${CP[$j]}"; done
  nats-server -a 127.0.0.1 -p "${NP[$i]}" -js -sd "$WORK/nats$i" --server_name "nats$i" \
    --cluster_name tessera --cluster "nats://127.0.0.1:${CP[$i]}" --routes "$routes" \
    2>"$WORK/nats$i.log" &
  PIDS+=($!)
  URLS="${URLS:+$URLS,}nats://127.0.0.1:${NP[$i]}"
done
echo "NATS: $URLS"

# Replicas share the suppression key (an erasure must hash alike everywhere).
head -c 32 /dev/urandom | base64 >"$WORK/suppression.key"
cat >"$WORK/replica.json" <<JSON
{"security": {"suppression_key_file": "$WORK/suppression.key"},
 "replication": {"stream": "tessera", "max_read_lag": 10000}}
JSON
declare -a RPID RPORT
start_replica() {
  local i=$1
  rm -f "$WORK/r$i.port"
  "$BIN/server/app/tesserad" --config "$WORK/replica.json" --db "$WORK/r$i" \
    --listen 127.0.0.1:0 --port-file "$WORK/r$i.port" --default-region FR \
    --replication "$URLS" --node "replica$i" 2>>"$WORK/r$i.log" &
  RPID[$i]=$!
  PIDS+=($!)
  for _ in $(seq 300); do [ -s "$WORK/r$i.port" ] && break; sleep 0.1; done
  [ -s "$WORK/r$i.port" ] || { cat "$WORK/r$i.log"; echo "replica $i did not start" >&2; exit 1; }
  RPORT[$i]=$(cat "$WORK/r$i.port")
}
step "Starting three tesserad replicas"
for i in 1 2 3; do start_replica "$i"; echo "replica$i at 127.0.0.1:${RPORT[$i]}"; done
tessera() { "$BIN/client/cli/tessera" "$@"; }
R1=127.0.0.1:${RPORT[1]} R2=127.0.0.1:${RPORT[2]} R3=127.0.0.1:${RPORT[3]}

step "Syncing the sample organisation through replica 1"
SAMPLE="$ROOT/tests/data/sample"
for c in hr crm social helpdesk knowledge; do
  "$BIN/connectors/tessera-connect" --server "$R1" --state-dir "$WORK/state" \
    --config "$SAMPLE/connect/$c.json" | tail -1
done
POS=$(tessera --server "$R1" --json admin stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["replica"]["position"])')
echo "replica 1 has applied the log up to position $POS"

step "Every replica's position and lag"
tessera --server "$R1" admin replicas "$R2" "$R3"

step "Replica 3 answers who can solve a customer's message, once it has applied position $POS"
tessera --server "$R3" --min-position "$POS" experts \
  "Ma carte a été bloquée à l'étranger, je ne peux plus payer" --customer "06 71 24 38 95" --limit 3

step "Replica 2 is killed (SIGKILL) while replica 1 takes more writes, then restarted"
kill -KILL "${RPID[2]}"
wait "${RPID[2]}" 2>/dev/null || true
"$BIN/connectors/tessera-connect" --server "$R1" --state-dir "$WORK/state2" \
  --config "$SAMPLE/connect/helpdesk.json" --full | tail -1
POS=$(tessera --server "$R1" --json admin stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["replica"]["position"])')
start_replica 2
R2=127.0.0.1:${RPORT[2]}
tessera --server "$R2" --min-position "$POS" --timeout-ms 60000 admin stats | grep -E "replica|position|lag"
tessera --server "$R1" admin replicas "$R2" "$R3"

if [ "$KEEP" = 1 ]; then
  step "The cluster runs until Ctrl-C: tessera --server $R1 admin replicas $R2 $R3"
  trap 'exit 0' INT
  wait
fi
step "Stopping"
