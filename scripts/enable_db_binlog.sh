#!/usr/bin/env bash
# Enable the binlog on a Doris database and on each of its tables, so the database can be
# replicated by ccr_syncer.
#
# Differences from the reference enable_db_binlog.sh (deliberate):
#   * Tables are checked even when the database already has the binlog on. A database's
#     setting is inherited only by tables created after it was switched on; tables that existed
#     before keep their own (off) setting, and a DB sync job cannot replay them.
#   * Identifiers are backquoted (backquotes inside a name doubled), so names with `-`, keywords
#     or other unusual characters work.
#   * The password goes to the client through MYSQL_PWD, not the command line (visible in ps).
#   * Works with either the `mysql` or the `mariadb` client.
set -euo pipefail

readonly SCRIPT_NAME="${0##*/}"
# Binlog retention set on every table and on the database: Doris' default TTL (one day).
readonly BINLOG_TTL_SECONDS=86400
# The text Doris prints in SHOW CREATE DATABASE/TABLE when the binlog is on (and the text the
# syncer itself checks before creating a job).
readonly BINLOG_ON_TEXT='"binlog.enable" = "true"'

usage() {
    cat <<EOF
Usage: ${SCRIPT_NAME} -d DB [-h HOST] [-p PORT] [-u USER] [-P PASSWORD]

Enable the binlog ("binlog.enable" = "true", "binlog.ttl_seconds" = "${BINLOG_TTL_SECONDS}") on every
table of database DB that lacks it (views are skipped), then on DB itself.

  -h HOST       FE host (default: 127.0.0.1)
  -p PORT       FE MySQL-protocol port (default: 9030)
  -u USER       user (default: root)
  -P PASSWORD   password (default: empty)
  -d DB         database (required)
  --help        show this help and exit 0

Uses the 'mysql' client, or 'mariadb' when 'mysql' is not installed.
Exit status: 0 when the database and all its tables have the binlog on; 1 otherwise.
EOF
}

die() {
    echo "ERROR: $*" >&2
    exit 1
}

# quote_ident NAME: NAME as a backquoted SQL identifier.
quote_ident() {
    local name="$1" bq='`'
    printf '%s%s%s' "${bq}" "${name//${bq}/${bq}${bq}}" "${bq}"
}

host="127.0.0.1"
port="9030"
user="root"
password=""
db=""

# -h means host here (reference compatibility), so help is only the long --help.
for arg in "$@"; do
    if [[ "${arg}" == "--help" ]]; then
        usage
        exit 0
    fi
done

while getopts ":h:p:u:P:d:" opt; do
    case "${opt}" in
    h) host="${OPTARG}" ;;
    p) port="${OPTARG}" ;;
    u) user="${OPTARG}" ;;
    P) password="${OPTARG}" ;;
    d) db="${OPTARG}" ;;
    :)
        echo "ERROR: option -${OPTARG} needs a value" >&2
        usage >&2
        exit 1
        ;;
    *)
        echo "ERROR: unknown option -${OPTARG}" >&2
        usage >&2
        exit 1
        ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || {
    echo "ERROR: unexpected argument: $1" >&2
    usage >&2
    exit 1
}
[[ -n "${db}" ]] || die "db is empty"
[[ "${port}" =~ ^[0-9]+$ ]] || die "invalid port '${port}'"

client=""
for candidate in mysql mariadb; do
    if command -v "${candidate}" >/dev/null 2>&1; then
        client="${candidate}"
        break
    fi
done
[[ -n "${client}" ]] || die "neither the mysql nor the mariadb client is installed"

if [[ -n "${password}" ]]; then
    export MYSQL_PWD="${password}"
fi

# run_sql SQL: run one statement, print the result rows tab-separated without a header.
# stdin is /dev/null so the client cannot eat the table list the caller is reading.
# --raw keeps names and SHOW CREATE text unescaped (Doris names cannot hold tabs or newlines).
run_sql() {
    "${client}" --host="${host}" --port="${port}" --user="${user}" \
        --batch --raw --skip-column-names --execute="$1" </dev/null
}

quoted_db="$(quote_ident "${db}")"
db_create="$(run_sql "SHOW CREATE DATABASE ${quoted_db}")" ||
    die "cannot read database ${db} on ${host}:${port}"
db_enabled=false
[[ "${db_create}" != *"${BINLOG_ON_TEXT}"* ]] || db_enabled=true

table_list="$(run_sql "SHOW FULL TABLES FROM ${quoted_db}")" ||
    die "cannot list the tables of ${db}"

properties="(\"binlog.enable\" = \"true\", \"binlog.ttl_seconds\" = \"${BINLOG_TTL_SECONDS}\")"
enabled_count=0
already_count=0
# Tables first: Doris is reported to refuse the database switch while some table has the
# binlog off, and the database switch does not reach existing tables anyway.
while IFS=$'\t' read -r table table_type _; do
    [[ -n "${table}" ]] || continue
    # Views carry no data and no binlog.
    [[ "${table_type}" != "VIEW" ]] || continue
    quoted_table="${quoted_db}.$(quote_ident "${table}")"
    table_create="$(run_sql "SHOW CREATE TABLE ${quoted_table}")" ||
        die "cannot read table ${db}.${table}"
    if [[ "${table_create}" == *"${BINLOG_ON_TEXT}"* ]]; then
        already_count=$((already_count + 1))
        continue
    fi
    echo "enabling binlog on table ${db}.${table}"
    run_sql "ALTER TABLE ${quoted_table} SET ${properties}" >/dev/null ||
        die "cannot enable binlog on table ${db}.${table}"
    enabled_count=$((enabled_count + 1))
done <<<"${table_list}"

if [[ "${db_enabled}" == true ]]; then
    echo "database ${db} already has binlog enabled"
else
    echo "enabling binlog on database ${db}"
    run_sql "ALTER DATABASE ${quoted_db} SET PROPERTIES ${properties}" >/dev/null ||
        die "cannot enable binlog on database ${db}"
fi
echo "done: binlog enabled on ${enabled_count} table(s), ${already_count} already had it"
