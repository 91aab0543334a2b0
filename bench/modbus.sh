#!/bin/sh
# modbus — Modbus/TCP server throughput and latency: `icsrange modbus serve`
# beside a libmodbus 3.1.6 server (bench/modbus_libmodbus_server.c: the
# select() loop of libmodbus's own bandwidth-server-many-up) holding the same
# map, both driven by the same closed-loop generator on our client library
# (bench/modbus_load.c: N connections, one FC 3 read of 100 registers in
# flight on each). Servers pinned to one core, the generator to another;
# 1, 16 and 64 connections; median of RUNS runs, the two servers measured
# alternately. Prints one table with the ratios.
#
# Usage: sh bench/modbus.sh   (from the source tree; `make bench` runs it)
# Environment: RUNS (default 3), SECS (seconds per run, default 4), CONNS
#              (default "1 16 64"), SERVER_CPU (0), LOAD_CPU (1), BUILD
#              (build directory, default build).
set -eu
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SECS=${SECS:-4}
CONNS=${CONNS:-"1 16 64"}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
BUILD=${BUILD:-build}

# build what is missing or stale
make --no-print-directory -s BUILD="$BUILD" "$BUILD/icsrange" "$BUILD/bench/modbus_load" \
    "$BUILD/bench/modbus_libmodbus_server" >/dev/null

tmp=$(mktemp -d /tmp/modbus_bench.XXXXXX)
ours_pid=""
peer_pid=""
cleanup() {
    [ -n "$ours_pid" ] && kill "$ours_pid" 2>/dev/null || true
    [ -n "$peer_pid" ] && kill "$peer_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

pin_srv="taskset -c $SERVER_CPU"
pin_load="taskset -c $LOAD_CPU"
command -v taskset >/dev/null 2>&1 || { pin_srv=""; pin_load=""; }

# the map: 1000 of each table, holding registers 0-99 = 0..99 (what the
# generator checks), room for 64+ connections, no comms budget
{
    printf 'tables:\n'
    printf '  coils: {size: 1000}\n  discrete_inputs: {size: 1000}\n'
    printf '  input_registers: {size: 1000}\n'
    printf '  holding_registers:\n    size: 1000\n    values: {0: ['
    i=0
    while [ "$i" -lt 100 ]; do
        [ "$i" -gt 0 ] && printf ', '
        printf '%d' "$i"
        i=$((i + 1))
    done
    printf ']}\n'
    printf 'limits: {max_connections: 200, idle_timeout: 1h}\n'
} >"$tmp/map.yaml"

# waits for "listening on IP:PORT" in a log; prints the address
listening() {
    n=0
    while [ "$n" -lt 100 ]; do
        a=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$1" | head -n1)
        if [ -n "$a" ]; then
            echo "$a"
            return 0
        fi
        sleep 0.05
        n=$((n + 1))
    done
    echo "modbus.sh: no server listening (log $1):" >&2
    cat "$1" >&2
    return 1
}

$pin_srv "$BUILD/icsrange" modbus serve --listen 127.0.0.1:0 --map "$tmp/map.yaml" \
    2>"$tmp/ours.log" &
ours_pid=$!
$pin_srv "$BUILD/bench/modbus_libmodbus_server" 127.0.0.1 0 2>"$tmp/peer.log" &
peer_pid=$!
ours=$(listening "$tmp/ours.log")
peer=$(listening "$tmp/peer.log")

# CPU seconds a process has used (user + system)
tck=$(getconf CLK_TCK 2>/dev/null || echo 100)
cpu_of() { awk -v t="$tck" '{print ($14 + $15) / t}' "/proc/$1/stat"; }
now() { date +%s.%N; }

# one generator run against server $1 (pid $3) with $2 connections:
# prints "rps p50 p99 server_cpu generator_cpu" (CPU in cores)
load() {
    c0=$(cpu_of "$3")
    t0=$(now)
    out=$($pin_load "$BUILD/bench/modbus_load" "$1" "$2" "$SECS" 0.5) || {
        echo "modbus.sh: generator failed against $1: $out" >&2
        exit 1
    }
    t1=$(now)
    c1=$(cpu_of "$3")
    echo "$out" | awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" '{
        for (i = 1; i <= NF; i++) {split($i, kv, "="); v[kv[1]] = kv[2]}
        print v["rps"], v["p50_us"], v["p99_us"], (c1 - c0) / (t1 - t0), v["cpu"]}'
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for c in $CONNS; do
    : >"$tmp/ours.$c"
    : >"$tmp/peer.$c"
    r=0
    while [ "$r" -lt "$RUNS" ]; do
        load "$ours" "$c" "$ours_pid" >>"$tmp/ours.$c"
        load "$peer" "$c" "$peer_pid" >>"$tmp/peer.$c"
        r=$((r + 1))
    done
done

printf 'modbus: FC 3 read of 100 registers, one request in flight per connection;\n'
printf '        servers on core %s, generator on core %s; median of %d runs of %s s\n' \
    "$SERVER_CPU" "$LOAD_CPU" "$RUNS" "$SECS"
printf '%6s | %10s %8s %8s | %10s %8s %8s | %9s %9s %9s\n' conns "icsrange/s" "p50 us" \
    "p99 us" "libmodbus/s" "p50 us" "p99 us" "rps x" "p50 x" "p99 x"
for c in $CONNS; do
    o_rps=$(cut -d' ' -f1 "$tmp/ours.$c" | median)
    o_p50=$(cut -d' ' -f2 "$tmp/ours.$c" | median)
    o_p99=$(cut -d' ' -f3 "$tmp/ours.$c" | median)
    p_rps=$(cut -d' ' -f1 "$tmp/peer.$c" | median)
    p_p50=$(cut -d' ' -f2 "$tmp/peer.$c" | median)
    p_p99=$(cut -d' ' -f3 "$tmp/peer.$c" | median)
    awk -v c="$c" -v or="$o_rps" -v o5="$o_p50" -v o9="$o_p99" -v pr="$p_rps" -v p5="$p_p50" \
        -v p9="$p_p99" 'BEGIN {
        printf "%6d | %10.0f %8.1f %8.1f | %10.0f %8.1f %8.1f | %8.2fx %8.2fx %8.2fx\n",
               c, or, o5, o9, pr, p5, p9, or / pr, o5 / p5, o9 / p9 }'
    echo "$c $o_rps $o_p50 $o_p99 $p_rps $p_p50 $p_p99" >>"$tmp/summary"
done
printf '(x: icsrange / libmodbus; above 1 is better for requests/s, below 1 for latency)\n'
printf 'CPU used during the runs, in cores (medians): server / generator\n'
for c in $CONNS; do
    printf '%6d | icsrange %.2f / %.2f | libmodbus %.2f / %.2f\n' "$c" \
        "$(cut -d' ' -f4 "$tmp/ours.$c" | median)" "$(cut -d' ' -f5 "$tmp/ours.$c" | median)" \
        "$(cut -d' ' -f4 "$tmp/peer.$c" | median)" "$(cut -d' ' -f5 "$tmp/peer.$c" | median)"
done
awk '$1 == 64 { r64 = $2 / $5; seen64 = 1 }
     $1 == 1  { l1 = $3 / $6; seen1 = 1 }
     END {
        if (seen64)
            printf "goal: >= 1.5x libmodbus requests/s at 64 connections: %s (%.2fx)\n",
                   (r64 >= 1.5) ? "met" : "NOT met", r64;
        if (seen1)
            printf "goal: p50 latency at 1 connection no worse than libmodbus: %s (%.2fx)\n",
                   (l1 <= 1.0) ? "met" : "NOT met", l1;
     }' "$tmp/summary"
