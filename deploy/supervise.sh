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
# only those it needs (issue 29): .deploy/secrets/<program>.env (mode 0600), written here from
# the environment or .deploy/secrets.env (deploy/services.sh generates it), which supervisord.conf
# hands each program as HAOCHAPING_ENV_FILE in place of .deploy/secrets.env: the evaluator
# secret to the worker's two halves, the writer's password to the sink, the analyst's and the
# evaluator's to the dashboard, the webhook's signing key to the notifier, nothing to the case
# notifier. Never the administrator's or the proxy's. A value in the environment wins.
set -euo pipefail
umask 077 # the programs' logs and state are the owner's alone (issue 29)
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export HCP_ROOT="$ROOT" HCP_STATE="$ROOT/.deploy/supervisor" HCP_SECRETS="$ROOT/.deploy/secrets"
CONF="$ROOT/deploy/supervisor/supervisord.conf"
PIDFILE="$HCP_STATE/supervisord.pid"
BIN="$ROOT/.venv/bin"
mkdir -p "$HCP_STATE"

# one program's secrets file: NAME=value for each name given that has a value
secrets_for() {
    local program=$1 name value
    shift
    for name in "$@"; do
        value="${!name:-}"
        if [[ -z "$value" && -f "$ROOT/.deploy/secrets.env" ]]; then
            value="$(sed -n "s/^$name=//p" "$ROOT/.deploy/secrets.env" | tail -n 1)"
        fi
        if [[ -n "$value" ]]; then printf '%s=%s\n' "$name" "$value"; fi
    done >"$HCP_SECRETS/$program.env"
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
}

running() { [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

# sourced (tests/unit/deploy/test_supervised_secrets.py): the functions only
[[ "${BASH_SOURCE[0]}" == "$0" ]] || return 0

case "${1:-}" in
up)
    if running; then echo "supervisord: already running (pid $(cat "$PIDFILE"))"; exit 0; fi
    program_secrets
    "$BIN/supervisord" -c "$CONF"
    for _ in $(seq 1 50); do running && break; sleep 0.2; done
    running || { echo "supervisord: did not start; see $HCP_STATE/supervisord.log" >&2; exit 1; }
    echo "supervisord: started pid $(cat "$PIDFILE"): worker (ingest and follow-up), sink, notify (surges and cases) and dashboard (logs in .deploy/supervisor/)"
    ;;
down)
    if ! running; then echo "supervisord: not running"; exit 0; fi
    pid="$(cat "$PIDFILE")"
    kill -TERM "$pid"
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
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
