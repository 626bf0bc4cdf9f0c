#!/usr/bin/env bash
# Long runs of the randomized replication test (tests/e2e/random_workload.rs).
#
#   scripts/soak.sh --seeds N [--start S] [--kind table|db|both] [--kill] [--known a,b]
#   scripts/soak.sh --replay FILE
#
# Runs the ignored `soak` test of a release build; prints one line per case, then each
# failure (seed, kind, operations log) and `N passed, M failed`. Operations logs are under
# target/tmp/random_workload/. `--timeout SECS` (default 60) bounds each convergence;
# `--stable SECS` (default 20) fails a case early once the job is caught up and the
# difference has not changed for that long. `--known` masks known divergences (triage);
# `--debug` uses the debug build instead of the release one.
set -euo pipefail
cd "$(dirname "$0")/.."

seeds=10 start=1 kind=both kill=0 replay="" timeout=60 stable=20 known="" debug=0
while [ $# -gt 0 ]; do
    case "$1" in
        --seeds) seeds=$2; shift 2 ;;
        --start) start=$2; shift 2 ;;
        --kind) kind=$2; shift 2 ;;
        --kill) kill=1; shift ;;
        --replay) replay=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --stable) stable=$2; shift 2 ;;
        --known) known=$2; shift 2 ;;
        --debug) debug=1; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
case "$kind" in table|db|both) ;; *) echo "--kind must be table, db or both" >&2; exit 2 ;; esac
if [ -n "$replay" ]; then
    replay=$(realpath "$replay")
    export RW_REPLAY="$replay"
fi
export RW_SEEDS="$seeds" RW_START="$start" RW_KIND="$kind" RW_KILL="$kill"
export RW_TIMEOUT_SECS="$timeout" RW_STABLE_SECS="$stable" RW_KNOWN="$known"

profile=(--release)
[ "$debug" = 1 ] && profile=()
cargo build "${profile[@]}" --bins --quiet
dir=target/tmp/random_workload
mkdir -p "$dir"
tag="$kind-$start"; [ "$kill" = 1 ] && tag="$tag-kill"; [ -n "$replay" ] && tag=replay
output="$dir/soak-$tag-stdout.txt" errors="$dir/soak-$tag-stderr.txt"
status=0
# Case lines as they finish; the full failure reports (operations, diff, syncer log) go to
# $errors.
cargo test "${profile[@]}" --quiet -p ccr_tests --test e2e random_workload::soak -- --ignored --nocapture --test-threads 1 \
    2>"$errors" | tee "$output" | grep --line-buffered -E '^(PASS|FAIL) ' || status=$?
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$output" | tail -1 || true)
if [ -z "$summary" ]; then
    tail -50 "$errors" >&2
    summary="0 passed, 1 failed (the soak did not finish; see above)"
    status=1
fi
echo "failures (full reports in $errors):"
grep -E '^FAIL ' "$output" | sort -u || true
echo "$summary"
case "$summary" in *" 0 failed"*) ;; *) status=1 ;; esac
exit "$status"
