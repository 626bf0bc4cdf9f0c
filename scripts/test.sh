#!/usr/bin/env bash
# Runs the whole test suite. The MySQL metadata-store tests need a MySQL-compatible server
# at 127.0.0.1:3306 (root, empty password); this starts the local MariaDB if it is down.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! mariadb -h127.0.0.1 -P3306 -uroot -e 'select 1' >/dev/null 2>&1; then
    echo "starting MariaDB"
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    for _ in $(seq 1 60); do
        mariadb -h127.0.0.1 -P3306 -uroot -e 'select 1' >/dev/null 2>&1 && break
        sleep 0.5
    done
    mariadb -h127.0.0.1 -P3306 -uroot -e 'select 1' >/dev/null || {
        echo "MariaDB did not come up on 127.0.0.1:3306" >&2
        exit 1
    }
fi

# The end-to-end tests run the ccr_syncer and doris_sim binaries of this build.
cargo build --bins --quiet
# Every crate's unit tests and the two test binaries of tests/ (e2e, sim); no doc tests;
# benches run with scripts/bench_*.sh. The output is kept to print one total at the end.
output=$(mktemp)
trap 'rm -f "$output"' EXIT
status=0
cargo test --quiet --lib --bins --tests -- --test-threads "${TEST_THREADS:-4}" "$@" 2>&1 | tee "$output" || status=$?
passed=$(grep -Eo '^test result: [a-zA-Z]+\. [0-9]+ passed' "$output" | awk '{s += $4} END {print s + 0}')
failed=$(grep -Eo '[0-9]+ failed;' "$output" | awk '{s += $1} END {print s + 0}')
echo "tests: ${passed} passed, ${failed} failed"
exit "$status"
