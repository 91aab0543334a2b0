#!/bin/sh
# st_vm — the Structured Text VM against Lua 5.4 and C on three algorithms,
# and the time of one scan of a plant-control program.
#
# The same algorithms in bench/st_vm/: insertion sort of 1,000 INTs 100
# times (sort), 1,000,000 steps of a PID loop in LREAL (pid), a prime sieve
# to 1,000,000 (sieve), as .st (run by build/bench/st_vm_run: compiled, then
# one scan without a budget), .lua (lua5.4) and .c (gcc -O2). Each times its
# own kernel (no process start or compilation); the figures are medians of
# RUNS runs, pinned to one core. The plant scan is the median time of one
# scan of tests/st/programs/plant_control.st over 20,000 scans (and of
# programs/waterworks.st when it is there).
#
# Usage: sh bench/st_vm.sh   (from the source tree; `make bench` runs it)
# Environment: RUNS (default 5), CPU (core to pin to, default 1),
#              BUILD (build directory, default build).
set -eu
RUNS=${RUNS:-5}
CPU=${CPU:-1}
BUILD=${BUILD:-build}
RUNNER=$BUILD/bench/st_vm_run
[ -x "$RUNNER" ] || make --no-print-directory BUILD="$BUILD" "$RUNNER" >/dev/null
command -v lua5.4 >/dev/null 2>&1 || { echo "st_vm: lua5.4 is needed (apt-get install lua5.4)"; exit 1; }
tmp=$(mktemp -d /tmp/st_vm.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pin="taskset -c $CPU"
command -v taskset >/dev/null 2>&1 || pin=""

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

result_var() {
    case $1 in sort) echo sort.checksum ;; pid) echo pid.pv ;; sieve) echo sieve.count ;; esac
}

printf '%-8s %12s %12s %12s %10s %10s\n' algorithm "ST VM (s)" "Lua 5.4 (s)" "C -O2 (s)" "Lua/ST" "ST/C"
for alg in sort pid sieve; do
    gcc -O2 -o "$tmp/$alg" "bench/st_vm/$alg.c"
    : >"$tmp/st"; : >"$tmp/lua"; : >"$tmp/c"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        $pin "$RUNNER" "bench/st_vm/$alg.st" "$(result_var $alg)" >"$tmp/out.st"
        $pin lua5.4 "bench/st_vm/$alg.lua" >"$tmp/out.lua"
        $pin "$tmp/$alg" >"$tmp/out.c"
        for k in st lua c; do
            awk '{print $1}' "$tmp/out.$k" >>"$tmp/$k"
        done
        i=$((i + 1))
    done
    # the three must compute the same result
    rs=$(awk '{print $2}' "$tmp/out.st"); rl=$(awk '{print $2}' "$tmp/out.lua")
    rc=$(awk '{print $2}' "$tmp/out.c")
    if [ "$rs" != "$rl" ] || [ "$rs" != "$rc" ]; then
        echo "st_vm: $alg results differ: ST $rs, Lua $rl, C $rc"
        exit 1
    fi
    ts=$(median <"$tmp/st"); tl=$(median <"$tmp/lua"); tc=$(median <"$tmp/c")
    awk -v a="$alg" -v s="$ts" -v l="$tl" -v c="$tc" 'BEGIN {
        printf "%-8s %12.4f %12.4f %12.4f %9.2fx %9.1fx\n", a, s, l, c, l / s, s / c }'
done
: >"$tmp/scan"
i=0
while [ "$i" -lt "$RUNS" ]; do
    $pin "$RUNNER" --scan tests/st/programs/plant_control.st 20000 >"$tmp/out.scan"
    awk '{print $1}' "$tmp/out.scan" >>"$tmp/scan"
    i=$((i + 1))
done
awk -v us="$(median <"$tmp/scan")" -v n="$(awk '{print $2}' "$tmp/out.scan")" 'BEGIN {
    printf "plant_control.st: one scan %.3f us (%d instructions), goal < 5 us\n", us, n }'
if [ -f programs/waterworks.st ]; then
    : >"$tmp/scan"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        $pin "$RUNNER" --scan programs/waterworks.st 20000 >"$tmp/out.scan"
        awk '{print $1}' "$tmp/out.scan" >>"$tmp/scan"
        i=$((i + 1))
    done
    awk -v us="$(median <"$tmp/scan")" -v n="$(awk '{print $2}' "$tmp/out.scan")" 'BEGIN {
        printf "waterworks.st: one scan %.3f us (%d instructions)\n", us, n }'
fi
