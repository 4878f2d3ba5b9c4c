#!/usr/bin/env bash
# The compose stack of docker-compose.yml on a machine with no Docker engine and no registry (the
# project's build machines): podman, with Debian's docker-compose over podman's Docker API, and
# every image built here (compose.local.yml). Run as root from anywhere:
#
#   stack.sh tools     install podman, runc, docker-compose, debootstrap, iptables (Debian packages)
#   stack.sh base      make the local Debian bookworm base image, once (debootstrap)
#   stack.sh up        tools, base, .env, build, start, and wait until every container is healthy
#   stack.sh down      stop and remove the containers; the volumes (the data) stay
#   stack.sh wait      wait until every container is healthy
#   stack.sh compose ARGS...   docker-compose with this stack's files, e.g. `compose ps`
#   stack.sh podman ARGS...    podman with this stack's settings, e.g. `podman ps`
#
# COMPOSE_PROJECT_NAME (default procure) and PROCURE_ENV_FILE (default .env) choose the stack, so
# a test can run its own beside an operator's.
set -euo pipefail
cd "$(dirname "$0")/../.."

PROJECT=${COMPOSE_PROJECT_NAME:-procure}
ENV_FILE=${PROCURE_ENV_FILE:-.env}
BASE_IMAGE=${LOCAL_BASE_IMAGE:-localhost/procure-debian:bookworm}
STATE=/run/procure-compose
SOCKET=$STATE/podman.sock
HEALTH_TIMEOUT=${PROCURE_HEALTH_TIMEOUT:-300}
export CONTAINERS_CONF=$PWD/deploy/local/containers.conf
export DOCKER_HOST=unix://$SOCKET
# Builds through the API (there is no docker command here), without BuildKit.
export COMPOSE_DOCKER_CLI_BUILD=0 DOCKER_BUILDKIT=0

compose() {
    docker-compose --project-name "$PROJECT" --project-directory . --env-file "$ENV_FILE" \
        -f docker-compose.yml -f deploy/local/compose.local.yml "$@"
}

tools() {
    local missing=()
    for tool in podman runc docker-compose debootstrap netavark aardvark-dns iptables curl; do
        command -v "$tool" > /dev/null || [ -x "/usr/lib/podman/$tool" ] || missing+=("$tool")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            podman runc docker-compose debootstrap netavark aardvark-dns iptables curl ca-certificates
    fi
}

# Debian bookworm from the machine's own Debian mirror, with Python 3.11 and the machine's CA
# certificates (pip inside a build goes through the same TLS inspection as the machine's).
base() {
    if podman image exists "$BASE_IMAGE"; then return; fi
    local mirror root
    # The mirror this machine's apt uses (deb822 sources, else the one-line list).
    mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2> /dev/null || true)
    if [ -z "$mirror" ]; then
        mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2> /dev/null || true)
    fi
    if [ -z "$mirror" ]; then
        echo "no Debian mirror found in this machine's apt sources" >&2
        return 1
    fi
    root=$(mktemp -d)
    debootstrap --variant=minbase --include=python3,python3-venv,python-is-python3,ca-certificates \
        bookworm "$root" "$mirror"
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2> /dev/null || true
    chroot "$root" update-ca-certificates > /dev/null
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -c . | podman import --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE"
    rm -rf "$root"
}

# Strong random secrets, once: the CLI signs tokens with the same PROCURE_TOKEN_SECRET.
env_file() {
    if [ -e "$ENV_FILE" ]; then return; fi
    (umask 077 && python3 - > "$ENV_FILE" << 'PY'
import secrets
print("POSTGRES_PASSWORD=" + secrets.token_hex(24))
print("PROCURE_TOKEN_SECRET=" + secrets.token_urlsafe(48))
PY
    )
    echo "created $ENV_FILE with new secrets"
}

# podman's Docker API for docker-compose: one service for every stack of this machine.
api() {
    mkdir -p "$STATE"
    if [ -S "$SOCKET" ] && curl -sf --unix-socket "$SOCKET" http://d/_ping > /dev/null; then return; fi
    rm -f "$SOCKET"
    setsid podman system service --time=0 "unix://$SOCKET" > "$STATE/podman.log" 2>&1 < /dev/null &
    echo $! > "$STATE/podman.pid"
    for _ in $(seq 100); do
        if curl -sf --unix-socket "$SOCKET" http://d/_ping > /dev/null; then return; fi
        sleep 0.1
    done
    echo "podman's API did not answer; see $STATE/podman.log" >&2
    return 1
}

# Without systemd podman never runs a healthcheck by itself: this loop runs each container's.
healthchecks() {
    while true; do
        for id in $(podman ps -q --filter "label=com.docker.compose.project=$PROJECT"); do
            podman healthcheck run "$id" > /dev/null 2>&1 || true
        done
        sleep 2
    done
}

start_healthchecks() {
    local pidfile=$STATE/healthchecks-$PROJECT.pid
    if [ -e "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2> /dev/null; then return; fi
    setsid "$0" healthchecks > /dev/null 2>&1 < /dev/null &
    echo $! > "$pidfile"
}

stop_healthchecks() {
    local pidfile=$STATE/healthchecks-$PROJECT.pid
    if [ -e "$pidfile" ]; then
        kill "$(cat "$pidfile")" 2> /dev/null || true
        rm -f "$pidfile"
    fi
}

wait_healthy() {
    local deadline=$((SECONDS + HEALTH_TIMEOUT)) label="label=com.docker.compose.project=$PROJECT"
    while true; do
        local all healthy
        all=$(podman ps -a -q --filter "$label" | wc -l)
        healthy=$(podman ps -q --filter "$label" --filter health=healthy | wc -l)
        if [ "$all" -gt 0 ] && [ "$all" -eq "$healthy" ]; then
            echo "all $all containers of $PROJECT are healthy"
            return
        fi
        if [ $SECONDS -gt $deadline ]; then
            podman ps -a --filter "$label" >&2
            echo "not every container of $PROJECT became healthy in ${HEALTH_TIMEOUT} s" >&2
            return 1
        fi
        sleep 1
    done
}

case "${1:-}" in
    tools) tools ;;
    base) tools && base ;;
    up)
        shift
        tools
        base
        env_file
        api
        start_healthchecks
        compose build
        compose up -d "$@"
        wait_healthy
        ;;
    wait) wait_healthy ;;
    down)
        shift
        api
        compose down "$@"
        stop_healthchecks
        ;;
    compose)
        shift
        api
        compose "$@"
        ;;
    podman)
        shift
        podman "$@"
        ;;
    healthchecks) healthchecks ;;
    *)
        sed -n '2,16p' "$0" >&2
        exit 2
        ;;
esac
