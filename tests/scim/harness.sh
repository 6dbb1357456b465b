# shellcheck shell=bash
# Shared by the SCIM test runners (tests/scim/run_*_test.sh); source it, do not run it.
#
# A runner does:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
#   harness_init scim_x_test "$@"            # TESSERAD SOURCE_DIR [ARGS...]; HARNESS_ARGS=ARGS
#   harness_source other-src employee 40     # optional: more sources (scim-test is always there)
#   harness_token OPS_TOKEN ops admin,reader # tokens: variable, principal, roles [, sources]
#   harness_start                            # principals file, configuration, tesserad
#   harness_run_python "$HARNESS_SRC/tests/scim/x.py" --flag ...   # with the common arguments
#   harness_finish                           # stop tesserad; exit with the python part's status
#
# harness_init makes a throwaway folder ($HARNESS_DIR, removed on exit) and the token
# SCIM_TOKEN (principal scim-idp, role connector, bound to source scim-test).
# harness_start registers the sources in a configuration, writes the principals file,
# starts TESSERAD on a fresh database with its gRPC and HTTP listeners on loopback port 0,
# and waits (30 s at most) for both port files: then GRPC_PORT, HTTP_PORT, HTTP_BASE
# (http://127.0.0.1:PORT) and SCIM_BASE ($HTTP_BASE/scim/v2) are set. An exit for any
# reason stops tesserad (SIGTERM, then waits for it).
# harness_run_python runs /usr/bin/python3 SCRIPT --base SCIM_BASE --token=SCIM_TOKEN
# --grpc 127.0.0.1:GRPC_PORT --admin-token=OPS_TOKEN --proto-dir SRC/proto --stubs-dir DIR
# --source scim-test, then its own arguments, then HARNESS_ARGS (the runner's extra
# arguments, e.g. -v); it records the exit status for harness_finish. Pass tokens as
# --name=TOKEN: a token may begin with '-', which argparse would take for an option.
# HARNESS_DB, when set before harness_start, is an existing database to serve instead of
# a fresh one (a benchmark's; it is not removed).
# HARNESS_TESSERAD_ARGS, an array a runner may set before harness_start, are more flags
# for tesserad (e.g. --default-region FR for the French sample organisation).
# HARNESS_HTTP_CONFIG, when a runner sets it before harness_start, is the body of the
# configuration's "http" object (e.g. '"read_timeout_ms": 1500').
# harness_pid_file VAR NAME sets VAR to a path for the python part to write the id of a
# process it starts (prometheus), and to remove once it stopped it: the exit trap stops a
# process whose file is left.
# harness_finish stops tesserad and exits: the python part's status when it failed (with
# the end of tesserad's log), 1 when tesserad did not stop cleanly, else 0 after a
# "NAME: PASS" line.

HARNESS_PYTHON=/usr/bin/python3
HARNESS_SOURCE_ID=scim-test

harness_fail() {
  echo "${HARNESS_NAME:-scim test}: FAIL: $*" >&2
  exit 1
}

# harness_init NAME TESSERAD SOURCE_DIR [ARGS...]
harness_init() {
  HARNESS_NAME=$1
  shift
  if [ $# -lt 2 ]; then
    echo "usage: $0 TESSERAD SOURCE_DIR [ARGS...]" >&2
    exit 2
  fi
  HARNESS_TESSERAD=$1
  HARNESS_SRC=$2
  shift 2
  HARNESS_ARGS=("$@")
  [ -x "$HARNESS_TESSERAD" ] || harness_fail "tesserad '$HARNESS_TESSERAD' is not an executable"
  [ -d "$HARNESS_SRC/proto/tessera/v1" ] ||
    harness_fail "'$HARNESS_SRC' is not Tessera's source folder (no proto/tessera/v1)"
  [ -x "$HARNESS_PYTHON" ] ||
    harness_fail "$HARNESS_PYTHON is missing" \
      "(apt-get install python3 python3-grpcio python3-grpc-tools)"
  HARNESS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tessera-$HARNESS_NAME.XXXXXX")
  HARNESS_PID=""
  HARNESS_PRINCIPALS=()
  HARNESS_SOURCES=("$(harness_source_json "$HARNESS_SOURCE_ID" employee 50 \
    "SCIM tests (tests/scim)")")
  HARNESS_PY_RC=""
  HARNESS_PID_FILES=()
  trap harness_cleanup EXIT
  harness_token SCIM_TOKEN scim-idp connector "$HARNESS_SOURCE_ID"
}

harness_cleanup() {
  if [ -n "$HARNESS_PID" ] && kill -0 "$HARNESS_PID" 2>/dev/null; then
    kill -TERM "$HARNESS_PID" 2>/dev/null || true
    wait "$HARNESS_PID" 2>/dev/null || true
  fi
  # Processes the python part started and left behind (it stops them itself normally).
  local f pid _
  for f in "${HARNESS_PID_FILES[@]}"; do
    pid=$(head -n 1 "$f" 2>/dev/null) || continue
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$HARNESS_DIR"
}

# harness_pid_file VAR NAME: sets VAR to a path ($HARNESS_DIR/NAME.pid) for the python part
# to write the id of a process it starts; an exit stops that process if it still runs.
harness_pid_file() {
  HARNESS_PID_FILES+=("$HARNESS_DIR/$2.pid")
  printf -v "$1" '%s' "$HARNESS_DIR/$2.pid"
}

harness_source_json() {
  printf '{"id": "%s", "kind": "%s", "priority": %s, "description": "%s"}' "$1" "$2" "$3" "$4"
}

# harness_source ID KIND PRIORITY: one more registered source.
harness_source() {
  HARNESS_SOURCES+=("$(harness_source_json "$1" "$2" "$3" "extra source of $HARNESS_NAME")")
}

# harness_token VAR PRINCIPAL ROLES [SOURCES]: makes a token with tesserad --new-token,
# sets VAR to it and adds its line to the principals file.
harness_token() {
  local var=$1 out
  if ! out=$("$HARNESS_TESSERAD" --new-token "$2" --roles "$3" ${4:+--sources "$4"} \
        2>"$HARNESS_DIR/new-token.err"); then
    cat "$HARNESS_DIR/new-token.err" >&2
    harness_fail "tesserad --new-token $2 failed (above)"
  fi
  [ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ] ||
    harness_fail "tesserad --new-token $2 printed: $out"
  printf -v "$var" '%s' "$(sed -n 1p <<<"$out")"
  HARNESS_PRINCIPALS+=("$(sed -n 2p <<<"$out")")
}

harness_join() {
  local sep=$1 out="" item
  shift
  for item in "$@"; do out+="${out:+$sep}$item"; done
  printf '%s' "$out"
}

harness_start() {
  [ -n "${OPS_TOKEN:-}" ] || harness_token OPS_TOKEN ops admin,reader
  # The principals file (README "Security") and the configuration (README "Configuration").
  printf '{"tokens": [%s]}\n' "$(harness_join $',\n  ' "${HARNESS_PRINCIPALS[@]}")" \
    >"$HARNESS_DIR/principals.json"
  printf '{"sources": [%s],\n "security": {"principals": "%s"},\n "http": {%s}}\n' \
    "$(harness_join $',\n  ' "${HARNESS_SOURCES[@]}")" "$HARNESS_DIR/principals.json" \
    "${HARNESS_HTTP_CONFIG:-}" >"$HARNESS_DIR/tesserad.json"

  "$HARNESS_TESSERAD" --config "$HARNESS_DIR/tesserad.json" --db "${HARNESS_DB:-$HARNESS_DIR/db}" \
    --listen 127.0.0.1:0 --port-file "$HARNESS_DIR/port" \
    --http-listen 127.0.0.1:0 --http-port-file "$HARNESS_DIR/http_port" \
    --block-cache-mb 16 ${HARNESS_TESSERAD_ARGS[@]+"${HARNESS_TESSERAD_ARGS[@]}"} \
    >"$HARNESS_DIR/tesserad.log" 2>&1 &
  HARNESS_PID=$!

  # tesserad writes each port file once that listener serves; poll for both (30 s at most).
  local _
  for _ in $(seq 1 300); do
    if harness_port_ready "$HARNESS_DIR/port" && harness_port_ready "$HARNESS_DIR/http_port"; then
      break
    fi
    if ! kill -0 "$HARNESS_PID" 2>/dev/null; then
      cat "$HARNESS_DIR/tesserad.log" >&2
      harness_fail "tesserad exited before serving (log above)"
    fi
    sleep 0.1
  done
  if ! harness_port_ready "$HARNESS_DIR/port" || ! harness_port_ready "$HARNESS_DIR/http_port"; then
    cat "$HARNESS_DIR/tesserad.log" >&2
    harness_fail "tesserad wrote no port file and HTTP port file within 30 s (log above)"
  fi
  GRPC_PORT=$(head -n 1 "$HARNESS_DIR/port")
  HTTP_PORT=$(head -n 1 "$HARNESS_DIR/http_port")
  [[ "$GRPC_PORT" =~ ^[0-9]+$ ]] || harness_fail "port file holds '$GRPC_PORT', not a port"
  [[ "$HTTP_PORT" =~ ^[0-9]+$ ]] || harness_fail "HTTP port file holds '$HTTP_PORT', not a port"
  HTTP_BASE="http://127.0.0.1:$HTTP_PORT"
  SCIM_BASE="$HTTP_BASE/scim/v2"
  echo "tesserad (pid $HARNESS_PID): gRPC on 127.0.0.1:$GRPC_PORT, HTTP on 127.0.0.1:$HTTP_PORT"
}

harness_port_ready() { [ -s "$1" ] && [ "$(wc -l <"$1")" -ge 1 ]; }

# harness_run_python SCRIPT [ARGS...]
harness_run_python() {
  local script=$1
  shift
  [ -f "$script" ] || harness_fail "no test program at $script"
  HARNESS_PY_RC=0
  PYTHONDONTWRITEBYTECODE=1 "$HARNESS_PYTHON" "$script" --base "$SCIM_BASE" --token="$SCIM_TOKEN" \
    --grpc "127.0.0.1:$GRPC_PORT" --admin-token="$OPS_TOKEN" \
    --proto-dir "$HARNESS_SRC/proto" --stubs-dir "$HARNESS_DIR/stubs" \
    --source "$HARNESS_SOURCE_ID" "$@" "${HARNESS_ARGS[@]}" || HARNESS_PY_RC=$?
}

harness_finish() {
  local server_rc=0
  if [ -n "$HARNESS_PID" ]; then
    kill -TERM "$HARNESS_PID" 2>/dev/null || true
    wait "$HARNESS_PID" || server_rc=$?
    HARNESS_PID=""
  fi
  if [ "${HARNESS_PY_RC:-1}" -ne 0 ]; then
    echo "--- tesserad log (last 40 lines)" >&2
    tail -n 40 "$HARNESS_DIR/tesserad.log" >&2
    echo "$HARNESS_NAME: FAIL: the test program exited with ${HARNESS_PY_RC:-nothing (not run)}" >&2
    exit "${HARNESS_PY_RC:-1}"
  fi
  if [ "$server_rc" -ne 0 ]; then
    cat "$HARNESS_DIR/tesserad.log" >&2
    harness_fail "tesserad exited with $server_rc after SIGTERM (log above)"
  fi
  echo "$HARNESS_NAME: PASS"
  exit 0
}
