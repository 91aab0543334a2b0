#!/bin/sh
# dataset — wall time of `icsrange dataset` for a simulated day of the
# default waterworks in fast mode: plant physics, the BPCS and SIS PLCs
# scanning Structured Text, the HMI polling both over Modbus/TCP at 1 Hz on
# in-memory links, the tap writing every frame to a pcap, process.csv at
# 1 s. Pinned to one core; median of RUNS runs. Beside it, measured in the
# same run, the same plant in `icsrange sim --fast --csv` (the bare physics
# and CSV: no PLCs, no network, no pcap): the ratio is what the range costs
# over the physics alone. Also prints the pcap's bytes per simulated hour
# and frames, and the size of process.csv.
#
# Usage: sh bench/dataset.sh   (from the source tree; `make bench` runs it)
# Environment: RUNS (default 3), CPU (core to pin to, default 0),
#              DURATION (default 24h), BUILD (build directory, default build).
set -eu
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
CPU=${CPU:-0}
DURATION=${DURATION:-24h}
BUILD=${BUILD:-build}
BIN=${ICSRANGE_BIN:-$BUILD/icsrange}
PLANT=plants/waterworks.yaml

[ -n "${ICSRANGE_BIN:-}" ] || make --no-print-directory -s BUILD="$BUILD" "$BIN" >/dev/null

tmp=$(mktemp -d /tmp/dataset_bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
pin="taskset -c $CPU"
command -v taskset >/dev/null 2>&1 || pin=""
# GNU time gives the CPU each run used: near 1 core for a clean run, well
# below it when other work took the core
timer=""
[ -x /usr/bin/time ] && timer="/usr/bin/time -f %e+%U+%S -o $tmp/cpu"
cpu_share() { # CPU seconds / elapsed seconds of the last run, or "-"
    if [ -n "$timer" ]; then
        awk -F+ '{printf "%.2f\n", ($1 > 0) ? ($2 + $3) / $1 : 0}' "$tmp/cpu"
    else
        echo -
    fi
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# one number out of a JSON document: jget FILE EXPR (EXPR in Python, on d)
jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

: >"$tmp/ours"
: >"$tmp/peer"
: >"$tmp/ours_cpu"
: >"$tmp/peer_cpu"
i=0
while [ "$i" -lt "$RUNS" ]; do
    # the two measured alternately, so that a disturbance hits both;
    # $timer and $pin are command prefixes, split on purpose
    rm -rf "$tmp/ds"
    # shellcheck disable=SC2086
    $timer $pin "$BIN" dataset --duration "$DURATION" --seed 1 --out "$tmp/ds" --plant "$PLANT" \
        --quiet --json >"$tmp/ours.json"
    w=$(jget "$tmp/ours.json" "d['wall_s']")
    echo "$w" >>"$tmp/ours"
    cpu_share >>"$tmp/ours_cpu"
    # shellcheck disable=SC2086
    $timer $pin "$BIN" sim "$PLANT" --fast --duration "$DURATION" --csv "$tmp/sim.csv" --json \
        >"$tmp/peer.json"
    w=$(jget "$tmp/peer.json" "d['wall_s']")
    echo "$w" >>"$tmp/peer"
    cpu_share >>"$tmp/peer_cpu"
    i=$((i + 1))
done

sim_s=$(jget "$tmp/ours.json" "d['simulated_s']")
frames=$(jget "$tmp/ds/meta.json" "d['pcap']['frames']")
txns=$(jget "$tmp/ds/meta.json" \
    "sum(sum(v.values()) for v in d['transactions']['clients'].values())")
pcap_bytes=$(wc -c <"$tmp/ds/traffic.pcap")
csv_bytes=$(wc -c <"$tmp/ds/process.csv")
csv_rows=$(($(wc -l <"$tmp/ds/process.csv") - 1))
peer_csv_bytes=$(wc -c <"$tmp/sim.csv")
ours_wall=$(median <"$tmp/ours")
peer_wall=$(median <"$tmp/peer")
ours_cpu=$(tr '\n' ' ' <"$tmp/ours_cpu")
peer_cpu=$(tr '\n' ' ' <"$tmp/peer_cpu")

awk -v ow="$ours_wall" -v pw="$peer_wall" -v s="$sim_s" -v runs="$RUNS" -v cpu="$CPU" \
    -v frames="$frames" -v txns="$txns" -v pb="$pcap_bytes" -v cb="$csv_bytes" \
    -v rows="$csv_rows" -v pcb="$peer_csv_bytes" -v oc="$ours_cpu" -v pc="$peer_cpu" 'BEGIN {
    day = 86400 / s;  # scale to a simulated day when DURATION is not 24h
    printf "dataset: waterworks, %.0f s simulated, HMI polling 1 Hz, pcap + process.csv, fast mode,\n", s;
    printf "         pinned to core %d, median of %d runs (wall time as reported by --json)\n", cpu, runs;
    printf "  %-34s %14s %16s   %s\n", "", "wall per day", "times real time", "CPU/wall of each run";
    printf "  %-34s %12.3f s %15.0fx   %s\n", "icsrange dataset (whole range)", ow * day, s / ow, oc;
    printf "  %-34s %12.3f s %15.0fx   %s\n", "icsrange sim (physics + CSV only)", pw * day, s / pw, pc;
    printf "  %-34s %12.1fx   (what the range costs over the bare physics)\n", "ratio dataset / sim", ow / pw;
    printf "  pcap         %d frames, %d Modbus transactions, %.0f bytes (%.2f MB) per simulated hour\n",
        frames, txns, pb / (s / 3600), pb / (s / 3600) / 1e6;
    printf "  process.csv  %d rows, %d bytes (%.1f MB); sim CSV %d bytes\n", rows, cb, cb / 1e6, pcb;
    printf "  goal         < 60 s per simulated day (>= 1440x real time): %s\n",
        ((ow * day < 60) ? "met" : "NOT met");
}'
