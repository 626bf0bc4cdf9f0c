#!/usr/bin/env bash
# Stop ccr_syncer instances identified by their pid files (written by start_syncer.sh).
#
# Differences from the reference stop_syncer.sh (deliberate):
#   * SIGTERM by default so the syncer shuts down cleanly; SIGKILL only after --timeout seconds
#     (or at once with --force). `-- --grace` is still accepted and changes nothing.
#   * A pid file whose process is gone is removed with a warning instead of failing.
#   * --host without --port is refused instead of silently stopping every syncer.
#   * Every selected syncer is signalled first and then waited for, so stopping several does
#     not take the sum of their shutdown times.
#   * The default pid directory is $SYNCER_HOME/run (see start_syncer.sh).
#   * -h/--help prints the usage and exits 0; a usage error prints it to stderr and exits 1.
set -euo pipefail

readonly SCRIPT_NAME="${0##*/}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
SYNCER_HOME="${SYNCER_HOME:-$(cd "${SCRIPT_DIR}/.." && pwd)}"
readonly SYNCER_HOME

# A syncer finishes its current job pass before exiting; 60 s covers ordinary passes while still
# bounding a stop that hangs.
readonly DEFAULT_TIMEOUT_SECS=60
# How often to check whether a signalled process is gone.
readonly POLL_INTERVAL_SECS=0.2
# How long to wait for the kernel to tear a process down after SIGKILL.
readonly KILL_WAIT_SECS=10

usage() {
    cat <<EOF
Usage: ${SCRIPT_NAME} [options] [-- --grace]

Stop ccr_syncer processes listed in pid files: SIGTERM, wait for a clean exit, SIGKILL after
the timeout. Without --files or --host/--port every *.pid file in the pid directory is used.

Options (also accepted as --name=value):
  --pid_dir DIR        pid file directory (default: \$SYNCER_HOME/run = ${SYNCER_HOME}/run)
  --files "A B"        space-separated pid files: names in the pid directory or absolute paths
  --host HOST          with --port: stop <host>_<port>.pid (default host: 127.0.0.1)
  --port PORT          port of the syncer to stop
  --timeout SECONDS    wait this long for a clean exit before SIGKILL (default: ${DEFAULT_TIMEOUT_SECS})
  --force              send SIGKILL at once
  -h, --help           show this help and exit 0
  -- --grace           accepted for compatibility; SIGTERM is already the default

Exit status: 0 when every selected syncer is stopped (or was already gone); 1 otherwise.
EOF
}

usage_error() {
    echo "ERROR: $*" >&2
    usage >&2
    exit 1
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

# process_name PID: the command name of PID (empty when unknown).
process_name() {
    local pid="$1"
    if [[ -r "/proc/${pid}/comm" ]]; then
        cat "/proc/${pid}/comm" 2>/dev/null || true
    else
        ps -p "${pid}" -o comm= 2>/dev/null || true
    fi
}

# is_ccr_syncer PID: true when the process runs a program named ccr_syncer.
is_ccr_syncer() {
    local pid="$1" name argv0
    name="$(process_name "${pid}")"
    [[ "${name##*/}" == "ccr_syncer" ]] && return 0
    if [[ -r "/proc/${pid}/cmdline" ]]; then
        argv0="$(tr '\0' '\n' <"/proc/${pid}/cmdline" 2>/dev/null | head -n 1)" || return 1
        [[ "${argv0##*/}" == "ccr_syncer" ]]
        return
    fi
    return 1
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

# wait_gone PID DEADLINE_MS: poll until PID is gone or now_ms reaches DEADLINE_MS.
wait_gone() {
    local pid="$1" deadline="$2"
    while process_alive "${pid}"; do
        (($(now_ms) < deadline)) || return 1
        sleep "${POLL_INTERVAL_SECS}"
    done
}

# remove_pid_file FILE PID: remove FILE unless it meanwhile names another process (restart).
remove_pid_file() {
    local file="$1" pid="$2" current
    # A foreground start_syncer.sh removes its own pid file when the syncer exits.
    [[ -f "${file}" ]] || return 0
    current="$(tr -d '[:space:]' <"${file}" 2>/dev/null || true)"
    if [[ -z "${current}" || "${current}" == "${pid}" ]]; then
        rm -f "${file}"
    fi
}

pid_dir=""
files_arg=""
files_given=false
host=""
port=""
timeout_secs="${DEFAULT_TIMEOUT_SECS}"
force=false

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
    --force)
        [[ "${has_inline_value}" == false ]] || usage_error "--force takes no value"
        force=true
        shift
        continue
        ;;
    --)
        shift
        for extra in "$@"; do
            # The reference needed `-- --grace` for SIGTERM; it is the default now.
            [[ "${extra}" == "--grace" ]] || usage_error "unexpected argument after --: ${extra}"
        done
        break
        ;;
    --pid_dir | --files | --host | --port | --timeout)
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
    --pid_dir) pid_dir="${value}" ;;
    --files)
        files_arg="${value}"
        files_given=true
        ;;
    --host) host="${value}" ;;
    --port) port="${value}" ;;
    --timeout) timeout_secs="${value}" ;;
    esac
done

[[ "${timeout_secs}" =~ ^[0-9]+$ ]] || usage_error "invalid --timeout '${timeout_secs}' (whole seconds)"
timeout_secs=$((10#${timeout_secs}))
if [[ -n "${host}" && -z "${port}" ]]; then
    usage_error "--host needs --port"
fi
if [[ "${files_given}" == true && -n "${port}" ]]; then
    usage_error "use either --files or --host/--port, not both"
fi
pid_dir="${pid_dir:-${SYNCER_HOME}/run}"

pid_files=()
if [[ "${files_given}" == true ]]; then
    read -r -a names <<<"${files_arg}"
    [[ ${#names[@]} -gt 0 ]] || usage_error "--files is empty"
    for name in "${names[@]}"; do
        if [[ "${name}" == /* ]]; then
            pid_files+=("${name}")
        else
            pid_files+=("${pid_dir}/${name}")
        fi
    done
elif [[ -n "${port}" ]]; then
    pid_files=("${pid_dir}/${host:-127.0.0.1}_${port}.pid")
else
    [[ -d "${pid_dir}" ]] || {
        echo "ERROR: ${pid_dir} does not exist" >&2
        exit 1
    }
    shopt -s nullglob
    pid_files=("${pid_dir}"/*.pid)
    shopt -u nullglob
    if [[ ${#pid_files[@]} -eq 0 ]]; then
        echo "ERROR: ${pid_dir}/*.pid does not exist (no syncer to stop)" >&2
        exit 1
    fi
fi

signal="TERM"
[[ "${force}" == false ]] || signal="KILL"

failed=false
signalled_pids=()
signalled_files=()

# Phase 1: check every pid file and signal its process.
for file in "${pid_files[@]}"; do
    if [[ ! -f "${file}" ]]; then
        echo "ERROR: ${file} does not exist" >&2
        failed=true
        continue
    fi
    pid="$(tr -d '[:space:]' <"${file}")"
    if [[ -z "${pid}" ]]; then
        echo "ERROR: ${file} is empty" >&2
        failed=true
        continue
    fi
    if ! [[ "${pid}" =~ ^[0-9]+$ ]]; then
        echo "ERROR: ${file} does not hold a process id: '${pid}'" >&2
        failed=true
        continue
    fi
    if ! process_alive "${pid}"; then
        echo "WARNING: process ${pid} from ${file} is not running; removing the stale pid file" >&2
        rm -f "${file}"
        continue
    fi
    if ! is_ccr_syncer "${pid}"; then
        echo "ERROR: process ${pid} from ${file} is '$(process_name "${pid}")', not ccr_syncer; not signalling it" >&2
        failed=true
        continue
    fi
    echo "Stopping ccr_syncer process ${pid} (${file}) with SIG${signal}"
    if ! kill -s "${signal}" "${pid}" 2>/dev/null; then
        if process_alive "${pid}"; then
            echo "ERROR: cannot signal process ${pid} from ${file}" >&2
            failed=true
            continue
        fi
    fi
    signalled_pids+=("${pid}")
    signalled_files+=("${file}")
done

# Phase 2: wait for every signalled process; one shared deadline for all of them.
deadline=$(($(now_ms) + timeout_secs * 1000))
[[ "${force}" == false ]] || deadline=$(($(now_ms) + KILL_WAIT_SECS * 1000))
for i in "${!signalled_pids[@]}"; do
    pid="${signalled_pids[${i}]}"
    file="${signalled_files[${i}]}"
    if ! wait_gone "${pid}" "${deadline}"; then
        if [[ "${force}" == true ]]; then
            echo "ERROR: process ${pid} from ${file} survived SIGKILL for ${KILL_WAIT_SECS}s" >&2
            failed=true
            continue
        fi
        echo "WARNING: process ${pid} did not exit within ${timeout_secs}s after SIGTERM; sending SIGKILL" >&2
        kill -s KILL "${pid}" 2>/dev/null || true
        if ! wait_gone "${pid}" $(($(now_ms) + KILL_WAIT_SECS * 1000)); then
            echo "ERROR: process ${pid} from ${file} survived SIGKILL for ${KILL_WAIT_SECS}s" >&2
            failed=true
            continue
        fi
        echo "ccr_syncer process ${pid} killed"
    else
        echo "ccr_syncer process ${pid} exited"
    fi
    remove_pid_file "${file}" "${pid}"
done

if [[ "${failed}" == true ]]; then
    exit 1
fi
