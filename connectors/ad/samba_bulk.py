#!/usr/bin/python3
"""Applies the records of an LDIF file to a Samba AD DC's database in one transaction.

Usage: samba_bulk.py SMB_CONF LDIF

Records without a changetype, or with "changetype: add", are added; "changetype:
modify" records are applied as modifications. They are committed 200 at a time: on
an error, the chunks before the failing one stay applied (the output says how many).

For the AD connector's tests and benchmark: adding over LDAP goes at ~50 entries/s on
Samba, through Samba's own Python bindings at ~300/s into an empty domain. Samba 4.17
slows down as the domain grows (every add copies the index lists it touches, such as
the list of all users): ~100/s at 6,000 users, ~35/s at 20,000. Long transactions
slow it down further, hence the chunks. The database is the one the configuration
names (private dir/sam.ldb), written while the DC runs or not, as samba-tool does on
a DC. Progress goes to stderr every 1,000 records.
"""
import sys
import time

import ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB

CHUNK = 200  # records per transaction


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    lp = LoadParm()
    lp.load(sys.argv[1])
    db = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
    with open(sys.argv[2], encoding="utf-8") as f:
        text = f.read()
    started = time.monotonic()
    added = modified = committed = 0
    db.transaction_start()
    try:
        for changetype, msg in db.parse_ldif(text):
            if changetype == ldb.CHANGETYPE_MODIFY:
                db.modify(msg)
                modified += 1
            elif changetype in (ldb.CHANGETYPE_NONE, ldb.CHANGETYPE_ADD):
                db.add(msg)
                added += 1
            else:
                raise ValueError(f"{msg.dn}: only add and modify records are supported")
            done = added + modified
            if done % CHUNK == 0:
                db.transaction_commit()
                committed = done
                db.transaction_start()
            if done % 1000 == 0:
                rate = done / max(time.monotonic() - started, 1e-9)
                print(f"samba_bulk: {done} records, {rate:.0f}/s", file=sys.stderr, flush=True)
        db.transaction_commit()
    except Exception:
        db.transaction_cancel()
        print(f"samba_bulk: stopped; the first {committed} records stay applied",
              file=sys.stderr)
        raise
    print(f"{added} entries added, {modified} modified")


if __name__ == "__main__":
    main()
