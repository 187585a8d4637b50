# Sourced by deploy/services.sh and deploy/supervise.sh: the system users the services and the
# supervised programs run as when `make up` runs as root (issue 29, part 3). A broker, a
# database server or a web page holding raw evaluations should not hold root's rights, nor
# each other's files and secrets: each gets a user of its own, member of SERVICE_GROUP, the
# group that may pass (not list) .deploy.
#
# SERVICE_USERS  [auto]  auto: users of their own when run as root, else the user who runs it;
#                        1: insist (refused unless root); 0: the user who runs it, even root.

SERVICE_USERS="${SERVICE_USERS:-auto}"
SERVICE_GROUP=haochaping-services

# whether the services run as users of their own
own_users() {
    case "$SERVICE_USERS" in
        auto) [ "$(id -u)" -eq 0 ] ;;
        1)
            [ "$(id -u)" -eq 0 ] && return 0
            printf '%s\n' "SERVICE_USERS=1 needs root, to create and become the services' users; run as root or set SERVICE_USERS=auto" >&2
            exit 1
            ;;
        0) return 1 ;;
        *) printf '%s\n' "SERVICE_USERS must be auto, 1 or 0, not '$SERVICE_USERS'" >&2; exit 1 ;;
    esac
}

# the system user $1 (it runs $2), created with its group and in SERVICE_GROUP if missing
service_user() {
    getent group "$SERVICE_GROUP" >/dev/null || groupadd --system "$SERVICE_GROUP"
    if ! id -u "$1" >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
            --user-group --groups "$SERVICE_GROUP" "$1"
        printf '%s\n' "users: created system user $1 (runs $2)"
    elif ! id -nG "$1" | tr ' ' '\n' | grep -qx "$SERVICE_GROUP"; then
        usermod --append --groups "$SERVICE_GROUP" "$1"
    fi
}

# folder $1 passed, not listed, by the services' group (what is in it keeps its own modes)
group_passes() {
    chgrp "$SERVICE_GROUP" "$1"
    chmod 0710 "$1"
}

# folder or file $1 and all in it handed to user $2 (and its group)
hand_over() {
    chown -R "$2:$(id -g "$2")" "$1"
}

# the user a running process runs as
process_user() { stat -c %U "/proc/$1" 2>/dev/null || printf '?'; }
