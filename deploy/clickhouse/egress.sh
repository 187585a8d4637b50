# shellcheck shell=bash
# What the project-local ClickHouse may connect to, sourced by deploy/services.sh (issue 29).
#
# ClickHouse 18.16 cannot take table functions away from a user that may INSERT: only
# readonly=1 forbids them, and it forbids INSERT too. So url(), mysql(), jdbc(), odbc() and
# hdfs() stay callable by the writer, and each makes the *server* open a connection wherever
# the query says. The server needs one connection of its own: to itself, on loopback, for
# the Distributed tables of haochaping_public. So the host's packet filter lets the server's
# user (haochaping-clickhouse, deploy/service-users.sh) open that one and refuses every other
# new connection it starts, over IPv4 and IPv6; answers on connections others opened to it
# pass as before.
#
#   ch_egress_up USER TCP_PORT   install iptables if missing, then (re)write the chain;
#                                returns 1, having printed why, where it cannot (no netfilter
#                                rights, e.g. a container without NET_ADMIN)
#   ch_egress_down USER          remove the chain and its jump (nothing if absent)
#
# Needs root (deploy/services.sh calls it only when the services run as their own users).

CH_EGRESS_CHAIN=HAOCHAPING-CLICKHOUSE-OUT

ch_egress_tables() {
    printf '%s\n' iptables ip6tables
}

ch_egress_up() {
    local user=$1 port=$2 table
    if ! command -v iptables >/dev/null || ! command -v ip6tables >/dev/null; then
        apt_install iptables || { err "clickhouse: apt-get install iptables failed"; return 1; }
    fi
    for table in $(ch_egress_tables); do
        # one transaction: declaring the chain makes it, or empties it, and its rules go in
        # with it, so a server already running is never unfenced while they are rewritten
        # (a flush and then appends left it so between the two)
        printf '%s\n' '*filter' ":$CH_EGRESS_CHAIN - [0:0]" \
            "-A $CH_EGRESS_CHAIN -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN" \
            "-A $CH_EGRESS_CHAIN -o lo -p tcp --dport $port -j RETURN" \
            "-A $CH_EGRESS_CHAIN -j REJECT" 'COMMIT' \
            | "$table-restore" -w --noflush \
            || { err "clickhouse: $table-restore refused $CH_EGRESS_CHAIN (no netfilter rights here?)"; return 1; }
        # the jump last, to a chain already whole
        "$table" -w -C OUTPUT -m owner --uid-owner "$user" -j "$CH_EGRESS_CHAIN" 2>/dev/null \
            || "$table" -w -A OUTPUT -m owner --uid-owner "$user" -j "$CH_EGRESS_CHAIN" \
            || { err "clickhouse: $table refused the jump to $CH_EGRESS_CHAIN"; return 1; }
    done
}

ch_egress_down() {
    local user=$1 table
    command -v iptables >/dev/null || return 0
    for table in $(ch_egress_tables); do
        "$table" -w -n -L "$CH_EGRESS_CHAIN" >/dev/null 2>&1 || continue
        while "$table" -w -D OUTPUT -m owner --uid-owner "$user" -j "$CH_EGRESS_CHAIN" 2>/dev/null; do :; done
        "$table" -w -F "$CH_EGRESS_CHAIN"
        "$table" -w -X "$CH_EGRESS_CHAIN"
    done
}
