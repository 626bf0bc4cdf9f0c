#!/usr/bin/env bash
# Start one ccr_syncer instance, in the foreground or as a daemon.
#
# Layout: SYNCER_HOME is the parent of this script's directory (the repository root in a
# checkout, `output/` in the release layout `output/{bin,db,log,run}`). It can be overridden
# with the SYNCER_HOME environment variable.
#
# Differences from the reference start_syncer.sh (deliberate):
#   * --log_dir is a DIRECTORY; the binary writes <log_dir>/<host>_<port>.log, and in daemon mode
#     its stdout/stderr (panics, early start-up errors) go to <log_dir>/<host>_<port>.out.
#   * The default pid directory is $SYNCER_HOME/run instead of the script's own bin/ directory:
#     bin/ holds the shipped program and may be read-only or replaced on upgrade, while pid
#     files are runtime state that belongs next to db/ and log/.
#   * --daemon waits until the HTTP port answers POST /version (bounded) and fails loudly,
#     with the tail of the logs, when the process dies during start-up.
#   * Foreground mode also writes the pid file and forwards the arguments after `--`.
#   * --log_level defaults to info in both modes (the reference used trace in the foreground).
#   * -h/--help prints the usage and exits 0; a usage error prints it to stderr and exits 1.
set -euo pipefail

readonly SCRIPT_NAME="${0##*/}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
SYNCER_HOME="${SYNCER_HOME:-$(cd "${SCRIPT_DIR}/.." && pwd)}"
readonly SYNCER_HOME

# How long --daemon waits for the HTTP port to answer before giving up. Opening a remote MySQL
# metadata store (connect retries) can take a while, so this is generous.
readonly DEFAULT_START_TIMEOUT_SECS=60
# Poll interval while waiting for the daemon to answer /version.
readonly START_POLL_INTERVAL_SECS=0.2
# Per-request timeout of the readiness probe, so a half-open port cannot stall the wait loop.
readonly PROBE_TIMEOUT_SECS=2
# Lines of log shown when the daemon dies during start-up.
readonly LOG_TAIL_LINES=30

usage() {
    cat <<EOF
Usage: ${SCRIPT_NAME} [options] [-- binary-args...]

Start a ccr_syncer. Arguments after '--' are passed to the binary unchanged,
e.g. '${SCRIPT_NAME} --daemon -- --feature_atomic_restore=false --commit_txn_timeout 60s'.

Options (also accepted as --name=value):
  --daemon                  run in the background; wait until it answers HTTP
  --log_level LEVEL         trace|debug|info|warn|error (default: info)
  --log_dir DIR             log directory; the log file is DIR/<host>_<port>.log
                            (default: \$SYNCER_HOME/log; in the foreground the binary
                            logs to stdout unless --log_dir is given)
  --db_type TYPE            sqlite3|mysql (default: sqlite3)
  --db_dir FILE             SQLite database file (default: \$SYNCER_HOME/db/ccr.db)
  --db_host HOST            MySQL host
  --db_port PORT            MySQL port
  --db_user USER            MySQL user (must be empty with sqlite3)
  --db_password PASSWORD    MySQL password
  --db_name NAME            MySQL database name
  --host HOST               address to bind and identity of this syncer (default: 127.0.0.1)
  --port PORT               HTTP port (default: 9190)
  --pid_dir DIR             pid file directory; file DIR/<host>_<port>.pid
                            (default: \$SYNCER_HOME/run)
  --connect_timeout DUR     Thrift connect timeout (default: 10s)
  --rpc_timeout DUR         Thrift call timeout (default: 30s)
  --pprof true|false        accepted for compatibility, passed to the binary (no effect there)
  --pprof_port PORT         accepted for compatibility, passed to the binary
  -h, --help                show this help and exit 0

Environment:
  SYNCER_HOME               base directory (default: parent of the script directory: ${SYNCER_HOME})
  CCR_SYNCER_BIN            binary to run (default: ${SCRIPT_DIR}/ccr_syncer, then
                            \$SYNCER_HOME/target/release/ccr_syncer, then target/debug/ccr_syncer)
  CCR_START_TIMEOUT         seconds --daemon waits for /version (default: ${DEFAULT_START_TIMEOUT_SECS})

Exit status: 0 started (daemon) or clean exit (foreground); 1 on error.
EOF
}

die() {
    echo "ERROR: $*" >&2
    exit 1
}

usage_error() {
    echo "ERROR: $*" >&2
    usage >&2
    exit 1
}

# find_binary prints the path of the ccr_syncer executable to run.
find_binary() {
    if [[ -n "${CCR_SYNCER_BIN:-}" ]]; then
        [[ -x "${CCR_SYNCER_BIN}" ]] || die "CCR_SYNCER_BIN=${CCR_SYNCER_BIN} is not an executable file"
        printf '%s\n' "${CCR_SYNCER_BIN}"
        return
    fi
    local candidate
    for candidate in "${SCRIPT_DIR}/ccr_syncer" \
        "${SYNCER_HOME}/target/release/ccr_syncer" \
        "${SYNCER_HOME}/target/debug/ccr_syncer"; do
        if [[ -f "${candidate}" && -x "${candidate}" ]]; then
            printf '%s\n' "${candidate}"
            return
        fi
    done
    die "ccr_syncer binary not found (looked in ${SCRIPT_DIR} and ${SYNCER_HOME}/target/{release,debug}); set CCR_SYNCER_BIN"
}

# process_alive PID: true when PID exists and is not a zombie. A zombie has already exited; it
# only waits for its parent to reap it, which in containers without an init may never happen.
process_alive() {
    local pid="$1" stat
    if [[ -r "/proc/${pid}/stat" ]]; then
        stat="$(cat "/proc/${pid}/stat" 2>/dev/null)" || return 1
        # Field 3 (state) follows the parenthesised command name, which may contain spaces.
        stat="${stat##*) }"
        [[ "${stat%% *}" != "Z" ]]
        return
    fi
    kill -0 "${pid}" 2>/dev/null
}

# is_ccr_syncer PID: true when the process runs a program named ccr_syncer.
is_ccr_syncer() {
    local pid="$1" comm argv0
    if [[ -r "/proc/${pid}/comm" ]]; then
        comm="$(cat "/proc/${pid}/comm" 2>/dev/null)" || return 1
        [[ "${comm}" == "ccr_syncer" ]] && return 0
        argv0="$(tr '\0' '\n' <"/proc/${pid}/cmdline" 2>/dev/null | head -n 1)" || return 1
        [[ "${argv0##*/}" == "ccr_syncer" ]]
        return
    fi
    # No procfs (e.g. macOS): ask ps for the command name.
    comm="$(ps -p "${pid}" -o comm= 2>/dev/null)" || return 1
    [[ "${comm##*/}" == "ccr_syncer" ]]
}

# url_host HOST: HOST made usable inside a URL (IPv6 literals need brackets; a wildcard bind
# address is probed through the loopback interface).
url_host() {
    case "$1" in
    0.0.0.0) printf '127.0.0.1' ;;
    :: | "[::]") printf '[::1]' ;;
    \[*) printf '%s' "$1" ;;
    *:*) printf '[%s]' "$1" ;;
    *) printf '%s' "$1" ;;
    esac
}

# answers_version HOST PORT: true when the syncer answers POST /version.
answers_version() {
    local host port
    host="$(url_host "$1")"
    port="$2"
    if command -v curl >/dev/null 2>&1; then
        curl --silent --fail --max-time "${PROBE_TIMEOUT_SECS}" -X POST \
            "http://${host}:${port}/version" 2>/dev/null | grep -q '"version"'
        return
    fi
    # Without curl, settle for the port accepting a TCP connection.
    host="${host#[}"
    host="${host%]}"
    # shellcheck disable=SC2016 # $1/$2 are expanded by the inner bash, on purpose.
    timeout "${PROBE_TIMEOUT_SECS}" bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "${host}" "${port}" 2>/dev/null
}

# now_ms: wall-clock milliseconds (SECONDS only ticks in whole seconds, too coarse for deadlines).
now_ms() {
    if [[ -n "${EPOCHREALTIME:-}" ]]; then
        local micros="${EPOCHREALTIME//[.,]/}"
        printf '%s\n' "$((micros / 1000))"
    else
        date +%s%3N
    fi
}

show_log_tail() {
    local file
    for file in "$@"; do
        if [[ -s "${file}" ]]; then
            echo "---- last ${LOG_TAIL_LINES} lines of ${file} ----" >&2
            tail -n "${LOG_TAIL_LINES}" "${file}" >&2
        fi
    done
}

daemon=false
log_level="info"
log_dir=""
db_type="sqlite3"
db_dir=""
db_host=""
db_port=""
db_user=""
db_password=""
db_name=""
host="127.0.0.1"
port="9190"
pid_dir=""
connect_timeout="10s"
rpc_timeout="30s"
pprof=""
pprof_port=""
extra_args=()

# Manual parser instead of getopt(1): portable (no GNU getopt needed) and it supports both
# `--name value` and `--name=value`.
while [[ $# -gt 0 ]]; do
    opt="$1"
    value=""
    has_inline_value=false
    if [[ "${opt}" == --*=* ]]; then
        value="${opt#*=}"
        opt="${opt%%=*}"
        has_inline_value=true
    fi
    case "${opt}" in
    -h | --help)
        usage
        exit 0
        ;;
    --daemon)
        [[ "${has_inline_value}" == false ]] || usage_error "--daemon takes no value"
        daemon=true
        shift
        continue
        ;;
    --)
        shift
        extra_args=("$@")
        break
        ;;
    --log_level | --log_dir | --db_type | --db_dir | --db_host | --db_port | --db_user | \
        --db_password | --db_name | --host | --port | --pid_dir | --connect_timeout | --rpc_timeout | \
        --pprof | --pprof_port)
        if [[ "${has_inline_value}" == false ]]; then
            [[ $# -ge 2 ]] || usage_error "option ${opt} needs a value"
            value="$2"
            shift
        fi
        shift
        ;;
    *)
        usage_error "unknown option: $1"
        ;;
    esac
    case "${opt}" in
    --log_level) log_level="${value}" ;;
    --log_dir) log_dir="${value}" ;;
    --db_type) db_type="${value}" ;;
    --db_dir) db_dir="${value}" ;;
    --db_host) db_host="${value}" ;;
    --db_port) db_port="${value}" ;;
    --db_user) db_user="${value}" ;;
    --db_password) db_password="${value}" ;;
    --db_name) db_name="${value}" ;;
    --host) host="${value}" ;;
    --port) port="${value}" ;;
    --pid_dir) pid_dir="${value}" ;;
    --connect_timeout) connect_timeout="${value}" ;;
    --rpc_timeout) rpc_timeout="${value}" ;;
    --pprof) pprof="${value}" ;;
    --pprof_port) pprof_port="${value}" ;;
    esac
done

case "${log_level}" in
trace | debug | info | warn | error) ;;
*) usage_error "invalid --log_level '${log_level}' (trace|debug|info|warn|error)" ;;
esac
case "${pprof}" in
"" | true | false) ;;
*) usage_error "invalid --pprof '${pprof}' (true|false)" ;;
esac
case "${db_type}" in
sqlite3)
    # Reference behaviour: a user name only makes sense for a server database.
    [[ -z "${db_user}" ]] || die "sqlite3 is only for local for now"
    ;;
mysql) ;;
*) usage_error "invalid --db_type '${db_type}' (sqlite3|mysql)" ;;
esac
[[ -n "${host}" ]] || usage_error "--host is empty"
if ! [[ "${port}" =~ ^[0-9]+$ ]] || ((10#${port} < 1 || 10#${port} > 65535)); then
    usage_error "invalid --port '${port}'"
fi
[[ -z "${db_port}" || "${db_port}" =~ ^[0-9]+$ ]] || usage_error "invalid --db_port '${db_port}'"

log_dir_given=false
[[ -z "${log_dir}" ]] || log_dir_given=true
log_dir="${log_dir:-${SYNCER_HOME}/log}"
pid_dir="${pid_dir:-${SYNCER_HOME}/run}"
db_dir="${db_dir:-${SYNCER_HOME}/db/ccr.db}"

binary="$(find_binary)"
instance="${host}_${port}"
pid_file="${pid_dir}/${instance}.pid"
log_file="${log_dir}/${instance}.log"
out_file="${log_dir}/${instance}.out"

mkdir -p "${pid_dir}" || die "cannot create pid directory ${pid_dir}"
if [[ "${daemon}" == true || "${log_dir_given}" == true ]]; then
    mkdir -p "${log_dir}" || die "cannot create log directory ${log_dir}"
fi
if [[ "${db_type}" == sqlite3 ]]; then
    mkdir -p "$(dirname "${db_dir}")" || die "cannot create database directory for ${db_dir}"
fi

if [[ -f "${pid_file}" ]]; then
    old_pid="$(tr -d '[:space:]' <"${pid_file}")"
    if [[ "${old_pid}" =~ ^[0-9]+$ ]] && process_alive "${old_pid}" && is_ccr_syncer "${old_pid}"; then
        echo "Syncer running as process ${old_pid}. Stop it first." >&2
        exit 1
    fi
    echo "Removing stale pid file ${pid_file} (pid '${old_pid}' is not a running ccr_syncer)" >&2
    rm -f "${pid_file}"
fi

args=(
    --host "${host}"
    --port "${port}"
    --log_level "${log_level}"
    --db_type "${db_type}"
    --connect_timeout "${connect_timeout}"
    --rpc_timeout "${rpc_timeout}"
)
if [[ "${db_type}" == sqlite3 ]]; then
    args+=(--db_dir "${db_dir}")
else
    # Only what the operator gave: the binary's own defaults apply to the rest.
    [[ -z "${db_host}" ]] || args+=(--db_host "${db_host}")
    [[ -z "${db_port}" ]] || args+=(--db_port "${db_port}")
    [[ -z "${db_user}" ]] || args+=(--db_user "${db_user}")
    [[ -z "${db_password}" ]] || args+=(--db_password "${db_password}")
    [[ -z "${db_name}" ]] || args+=(--db_name "${db_name}")
fi
if [[ "${daemon}" == true || "${log_dir_given}" == true ]]; then
    args+=(--log_dir "${log_dir}")
fi
# The reference scripts' pprof options, kept so existing command lines still work.
[[ -z "${pprof}" ]] || args+=("--pprof=${pprof}")
[[ -z "${pprof_port}" ]] || args+=(--pprof_port "${pprof_port}")
args+=(${extra_args[@]+"${extra_args[@]}"})

# write_pid_file PID: create the pid file; noclobber makes a concurrent start of the same
# instance fail here instead of silently overwriting the other one's pid.
write_pid_file() {
    (
        set -o noclobber
        printf '%s\n' "$1" >"${pid_file}"
    ) 2>/dev/null
}

# Something already answering on the port would also answer the readiness probe below and
# make a failed start look successful; the binary would fail to bind anyway.
if answers_version "${host}" "${port}"; then
    die "${host}:${port} already answers HTTP (another syncer without a pid file in ${pid_dir}?)"
fi

if [[ "${daemon}" == true ]]; then
    echo "start time: $(date '+%Y-%m-%d %H:%M:%S')" >>"${out_file}"
    # setsid detaches the syncer from this terminal's session (no SIGHUP on logout, no Ctrl-C
    # from the shell that started it); nohup is the fallback where setsid is missing. Both exec
    # the binary in place, so $! is the syncer's own pid.
    detach=(nohup)
    if command -v setsid >/dev/null 2>&1; then
        detach=(setsid)
    fi
    "${detach[@]}" "${binary}" "${args[@]}" </dev/null >>"${out_file}" 2>&1 &
    pid=$!
    if ! write_pid_file "${pid}"; then
        kill -TERM "${pid}" 2>/dev/null || true
        die "pid file ${pid_file} appeared while starting (concurrent start?); stopped process ${pid}"
    fi

    start_timeout="${CCR_START_TIMEOUT:-${DEFAULT_START_TIMEOUT_SECS}}"
    [[ "${start_timeout}" =~ ^[0-9]+$ ]] || die "CCR_START_TIMEOUT must be a whole number of seconds"
    deadline=$(($(now_ms) + 10#${start_timeout} * 1000))
    until answers_version "${host}" "${port}"; do
        if ! process_alive "${pid}"; then
            rm -f "${pid_file}"
            # Reap it to report its exit status; it is our child, so wait works.
            status=0
            wait "${pid}" 2>/dev/null || status=$?
            echo "ERROR: ccr_syncer exited during start-up (status ${status})" >&2
            show_log_tail "${out_file}" "${log_file}"
            exit 1
        fi
        if (($(now_ms) >= deadline)); then
            echo "ERROR: ccr_syncer (process ${pid}) did not answer http://${host}:${port}/version within ${start_timeout}s;" \
                "it is still running, stop it with: ${SCRIPT_DIR}/stop_syncer.sh --pid_dir ${pid_dir} --host ${host} --port ${port}" >&2
            show_log_tail "${out_file}" "${log_file}"
            exit 1
        fi
        sleep "${START_POLL_INTERVAL_SECS}"
    done
    # The answer must have come from our process, not from one that grabbed the port meanwhile.
    if ! process_alive "${pid}"; then
        rm -f "${pid_file}"
        echo "ERROR: ccr_syncer exited during start-up" >&2
        show_log_tail "${out_file}" "${log_file}"
        exit 1
    fi
    echo "ccr_syncer started as process ${pid} on ${host}:${port}"
    echo "  pid file: ${pid_file}"
    echo "  log:      ${log_file}"
    echo "  stdout:   ${out_file}"
    exit 0
fi

# Foreground. The binary runs as a child rather than through `exec` so that this shell can
# remove the pid file when it ends (an exec'd process leaves nobody behind to clean up). The
# pid file holds the child's pid, so stop_syncer.sh signals the syncer itself; signals sent to
# this shell are forwarded to it, and Ctrl-C in a terminal reaches both (same process group).
"${binary}" "${args[@]}" &
pid=$!
# shellcheck disable=SC2317 # cleanup and forward are only called from traps.
cleanup() {
    # Only remove the pid file if it is still ours (a later start may have replaced it).
    if [[ -f "${pid_file}" && "$(tr -d '[:space:]' <"${pid_file}")" == "${pid}" ]]; then
        rm -f "${pid_file}"
    fi
}
trap cleanup EXIT
# shellcheck disable=SC2317
forward() {
    kill -s "$1" "${pid}" 2>/dev/null || true
}
trap 'forward TERM' TERM
trap 'forward INT' INT
trap 'forward QUIT' QUIT
trap 'forward HUP' HUP
if ! write_pid_file "${pid}"; then
    kill -TERM "${pid}" 2>/dev/null || true
    wait "${pid}" 2>/dev/null || true
    die "pid file ${pid_file} appeared while starting (concurrent start?); stopped process ${pid}"
fi

# `wait` returns early (status > 128) whenever a trapped signal arrives. If the child is still
# there (running, or a zombie not yet reaped) wait again, so the final status is the child's own.
while :; do
    status=0
    wait "${pid}" 2>/dev/null || status=$?
    if ((status > 128)) && kill -0 "${pid}" 2>/dev/null; then
        continue
    fi
    break
done
exit "${status}"
