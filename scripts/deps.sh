#!/bin/sh
# deps.sh — installs the Debian packages icsrange needs, and only those missing.
#
# Usage: scripts/deps.sh [GROUP ...]     groups: build (default), test, fuzz, bench, all
# Idempotent: when everything is present it prints nothing and exits 0.
# Runs apt-get update once, only when something must be installed.
# Works as root, or through sudo when not root.
set -eu

# Each package is here because of one job; README.md ("Dependencies") says why.
BUILD_PKGS="gcc make pkg-config libc6-dev libyaml-dev libuv1-dev libjansson-dev libpcap-dev libsodium-dev libsqlite3-dev"
TEST_PKGS="libcmocka-dev python3 libclang-rt-14-dev libmodbus-dev mbpoll python3-pymodbus nmap tshark iproute2"
FUZZ_PKGS="clang libclang-rt-14-dev"
BENCH_PKGS="python3 libmodbus-dev util-linux lua5.4"

groups="${*:-build}"
want=""
for g in $groups; do
    case "$g" in
        build) want="$want $BUILD_PKGS" ;;
        test)  want="$want $BUILD_PKGS $TEST_PKGS" ;;
        fuzz)  want="$want $BUILD_PKGS $FUZZ_PKGS" ;;
        bench) want="$want $BUILD_PKGS $BENCH_PKGS" ;;
        all)   want="$want $BUILD_PKGS $TEST_PKGS $FUZZ_PKGS $BENCH_PKGS" ;;
        *) echo "deps.sh: unknown group '$g' (build, test, fuzz, bench, all)" >&2; exit 2 ;;
    esac
done

missing=""
for p in $(printf '%s\n' $want | sort -u); do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "deps.sh: missing packages:$missing; run as root or install sudo" >&2
    exit 1
fi

echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
