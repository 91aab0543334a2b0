#!/bin/sh
# run-tests.sh — runs every test binary of one or more builds and prints one
# line per test case, then the summary line "N passed, N failed, N skipped".
#
# Usage: scripts/run-tests.sh BUILD_DIR [BUILD_DIR ...]
# Each test binary is a cmocka program run with TAP output. A binary that
# crashes or exits non-zero after reporting all its cases (a sanitizer or
# leak report) counts as one more failed case, so nothing fails silently.
# Environment given to tests: ICSRANGE_BIN (the build's icsrange binary),
# ICSRANGE_ROOT (the source tree), ICSRANGE_SHARED (../shared), TEST_TMP.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
shared=${ICSRANGE_SHARED:-$root/../shared}
pass=0; fail=0; skip=0
failed_list=""
tmp=$(mktemp -d /tmp/icsrange-tests.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

for build in "$@"; do
    case "$build" in *asan*) label=asan ;; *) label=plain ;; esac
    for t in "$build"/tests/*; do
        [ -x "$t" ] || continue
        name=$(basename "$t")
        out="$tmp/$label-$name.out"
        ttmp="$tmp/$label-$name.d"
        mkdir -p "$ttmp"
        ICSRANGE_BIN="$root/$build/icsrange" ICSRANGE_ROOT="$root" ICSRANGE_SHARED="$shared" \
        TEST_TMP="$ttmp" CMOCKA_MESSAGE_OUTPUT=TAP \
        ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=23" \
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
            timeout 900 "$t" >"$out" 2>&1
        rc=$?
        planned=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$out" | head -n1)
        np=$(grep -c '^ok ' "$out")
        ns=$(grep -c '^not ok .*# SKIP' "$out")
        nf=$(grep '^not ok ' "$out" | grep -vc '# SKIP')
        pass=$((pass + np)); skip=$((skip + ns)); fail=$((fail + nf))
        # one line per case
        sed -n -e "s/^ok [0-9]* - \(.*\)/ok    [$label] $name: \1/p" \
               -e "s/^not ok [0-9]* # SKIP \(.*\)/skip  [$label] $name: \1/p" "$out"
        grep '^not ok ' "$out" | grep -v '# SKIP' | \
            sed "s/^not ok [0-9]* - \(.*\)/FAIL  [$label] $name: \1/"
        if [ "$nf" -gt 0 ]; then
            failed_list="$failed_list $label/$name"
            grep -v -e '^ok ' -e '^1\.\.' "$out" | head -n 60 | sed 's/^/      /'
        fi
        done_cases=$((np + ns + nf))
        if [ -n "$planned" ] && [ "$done_cases" -lt "$planned" ]; then
            missing=$((planned - done_cases))
            fail=$((fail + missing))
            echo "FAIL  [$label] $name: $missing case(s) never reported (crash, exit $rc)"
            failed_list="$failed_list $label/$name"
            tail -n 40 "$out" | sed 's/^/      /'
        elif [ -z "$planned" ] || { [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; }; then
            fail=$((fail + 1))
            echo "FAIL  [$label] $name: exit status $rc after its cases (sanitizer, leak or crash report below)"
            failed_list="$failed_list $label/$name"
            tail -n 40 "$out" | sed 's/^/      /'
        fi
    done
done
[ -n "$failed_list" ] && echo "failed in:$failed_list"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
