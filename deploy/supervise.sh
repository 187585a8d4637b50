#!/usr/bin/env bash
# The worker, the sink, the notifier and the dashboard under supervisord (deploy/supervisor/supervisord.conf): restarted
# when they exit with 75 (their watchdogs saw a stall) or crash.
#
# Usage:  deploy/supervise.sh up | down | status | logs
#   up      start supervisord (and with it the worker and the sink) unless it runs already
#   down    stop supervisord and its programs, by its pid file
#   status  what supervisord says of each program
#   logs    where the logs are, and their last lines
# The programs get this shell's environment (HAOCHAPING_* settings) and, when present, the
# two generated secrets they need from .deploy/secrets.env (written by deploy/services.sh with
# mode 0600): the worker's evaluator secret and the password of haochaping_writer (the sink).
# Not the administrator's, the evaluator's or the proxy's passwords. A value already in the
# environment wins.
set -euo pipefail
umask 077 # the programs' logs and state are the owner's alone (issue 29)
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export HCP_ROOT="$ROOT" HCP_STATE="$ROOT/.deploy/supervisor"
CONF="$ROOT/deploy/supervisor/supervisord.conf"
PIDFILE="$HCP_STATE/supervisord.pid"
BIN="$ROOT/.venv/bin"
mkdir -p "$HCP_STATE"

running() { [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

case "${1:-}" in
up)
    if running; then echo "supervisord: already running (pid $(cat "$PIDFILE"))"; exit 0; fi
    if [[ -f "$ROOT/.deploy/secrets.env" ]]; then
        for name in HAOCHAPING_EVALUATOR_SECRET HAOCHAPING_CLICKHOUSE_PASSWORD; do
            value="$(sed -n "s/^$name=//p" "$ROOT/.deploy/secrets.env" | tail -n 1)"
            if [[ -z "${!name:-}" && -n "$value" ]]; then export "$name=$value"; fi
        done
    fi
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
