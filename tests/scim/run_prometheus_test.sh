#!/usr/bin/env bash
# Prometheus test: Debian's prometheus scrapes tesserad's /metrics on loopback; after a
# SCIM user is POSTed (one fragment ingested), Prometheus' API must show up == 1,
# tessera_fragments_ingested_total{outcome="added"} >= 1, the RocksDB block cache gauge
# and the Scim.Write request counter (prometheus_scrape.py says what it checks).
#
#   run_prometheus_test.sh TESSERAD SOURCE_DIR [PROMETHEUS_SCRAPE_ARGS...]
#
# harness.sh makes the tokens (scim-idp: connector bound to scim-test; ops: admin and
# reader), the principals file and a configuration registering scim-test, and starts
# TESSERAD on a throwaway database (block cache 16 MiB) with its gRPC and HTTP listeners on
# loopback port 0. prometheus_scrape.py starts /usr/bin/prometheus (PROMETHEUS overrides)
# on a free loopback port with its TSDB in the throwaway folder, and stops it. Extra
# arguments (e.g. -v, --deadline 120) go to prometheus_scrape.py.
# Exit status: prometheus_scrape.py's; 1 as well when tesserad does not stop cleanly.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
harness_init scim_prometheus_test "$@"
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
[ -x "$PROMETHEUS" ] || harness_fail "$PROMETHEUS is not an executable (apt-get install prometheus)"
harness_token OPS_TOKEN ops admin,reader
harness_pid_file PROMETHEUS_PID_FILE prometheus
harness_start
harness_run_python "$HARNESS_SRC/tests/scim/prometheus_scrape.py" \
  --http-base "$HTTP_BASE" --prometheus "$PROMETHEUS" --workdir "$HARNESS_DIR/prometheus" \
  --pid-file "$PROMETHEUS_PID_FILE" --block-cache-bytes $((16 << 20))
harness_finish
