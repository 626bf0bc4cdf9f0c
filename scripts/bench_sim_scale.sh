#!/usr/bin/env bash
# Scale figures of the simulated Doris cluster: 1,000 tables / 10,000+ partitions with data,
# then DDL and insert rates, SHOW PROC, getMeta and getBinlog latencies and the process RSS.
# Not part of the test suite (it measures, it does not assert).
#
# Usage: scripts/bench_sim_scale.sh [--release] [harness flags...]
#   --release   build optimized first (slow to compile on a small machine); default is the
#               debug build the tests use, so figures are pessimistic but comparable.
#   harness flags: --tables N --partitioned-tables N --partitions-per-table N
#                  --backends N --extra-inserts N (see `--help`).
set -euo pipefail

cd "$(dirname "$0")/.."
profile=()
if [[ "${1:-}" == "--release" ]]; then
    profile=(--release)
    shift
fi
exec cargo run --quiet "${profile[@]}" -p doris_sim --example sim_scale -- "$@"
