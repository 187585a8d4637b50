# shellcheck shell=bash
# The passwords of the project-local ClickHouse users, sourced by deploy/services.sh (and by
# tests/unit/test_clickhouse_passwords.py, without starting anything).
#
#   ch_passwords SECRETS_FILE     settle the five passwords: for each, the value in the
#                                 environment, else the one in SECRETS_FILE, else a new random
#                                 one; refuse the documented examples (*change-me*) unless
#                                 HAOCHAPING_DEMO_MODE is true; record all five in SECRETS_FILE
#                                 (mode 0600) and export them. Prints one line and returns 1
#                                 on a refused password.
#   ch_users_file TEMPLATE OUT    OUT = TEMPLATE with @<NAME>_SHA256@ replaced by the SHA-256 of
#                                 each password (mode 0600): the users file the server reads.
#   ch_cluster_file OUT PORT      the cluster `haochaping_public` (config.d), which connects as
#                                 haochaping_proxy: 18.16 wants that password in clear text
#                                 there, so OUT is mode 0600.
#
# The variables (docs/security.md, ClickHouse users):
#   CLICKHOUSE_ADMIN_PASSWORD               `default`, the administrator (loopback only)
#   HAOCHAPING_CLICKHOUSE_PASSWORD          haochaping_writer: the sink and the migrations
#   HAOCHAPING_CLICKHOUSE_ANALYST_PASSWORD  haochaping_analyst: `haochaping report`, analysts
#   CLICKHOUSE_EVALUATOR_PASSWORD           haochaping_evaluator: the third-party evaluator
#   CLICKHOUSE_PROXY_PASSWORD               haochaping_proxy: the cluster behind haochaping_public

# who prints the one line of a refusal (deploy/services.sh sets its own name)
CH_WHO="${CH_WHO:-passwords.sh}"

# variable and the placeholder of its hash in the template, per user
CH_PASSWORD_VARS=(
    "CLICKHOUSE_ADMIN_PASSWORD:DEFAULT"
    "HAOCHAPING_CLICKHOUSE_PASSWORD:WRITER"
    "HAOCHAPING_CLICKHOUSE_ANALYST_PASSWORD:ANALYST"
    "CLICKHOUSE_EVALUATOR_PASSWORD:EVALUATOR"
    "CLICKHOUSE_PROXY_PASSWORD:PROXY"
)

ch_demo_mode() {
    case "${HAOCHAPING_DEMO_MODE:-}" in
        [Tt][Rr][Uu][Ee] | 1 | [Yy][Ee][Ss] | [Oo][Nn]) return 0 ;;
        *) return 1 ;;
    esac
}

# What a password may be: written unquoted into an env file and into XML (and, for Kafka's,
# inside the quotes of server.properties), so only characters safe in all of them
CH_PASSWORD_PATTERN='^[A-Za-z0-9._~+/=@%:,^-]{12,}$'

# ch_password_ok NAME VALUE: one line on stderr and status 1 when VALUE may not be used
ch_password_ok() {
    local name="$1" value="$2"
    if [[ "$value" == *change-me* ]] && ! ch_demo_mode; then
        printf '%s\n' "$CH_WHO: refusing $name: '$value' is a documented example password (set HAOCHAPING_DEMO_MODE=true for a demo, or unset it, or remove its line from the secrets file, to have one generated)" >&2
        return 1
    fi
    if [[ ! "$value" =~ $CH_PASSWORD_PATTERN ]]; then
        printf '%s\n' "$CH_WHO: refusing $name: use 12 or more letters, digits or ._~+/=@%:,^- (unset it, or remove its line from the secrets file, to have one generated)" >&2
        return 1
    fi
}

ch_random_password() {
    head -c 32 /dev/urandom | base64 | tr -d '\n/+=' | head -c 32
}

# ch_file_value FILE NAME: the value of NAME=... in FILE (empty if absent)
ch_file_value() {
    [ -f "$1" ] || return 0
    sed -n "s/^$2=//p" "$1" | tail -n 1
}

ch_passwords() {
    local file="$1" entry name value tmp
    local -a lines=()
    for entry in "${CH_PASSWORD_VARS[@]}"; do
        name="${entry%%:*}"
        value="${!name:-}"
        [ -n "$value" ] || value="$(ch_file_value "$file" "$name")"
        [ -n "$value" ] || value="$(ch_random_password)"
        ch_password_ok "$name" "$value" || return 1
        export "$name=$value"
        lines+=("$name=$value")
    done
    # rewrite the file: its other lines as they were, then the five passwords
    tmp="$file.tmp.$$"
    (
        umask 077
        if [ -f "$file" ]; then
            grep -v -E "^($(printf '%s|' "${CH_PASSWORD_VARS[@]%%:*}" | sed 's/|$//'))=" "$file" || true
        fi
        printf '%s\n' "${lines[@]}"
    ) >"$tmp"
    chmod 600 "$tmp"
    mv -f "$tmp" "$file"
}

ch_sha256() {
    printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

ch_users_file() {
    local template="$1" out="$2" entry name placeholder tmp
    local -a edits=()
    for entry in "${CH_PASSWORD_VARS[@]}"; do
        name="${entry%%:*}"
        placeholder="${entry#*:}"
        [ -n "${!name:-}" ] || { printf '%s\n' "$CH_WHO: no $name: run ch_passwords first" >&2; return 1; }
        edits+=(-e "s/@${placeholder}_SHA256@/$(ch_sha256 "${!name}")/g")
    done
    tmp="$out.tmp.$$"
    ( umask 077; sed "${edits[@]}" "$template" >"$tmp" )
    if grep -q '@[A-Z]*_SHA256@' "$tmp"; then
        rm -f "$tmp"
        printf '%s\n' "$CH_WHO: $template: a placeholder has no password" >&2
        return 1
    fi
    chmod 600 "$tmp"
    # (renamed into place: the server never reads a half-written file)
    mv -f "$tmp" "$out"
}

ch_cluster_file() {
    local out="$1" port="$2" tmp="$1.tmp.$$"
    [ -n "${CLICKHOUSE_PROXY_PASSWORD:-}" ] || { printf '%s\n' "$CH_WHO: no CLICKHOUSE_PROXY_PASSWORD" >&2; return 1; }
    (
        umask 077
        cat >"$tmp" <<EOF
<?xml version="1.0"?>
<!-- generated by deploy/services.sh; edits are overwritten at each \`up\`.
     Holds the password of haochaping_proxy in clear text (ClickHouse 18.16 has no other way
     for a cluster to log in): mode 0600, like .deploy/secrets.env. -->
<yandex>
    <remote_servers>
        <haochaping_public>
            <shard>
                <replica>
                    <host>127.0.0.1</host>
                    <port>$port</port>
                    <user>haochaping_proxy</user>
                    <password>$CLICKHOUSE_PROXY_PASSWORD</password>
                </replica>
            </shard>
        </haochaping_public>
    </remote_servers>
</yandex>
EOF
    )
    chmod 600 "$tmp"
    mv -f "$tmp" "$out"
}
