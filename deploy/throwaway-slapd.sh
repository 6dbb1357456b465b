#!/usr/bin/env bash
# Starts a throwaway OpenLDAP server (Debian's slapd) for the quickstart and demos:
#   deploy/throwaway-slapd.sh DIR SUFFIX LDIF
# writes DIR/slapd.conf (mdb backend; memberof so people carry their groups, syncprov
# so incremental syncs work), starts slapd on a free loopback port, adds LDIF through
# it (so the overlays see every entry) and prints its URI.
# The admin is cn=admin,SUFFIX with the password in DIR/password. Stop it with
#   kill "$(cat DIR/slapd.pid)"
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 DIR SUFFIX LDIF" >&2; exit 2; }
DIR=$1 SUFFIX=$2 LDIF=$3
SLAPD=${SLAPD:-/usr/sbin/slapd}
[ -x "$SLAPD" ] || { echo "throwaway-slapd: $SLAPD not found (apt-get install slapd)" >&2; exit 1; }
mkdir -p "$DIR/data"
DIR=$(cd "$DIR" && pwd)
umask 077
head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DIR/password"
cat > "$DIR/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload syncprov
moduleload memberof
pidfile $DIR/slapd.pid
database mdb
maxsize 1073741824
suffix "$SUFFIX"
rootdn "cn=admin,$SUFFIX"
rootpw $(cat "$DIR/password")
directory $DIR/data
index objectClass,entryCSN,entryUUID eq
overlay memberof
overlay syncprov
CONF
for _ in $(seq 20); do
  PORT=$((20000 + RANDOM % 20000))
  if "$SLAPD" -f "$DIR/slapd.conf" -h "ldap://127.0.0.1:$PORT/" 2>"$DIR/slapd.log"; then
    for _ in $(seq 50); do
      if [ -s "$DIR/slapd.pid" ]; then
        URI="ldap://127.0.0.1:$PORT"
        ldapadd -x -H "$URI" -D "cn=admin,$SUFFIX" -y "$DIR/password" -f "$LDIF" >"$DIR/ldapadd.log" 2>&1 ||
          { cat "$DIR/ldapadd.log" >&2; kill "$(cat "$DIR/slapd.pid")"; exit 1; }
        echo "$URI"
        exit 0
      fi
      sleep 0.1
    done
  fi
done
cat "$DIR/slapd.log" >&2
echo "throwaway-slapd: could not start slapd" >&2
exit 1
