#!/usr/bin/env bash
# CTest python_example_test: runs tessera_example.py against the real tesserad.
#
#   run_example_test.sh TESSERAD SOURCE_DIR
#
# Starts TESSERAD on a throwaway database on loopback (port 0, read from its port file),
# runs the example with /usr/bin/python3 (Debian's python3-grpcio, python3-grpc-tools),
# stops tesserad with SIGTERM and waits for it. Then checks the example fails, with a
# clear message, when nothing listens on that port. Exit 0 only when all went as expected.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 TESSERAD SOURCE_DIR" >&2
  exit 2
fi
TESSERAD=$1
SRC=$2
PYTHON=/usr/bin/python3
EXAMPLE="$SRC/client/examples/python/tessera_example.py"

fail() {
  echo "python_example_test: FAIL: $*" >&2
  exit 1
}

[ -x "$TESSERAD" ] || fail "tesserad '$TESSERAD' is not an executable"
[ -f "$EXAMPLE" ] || fail "no example at $EXAMPLE"
[ -x "$PYTHON" ] || fail "$PYTHON is missing (apt-get install python3 python3-grpcio python3-grpc-tools)"

DIR=$(mktemp -d "${TMPDIR:-/tmp}/tessera-python-example.XXXXXX")
PID=""
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT

"$TESSERAD" --db "$DIR/db" --listen 127.0.0.1:0 --port-file "$DIR/port" --default-region FR \
  --block-cache-mb 16 >"$DIR/tesserad.log" 2>&1 &
PID=$!

# tesserad writes the port file once it accepts calls; wait for a complete line.
for _ in $(seq 1 300); do
  if [ -s "$DIR/port" ] && [ "$(wc -l <"$DIR/port")" -ge 1 ]; then break; fi
  if ! kill -0 "$PID" 2>/dev/null; then
    cat "$DIR/tesserad.log" >&2
    fail "tesserad exited before serving (log above)"
  fi
  sleep 0.1
done
[ -s "$DIR/port" ] || { cat "$DIR/tesserad.log" >&2; fail "tesserad wrote no port file within 30 s (log above)"; }
PORT=$(head -n 1 "$DIR/port")
[[ "$PORT" =~ ^[0-9]+$ ]] || fail "port file holds '$PORT', not a port"
echo "tesserad (pid $PID) serving on 127.0.0.1:$PORT"

example_rc=0
"$PYTHON" "$EXAMPLE" --server "127.0.0.1:$PORT" --proto-dir "$SRC/proto" --stubs-dir "$DIR/stubs" || example_rc=$?
# Again: the same fragments are UNCHANGED and every check still holds.
if [ "$example_rc" -eq 0 ]; then
  "$PYTHON" "$EXAMPLE" --server "127.0.0.1:$PORT" --proto-dir "$SRC/proto" --stubs-dir "$DIR/stubs" \
    >"$DIR/second-run.log" 2>&1 || example_rc=$?
  echo "second run:"
  cat "$DIR/second-run.log"
  if [ "$example_rc" -eq 0 ] && ! grep -q "UNCHANGED" "$DIR/second-run.log"; then
    fail "the second run did not report UNCHANGED fragments"
  fi
fi

kill -TERM "$PID" 2>/dev/null || true
server_rc=0
wait "$PID" || server_rc=$?
PID=""
if [ "$example_rc" -ne 0 ]; then
  cat "$DIR/tesserad.log" >&2
  fail "the example exited with $example_rc (tesserad log above)"
fi
[ "$server_rc" -eq 0 ] || { cat "$DIR/tesserad.log" >&2; fail "tesserad exited with $server_rc after SIGTERM"; }

# Nothing listens there now: the example must fail, saying so.
wrong_rc=0
"$PYTHON" "$EXAMPLE" --server "127.0.0.1:$PORT" --proto-dir "$SRC/proto" --stubs-dir "$DIR/stubs" --timeout 2 \
  >"$DIR/wrong.log" 2>&1 || wrong_rc=$?
[ "$wrong_rc" -ne 0 ] || fail "the example succeeded against a stopped server"
grep -q "cannot connect to tesserad" "$DIR/wrong.log" || { cat "$DIR/wrong.log" >&2; fail "no clear message for a stopped server"; }

echo "python_example_test: PASS"
