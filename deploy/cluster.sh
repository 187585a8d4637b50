#!/usr/bin/env bash
# A local cluster of haochaping's engines without Docker (`make cluster-up` / `cluster-down`):
# three Kafka 4.x brokers (KRaft, each broker+controller, a 3-voter quorum), one ZooKeeper
# (only for ClickHouse: Kafka 4 has none) and two ClickHouse replicas of one shard, all on
# 127.0.0.1 ports distinct from the single-node ones of deploy/services.sh, data under
# <repo>/.deploy/cluster/. Small heaps: it runs beside the single-node stack on 2 cores.
#
# Usage:  deploy/cluster.sh up | down [--purge] | purge | status | kill NODE | start NODE | env
#
#   up          install what is missing (the Kafka jars of deploy/kafka/pom.xml, ZooKeeper's
#               of deploy/zookeeper/pom.xml, Debian's clickhouse-server), start every node
#               that does not run, wait until each answers. Idempotent.
#   down        stop exactly the processes `up` started (pid files), TERM then KILL;
#               `--purge` (or `purge`) also deletes their data (jars are kept).
#   status      running or stopped, per node. Exit 0 if all run, 3 otherwise.
#   kill NODE   SIGKILL one node (the failure tests): kafka-1..3, zookeeper, clickhouse-1..2
#   start NODE  start one node again (after `kill`), wait until it answers
#   env         the HAOCHAPING_* settings of a client of this cluster (sourceable)
#
# Environment (defaults in brackets):
#   CLUSTER_KAFKA_PORTS              [19092 19192 19292] PLAINTEXT listeners of brokers 1..3
#   CLUSTER_KAFKA_CONTROLLER_PORTS   [19093 19193 19293] their KRaft controller listeners
#   CLUSTER_KAFKA_HEAP               [384m] -Xmx of each broker
#   CLUSTER_ZOOKEEPER_PORT           [12181] ZooKeeper client port
#   CLUSTER_ZOOKEEPER_HEAP           [128m]
#   CLUSTER_CLICKHOUSE_PORTS         [19000 19001] native ports of replicas 1..2
#   CLUSTER_CLICKHOUSE_HTTP_PORTS    [18123 18124] their HTTP ports
#   CLUSTER_CLICKHOUSE_INTERSERVER_PORTS [19009 19010] their replication (interserver) ports
#   CLUSTER_NAME                     [haochaping_cluster] the ClickHouse cluster (remote_servers)
#   START_TIMEOUT [120], STOP_TIMEOUT [20]   as in deploy/services.sh
# The ClickHouse users and passwords are those of deploy/services.sh (.deploy/secrets.env).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# the helpers of the single-node script (pid files, waits, installs, ClickHouse config and
# users); sourcing it runs nothing
# shellcheck source=deploy/services.sh
. "$ROOT/deploy/services.sh"

CL="$STATE/cluster"
read -r -a CK_PORTS <<<"${CLUSTER_KAFKA_PORTS:-19092 19192 19292}"
read -r -a CK_CTRL_PORTS <<<"${CLUSTER_KAFKA_CONTROLLER_PORTS:-19093 19193 19293}"
CK_HEAP="${CLUSTER_KAFKA_HEAP:-384m}"
ZK_PORT="${CLUSTER_ZOOKEEPER_PORT:-12181}"
ZK_HEAP="${CLUSTER_ZOOKEEPER_HEAP:-128m}"
read -r -a CC_PORTS <<<"${CLUSTER_CLICKHOUSE_PORTS:-19000 19001}"
read -r -a CC_HTTP_PORTS <<<"${CLUSTER_CLICKHOUSE_HTTP_PORTS:-18123 18124}"
read -r -a CC_IS_PORTS <<<"${CLUSTER_CLICKHOUSE_INTERSERVER_PORTS:-19009 19010}"
CLUSTER_NAME="${CLUSTER_NAME:-haochaping_cluster}"

ZK_DIR="$CL/zookeeper"
ZK_LIBS="$ZK_DIR/libs"
ZK_POM="$DEPLOY_SRC/zookeeper/pom.xml"
ZK_PID="$ZK_DIR/zookeeper.pid"
ZK_OUT="$ZK_DIR/zookeeper.out"
ZK_MAIN=org.apache.zookeeper.server.ZooKeeperServerMain

[ "${#CK_PORTS[@]}" -eq 3 ] && [ "${#CK_CTRL_PORTS[@]}" -eq 3 ] \
    || die "CLUSTER_KAFKA_PORTS and CLUSTER_KAFKA_CONTROLLER_PORTS name three ports each"
[ "${#CC_PORTS[@]}" -eq 2 ] && [ "${#CC_HTTP_PORTS[@]}" -eq 2 ] && [ "${#CC_IS_PORTS[@]}" -eq 2 ] \
    || die "CLUSTER_CLICKHOUSE_*PORTS name two ports each"

# ---------------------------------------------------------------- ZooKeeper

zk_install() {
    command -v java >/dev/null 2>&1 || apt_install default-jre-headless
    local stamp want
    want="$(sha256sum "$ZK_POM" | cut -d' ' -f1)"
    stamp="$(cat "$ZK_DIR/libs.stamp" 2>/dev/null || true)"
    if compgen -G "$ZK_LIBS/zookeeper-*.jar" >/dev/null && [ "$stamp" = "$want" ]; then
        return 0
    fi
    command -v mvn >/dev/null 2>&1 || apt_install maven
    say "zookeeper: downloading the jars with Maven (deploy/zookeeper/pom.xml) ..."
    local tmp="$ZK_DIR/libs.tmp"
    rm -rf "$tmp"
    mkdir -p "$ZK_DIR"
    mvn -B -q -f "$ZK_POM" dependency:copy-dependencies \
        -DoutputDirectory="$tmp" -DincludeScope=runtime 2>&1 \
        | sed -u -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' \
        || die "zookeeper: Maven could not fetch the jars (see above)"
    rm -rf "$ZK_LIBS"
    mv "$tmp" "$ZK_LIBS"
    # Maven copies the jars with the modes of ~/.m2 (0644): taken back like the rest of .deploy
    chmod -R go-rwx "$ZK_LIBS"
    printf '%s\n' "$want" >"$ZK_DIR/libs.stamp"
}

zk_ready() {
    # `srvr` is on the default four-letter-word whitelist; a serving node names its mode
    local answer
    answer="$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$ZK_PORT; printf srvr >&3; cat <&3" 2>/dev/null || true)"
    [[ "$answer" == *"Mode:"* ]]
}

zk_start() {
    local pid
    if pid="$(live_pid "$ZK_PID" "$ZK_MAIN")"; then
        say "zookeeper: already running (pid $pid, 127.0.0.1:$ZK_PORT)"
        wait_ready zookeeper "$ZK_PID" "$ZK_MAIN" zk_ready "$ZK_OUT"
        return
    fi
    rm -f "$ZK_PID"
    port_open "$ZK_PORT" && die "zookeeper: port $ZK_PORT is in use by another process; set CLUSTER_ZOOKEEPER_PORT"
    zk_install
    mkdir -p "$ZK_DIR/data"
    cat >"$ZK_DIR/zoo.cfg" <<EOF
# generated by deploy/cluster.sh -- edits are overwritten at each \`up\`
tickTime=2000
dataDir=$ZK_DIR/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
maxClientCnxns=200
# no AdminServer (it would take port 8080, the dashboard's)
admin.enableServer=false
4lw.commands.whitelist=srvr,ruok,mntr
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
EOF
    cat >"$ZK_DIR/logback.xml" <<EOF
<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>$ZK_DIR/zookeeper.log</file>
    <encoder><pattern>%d{ISO8601} %-5level [%thread] %logger{20} - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
EOF
    : >"$ZK_OUT"
    (
        cd "$ZK_DIR"
        no_secrets
        env "${NO_SECRETS[@]}" nohup java -Xmx"$ZK_HEAP" -Xms64m -XX:+UseSerialGC \
            -Djava.awt.headless=true -Dlogback.configurationFile="$ZK_DIR/logback.xml" \
            -Dzookeeper.admin.enableServer=false -cp "$ZK_LIBS/*" "$ZK_MAIN" "$ZK_DIR/zoo.cfg" \
            >"$ZK_OUT" 2>&1 </dev/null &
        echo $! >"$ZK_PID"
    )
    say "zookeeper: started pid $(cat "$ZK_PID") (127.0.0.1:$ZK_PORT)"
    wait_ready zookeeper "$ZK_PID" "$ZK_MAIN" zk_ready "$ZK_OUT" "$ZK_DIR/zookeeper.log"
}

# ---------------------------------------------------------------- Kafka brokers

# the brokers share the single node's jars (.deploy/kafka/libs)
shared_kafka_install() {
    ( K_DIR="$STATE/kafka"; kafka_install )
}

# node_kafka N: point the single-node script's Kafka variables at broker N (1..3)
node_kafka() {
    local n="$1"
    K_DIR="$CL/kafka-$n"
    K_DATA="$K_DIR/data"
    K_LOGS="$K_DIR/logs"
    K_CONF="$K_DIR/server.properties"
    K_PID="$K_DIR/kafka.pid"
    K_OUT="$K_DIR/kafka.out"
    KAFKA_PORT="${CK_PORTS[$((n - 1))]}"
    KAFKA_CONTROLLER_PORT="${CK_CTRL_PORTS[$((n - 1))]}"
}

cluster_kafka_config() {
    local n="$1" voters="" i
    for i in 1 2 3; do
        voters="$voters${voters:+,}$i@127.0.0.1:${CK_CTRL_PORTS[$((i - 1))]}"
    done
    mkdir -p "$K_DATA" "$K_LOGS"
    cat >"$K_CONF" <<EOF
# generated by deploy/cluster.sh -- edits are overwritten at each \`up\`
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$K_DATA

# three brokers: every topic, the internal ones included, on all three, and a write
# acknowledged (acks=all) only once two have it, so one broker may die with nothing lost
num.partitions=4
# topics are created on purpose, never by a client that names one (issue 29)
auto.create.topics.enable=false
default.replication.factor=3
min.insync.replicas=2
unclean.leader.election.enable=false
delete.topic.enable=true
offsets.topic.replication.factor=3
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
group.initial.rebalance.delay.ms=0

log.retention.hours=168
log.segment.bytes=67108864
log.retention.check.interval.ms=300000
num.network.threads=2
num.io.threads=2
num.replica.fetchers=1
EOF
}

CLUSTER_ID_FILE="$CL/kafka-cluster-id"

cluster_kafka_start() {
    local n="$1" pid
    node_kafka "$n"
    if pid="$(live_pid "$K_PID" kafka.Kafka)"; then
        say "kafka-$n: already running (pid $pid, 127.0.0.1:$KAFKA_PORT)"
        return 0
    fi
    rm -f "$K_PID"
    for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
        port_open "$p" && die "kafka-$n: port $p is in use by another process; set CLUSTER_KAFKA_PORTS / CLUSTER_KAFKA_CONTROLLER_PORTS"
    done
    cluster_kafka_config "$n"
    if [ ! -f "$CLUSTER_ID_FILE" ]; then
        new_cluster_id >"$CLUSTER_ID_FILE"
    fi
    local jvm=(-Xmx"$CK_HEAP" -Xms128m -XX:+UseG1GC -Djava.awt.headless=true
        -Dlog4j2.configurationFile="$K_LOG4J" -Dkafka.logs.dir="$K_LOGS" -cp "$K_LIBS/*")
    if [ ! -f "$K_DATA/meta.properties" ]; then
        say "kafka-$n: formatting storage (cluster id $(cat "$CLUSTER_ID_FILE"))"
        java "${jvm[@]}" kafka.tools.StorageTool format -t "$(cat "$CLUSTER_ID_FILE")" \
            -c "$K_CONF" --ignore-formatted >"$K_DIR/format.out" 2>&1 \
            || { cat "$K_DIR/format.out" >&2; die "kafka-$n: storage format failed"; }
    fi
    : >"$K_OUT"
    (
        cd "$K_DIR"
        no_secrets
        env "${NO_SECRETS[@]}" nohup java "${jvm[@]}" kafka.Kafka "$K_CONF" >"$K_OUT" 2>&1 </dev/null &
        echo $! >"$K_PID"
    )
    say "kafka-$n: started pid $(cat "$K_PID") (127.0.0.1:$KAFKA_PORT, controller :$KAFKA_CONTROLLER_PORT)"
}

cluster_kafka_wait() {
    node_kafka "$1"
    wait_ready "kafka-$1" "$K_PID" kafka.Kafka kafka_ready "$K_OUT" "$K_LOGS/server.log"
}

# ---------------------------------------------------------------- ClickHouse replicas

# node_clickhouse N: point the single-node script's ClickHouse variables at replica N (1..2)
node_clickhouse() {
    local n="$1"
    C_DIR="$CL/clickhouse-$n"
    C_DATA="$C_DIR/data"
    C_LOGS="$C_DIR/log"
    C_CONF="$C_DIR/config.xml"
    C_PID="$C_DIR/clickhouse.pid"
    C_OUT="$C_DIR/clickhouse.out"
    C_USERS="$C_DIR/users.xml"
    CLICKHOUSE_PORT="${CC_PORTS[$((n - 1))]}"
    CLICKHOUSE_HTTP_PORT="${CC_HTTP_PORTS[$((n - 1))]}"
    CC_IS_PORT="${CC_IS_PORTS[$((n - 1))]}"
}

# config.d/cluster.xml of replica N: the cluster (one shard, both replicas), this replica's
# macros, ZooKeeper, the interserver port replicas fetch parts through, and the queue of
# ON CLUSTER DDL. The replicas log in to each other (Distributed reads) as `default`, whose
# password is in clear text here: mode 0600, like config.d/haochaping_public.xml.
cluster_clickhouse_config() {
    local n="$1" out="$C_DIR/config.d/cluster.xml" i replicas=""
    for i in 1 2; do
        replicas="$replicas
                <replica>
                    <host>127.0.0.1</host>
                    <port>${CC_PORTS[$((i - 1))]}</port>
                    <user>default</user>
                    <password>$CLICKHOUSE_ADMIN_PASSWORD</password>
                </replica>"
    done
    (
        umask 077
        cat >"$out.tmp" <<EOF
<?xml version="1.0"?>
<!-- generated by deploy/cluster.sh; edits are overwritten at each \`up\` (mode 0600: a password) -->
<yandex>
    <interserver_http_port>$CC_IS_PORT</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <zookeeper>
        <node>
            <host>127.0.0.1</host>
            <port>$ZK_PORT</port>
        </node>
        <session_timeout_ms>10000</session_timeout_ms>
    </zookeeper>
    <macros>
        <cluster>$CLUSTER_NAME</cluster>
        <shard>01</shard>
        <replica>r$n</replica>
    </macros>
    <remote_servers>
        <$CLUSTER_NAME>
            <shard>
                <!-- each replica's replicated tables copy the other's parts themselves -->
                <internal_replication>true</internal_replication>$replicas
            </shard>
        </$CLUSTER_NAME>
    </remote_servers>
    <distributed_ddl>
        <path>/clickhouse/task_queue/ddl</path>
    </distributed_ddl>
</yandex>
EOF
    )
    mv -f "$out.tmp" "$out"
}

cluster_clickhouse_start() {
    local n="$1" pid
    node_clickhouse "$n"
    if pid="$(live_pid "$C_PID" clickhouse)"; then
        say "clickhouse-$n: already running (pid $pid, tcp 127.0.0.1:$CLICKHOUSE_PORT)"
        return 0
    fi
    rm -f "$C_PID"
    for p in "$CLICKHOUSE_PORT" "$CLICKHOUSE_HTTP_PORT" "$CC_IS_PORT"; do
        port_open "$p" && die "clickhouse-$n: port $p is in use by another process; set CLUSTER_CLICKHOUSE_*PORTS"
    done
    clickhouse_install
    clickhouse_config # config.xml and users.xml of deploy/services.sh, on this replica's paths
    # smaller caches than the single node's: two replicas share the machine
    sed -i -e 's|<uncompressed_cache_size>[0-9]*<|<uncompressed_cache_size>268435456<|' \
        -e 's|<mark_cache_size>[0-9]*<|<mark_cache_size>134217728<|' \
        -e 's|<!-- no interserver_http_port.*-->|<!-- interserver_http_port: config.d/cluster.xml -->|' "$C_CONF"
    cluster_clickhouse_config "$n"
    local cmd
    cmd="$(ch_server_cmd)"
    (
        cd "$C_DIR"
        umask 077
        no_secrets
        # shellcheck disable=SC2086  # $cmd may be "/usr/bin/clickhouse server"
        env "${NO_SECRETS[@]}" nohup $cmd --config-file="$C_CONF" >"$C_OUT" 2>&1 </dev/null &
        echo $! >"$C_PID"
    )
    say "clickhouse-$n: started pid $(cat "$C_PID") (tcp 127.0.0.1:$CLICKHOUSE_PORT, http :$CLICKHOUSE_HTTP_PORT, interserver :$CC_IS_PORT)"
}

cluster_clickhouse_wait() {
    node_clickhouse "$1"
    wait_ready "clickhouse-$1" "$C_PID" clickhouse ch_ping "$C_OUT" \
        "$C_LOGS/clickhouse-server.err.log" "$C_LOGS/clickhouse-server.log"
}

# ---------------------------------------------------------------- nodes

NODES=(zookeeper kafka-1 kafka-2 kafka-3 clickhouse-1 clickhouse-2)

# node_pid NODE: the pid file and command-line pattern of NODE
node_pidfile() {
    case "$1" in
        zookeeper) NODE_PID="$ZK_PID"; NODE_PATTERN="$ZK_MAIN" ;;
        kafka-[123]) node_kafka "${1#kafka-}"; NODE_PID="$K_PID"; NODE_PATTERN=kafka.Kafka ;;
        clickhouse-[12]) node_clickhouse "${1#clickhouse-}"; NODE_PID="$C_PID"; NODE_PATTERN=clickhouse ;;
        *) die "unknown node '$1' (one of: ${NODES[*]})" ;;
    esac
}

node_start() {
    case "$1" in
        zookeeper) zk_start ;;
        kafka-[123]) shared_kafka_install; cluster_kafka_start "${1#kafka-}"; cluster_kafka_wait "${1#kafka-}" ;;
        clickhouse-[12])
            clickhouse_passwords # the users file and the cluster's login are written again
            cluster_clickhouse_start "${1#clickhouse-}"
            cluster_clickhouse_wait "${1#clickhouse-}"
            ;;
        *) die "unknown node '$1' (one of: ${NODES[*]})" ;;
    esac
}

cmd_cluster_up() {
    local t0=$SECONDS n
    mkdir -p "$CL"
    chmod 700 "$CL"
    secrets_file
    clickhouse_passwords
    zk_start
    shared_kafka_install
    # the three brokers start together: each waits for a quorum of the others' controllers
    for n in 1 2 3; do cluster_kafka_start "$n"; done
    for n in 1 2; do cluster_clickhouse_start "$n"; done
    for n in 1 2 3; do cluster_kafka_wait "$n"; done
    for n in 1 2; do cluster_clickhouse_wait "$n"; done
    say "cluster up in $((SECONDS - t0))s: kafka 127.0.0.1:${CK_PORTS[0]},127.0.0.1:${CK_PORTS[1]},127.0.0.1:${CK_PORTS[2]}; zookeeper :$ZK_PORT; clickhouse tcp :${CC_PORTS[0]} :${CC_PORTS[1]} (cluster $CLUSTER_NAME)"
}

cmd_cluster_down() {
    local purge=0 a node
    for a in "$@"; do
        case "$a" in
            --purge) purge=1 ;;
            *) die "down: unknown option $a" ;;
        esac
    done
    # the brokers all at once: the last of them stopped alone would wait for a controller
    # quorum that is gone; ZooKeeper last (ClickHouse keeps its session until it stops)
    local pid
    for node in kafka-1 kafka-2 kafka-3; do
        node_pidfile "$node"
        if pid="$(live_pid "$NODE_PID" "$NODE_PATTERN")"; then kill -TERM "$pid" 2>/dev/null || true; fi
    done
    for node in kafka-3 kafka-2 kafka-1 clickhouse-2 clickhouse-1 zookeeper; do
        node_pidfile "$node"
        stop_pid "$node" "$NODE_PID" "$NODE_PATTERN"
    done
    if [ "$purge" -eq 1 ]; then
        local kept
        for node in kafka-1 kafka-2 kafka-3 clickhouse-1 clickhouse-2 zookeeper; do
            rm -rf "${CL:?}/$node/data"
        done
        rm -f "$CLUSTER_ID_FILE"
        kept="$(du -sh "$ZK_LIBS" 2>/dev/null | cut -f1 || true)"
        say "purged the data under ${CL#"$ROOT"/} (jars kept${kept:+: $kept})"
    fi
}

cmd_cluster_status() {
    local rc=0 node pid
    for node in "${NODES[@]}"; do
        node_pidfile "$node"
        if pid="$(live_pid "$NODE_PID" "$NODE_PATTERN")"; then
            say "$node: running (pid $pid)"
        else
            say "$node: stopped"; rc=3
        fi
    done
    return "$rc"
}

cmd_cluster_kill() {
    local node="${1:-}" pid
    [ -n "$node" ] || die "kill: name a node (${NODES[*]})"
    node_pidfile "$node"
    pid="$(live_pid "$NODE_PID" "$NODE_PATTERN")" || die "kill: $node is not running"
    kill -KILL "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    rm -f "$NODE_PID"
    say "$node: killed pid $pid (SIGKILL)"
}

cmd_cluster_env() {
    local hosts
    printf 'HAOCHAPING_KAFKA_BOOTSTRAP=127.0.0.1:%s,127.0.0.1:%s,127.0.0.1:%s\n' "${CK_PORTS[@]}"
    # the cluster is a rig for failure tests: anonymous PLAINTEXT (not the login of
    # .deploy/secrets.env, which is the single-node broker's)
    printf 'HAOCHAPING_KAFKA_SECURITY_PROTOCOL=PLAINTEXT\n'
    printf 'HAOCHAPING_TOPIC_REPLICATION=3\nHAOCHAPING_TOPIC_MIN_INSYNC_REPLICAS=2\n'
    printf 'HAOCHAPING_CLICKHOUSE_HOST=127.0.0.1\nHAOCHAPING_CLICKHOUSE_PORT=%s\n' "${CC_PORTS[0]}"
    hosts="127.0.0.1:${CC_PORTS[1]}"
    printf 'HAOCHAPING_CLICKHOUSE_ALT_HOSTS=%s\n' "$hosts"
    printf 'HAOCHAPING_CLICKHOUSE_HTTP_PORT=%s\n' "${CC_HTTP_PORTS[0]}"
    printf 'HAOCHAPING_CLICKHOUSE_CLUSTER=%s\n' "$CLUSTER_NAME"
}

case "${1:-}" in
    up) shift; cmd_cluster_up "$@" ;;
    down) shift; cmd_cluster_down "$@" ;;
    purge) shift; cmd_cluster_down --purge "$@" ;;
    status) shift; cmd_cluster_status "$@" ;;
    kill) shift; cmd_cluster_kill "$@" ;;
    start) shift; node_start "${1:?start: name a node}" ;;
    env) cmd_cluster_env ;;
    -h | --help | help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' ;;
    *) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
