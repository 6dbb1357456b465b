# shellcheck shell=bash
# What the web test runners share; source it after tests/scim/harness.sh and harness_init.
#
#   web_sample_start CLI   # the sample's sources and tokens, --default-region FR, tesserad started
#   web_run_python SCRIPT [ARGS...]   # harness_run_python with --cli and the tokens
#   web_runner NAME SCRIPT TESSERAD CLI SOURCE_DIR [ARGS...]   # all of a runner
#
# Tokens: AGENT_TOKEN (web-agent: agent), READER_TOKEN (web-reader: reader), LOADER_TOKEN
# (loader: connector of the sample's sources), OPS_TOKEN (ops: admin, reader, auditor).

web_sample_start() {
  WEB_CLI=$1
  [ -x "$WEB_CLI" ] || harness_fail "the tessera command '$WEB_CLI' is not an executable"
  harness_source hr csv 90
  harness_source ldap ldap 80
  harness_source crm crm 60
  harness_source helpdesk helpdesk 50
  harness_source wiki knowledge 45
  harness_source social social 40
  harness_token OPS_TOKEN ops admin,reader,auditor
  harness_token AGENT_TOKEN web-agent agent
  harness_token READER_TOKEN web-reader reader
  harness_token LOADER_TOKEN loader connector hr,ldap,crm,helpdesk,wiki,social
  HARNESS_TESSERAD_ARGS=(--default-region FR)  # the sample bank is French
  harness_start
}

web_run_python() {
  local script=$1
  shift
  harness_run_python "$script" --cli "$WEB_CLI" --agent-token="$AGENT_TOKEN" \
    --reader-token="$READER_TOKEN" --loader-token="$LOADER_TOKEN" "$@"
}

# web_runner NAME SCRIPT TESSERAD TESSERA_CLI SOURCE_DIR [ARGS...]: a whole runner, from
# the arguments CTest gives to the exit status (harness_finish).
web_runner() {
  local name=$1 script=$2
  shift 2
  [ $# -ge 3 ] || { echo "usage: $0 TESSERAD TESSERA_CLI SOURCE_DIR [ARGS...]" >&2; exit 2; }
  local tesserad=$1 cli=$2
  shift 2
  harness_init "$name" "$tesserad" "$@"
  web_sample_start "$cli"
  web_run_python "$HARNESS_SRC/$script"
  harness_finish
}
