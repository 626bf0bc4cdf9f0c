#!/usr/bin/env bash
# Table-sync benchmark: two simulated clusters, the ccr_syncer binary between them, and a
# stream of small transactions. Prints lag p50/p99, sustained txns/s, metadata writes per
# txn and the share of time spent waiting for the clusters. Knobs: BENCH_PACED_TXNS,
# BENCH_PACED_RATE, BENCH_BURST_TXNS (see benches/table_sync.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
# The bench runs the ccr_syncer binary of the bench (release) profile: build it first.
cargo build --release --quiet --bins
exec cargo bench -p ccr_tests --bench table_sync "$@"
