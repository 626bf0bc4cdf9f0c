#!/usr/bin/env bash
# Scale harness of issue 13: two simulated clusters in the bench process and the release
# ccr_syncer binary between them. Prints, from one run, idle FE calls per source database
# with RSS and CPU, the time for many jobs on one database to reach incremental sync, burst
# throughput with CPU, FE calls and durable writes per transaction, paced lag p50/p99, and a
# large database job's full sync time with the syncer's own share of it; each figure beside
# its target. Measures, asserts nothing; not part of the test suite.
#
# Usage: scripts/bench_scale.sh [flags]   (defaults are the issue's full sizes; a quick run:)
#   scripts/bench_scale.sh --idle-jobs 50 --idle-dbs 5 --idle-secs 10 --many-jobs 20 \
#       --burst 500 --paced 100 --db-tables 50 --db-partitions 500
#   --only idle,many,burst,paced,db   parts to run      --deadline-secs N   wait per part
#   --help                            every flag (see benches/scale.rs)
set -euo pipefail
cd "$(dirname "$0")/.."
# The bench runs the ccr_syncer binary of the bench (release) profile: build it first.
cargo build --release --quiet --bins
exec cargo bench --quiet -p ccr_tests --bench scale -- "$@"
