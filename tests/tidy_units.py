#!/usr/bin/env python3
"""Which of our translation units tests/static.sh tidy checks, one path per line.

    tests/tidy_units.py BUILD_DIR [BASELINE_COMMIT]

Without a baseline: every unit of ours in BUILD_DIR/compile_commands.json (server/,
connectors/, client/, tests/; not the generated protobuf code). With one: only the units
that differ from that commit, or include a header that does. A unit's headers come from
the depfile its last compile wrote (<object>.d); a unit never compiled has none and is checked.
Every unit is checked when the baseline is unknown to git, or when .clang-tidy or the
tidy scripts changed since it, because then an unchanged file can have new findings.
Reasons go to stderr; the list to stdout.
"""

import json
import os
import re
import shlex
import subprocess
import sys

OURS = re.compile(r"^(server|connectors|client|tests)/.*\.cc$")
RULES = {".clang-tidy", "tests/static.sh", "tests/tidy_units.py"}


def git(root, *args):
    return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True)


def changed_since(root, base):
    """The set of absolute paths that differ from `base` (committed, staged, in the work
    tree or untracked), or None when `base` is not a commit here."""
    if git(root, "cat-file", "-e", base + "^{commit}").returncode != 0:
        return None
    diff = git(root, "diff", "--name-only", base)
    new = git(root, "ls-files", "--others", "--exclude-standard")
    if diff.returncode != 0 or new.returncode != 0:
        return None
    names = set(diff.stdout.split()) | set(new.stdout.split())
    return {os.path.join(root, n) for n in names}, names


def depfile_of(entry):
    """The depfile the unit's last compile wrote: CMake's Makefile and Ninja generators
    write <object>.d beside the object (-MD); compile_commands.json names the object
    with -o but leaves the depfile flags out."""
    args = entry.get("arguments") or shlex.split(entry["command"])
    for i, a in enumerate(args[:-1]):
        if a == "-MF":
            return os.path.join(entry["directory"], args[i + 1])
    for i, a in enumerate(args[:-1]):
        if a == "-o":
            return os.path.join(entry["directory"], args[i + 1] + ".d")
    return None


def headers_of(depfile, directory):
    """The files a depfile lists (make syntax: 'target: dep dep \\' lines), absolute."""
    with open(depfile, encoding="utf-8") as f:
        text = f.read().replace("\\\n", " ")
    _, _, deps = text.partition(": ")
    return {os.path.normpath(os.path.join(directory, d)) for d in deps.split()}


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    build, base = sys.argv[1], (sys.argv[2] if len(sys.argv) == 3 else "")
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    with open(os.path.join(build, "compile_commands.json"), encoding="utf-8") as f:
        entries = [e for e in json.load(f)
                   if OURS.match(os.path.relpath(os.path.normpath(e["file"]), root))]
    units = sorted({os.path.normpath(e["file"]) for e in entries})
    if not base:
        print("\n".join(units))
        return
    changed = changed_since(root, base)
    if changed is None:
        print(f"tidy: baseline {base} is not in this history; every unit", file=sys.stderr)
        print("\n".join(units))
        return
    paths, names = changed
    if names & RULES:
        print(f"tidy: {', '.join(sorted(names & RULES))} changed since {base[:12]}; "
              "every unit", file=sys.stderr)
        print("\n".join(units))
        return
    picked = set()
    for e in entries:
        unit = os.path.normpath(e["file"])
        dep = depfile_of(e)
        if unit in paths or dep is None or not os.path.exists(dep):
            picked.add(unit)
        elif headers_of(dep, e["directory"]) & paths:
            picked.add(unit)
    print("\n".join(sorted(picked)))


if __name__ == "__main__":
    main()
