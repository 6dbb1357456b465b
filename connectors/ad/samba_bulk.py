#!/usr/bin/python3
"""Adds the entries of an LDIF file to a Samba AD DC's database in one transaction.

Usage: samba_bulk.py SMB_CONF LDIF

For the AD connector's tests and benchmark: adding over LDAP goes at ~50 entries/s on
Samba, one transaction through Samba's own Python bindings at several hundred. The
database is the one the configuration names (private dir/sam.ldb), written while the
DC runs, as samba-tool does on a DC.
"""
import sys

from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    lp = LoadParm()
    lp.load(sys.argv[1])
    db = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
    with open(sys.argv[2], encoding="utf-8") as f:
        text = f.read()
    db.transaction_start()
    try:
        n = 0
        for _, msg in db.parse_ldif(text):
            db.add(msg)
            n += 1
        db.transaction_commit()
    except Exception:
        db.transaction_cancel()
        raise
    print(n, "entries added")


if __name__ == "__main__":
    main()
