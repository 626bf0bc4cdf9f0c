#!/usr/bin/env bash
# Table-sync figures of one job: paced lag p50/p99 and burst throughput with CPU, FE calls
# and durable writes per transaction. The scale harness measures them (its burst and paced
# parts); this keeps the older command and its knobs: BENCH_PACED_TXNS (300),
# BENCH_PACED_RATE (10 per second), BENCH_BURST_TXNS (1000). Extra flags go to the harness.
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/bench_scale.sh --only burst,paced \
    --paced "${BENCH_PACED_TXNS:-300}" --paced-rate "${BENCH_PACED_RATE:-10}" \
    --burst "${BENCH_BURST_TXNS:-1000}" "$@"
