#!/bin/sh
# sim_speed — simulated seconds per wall second of the waterworks at
# dt = 10 ms in fast mode on one core, with the CSV at 1 s, beside a peer
# measured in the same run: the same equations in a Python loop
# (bench/sim_speed_peer.py). Prints medians of RUNS runs and the ratio.
#
# Usage: sh bench/sim_speed.sh   (from the source tree; `make bench` runs it)
# Environment: RUNS (default 5), CPU (core to pin to, default 1),
#              PEER_SECONDS (simulated seconds per peer run, default 3600).
set -eu
RUNS=${RUNS:-5}
CPU=${CPU:-1}
PEER_SECONDS=${PEER_SECONDS:-3600}
BIN=${ICSRANGE_BIN:-build/icsrange}
tmp=$(mktemp -d /tmp/sim_speed.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pin="taskset -c $CPU"
command -v taskset >/dev/null 2>&1 || pin=""

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

: >"$tmp/ours"
i=0
while [ "$i" -lt "$RUNS" ]; do
    $pin "$BIN" sim plants/waterworks.yaml --fast --duration 24h --csv "$tmp/x.csv" --json \
        >"$tmp/run.json"
    python3 -c "import json,sys; d=json.load(open('$tmp/run.json')); print(d['wall_s'])" >>"$tmp/ours"
    i=$((i + 1))
done
: >"$tmp/peer"
i=0
while [ "$i" -lt "$RUNS" ]; do
    $pin python3 bench/sim_speed_peer.py "$PEER_SECONDS" "$tmp/p.csv" | awk '{print $2}' >>"$tmp/peer"
    i=$((i + 1))
done
ours_wall=$(median <"$tmp/ours")
peer_wall=$(median <"$tmp/peer")
awk -v ow="$ours_wall" -v pw="$peer_wall" -v ps="$PEER_SECONDS" -v runs="$RUNS" 'BEGIN {
    ours = 86400 / ow; peer = ps / pw;
    printf "sim_speed: waterworks, dt 10 ms, fast mode, CSV at 1 s, one core, median of %d runs\n", runs;
    printf "  icsrange          %9.3f s per simulated day   %10.0fx real time\n", ow, ours;
    printf "  python peer       %9.3f s per simulated day   %10.0fx real time  (measured over %d s)\n", pw * 86400 / ps, peer, ps;
    printf "  ratio             %9.1fx faster than the peer\n", ours / peer;
    printf "  goal              100000x real time: %s\n", ((ours >= 100000) ? "met" : "NOT met");
}'
