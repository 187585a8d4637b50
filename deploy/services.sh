#!/usr/bin/env bash
# Local services of haochaping without Docker: a single-node Kafka 4.x (KRaft, combined
# broker+controller) and a ClickHouse server, both with their data under <repo>/.deploy/.
#
# Usage:  deploy/services.sh up | down [--purge] | purge | status | logs | browser
#
#   up       install what is missing (Kafka jars via Maven, clickhouse-server via apt), start
#            both services in the background and wait until they answer. Idempotent: a
#            service that already runs (pid file + answering port) is reused.
#   down     stop exactly the processes `up` started (pid files): TERM, then KILL after
#            $STOP_TIMEOUT s. `down --purge` (or `purge`) also deletes the data folders
#            .deploy/kafka/data and .deploy/clickhouse/data (the Kafka jars are kept).
#   status   running (pid, port) or stopped, per service. Exit 0 if both run, 3 otherwise.
#   logs     where the logs are, and their last lines.
#   browser  install Debian's chromium (and a CJK font) for the dashboard's browser test, if
#            missing; `make test` runs it. Nothing is started.
#
# Environment (defaults in brackets):
#   KAFKA_SASL_PORT        [9094]  the broker's client listener on 127.0.0.1: SASL_PLAINTEXT,
#                                  SCRAM-SHA-512 logins, StandardAuthorizer, the ACLs of
#                                  haochaping/kafka_auth.py (docs/security.md, Kafka
#                                  authentication). The checkout's own commands (haochaping
#                                  topics/wait/simulate, the tests) log in as haochaping-admin:
#                                  `up` writes that login into .deploy/secrets.env.
#   KAFKA_CONTROLLER_PORT  [9093]  KRaft controller listener on 127.0.0.1 (SASL PLAIN: the
#                                  node's own login only)
#   KAFKA_ANONYMOUS        [0]     1 (development only): also open a PLAINTEXT listener on
#                                  KAFKA_PORT where anyone is User:ANONYMOUS, a super user, and
#                                  keep the controller on PLAINTEXT. Needed for KAFKA_SASL_PORT=0.
#   KAFKA_PORT             [9092]  that anonymous PLAINTEXT listener (KAFKA_ANONYMOUS=1 only)
#   KAFKA_SASL_<USER>_PASSWORD     password of a SCRAM user (USER: ADMIN, CHANNEL, DEPARTMENT,
#                                  WORKER, SINK, NOTIFY) and KAFKA_SASL_CONTROLLER_PASSWORD;
#                                  those not given are random, made once. All are kept in
#                                  .deploy/kafka/sasl.env (mode 0600), with the SASL address;
#                                  users and ACLs are (re)applied at each `up`, through the
#                                  project's .venv (`make install`).
#   KAFKA_HEAP             [1g]    -Xmx of the broker JVM
#   CLICKHOUSE_PORT        [9000]  ClickHouse native (TCP) port on 127.0.0.1
#   CLICKHOUSE_HTTP_PORT   [8123]  ClickHouse HTTP port on 127.0.0.1
#   CLICKHOUSE_ADMIN_PASSWORD, HAOCHAPING_CLICKHOUSE_PASSWORD (haochaping_writer),
#   HAOCHAPING_CLICKHOUSE_ANALYST_PASSWORD, CLICKHOUSE_EVALUATOR_PASSWORD,
#   CLICKHOUSE_PROXY_PASSWORD  [generated]  the ClickHouse users' passwords: a value set here
#                                  wins, else the one in .deploy/secrets.env, else a random
#                                  one; all recorded in .deploy/secrets.env (mode 0600). The
#                                  examples *-change-me are refused unless
#                                  HAOCHAPING_DEMO_MODE=true (docs/security.md, ClickHouse users)
#   SERVICE_USERS          [auto]  auto: when `up` runs as root, Kafka and ClickHouse each run
#                                  as a system user of its own (haochaping-kafka,
#                                  haochaping-clickhouse, created if missing), each owning only
#                                  its folder under .deploy (deploy/service-users.sh,
#                                  deploy/run-as.sh); otherwise as the user who runs `up`.
#                                  1: insist (refused unless root). 0: the user who runs `up`.
#   START_TIMEOUT          [120]   seconds `up` waits for each service
#   STOP_TIMEOUT           [20]    seconds `down` waits after TERM before KILL
#
# Files: deploy/kafka/pom.xml (jar list), deploy/kafka/log4j2.properties,
# deploy/clickhouse/users.template.xml, deploy/clickhouse/passwords.sh; generated:
# .deploy/secrets.env (0600), .deploy/kafka/server.properties, .deploy/clickhouse/config.xml,
# .deploy/clickhouse/users.xml (0600: the password hashes),
# .deploy/clickhouse/config.d/haochaping_public.xml (0600: the cluster behind the evaluator's
# database, with the proxy's password). The ports are written into the generated configs
# at each `up`, so stop the services before changing them.
set -euo pipefail
# Everything this script and the services it starts write (Kafka's segments and logs, which
# hold raw evaluations; ClickHouse's data; generated secrets) is the owner's alone: 0700
# folders, 0600 files (issue 29). Package installs run with the usual 022.
umask 077

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPLOY_SRC="$ROOT/deploy"
STATE="$ROOT/.deploy"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP="${KAFKA_HEAP:-1g}"
CLICKHOUSE_PORT="${CLICKHOUSE_PORT:-9000}"
CLICKHOUSE_HTTP_PORT="${CLICKHOUSE_HTTP_PORT:-8123}"
START_TIMEOUT="${START_TIMEOUT:-120}"
STOP_TIMEOUT="${STOP_TIMEOUT:-20}"

K_DIR="$STATE/kafka"
K_LIBS="$K_DIR/libs"
K_DATA="$K_DIR/data"
K_LOGS="$K_DIR/logs"
K_CONF="$K_DIR/server.properties"
K_PID="$K_DIR/kafka.pid"
K_OUT="$K_DIR/kafka.out"
K_POM="$DEPLOY_SRC/kafka/pom.xml"
K_LOG4J="$DEPLOY_SRC/kafka/log4j2.properties"
K_SASL_ENV="$K_DIR/sasl.env"
KAFKA_SASL_PORT="${KAFKA_SASL_PORT:-9094}"
KAFKA_ANONYMOUS="${KAFKA_ANONYMOUS:-0}"
PYTHON_BIN="${PYTHON_BIN:-$ROOT/.venv/bin/python}"

C_DIR="$STATE/clickhouse"
C_DATA="$C_DIR/data"
C_LOGS="$C_DIR/log"
C_CONF="$C_DIR/config.xml"
C_PID="$C_DIR/clickhouse.pid"
C_OUT="$C_DIR/clickhouse.out"
C_USERS="$C_DIR/users.xml"
C_USERS_TEMPLATE="$DEPLOY_SRC/clickhouse/users.template.xml"

K_USER=haochaping-kafka
C_USER=haochaping-clickhouse

say() { printf '%s\n' "$*"; }

# `env` arguments that start a daemon without any password or secret of this shell in its
# environment (/proc/<pid>/environ): only the scripts that generate and hash them need them
no_secrets() {
    NO_SECRETS=()
    local v
    for v in $(compgen -e); do
        case "$v" in
            *PASSWORD* | *SECRET*) NO_SECRETS+=(-u "$v") ;;
        esac
    done
}
err() { printf 'services.sh: %s\n' "$*" >&2; }
die() { err "$*"; exit 1; }

# ---------------------------------------------------------------- helpers

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null || die "apt-get not found; install manually: $*"
    if [ "$APT_UPDATED" -eq 0 ]; then
        say "apt-get update ..."
        ( umask 022; $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq )
        APT_UPDATED=1
    fi
    say "apt-get install -y $* ..."
    ( umask 022; $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "$@" )
}

# What an earlier run (before the umask above) left readable to others: taken back.
# .deploy itself is left to service_users_up: a running broker of its own user must never lose
# its way in, not even for a moment (its log folder would go offline).
private_state() {
    [ -d "$STATE" ] || return 0
    local keep=()
    # and the folders the services' group may pass (group_passes) stay so while they run
    getent group "$SERVICE_GROUP" >/dev/null && keep=(! -group "$SERVICE_GROUP")
    find "$STATE" -mindepth 1 -perm /077 "${keep[@]}" -exec chmod go-rwx {} +
    own_users || chmod go-rwx "$STATE"
}

# ---------------------------------------------------------------- the services' users

# shellcheck source=deploy/service-users.sh
. "$DEPLOY_SRC/service-users.sh"

# .deploy may be passed (not listed) by the services' group, so each service reaches its own
# 0700 folder; everything else in it stays root's alone.
service_users_up() {
    own_users || return 0
    service_user "$K_USER" Kafka
    service_user "$C_USER" ClickHouse
    group_passes "$STATE"
}

# folder $1 and all in it handed to user $2, but for the files after it (root's, 0600)
service_owns() {
    own_users || return 0
    local dir=$1 user=$2 file
    shift 2
    hand_over "$dir" "$user"
    for file in "$@"; do
        if [ -e "$file" ]; then chown root:root "$file"; fi
    done
}

# the words that start a program as user $1: deploy/run-as.sh lets it reach the checkout even
# where a folder above it is root's alone (a fresh clone under `mktemp -d`)
run_as() {
    RUN_AS=() RUN_AS_USER="$(id -un)"
    own_users || return 0
    RUN_AS=(bash "$DEPLOY_SRC/run-as.sh" "$1" "$ROOT" --) RUN_AS_USER=$1
}

# A Kafka cluster id is 16 random bytes, base64url without padding (22 chars). One that starts
# with "-" is read by StorageTool's argument parser as an option, so (as Kafka's own
# Uuid.randomUuid does) draw again until it does not.
new_cluster_id() {
    local id
    while :; do
        id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
        [ "${id#-}" = "$id" ] && break
    done
    printf '%s\n' "$id"
}

# true if something accepts TCP connections on 127.0.0.1:$1
port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# pid from pid file $1 if that process is alive and its command line contains $2
live_pid() {
    local file="$1" pattern="$2" pid
    [ -f "$file" ] || return 1
    pid="$(tr -dc '0-9' <"$file")"
    [ -n "$pid" ] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # guard against a recycled pid: the process must be the one we started. A process in the
    # middle of an exec (deploy/run-as.sh execs four times on its way to the service) shows
    # an empty command line for an instant: read again rather than call it gone (a broker
    # taken for dead was then stopped by wait_ready mid-start, 1 cold start in 31)
    local cmdline="" tries
    if [ -r "/proc/$pid/cmdline" ]; then
        for tries in 1 2 3 4 5 6 7 8 9 10; do
            cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
            [ -z "$cmdline" ] || break
            sleep 0.1
        done
        grep -q -- "$pattern" <<<"$cmdline" || return 1
    fi
    printf '%s' "$pid"
}

# find the ClickHouse server binary (Debian ships /usr/sbin/clickhouse-server; the upstream
# packages a multi-call /usr/bin/clickhouse)
ch_server_cmd() {
    if command -v clickhouse-server >/dev/null 2>&1; then
        printf '%s' "$(command -v clickhouse-server)"
    elif [ -x /usr/sbin/clickhouse-server ]; then
        printf '%s' /usr/sbin/clickhouse-server
    elif [ -x /usr/bin/clickhouse ]; then
        printf '%s' "/usr/bin/clickhouse server"
    else
        return 1
    fi
}

ch_ping() {
    if command -v curl >/dev/null 2>&1; then
        [ "$(curl -s -m 2 "http://127.0.0.1:$CLICKHOUSE_HTTP_PORT/ping" 2>/dev/null)" = "Ok." ]
    else
        timeout 2 bash -c '
            exec 3<>/dev/tcp/127.0.0.1/'"$CLICKHOUSE_HTTP_PORT"' || exit 1
            printf "GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3
            grep -q "^Ok\." <&3' 2>/dev/null
    fi
}

# KAFKA_CLIENT_PORT: set by kafka_mode here; deploy/cluster.sh's brokers answer on KAFKA_PORT
kafka_ready() {
    grep -q "Kafka Server started" "$K_OUT" 2>/dev/null && port_open "${KAFKA_CLIENT_PORT:-$KAFKA_PORT}"
}

# wait_ready NAME PIDFILE PATTERN CHECKFN LOGFILE...
wait_ready() {
    local name="$1" pidfile="$2" pattern="$3" check="$4"; shift 4
    local start=$SECONDS elapsed log
    printf 'waiting for %s ' "$name"
    while :; do
        if "$check"; then
            printf ' ready after %ss\n' "$((SECONDS - start))"
            return 0
        fi
        elapsed=$((SECONDS - start))
        if ! live_pid "$pidfile" "$pattern" >/dev/null; then
            printf ' process exited\n'
            break
        fi
        if [ "$elapsed" -ge "$START_TIMEOUT" ]; then
            printf ' timed out after %ss\n' "$elapsed"
            break
        fi
        printf '.'
        sleep 1
    done
    err "$name failed to start"
    # leave nothing half-started behind: stop it (if alive) and drop the pid file
    stop_pid "$name" "$pidfile" "$pattern" >/dev/null 2>&1 || true
    rm -f "$pidfile"
    for log in "$@"; do
        if [ -s "$log" ]; then
            err "---- last 30 lines of $log"
            tail -n 30 "$log" >&2
        fi
    done
    return 1
}

# stop_pid NAME PIDFILE PATTERN
stop_pid() {
    local name="$1" pidfile="$2" pattern="$3" pid i
    if ! pid="$(live_pid "$pidfile" "$pattern")"; then
        if [ -f "$pidfile" ]; then
            rm -f "$pidfile"
            say "$name: not running (removed stale pid file)"
        else
            say "$name: not running"
        fi
        return 0
    fi
    printf '%s: stopping pid %s ' "$name" "$pid"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 2; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        [ $((i % 2)) -eq 1 ] && printf '.'
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        printf ' still alive after %ss, sending KILL' "$STOP_TIMEOUT"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    fi
    if kill -0 "$pid" 2>/dev/null; then
        printf '\n'
        die "$name: pid $pid did not exit"
    fi
    rm -f "$pidfile"
    printf ' stopped\n'
}

# ---------------------------------------------------------------- Kafka

kafka_install() {
    command -v java >/dev/null 2>&1 || apt_install default-jre-headless
    local jv
    jv="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
    [ "${jv%%.*}" -ge 17 ] 2>/dev/null || die "Kafka 4 needs Java 17 or newer (found: ${jv:-unknown})"

    # jars: fetched again when missing, empty, or when deploy/kafka/pom.xml changed
    local stamp want
    want="$(sha256sum "$K_POM" | cut -d' ' -f1)"
    stamp="$(cat "$K_DIR/libs.stamp" 2>/dev/null || true)"
    if [ -d "$K_LIBS" ] && compgen -G "$K_LIBS/kafka_2.13-*.jar" >/dev/null && [ "$stamp" = "$want" ]; then
        return 0
    fi
    command -v mvn >/dev/null 2>&1 || apt_install maven
    say "kafka: downloading the broker jars with Maven (deploy/kafka/pom.xml -> .deploy/kafka/libs) ..."
    local t0=$SECONDS tmp="$K_DIR/libs.tmp"
    rm -rf "$tmp"
    mkdir -p "$K_DIR"
    # (Debian's Maven 3.8 prints stray ANSI resets even with -q -B: filtered out)
    mvn -B -q -f "$K_POM" dependency:copy-dependencies \
        -DoutputDirectory="$tmp" -DincludeScope=runtime 2>&1 \
        | sed -u -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' \
        || die "kafka: Maven could not fetch the jars (see above)"
    rm -rf "$K_LIBS"
    mv "$tmp" "$K_LIBS"
    # Maven copies the jars with the modes of ~/.m2 (0644): taken back like the rest of .deploy
    chmod -R go-rwx "$K_LIBS"
    printf '%s\n' "$want" >"$K_DIR/libs.stamp"
    say "kafka: $(find "$K_LIBS" -name '*.jar' | wc -l) jars in $((SECONDS - t0))s ($(du -sh "$K_LIBS" | cut -f1))"
}

# Development (KAFKA_ANONYMOUS=1): a PLAINTEXT listener where anyone is User:ANONYMOUS, a
# super user, beside the SASL one; the controller and inter-broker traffic on PLAINTEXT too.
kafka_listeners_anonymous() {
    mode="anonymous (KAFKA_ANONYMOUS=1, development only)"
    listeners="PLAINTEXT://127.0.0.1:$KAFKA_PORT"
    protocols="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
    if [ "$KAFKA_SASL_PORT" != 0 ]; then
        listeners="$listeners,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT"
        protocols="$protocols,SASL_PLAINTEXT:SASL_PLAINTEXT"
    fi
    advertised="$listeners"
    inter_broker=PLAINTEXT
}

kafka_auth_anonymous() {
    [ "$KAFKA_SASL_PORT" != 0 ] || return 0
    cat <<EOF

# Authentication and authorization (docs/security.md, Kafka authentication): SCRAM-SHA-512
# logins on the SASL listener get only what the ACLs of haochaping/kafka_auth.py grant.
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
# User:ANONYMOUS is whoever connects to the PLAINTEXT or CONTROLLER listener: anyone on
# this machine. That is what KAFKA_ANONYMOUS=1 means; the default has no such listener.
super.users=User:haochaping-admin;User:ANONYMOUS
EOF
}

# The default: every listener takes logins. Clients log in on the SASL listener with SCRAM
# (the ACLs of haochaping/kafka_auth.py; haochaping-admin, a super user, has its login from
# the storage's format on); the node talks to its own controller with a PLAIN login of its
# own (a controller cannot check SCRAM: those logins live in the metadata it serves).
kafka_listeners_logins() {
    mode="logins (this file holds the node's own two passwords: mode 0600)"
    advertised="SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT"
    listeners="$advertised"
    protocols="CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT"
    inter_broker=SASL_PLAINTEXT
}

kafka_auth_logins() {
    local admin controller
    admin="$(kafka_login KAFKA_SASL_ADMIN_PASSWORD)"
    controller="$(kafka_login KAFKA_SASL_CONTROLLER_PASSWORD)"
    cat <<EOF

# Authentication and authorization (docs/security.md, Kafka authentication)
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="haochaping-admin" password="$admin";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="haochaping-controller" password="$controller" user_haochaping-controller="$controller";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:haochaping-admin;User:haochaping-controller
EOF
}

# The mode of this script's broker: KAFKA_CLIENT_PORT is where its clients connect.
kafka_mode() {
    case "$KAFKA_ANONYMOUS" in
        0) [ "$KAFKA_SASL_PORT" != 0 ] \
               || die "kafka: KAFKA_SASL_PORT=0 leaves the broker no client listener; for an anonymous broker (development only) set KAFKA_ANONYMOUS=1 too"
           KAFKA_CLIENT_PORT="$KAFKA_SASL_PORT" ;;
        1) KAFKA_CLIENT_PORT="$KAFKA_PORT" ;;
        *) die "kafka: KAFKA_ANONYMOUS is 0 (the default: logins only) or 1 (development), not '$KAFKA_ANONYMOUS'" ;;
    esac
}

# kafka_login VAR: a password of $K_SASL_ENV, checked to be safe inside server.properties'
# quotes (the characters of the ClickHouse passwords, deploy/clickhouse/passwords.sh)
kafka_login() {
    local value
    value="$(ch_file_value "$K_SASL_ENV" "$1")"
    [[ "$value" =~ $CH_PASSWORD_PATTERN ]] \
        || die "kafka: $1 in ${K_SASL_ENV#"$ROOT"/} must be 12 or more letters, digits or ._~+/=@%:,^-"
    printf '%s' "$value"
}

kafka_config() {
    mkdir -p "$K_DATA" "$K_LOGS"
    local variant=logins mode listeners advertised protocols inter_broker
    [ "$KAFKA_ANONYMOUS" = 1 ] && variant=anonymous
    "kafka_listeners_$variant"
    cat >"$K_CONF" <<EOF
# generated by deploy/services.sh -- edits are overwritten at each \`up\`
# mode: $mode
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=$listeners,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=$inter_broker
listener.security.protocol.map=$protocols
log.dirs=$K_DATA
EOF
    "kafka_auth_$variant" >>"$K_CONF"
    cat >>"$K_CONF" <<EOF

num.partitions=4
default.replication.factor=1
min.insync.replicas=1
# topics are created on purpose, with their settings (haochaping topics, the worker's own,
# the tests' unique ones), never by a client that names one (issue 29)
auto.create.topics.enable=false
delete.topic.enable=true

# internal topics of one small node
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0

log.retention.hours=168
log.segment.bytes=134217728
log.retention.check.interval.ms=300000
num.network.threads=2
num.io.threads=4
EOF
}

KAFKA_JVM=(-Xmx"$KAFKA_HEAP" -Xms256m -XX:+UseG1GC -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$K_LOG4J" -Dkafka.logs.dir="$K_LOGS" -cp "$K_LIBS/*")

# the SASL port the running broker was configured with (0: none)
kafka_running_sasl_port() {
    local p
    p="$(sed -n 's|^listeners=.*SASL_PLAINTEXT://127.0.0.1:\([0-9]*\).*|\1|p' "$K_CONF" 2>/dev/null)"
    printf '%s' "${p:-0}"
}

# the anonymous PLAINTEXT port of the running broker (empty: none, the default)
kafka_running_anonymous_port() {
    sed -n 's|^listeners=PLAINTEXT://127.0.0.1:\([0-9]*\),.*|\1|p' "$K_CONF" 2>/dev/null
}

# what the broker is reached by, for the messages: "SASL :9094" or "anonymous :9092, SASL :9094"
kafka_describe() {
    if [ "$KAFKA_ANONYMOUS" = 1 ]; then
        printf 'anonymous 127.0.0.1:%s, SASL :%s' "$KAFKA_PORT" "$KAFKA_SASL_PORT"
    else
        printf 'SASL 127.0.0.1:%s, no anonymous listener' "$KAFKA_SASL_PORT"
    fi
}

# A running broker is reused only if it was started with the ports and mode asked for now.
kafka_reuse_check() {
    local pid="$1" want="" running
    [ "$KAFKA_ANONYMOUS" = 1 ] && want="$KAFKA_PORT"
    running="$(kafka_running_anonymous_port)"
    if [ "$running" != "$want" ]; then
        die "kafka: already running (pid $pid) with anonymous listener '${running:-none}', not '${want:-none}' (KAFKA_ANONYMOUS=$KAFKA_ANONYMOUS, KAFKA_PORT=$KAFKA_PORT); run \`down\` first"
    fi
    running="$(kafka_running_sasl_port)"
    if [ "$running" != "$KAFKA_SASL_PORT" ]; then
        die "kafka: already running (pid $pid) with SASL port $running, not $KAFKA_SASL_PORT; run \`down\` first to change ports"
    fi
}

# A new storage: formatted with haochaping-admin's SCRAM login in it (salted), so that a
# broker without the anonymous listener can be administered from its first start on.
kafka_format() {
    local cid admin scram=()
    [ -f "$K_DATA/meta.properties" ] && return 0
    cid="$(new_cluster_id)"
    if [ "$KAFKA_SASL_PORT" != 0 ]; then
        admin="$(cd "$ROOT" && "$PYTHON_BIN" -m haochaping.kafka_auth --format-scram --env-file "$K_SASL_ENV")" \
            || die "kafka: could not derive haochaping-admin's SCRAM login"
        scram=(--add-scram "$admin")
    fi
    say "kafka: formatting storage (cluster id $cid)"
    java "${KAFKA_JVM[@]}" kafka.tools.StorageTool format -t "$cid" -c "$K_CONF" --ignore-formatted "${scram[@]}" \
        >"$K_DIR/format.out" 2>&1 || { cat "$K_DIR/format.out" >&2; die "kafka: storage format failed"; }
}

kafka_start() {
    local pid
    if pid="$(live_pid "$K_PID" kafka.Kafka)"; then
        kafka_reuse_check "$pid"
        if kafka_ready; then
            say "kafka: already running (pid $pid, $(kafka_describe)), reusing it"
            return 0
        fi
        say "kafka: pid $pid is running but not ready yet"
        wait_ready kafka "$K_PID" kafka.Kafka kafka_ready "$K_OUT" "$K_LOGS/server.log"
        return
    fi
    if [ -f "$K_PID" ]; then
        say "kafka: removing stale pid file"
        rm -f "$K_PID"
    fi
    local ports=("$KAFKA_CONTROLLER_PORT" "$KAFKA_SASL_PORT")
    [ "$KAFKA_ANONYMOUS" = 1 ] && ports+=("$KAFKA_PORT")
    for p in "${ports[@]}"; do
        [ "$p" != 0 ] || continue
        if port_open "$p"; then
            die "kafka: port $p is already in use by another process (not started by this script); set KAFKA_SASL_PORT / KAFKA_CONTROLLER_PORT / KAFKA_PORT"
        fi
    done
    kafka_install
    kafka_config
    kafka_format
    : >"$K_OUT"
    # the broker reads its config (which holds its own logins) but never sasl.env (every user's)
    service_owns "$K_DIR" "$K_USER" "$K_SASL_ENV"
    run_as "$K_USER"
    (
        cd "$K_DIR"
        no_secrets
        env "${NO_SECRETS[@]}" nohup "${RUN_AS[@]}" java "${KAFKA_JVM[@]}" kafka.Kafka "$K_CONF" >"$K_OUT" 2>&1 </dev/null &
        echo $! >"$K_PID"
    )
    say "kafka: started pid $(cat "$K_PID") as $RUN_AS_USER ($(kafka_describe), controller :$KAFKA_CONTROLLER_PORT)"
    wait_ready kafka "$K_PID" kafka.Kafka kafka_ready "$K_OUT" "$K_LOGS/server.log"
}

# The passwords the broker's config and storage need, before it starts: those missing from
# $K_SASL_ENV are added (from this environment, else random); none there is changed yet.
kafka_sasl_settle() {
    [ "$KAFKA_SASL_PORT" != 0 ] || return 0
    [ -x "$PYTHON_BIN" ] || die "kafka: the SASL logins are made with the project's Python ($PYTHON_BIN is missing: run \`make install\`)"
    ( cd "$ROOT" && "$PYTHON_BIN" -m haochaping.kafka_auth --settle --env-file "$K_SASL_ENV" ) \
        || die "kafka: could not write ${K_SASL_ENV#"$ROOT"/}"
}

# SCRAM users and ACLs, applied by haochaping/kafka_auth.py as haochaping-admin over the SASL
# listener (KAFKA_ANONYMOUS=1: as User:ANONYMOUS over PLAINTEXT): a password given in this
# environment replaces the file's, every user's password is set again, the wanted ACLs
# created and any other ACL of these users deleted. Idempotent; runs at each `up`.
kafka_sasl_setup() {
    [ "$KAFKA_SASL_PORT" != 0 ] || return 0
    local through=(--bootstrap "127.0.0.1:$KAFKA_SASL_PORT")
    [ "$KAFKA_ANONYMOUS" = 1 ] && through=(--bootstrap "127.0.0.1:$KAFKA_PORT" --anonymous)
    (
        cd "$ROOT"
        "$PYTHON_BIN" -m haochaping.kafka_auth "${through[@]}" \
            --sasl-bootstrap "127.0.0.1:$KAFKA_SASL_PORT" \
            --env-file "$K_SASL_ENV"
    ) || die "kafka: setting the SASL users and ACLs failed (see above)"
}

# The checkout's own Kafka commands (haochaping topics/wait/send/simulate, make demo's
# traffic, the tests) read .deploy/secrets.env: they log in as haochaping-admin on the SASL
# listener. Without one (KAFKA_SASL_PORT=0, development) they connect anonymously.
kafka_checkout_login() {
    local f="$STATE/secrets.env" tmp
    tmp="$f.tmp.$$"
    (
        umask 077
        grep -v -E '^HAOCHAPING_KAFKA_(BOOTSTRAP|SECURITY_PROTOCOL|SASL_MECHANISM|SASL_USERNAME|SASL_PASSWORD)=' "$f" || true
        if [ "$KAFKA_SASL_PORT" != 0 ]; then
            printf 'HAOCHAPING_KAFKA_BOOTSTRAP=127.0.0.1:%s\n' "$KAFKA_SASL_PORT"
            printf 'HAOCHAPING_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT\n'
            printf 'HAOCHAPING_KAFKA_SASL_USERNAME=haochaping-admin\n'
            printf 'HAOCHAPING_KAFKA_SASL_PASSWORD=%s\n' "$(kafka_login KAFKA_SASL_ADMIN_PASSWORD)"
        else
            printf 'HAOCHAPING_KAFKA_BOOTSTRAP=127.0.0.1:%s\n' "$KAFKA_PORT"
        fi
    ) >"$tmp"
    chmod 600 "$tmp"
    mv -f "$tmp" "$f"
}

kafka_up() {
    kafka_mode
    kafka_sasl_settle
    kafka_start
    kafka_sasl_setup
    kafka_checkout_login
}

# ---------------------------------------------------------------- ClickHouse

# apt-get install without letting a package's postinst start a system-wide service (the
# Debian clickhouse-server would take our ports from /etc's config; prometheus its own).
apt_install_no_start() {
    local policy=/usr/sbin/policy-rc.d added=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
        $SUDO chmod 755 "$policy"
        added=1
    fi
    local rc=0
    apt_install "$@" || rc=$?
    if [ "$added" -eq 1 ]; then $SUDO rm -f "$policy"; fi
    return "$rc"
}

clickhouse_install() {
    ch_server_cmd >/dev/null && return 0
    say "clickhouse: clickhouse-server not found, installing the Debian packages"
    apt_install_no_start clickhouse-server clickhouse-client || die "clickhouse: apt-get install failed"
    ch_server_cmd >/dev/null || die "clickhouse: installed, but no server binary found"
}

# promtool checks and unit-tests the Prometheus alerting rules in deploy/prometheus/
promtool_install() {
    command -v promtool >/dev/null 2>&1 && return 0
    say "promtool not found, installing Debian's prometheus package (no server is started)"
    apt_install_no_start prometheus || die "prometheus: apt-get install failed"
}

# the dashboard's browser test (tests/integration/test_dashboard_browser.py) drives Debian's
# chromium through Playwright; Playwright's own browser download is not used. The font draws
# the pages' Chinese in screenshots.
browser_install() {
    if command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q .; then
        return 0
    fi
    say "browser: installing Debian's chromium and a CJK font for the dashboard's browser test"
    apt_install chromium fonts-wqy-microhei || die "browser: apt-get install chromium failed"
}

clickhouse_config() {
    mkdir -p "$C_DATA" "$C_LOGS"
    cat >"$C_CONF" <<EOF
<?xml version="1.0"?>
<!-- generated by deploy/services.sh; edits are overwritten at each \`up\` -->
<yandex>
    <logger>
        <level>information</level>
        <log>$C_LOGS/clickhouse-server.log</log>
        <errorlog>$C_LOGS/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>

    <listen_host>127.0.0.1</listen_host>
    <tcp_port>$CLICKHOUSE_PORT</tcp_port>
    <http_port>$CLICKHOUSE_HTTP_PORT</http_port>
    <!-- no interserver_http_port: no replication, and 9009 stays free -->

    <path>$C_DATA/</path>
    <!-- the server sets its own umask (027 by default) over the one it is started with -->
    <umask>077</umask>
    <tmp_path>$C_DATA/tmp/</tmp_path>
    <user_files_path>$C_DATA/user_files/</user_files_path>
    <format_schema_path>$C_DATA/format_schemas/</format_schema_path>
    <users_config>$C_USERS</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>

    <max_connections>1024</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>1073741824</uncompressed_cache_size>
    <mark_cache_size>536870912</mark_cache_size>
    <mlock_executable>false</mlock_executable>

    <query_log>
        <database>system</database>
        <table>query_log</table>
        <partition_by>toYYYYMM(event_date)</partition_by>
        <flush_interval_milliseconds>7500</flush_interval_milliseconds>
    </query_log>
</yandex>
EOF
    clickhouse_users
}

# ---------------------------------------------------------------- ClickHouse users

CH_WHO=services.sh # who says a refusal
# shellcheck source=deploy/clickhouse/passwords.sh
. "$DEPLOY_SRC/clickhouse/passwords.sh"
# shellcheck source=deploy/clickhouse/egress.sh
. "$DEPLOY_SRC/clickhouse/egress.sh"

# The server may open no connection but to itself (deploy/clickhouse/egress.sh): the writer's
# url() and kin cannot reach anything. Only for a server of its own user, which root runs.
clickhouse_egress() {
    if ! own_users; then
        say "clickhouse: runs as $(id -un), not a user of its own: its connections are not fenced, so the writer's url() reaches the network (docs/security.md)"
    elif ch_egress_up "$C_USER" "$CLICKHOUSE_PORT"; then
        say "clickhouse: $C_USER may connect only to 127.0.0.1:$CLICKHOUSE_PORT (iptables chain $CH_EGRESS_CHAIN)"
    else
        err "clickhouse: starting it unfenced: the writer's url() reaches the network (docs/security.md)"
    fi
}

# The five passwords (deploy/clickhouse/passwords.sh): from the environment, else from
# .deploy/secrets.env, else generated; recorded there. Refuses *-change-me outside demo mode,
# in one line, before anything starts.
clickhouse_passwords() {
    ch_passwords "$STATE/secrets.env" || exit 1
}

# The generated users file (hashes of the passwords) and the cluster behind the
# haochaping_public database: ClickHouse 18.16 checks a view's inner tables against the
# *querying* user's databases, so the evaluator's aggregate views are Distributed tables that
# read haochaping through this loopback connection as haochaping_proxy. Both are re-read by
# the running server without a restart; both are mode 0600 in a 0700 folder.
clickhouse_users() {
    mkdir -p "$C_DIR/config.d"
    chmod 700 "$C_DIR"
    ch_users_file "$C_USERS_TEMPLATE" "$C_USERS" || exit 1
    ch_cluster_file "$C_DIR/config.d/haochaping_public.xml" "$CLICKHOUSE_PORT" || exit 1
    # rewritten files are new ones of root's: the running server must still read them
    service_owns "$C_DIR" "$C_USER"
}

clickhouse_up() {
    local pid
    if pid="$(live_pid "$C_PID" clickhouse)"; then
        local running_ports
        running_ports="$(sed -n 's|.*<tcp_port>\([0-9]*\)<.*|\1|p; s|.*<http_port>\([0-9]*\)<.*|\1|p' "$C_CONF" 2>/dev/null | paste -sd/)"
        if [ -n "$running_ports" ] && [ "$running_ports" != "$CLICKHOUSE_PORT/$CLICKHOUSE_HTTP_PORT" ]; then
            die "clickhouse: already running (pid $pid) on ports $running_ports (tcp/http), not $CLICKHOUSE_PORT/$CLICKHOUSE_HTTP_PORT; run \`down\` first to change ports"
        fi
        if ! grep -q "<users_config>$C_USERS</users_config>" "$C_CONF" 2>/dev/null; then
            die "clickhouse: running (pid $pid) with users from an older config, not $C_USERS; run \`down\` then \`up\`"
        fi
        # (re)written while running too: the server reloads users.xml and config.d/ by itself
        clickhouse_users
        if ch_ping; then
            say "clickhouse: already running (pid $pid, tcp 127.0.0.1:$CLICKHOUSE_PORT, http :$CLICKHOUSE_HTTP_PORT), reusing it"
            return 0
        fi
        say "clickhouse: pid $pid is running but not answering yet"
        wait_ready clickhouse "$C_PID" clickhouse ch_ping "$C_OUT" "$C_LOGS/clickhouse-server.err.log" "$C_LOGS/clickhouse-server.log"
        return
    fi
    if [ -f "$C_PID" ]; then
        say "clickhouse: removing stale pid file"
        rm -f "$C_PID"
    fi
    for p in "$CLICKHOUSE_PORT" "$CLICKHOUSE_HTTP_PORT"; do
        if port_open "$p"; then
            die "clickhouse: port $p is already in use by another process (not started by this script; a system clickhouse-server service?); set CLICKHOUSE_PORT / CLICKHOUSE_HTTP_PORT"
        fi
    done
    clickhouse_install
    clickhouse_config
    local cmd
    cmd="$(ch_server_cmd)"
    run_as "$C_USER"
    (
        cd "$C_DIR"
        umask 077 # what the server writes (its preprocessed configs hold the proxy's password)
        # shellcheck disable=SC2086  # $cmd may be "/usr/bin/clickhouse server"
        no_secrets
        env "${NO_SECRETS[@]}" nohup "${RUN_AS[@]}" $cmd --config-file="$C_CONF" >"$C_OUT" 2>&1 </dev/null &
        echo $! >"$C_PID"
    )
    say "clickhouse: started pid $(cat "$C_PID") as $RUN_AS_USER (tcp 127.0.0.1:$CLICKHOUSE_PORT, http :$CLICKHOUSE_HTTP_PORT)"
    wait_ready clickhouse "$C_PID" clickhouse ch_ping "$C_OUT" "$C_LOGS/clickhouse-server.err.log" "$C_LOGS/clickhouse-server.log"
}

# ---------------------------------------------------------------- commands

# The worker's evaluator secret (keyed pseudonyms of evaluator ids), made once per checkout
# and kept out of git and of other users' reach; deploy/supervise.sh passes it on.
secrets_file() {
    local f="$STATE/secrets.env"
    if [ ! -f "$f" ]; then
        # 32 random bytes as 64 hex characters: always past the worker's 32-byte minimum
        # (base64 with its / + = dropped was of varying length)
        ( umask 077; printf 'HAOCHAPING_EVALUATOR_SECRET=%s\n' \
            "$(od -An -vtx1 -N32 /dev/urandom | tr -d ' \n')" > "$f" )
        say "secrets: generated $f (mode 0600)"
    fi
}

cmd_up() {
    mkdir -p "$STATE"
    private_state
    local t0=$SECONDS
    secrets_file
    clickhouse_passwords
    service_users_up
    promtool_install
    clickhouse_egress
    clickhouse_up
    kafka_up
    say "services up in $((SECONDS - t0))s: kafka $(kafka_describe), clickhouse 127.0.0.1:$CLICKHOUSE_PORT (http :$CLICKHOUSE_HTTP_PORT)"
}

cmd_down() {
    local purge=0
    for a in "$@"; do
        case "$a" in
            --purge) purge=1 ;;
            *) die "down: unknown option $a" ;;
        esac
    done
    stop_pid kafka "$K_PID" kafka.Kafka
    stop_pid clickhouse "$C_PID" clickhouse
    ! own_users || ch_egress_down "$C_USER"
    if [ "$purge" -eq 1 ]; then
        rm -rf "$K_DATA" "$C_DATA"
        say "purged ${K_DATA#"$ROOT"/} and ${C_DATA#"$ROOT"/} (jars kept)"
    fi
}

cmd_status() {
    local pid rc=0 p
    # report on the ports and mode the running services were configured with
    p="$(kafka_running_anonymous_port)"
    if [ -n "$p" ]; then KAFKA_ANONYMOUS=1 KAFKA_PORT="$p"; else KAFKA_ANONYMOUS=0; fi
    p="$(kafka_running_sasl_port)"
    [ "$p" = 0 ] || KAFKA_SASL_PORT="$p"
    KAFKA_CLIENT_PORT="$KAFKA_SASL_PORT"
    [ "$KAFKA_ANONYMOUS" = 1 ] && KAFKA_CLIENT_PORT="$KAFKA_PORT"
    p="$(sed -n 's|.*<tcp_port>\([0-9]*\)<.*|\1|p' "$C_CONF" 2>/dev/null)"
    CLICKHOUSE_PORT="${p:-$CLICKHOUSE_PORT}"
    p="$(sed -n 's|.*<http_port>\([0-9]*\)<.*|\1|p' "$C_CONF" 2>/dev/null)"
    CLICKHOUSE_HTTP_PORT="${p:-$CLICKHOUSE_HTTP_PORT}"
    if pid="$(live_pid "$K_PID" kafka.Kafka)"; then
        if kafka_ready; then
            say "kafka:      running (pid $pid as $(process_user "$pid"), $(kafka_describe))"
        else
            say "kafka:      starting/not answering (pid $pid, $(kafka_describe))"; rc=3
        fi
    else
        say "kafka:      stopped"; rc=3
    fi
    if pid="$(live_pid "$C_PID" clickhouse)"; then
        if ch_ping; then
            say "clickhouse: running (pid $pid as $(process_user "$pid"), tcp 127.0.0.1:$CLICKHOUSE_PORT, http :$CLICKHOUSE_HTTP_PORT)"
        else
            say "clickhouse: starting/not answering (pid $pid, tcp 127.0.0.1:$CLICKHOUSE_PORT)"; rc=3
        fi
    else
        say "clickhouse: stopped"; rc=3
    fi
    return "$rc"
}

cmd_logs() {
    local f
    for f in "$K_OUT" "$K_LOGS/server.log" "$C_OUT" "$C_LOGS/clickhouse-server.err.log" "$C_LOGS/clickhouse-server.log"; do
        [ -s "$f" ] || continue
        say "==== ${f#"$ROOT"/}"
        tail -n 20 "$f"
    done
}

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

# sourced (deploy/cluster.sh reuses the helpers above): define, run nothing
if [ "${BASH_SOURCE[0]}" != "$0" ]; then return 0; fi

case "${1:-}" in
    up) shift; cmd_up "$@" ;;
    down) shift; cmd_down "$@" ;;
    purge) shift; cmd_down --purge "$@" ;;
    status) shift; cmd_status "$@" ;;
    logs) shift; cmd_logs "$@" ;;
    browser) browser_install ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
esac
