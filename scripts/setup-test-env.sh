#!/usr/bin/env bash
# Install and start what the test suites need (registry, skopeo, slapd, Chromium, PostgreSQL 15).
#
# Runs as root, non-interactively; idempotent and quick when everything is already there. It never
# stops anything: the PostgreSQL cluster may be shared with other things on the machine.
# Writes var/test-env.sh with the export line for WHARFINGER_TEST_DATABASE_URL.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_VERSION=15
PG_CLUSTER=main
TEST_DB=wharfinger_test
TEST_ROLE=root

log() { echo "setup-test-env: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    log "must run as root (it installs Debian packages and manages PostgreSQL)"
    exit 1
fi

# Two runs at once (two checkouts, or make -j) would race on apt and on CREATE DATABASE.
mkdir -p /run/lock
exec 9>/run/lock/wharfinger-setup-test-env.lock
flock 9

export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -o DPkg::Lock::Timeout=600 -y -q)
apt_updated=no

is_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# Usage: ensure_packages [apt-get install options --] PACKAGE...
ensure_packages() {
    local opts=() missing=() p
    if [ "${1:-}" != "${1#-}" ]; then
        while [ "$1" != "--" ]; do opts+=("$1"); shift; done
        shift
    fi
    for p in "$@"; do is_installed "$p" || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$apt_updated" = no ]; then
        log "apt-get update"
        "${APT[@]}" update >/dev/null
        apt_updated=yes
    fi
    log "installing ${missing[*]}"
    "${APT[@]}" install "${opts[@]}" "${missing[@]}" >/dev/null
}

ensure_packages docker-registry skopeo
# A Portus API client script (tests/e2e/portus_client.sh) is written with curl and jq.
ensure_packages --no-install-recommends -- curl jq
# Binaries only: the tests start their own throwaway slapd, nothing should listen on :389.
if ! is_installed slapd; then
    echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
fi
ensure_packages --no-install-recommends -- slapd ldap-utils openssl
ensure_packages --no-install-recommends -- chromium chromium-driver
ensure_packages postgresql
# Load generator for `make bench` (the token endpoint benchmark drives it from a separate process).
ensure_packages --no-install-recommends -- wrk

# --- PostgreSQL 15 -----------------------------------------------------------------------------

cluster_field() {  # column N of `pg_lsclusters -h` for our cluster: 3 = port, 4 = status
    pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" -v f="$1" '$1==v && $2==c {print $f}'
}

if [ -z "$(cluster_field 3)" ]; then
    log "creating cluster $PG_VERSION/$PG_CLUSTER"
    pg_createcluster "$PG_VERSION" "$PG_CLUSTER" >/dev/null
fi
# pg_ctlcluster exits 2 on a running cluster, so start only when it is down. There is no systemd
# here; the skip flag keeps pg_ctlcluster from redirecting to systemctl where there is.
if ! cluster_field 4 | grep -q online; then
    log "starting cluster $PG_VERSION/$PG_CLUSTER"
    # 9>&-: the server outlives this script and must not inherit (and so hold) the lock's fd.
    pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" start 9>&-
fi
PG_PORT=$(cluster_field 3)
for _ in $(seq 1 100); do
    pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break
    sleep 0.1
done
pg_isready -q -h 127.0.0.1 -p "$PG_PORT" || { log "PostgreSQL is not ready on port $PG_PORT"; exit 1; }

as_postgres_psql() {
    runuser -u postgres -- psql -X -q -p "$PG_PORT" -d postgres -v ON_ERROR_STOP=1 "$@"
}

# \gexec runs each generated statement, so both are no-ops when the role or database exists.
as_postgres_psql >/dev/null <<SQL
SELECT 'CREATE ROLE $TEST_ROLE SUPERUSER LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$TEST_ROLE') \gexec
SELECT 'CREATE DATABASE $TEST_DB OWNER $TEST_ROLE'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$TEST_DB') \gexec
SQL

can_connect() {
    PGCONNECT_TIMEOUT=5 psql -X -w -q -h 127.0.0.1 -p "$PG_PORT" -U "$TEST_ROLE" -d "$TEST_DB" \
        -tAc 'SELECT 1' >/dev/null 2>&1
}

# A cluster that apt-get just created asks for a password on TCP (scram-sha-256); the tests
# connect without one. Trust only this role on this database from loopback, ahead of the rest.
if ! can_connect; then
    HBA=$(as_postgres_psql -tAc 'SHOW hba_file')
    RULE="host    $TEST_DB    $TEST_ROLE    127.0.0.1/32    trust"
    if ! grep -qxF "$RULE" "$HBA"; then
        log "adding to $HBA: $RULE"
        sed -i "1i # Added by wharfinger scripts/setup-test-env.sh for the test suite.\n$RULE" "$HBA"
    fi
    as_postgres_psql -tAc 'SELECT pg_reload_conf()' >/dev/null
    sleep 0.2
    can_connect || { log "cannot connect as $TEST_ROLE to $TEST_DB on 127.0.0.1:$PG_PORT"; exit 1; }
fi

URL="postgresql://$TEST_ROLE@127.0.0.1:$PG_PORT/$TEST_DB"
mkdir -p var
printf 'export WHARFINGER_TEST_DATABASE_URL=%s\n' "$URL" >var/test-env.sh
echo "export WHARFINGER_TEST_DATABASE_URL=$URL"
