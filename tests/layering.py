#!/usr/bin/env python3
"""Fails when an #include points up the layers (server/README.md, DESIGN.md).

Each module may include the modules listed for it and, through them, everything
they may include (dependencies point downwards, so the closure is the layer below).
Some third-party headers belong to one layer only: gRPC and protobuf to the gRPC
face and the clients, cpp-httplib to the HTTP listener, RocksDB to the store, ICU
to text (and the connectors' charset conversion), prometheus-cpp to metrics. Tests
and test helpers (*_test.cc, *_testing.h) may also include tests/.

Usage: tests/layering.py [ROOT]   (CTest runs it as layering_check)
"""
import os
import re
import subprocess
import sys

# module -> the modules it may include directly. A module is server/<name>,
# connectors/<name>, client or proto (the generated "tessera/v1/*.pb.h").
ALLOWED = {
    "server/store": [],
    "server/text": [],
    "server/metrics": [],
    "server/access": [],
    "server/identity": ["server/store", "server/text"],
    "server/graph": ["server/store"],
    "server/index": ["server/store", "server/text"],
    "server/expertise": ["server/index", "server/graph", "server/identity", "server/text"],
    "server/directory": ["server/expertise", "server/identity", "server/graph", "server/index",
                         "server/text", "server/store", "server/metrics"],
    "server/gate": ["server/directory", "server/access", "server/metrics"],
    "server/scim": ["server/directory", "server/store", "server/identity", "server/metrics"],
    "server/api": ["server/gate", "server/directory", "server/scim", "proto"],
    "server/http": ["server/gate", "server/scim", "server/metrics"],
    "server/replica": ["server/directory", "server/identity", "server/store", "server/metrics"],
    "server/app": ["server/api", "server/http", "server/replica", "client"],
    "proto": [],
    "client": ["proto"],
    "connectors/common": ["client", "proto"],
    "connectors/ldap": ["connectors/common"],
    "connectors/ad": ["connectors/ldap"],
    "connectors/csv": ["connectors/common"],
    "connectors/crm": ["connectors/common"],
    "connectors/helpdesk": ["connectors/common"],
    "connectors/knowledge": ["connectors/common"],
    "connectors/social": ["connectors/common"],
}

# Third-party header prefixes and the modules that may include them.
EXTERNAL = [
    (("grpcpp/", "grpc/", "google/protobuf/"),
     {"proto", "server/api", "server/app", "client", "connectors/common", "connectors/crm",
      "connectors/helpdesk", "connectors/knowledge", "connectors/social"}),
    (("httplib.h",), {"server/http"}),
    (("rocksdb/",), {"server/store"}),
    (("unicode/",), {"server/text", "connectors/common"}),  # connectors: CSV charsets
    (("prometheus/",), {"server/metrics"}),
    (("nats/",), {"server/replica"}),
]

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)


def module_of(path):
    parts = path.split("/")
    if parts[0] in ("server", "connectors") and len(parts) > 2:
        return "/".join(parts[:2])
    if parts[0] == "client":
        return "client"
    if parts[0] == "tessera":  # generated protobuf headers
        return "proto"
    if parts[0] == "tests":
        return "tests"
    return None


def closure(module, seen=None):
    seen = set() if seen is None else seen
    for dep in ALLOWED.get(module, []):
        if dep not in seen:
            seen.add(dep)
            closure(dep, seen)
    return seen


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    files = subprocess.run(["git", "-C", root, "ls-files", "server", "connectors", "client"],
                           check=True, capture_output=True, text=True).stdout.split()
    errors = []
    checked = 0
    for path in files:
        if not path.endswith((".h", ".cc")):
            continue
        mod = module_of(path)
        if mod not in ALLOWED:
            errors.append(f"{path}: module {mod} is not in tests/layering.py's table; add it")
            continue
        allowed = closure(mod) | {mod}
        is_test = path.endswith(("_test.cc", "_testing.h"))
        with open(os.path.join(root, path), encoding="utf-8") as f:
            text = f.read()
        for inc in INCLUDE.findall(text):
            checked += 1
            target = module_of(inc)
            if target == "tests" and is_test:
                continue
            if target is not None and target not in allowed:
                errors.append(f"{path}: includes {inc}, but {mod} may not depend on {target}")
                continue
            for prefixes, owners in EXTERNAL:
                if inc.startswith(prefixes) and mod not in owners:
                    errors.append(f"{path}: includes {inc}, which only "
                                  f"{', '.join(sorted(owners))} may include")
    for e in errors:
        print(e)
    print(f"layering: {checked} includes in {len(files)} files checked, {len(errors)} upward")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
