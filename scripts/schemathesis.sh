#!/usr/bin/env bash
# Runs Schemathesis (property-based API testing, from PyPI) against a live ccr_syncer and
# its own /openapi.json: every documented operation is called with examples, boundary
# values and random valid and invalid bodies, and each answer is checked for 5xx, an
# undocumented status code, content type or header, and a body outside its schema.
#
# The syncer serves two simulated clusters with one table job ("orders_dr", the name the
# document uses in its examples), so job routes meet a real job as well as unknown ones.
# Everything runs in a fresh network namespace holding only loopback: generated specs name
# random hosts, and the syncer must not dial anything beyond this machine.
#
#   scripts/schemathesis.sh [--max-examples N] [--token]
#     --max-examples N   cases per operation in the fuzzing phase (default 100)
#     --token            run the syncer with an API token and give it to Schemathesis
#
# Needs: pip install schemathesis (installed on first use), iproute2, unshare.
set -euo pipefail
cd "$(dirname "$0")/.."

max_examples=100
use_token=0
while [ $# -gt 0 ]; do
    case "$1" in
        --max-examples) max_examples="$2"; shift 2 ;;
        --token) use_token=1; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

if [ -z "${CCR_IN_NETNS:-}" ]; then
    command -v schemathesis >/dev/null 2>&1 || pip install --quiet --break-system-packages schemathesis
    cargo build --quiet --bins
    exec unshare --net --fork env CCR_IN_NETNS=1 "$0" --max-examples "$max_examples" \
        $([ "$use_token" = 1 ] && echo --token)
fi

ip link set lo up
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

wait_port() {
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "nothing listens on port $1" >&2
    exit 1
}

# Two clusters: FE query / rpc / http ports fixed inside the private namespace.
start_cluster() {
    local name=$1 base=$2
    target/debug/doris_sim --query-port "$base" --rpc-port $((base + 1)) --http-port $((base + 2)) \
        --backends 1 >"$work/$name.log" 2>&1 &
    pids+=($!)
    wait_port "$base"
}
start_cluster src 19030
start_cluster dest 19130
mariadb -h127.0.0.1 -P19030 -uroot -e "
    CREATE DATABASE shop PROPERTIES ('binlog.enable' = 'true');
    CREATE TABLE shop.orders (id INT, v INT) UNIQUE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2
        PROPERTIES ('binlog.enable' = 'true', 'light_schema_change' = 'true');
    INSERT INTO shop.orders VALUES (1, 1), (2, 2);"

port=19190
syncer_args=(--host 127.0.0.1 --port "$port" --db_dir "$work/ccr.db" --log_dir "$work")
auth=()
if [ "$use_token" = 1 ]; then
    echo "schemathesis-token-$(date +%s%N)" >"$work/token"
    syncer_args+=(--api_token_file "$work/token")
    auth=(--header "Authorization: Bearer $(cat "$work/token")")
fi
target/debug/ccr_syncer "${syncer_args[@]}" &
pids+=($!)
wait_port "$port"

spec() {
    echo "{\"host\": \"127.0.0.1\", \"port\": \"$1\", \"thrift_port\": \"$2\", \"user\": \"root\",
           \"password\": \"\", \"database\": \"shop\", \"table\": \"orders\"}"
}
curl -sf "${auth[@]}" -X POST -H 'Content-Type: application/json' \
    -d "{\"name\": \"orders_dr\", \"src\": $(spec 19030 19031), \"dest\": $(spec 19130 19131)}" \
    "http://127.0.0.1:$port/create_ccr" | grep -q '"success":true'

# negative_data_rejection and unsupported_method are left out on purpose: like the
# reference, routes answer a body they cannot use with HTTP 200 and success false, and
# accept any method.
checks=not_a_server_error,status_code_conformance,content_type_conformance
checks=$checks,response_headers_conformance,response_schema_conformance
set +e
schemathesis run "http://127.0.0.1:$port/openapi.json" \
    --checks "$checks" \
    --phases examples,coverage,fuzzing \
    --max-examples "$max_examples" \
    --request-timeout 30 \
    --seed 1 \
    "${auth[@]}" \
    --report junit --report-dir "$work/report"
status=$?
set -e
echo "== syncer log lines at WARN or above:"
grep -hE ' (WARN|ERROR) ' "$work"/*.log | grep -v doris_sim | tail -20 || true
if [ "$status" = 0 ]; then
    echo "schemathesis: no failures"
else
    echo "schemathesis: failures found (exit $status)" >&2
fi
exit "$status"
