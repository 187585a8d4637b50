#!/usr/bin/env bash
# `make demo`: the main job, end to end, on the local services `make up` started.
# Creates topics and tables, runs the worker and the sink, sends realistic traffic from every
# channel (with one department's bad reviews surging, duplicates and malformed messages),
# then prints what landed in ClickHouse and the satisfaction ranking.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
H="$ROOT/.venv/bin/haochaping"
RUN="$ROOT/.data/demo"
COUNT="${DEMO_COUNT:-20000}"
RATE="${DEMO_RATE:-2000}"
export HAOCHAPING_DEMO_MODE="${HAOCHAPING_DEMO_MODE:-true}"
mkdir -p "$RUN"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ch() { clickhouse-client --port "${HAOCHAPING_CLICKHOUSE_PORT:-9000}" \
        -d "${HAOCHAPING_CLICKHOUSE_DATABASE:-haochaping}" -q "$1"; }

stop_started() {
    for name in worker sink; do
        pidfile="$RUN/$name.pid"
        if [[ -f "$pidfile" ]]; then
            pid="$(cat "$pidfile")"
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
            kill -KILL "$pid" 2>/dev/null || true
            rm -f "$pidfile"
        fi
    done
}
trap stop_started EXIT

say "topics and tables"
"$H" topics
"$H" migrate

say "worker and sink (logs in .data/demo/)"
"$H" worker >"$RUN/worker.log" 2>&1 & echo $! >"$RUN/worker.pid"
"$H" sink >"$RUN/sink.log" 2>&1 & echo $! >"$RUN/sink.pid"
echo "worker pid $(cat "$RUN/worker.pid"), sink pid $(cat "$RUN/sink.pid")"

before_ratings="$(ch 'SELECT count() FROM ratings FINAL')"
before_rejected="$(ch 'SELECT count() FROM rejected FINAL')"

say "traffic: the last 40 minutes of a city's evaluations, replayed in $((COUNT / RATE)) s"
# Event time starts 40 minutes ago and advances 8 evaluations a second, so surge detection
# sees whole minutes; halfway through, one department's bad reviews surge. A new seed each
# run: the same seed would resend the same evaluations, which the pipeline drops as repeats.
"$H" simulate --count "$COUNT" --rate "$RATE" --start -40m --event-rate "${DEMO_EVENT_RATE:-8}" \
    --scenario mixed --seed "$(date +%s)"

say "waiting for everything to land in ClickHouse"
last=-1; stable=0
for _ in $(seq 1 240); do
    now="$(ch 'SELECT (SELECT count() FROM ratings FINAL) + (SELECT count() FROM rejected FINAL)')"
    if [[ "$now" == "$last" ]]; then stable=$((stable + 1)); else stable=0; fi
    printf '\r  %s rows landed so far' "$now"
    last="$now"
    [[ $stable -ge 8 ]] && break
    for name in worker sink; do
        if ! kill -0 "$(cat "$RUN/$name.pid")" 2>/dev/null; then
            echo; echo "error: the $name stopped; the end of its log:"; tail -20 "$RUN/$name.log"; exit 1
        fi
    done
    sleep 0.5
done
echo
echo "this run landed $(( $(ch 'SELECT count() FROM ratings FINAL') - before_ratings )) evaluations" \
     "and $(( $(ch 'SELECT count() FROM rejected FINAL') - before_rejected )) rejected messages"

say "read back from ClickHouse"
"$H" report

cat <<MSG

Query further with clickhouse-client (docs/analyst-guide.md has more):
  clickhouse-client -d haochaping -q "SELECT channel, count() FROM ratings FINAL GROUP BY channel"
  clickhouse-client -d haochaping -q "SELECT reason, count() FROM rejected FINAL GROUP BY reason"
  clickhouse-client -d haochaping -q "SELECT * FROM satisfaction WHERE dimension = 'department' AND window = '1d' ORDER BY bad_rate DESC LIMIT 5"
  clickhouse-client -d haochaping -q "SELECT alert_id, status, peak_bad, last_explanation FROM alert_history FORMAT Vertical"
The services keep running; \`make down\` stops them.
MSG
