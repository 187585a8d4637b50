#!/usr/bin/env bash
# The worker, the sink, the notifier and the dashboard under supervisord (deploy/supervisor/supervisord.conf): restarted
# when they exit with 75 (their watchdogs saw a stall) or crash.
#
# Usage:  deploy/supervise.sh up | down | status | logs
#   up      start supervisord (and with it the worker and the sink) unless it runs already
#   down    stop supervisord and its programs, by its pid file
#   status  what supervisord says of each program
#   logs    where the logs are, and their last lines
# The programs get this shell's environment (HAOCHAPING_* settings) and each its own secrets,
# only those it needs (issue 29), and its own Kafka user on the SASL listener (KAFKA_ANONYMOUS=1:
# the anonymous PLAINTEXT listener, for development): .deploy/secrets/<program>.env (mode
# 0600), written here from the environment or .deploy/secrets.env (deploy/services.sh
# generates it), which supervisord.conf hands each program as HAOCHAPING_ENV_FILE in place of
# .deploy/secrets.env: the evaluator secret to the worker's two halves, the writer's password
# to the sink, the analyst's and the evaluator's to the dashboard, the webhook's signing key to
# the notifier, nothing to the case notifier. Never the administrator's or the proxy's. A value
# in the environment wins.
# Run as root, each program runs as a system user of its own, one per set of secrets
# (PROGRAM_USER below; SERVICE_USERS=0: all as root), owning its secrets file and state.
set -euo pipefail
umask 077 # the programs' logs and state are the owner's alone (issue 29)
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export HCP_ROOT="$ROOT" HCP_STATE="$ROOT/.deploy/supervisor" HCP_SECRETS="$ROOT/.deploy/secrets"
CONF="$ROOT/deploy/supervisor/supervisord.conf"
PIDFILE="$HCP_STATE/supervisord.pid"
BIN="$ROOT/.venv/bin"
mkdir -p "$HCP_STATE"

# ch_file_value FILE NAME: the last value of NAME in a NAME=value file (nothing if missing)
# shellcheck source=deploy/clickhouse/passwords.sh
. "$ROOT/deploy/clickhouse/passwords.sh"

# one program's secrets file: NAME=value for each name given that has a value
secrets_for() {
    local program=$1 name value
    shift
    for name in "$@"; do
        value="${!name:-}"
        [[ -n "$value" ]] || value="$(ch_file_value "$ROOT/.deploy/secrets.env" "$name")"
        if [[ -n "$value" ]]; then printf '%s=%s\n' "$name" "$value"; fi
    done >"$HCP_SECRETS/$program.env"
}

# A program's Kafka login, added to its file (issue 29, part 3): by default each program logs in
# on the SASL listener as its own SCRAM user, whose ACLs allow only its job. The anonymous
# PLAINTEXT listener (a super user) is for development only: KAFKA_ANONYMOUS=1 keeps the programs
# there, and Kafka settings in the environment (HAOCHAPING_KAFKA_BOOTSTRAP or _SECURITY_PROTOCOL)
# are taken as they are.
kafka_login_for() {
    local program=$1 user=$2 logins="$ROOT/.deploy/kafka/sasl.env" bootstrap password
    [[ "${KAFKA_ANONYMOUS:-0}" == 1 ]] && return 0
    [[ -z "${HAOCHAPING_KAFKA_BOOTSTRAP:-}${HAOCHAPING_KAFKA_SECURITY_PROTOCOL:-}" ]] || return 0
    bootstrap="$(ch_file_value "$logins" KAFKA_SASL_BOOTSTRAP)"
    password="$(ch_file_value "$logins" "KAFKA_SASL_${user^^}_PASSWORD")"
    if [[ -z "$bootstrap" || -z "$password" ]]; then
        echo "supervise: no Kafka login for user $user in .deploy/kafka/sasl.env (deploy/services.sh up writes it unless KAFKA_SASL_PORT=0); to run the programs anonymously over PLAINTEXT in development, set KAFKA_ANONYMOUS=1" >&2
        return 1
    fi
    printf '%s\n' "HAOCHAPING_KAFKA_BOOTSTRAP=$bootstrap" \
        "HAOCHAPING_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT" \
        "HAOCHAPING_KAFKA_SASL_USERNAME=$user" \
        "HAOCHAPING_KAFKA_SASL_PASSWORD=$password" >>"$HCP_SECRETS/$program.env"
}

program_secrets() {
    mkdir -p "$HCP_SECRETS"
    secrets_for worker HAOCHAPING_EVALUATOR_SECRET
    secrets_for follow-up HAOCHAPING_EVALUATOR_SECRET
    secrets_for sink HAOCHAPING_CLICKHOUSE_PASSWORD
    secrets_for dashboard HAOCHAPING_CLICKHOUSE_ANALYST_PASSWORD CLICKHOUSE_EVALUATOR_PASSWORD \
        HAOCHAPING_DASHBOARD_SESSION_SECRET
    secrets_for notify HAOCHAPING_WEBHOOK_SECRET
    secrets_for notify-cases
    # the dashboard's office and department pages write cases.actions: the department user
    kafka_login_for worker worker && kafka_login_for follow-up worker \
        && kafka_login_for sink sink && kafka_login_for notify notify \
        && kafka_login_for notify-cases notify && kafka_login_for dashboard department
}

# shellcheck source=deploy/service-users.sh
. "$ROOT/deploy/service-users.sh"

# Each program's system user when run as root (SERVICE_USERS, issue 29): one per set of
# secrets, so that the dashboard cannot read the writer's password nor the worker the
# analyst's. supervisord.conf starts each program as HCP_USER_<PROGRAM>.
declare -A PROGRAM_USER=(
    [worker]=haochaping-worker [follow-up]=haochaping-worker [sink]=haochaping-sink
    [notify]=haochaping-notify [notify-cases]=haochaping-notify [dashboard]=haochaping-dashboard
)

# HCP_USER_<PROGRAM>, as supervisord.conf reads them
program_user_names() {
    local program user name
    for program in "${!PROGRAM_USER[@]}"; do
        user="${PROGRAM_USER[$program]}"
        own_users || user="$(id -un)"
        name="HCP_USER_${program//-/_}"
        export "${name^^}=$user"
    done
}
program_user_names

# the worker's Faust state folder (its tables' local copies), under the checkout by default
worker_data() {
    local data="${HAOCHAPING_WORKER_DATA_DIR:-.data/faust}"
    [[ "$data" == /* ]] || data="$ROOT/${data%%/*}" # .data/faust: all of .data
    printf '%s\n' "$data"
}

# The worker's temporary files (jieba's dictionary cache) in a folder of its own, not in the
# shared /tmp, where another local user could plant a cache for it to load
HCP_WORKER_TMP="$(worker_data)/tmp"
export HCP_WORKER_TMP

# the users made and handed what their programs read and write: their secrets file, the
# worker its state, the dashboard the sign-in users (HAOCHAPING_USERS_FILE; kept theirs when
# `haochaping users` rewrites it). Without users of their own, all are this user's.
program_users() {
    local program user users_file
    mkdir -p "$HCP_WORKER_TMP"
    own_users || return 0
    for user in $(printf '%s\n' "${PROGRAM_USER[@]}" | sort -u); do service_user "$user" "supervised programs"; done
    group_passes "$ROOT/.deploy"
    group_passes "$HCP_SECRETS"
    for program in "${!PROGRAM_USER[@]}"; do
        hand_over "$HCP_SECRETS/$program.env" "${PROGRAM_USER[$program]}"
    done
    hand_over "$(worker_data)" haochaping-worker
    users_file="${HAOCHAPING_USERS_FILE:-.deploy/users.json}"
    [[ "$users_file" == /* ]] || users_file="$ROOT/$users_file"
    [[ -f "$users_file" ]] || printf '{"users": []}\n' >"$users_file"
    hand_over "$users_file" haochaping-dashboard
}

# supervisord, as root inside deploy/run-as.sh's namespace when the programs have users of
# their own: they must reach the checkout and the .venv's Python (pyenv's, in root's home)
start_supervisord() {
    local launch=() python_home
    if own_users; then
        python_home="$("$BIN/python" -c 'import sys; print(sys.base_prefix)')"
        launch=(bash "$ROOT/deploy/run-as.sh" --stay-root haochaping-worker "$ROOT" "$python_home" --)
        # a checkout cloned (or a .venv installed) under umask 077 is root's alone: say so now,
        # not in six programs' restart loops
        if ! bash "$ROOT/deploy/run-as.sh" haochaping-worker "$ROOT" "$python_home" -- \
            test -r "$ROOT/runtime/settings.py" -a -r "$BIN/haochaping"; then
            echo "supervise: the programs' users cannot read the checkout or its .venv (made under umask 077?): make its files readable to others (not .deploy), or set SERVICE_USERS=0 to run them as $(id -un)" >&2
            return 1
        fi
    fi
    "${launch[@]}" "$BIN/supervisord" -c "$CONF"
}

running() { [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

# the pids of the running programs, as supervisord knows them
program_pids() {
    "$BIN/supervisorctl" -c "$CONF" pid all 2>/dev/null | grep -E '^[1-9][0-9]*$' || true
}

# supervisord stops one program at a time (each [program] is a group of its own), each up to
# its stopwaitsecs: with programs that do not finish (a broker already gone) `down` kills it
# after 60 s, before it reached the last ones, which then ran on holding their ports. So the
# programs it had not stopped are stopped here, by the pids it gave (still haochaping's).
stop_orphans() {
    local p left=()
    for p in "$@"; do
        grep -qs haochaping "/proc/$p/cmdline" && left+=("$p")
    done
    [[ ${#left[@]} -gt 0 ]] || return 0
    echo "supervisord: did not stop program pid(s) ${left[*]}; stopping them" >&2
    kill -TERM "${left[@]}" 2>/dev/null || true
    local alive
    for _ in $(seq 1 30); do
        alive=0
        for p in "${left[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [[ $alive -eq 1 ]] || return 0
        sleep 0.5
    done
    kill -KILL "${left[@]}" 2>/dev/null || true
}

# sourced (tests/unit/deploy/test_supervised_secrets.py): the functions only
[[ "${BASH_SOURCE[0]}" == "$0" ]] || return 0

case "${1:-}" in
up)
    if running; then echo "supervisord: already running (pid $(cat "$PIDFILE"))"; exit 0; fi
    program_secrets
    program_users
    start_supervisord
    kafka="as the environment says (HAOCHAPING_KAFKA_*; anonymous PLAINTEXT if unset)"
    if grep -q '^HAOCHAPING_KAFKA_SASL_USERNAME=' "$HCP_SECRETS/worker.env"; then
        kafka="each program as its own SASL user (worker, sink, notify, department)"
    fi
    for _ in $(seq 1 50); do running && break; sleep 0.2; done
    running || { echo "supervisord: did not start; see $HCP_STATE/supervisord.log" >&2; exit 1; }
    echo "supervisord: started pid $(cat "$PIDFILE"): worker (ingest and follow-up), sink, notify (surges and cases) and dashboard (logs in .deploy/supervisor/); Kafka: $kafka"
    ;;
down)
    if ! running; then echo "supervisord: not running"; exit 0; fi
    pid="$(cat "$PIDFILE")"
    programs="$(program_pids)"
    kill -TERM "$pid"
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
    stop_orphans $programs
    echo "supervisord: stopped pid $pid (and the worker's two processes, the sink, both notifiers and the dashboard)"
    ;;
status)
    running || { echo "supervisord: not running"; exit 3; }
    "$BIN/supervisorctl" -c "$CONF" status || true
    ;;
logs)
    for name in supervisord worker follow-up sink notify notify-cases dashboard; do
        echo "== $HCP_STATE/$name.log"; tail -n 20 "$HCP_STATE/$name.log" 2>/dev/null || true
    done
    ;;
*)
    sed -n '2,12p' "$0"; exit 2 ;;
esac
