#!/usr/bin/env bash
# Installs the Debian 12 packages Tessera builds, runs and tests with. Idempotent:
# does nothing when they are all present. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
  libcpp-httplib-dev prometheus-cpp-dev prometheus curl
  g++ cmake make pkg-config ccache
  clang libclang-rt-14-dev clang-tidy clang-format python3
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libldap-dev libboost-test-dev libicu-dev libstemmer-dev
  libphonenumber-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libxapian-dev
  libjemalloc-dev
  nats-server libnats-dev
  slapd ldap-utils libssl-dev openssl
  samba samba-ad-dc samba-ad-provision python3-samba  # provision: the AD schema files (a Recommends)
  python3-grpcio python3-grpc-tools
  dict-freedict-fra-eng dict-freedict-eng-fra
  chromium chromium-driver python3-selenium
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
