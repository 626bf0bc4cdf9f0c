#!/usr/bin/env bash
# Long runs of the high-availability chaos test (tests/e2e/ha_chaos.rs): three syncers on one
# MariaDB metadata database, table jobs under a continuous workload, seeded kill -9 /
# SIGSTOP / SIGCONT / restarts of syncers and one cut of the store. Prints, per run and for
# all runs, the takeovers with their p50/max seconds and the rows compared.
#
#   scripts/ha_chaos.sh [--runs N] [--seed S] [--jobs J] [--rounds R] [--restart-mariadb] [--debug]
#
# Needs MariaDB at 127.0.0.1:3306 (root, no password), as scripts/test.sh. With
# --restart-mariadb the store outage is a real restart of that server (run nothing else
# against it meanwhile); without it, a proxy in front of it cuts the syncers off.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3 seed=1 jobs=20 rounds=30 debug=0 restart=0
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --restart-mariadb) restart=1; shift ;;
        --debug) debug=1; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
profile=(--release)
[ "$debug" = 1 ] && profile=()
cargo build "${profile[@]}" --bins --quiet
export CHAOS_RUNS="$runs" CHAOS_SEED="$seed" CHAOS_JOBS="$jobs" CHAOS_ROUNDS="$rounds"
export CHAOS_RESTART_MARIADB="$restart"
exec cargo test "${profile[@]}" --quiet -p ccr_tests --test e2e ha_chaos::chaos_soak -- \
    --ignored --nocapture --test-threads 1
