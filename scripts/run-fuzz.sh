#!/bin/sh
# run-fuzz.sh — runs each libFuzzer harness for a bounded time and prints
# the executions it reached.
#
# Usage: scripts/run-fuzz.sh SECONDS HARNESS...
# Each harness starts from its committed seeds in fuzz/corpus/NAME/ and
# keeps what it learns in build/fuzz/corpus-NAME/ (not committed). A crash
# leaves its input in build/fuzz/ and fails the run.
set -eu
secs=$1
shift
status=0
for h in "$@"; do
    name=$(basename "$h")
    work="build/fuzz/corpus-$name"
    mkdir -p "$work"
    dict=""
    case "$name" in
        fuzz_plant_load) dict="-dict=fuzz/plant.dict" ;;
        fuzz_modbus_*|fuzz_mb_*) dict="-dict=fuzz/modbus.dict" ;;
    esac
    [ -f "fuzz/$name.dict" ] && dict="-dict=fuzz/$name.dict"
    echo "== $name: $secs s"
    log="build/fuzz/$name.log"
    if "$h" "$work" "fuzz/corpus/$name" $dict -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix=build/fuzz/ -print_final_stats=1 >"$log" 2>&1; then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1)
        echo "   $execs executions, $cov, no crash"
    else
        status=1
        echo "   FAILED (see $log)"
        tail -n 30 "$log"
    fi
done
exit $status
