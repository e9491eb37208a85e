#!/usr/bin/env bash
# Installs the system packages cartae-restic builds and tests with (Debian, as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    pkg-config libssl-dev libzstd-dev restic ca-certificates python3 >/dev/null
# Remote-repository tests: a restic REST server (rclone), an S3 server (moto), openssl for a test CA.
apt-get install -y -qq --no-install-recommends rclone openssl >/dev/null
if ! command -v moto_server >/dev/null 2>&1; then
    command -v pip3 >/dev/null 2>&1 || command -v pip >/dev/null 2>&1 || \
        apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
    PIP=$(command -v pip3 || command -v pip)
    # Debian's system python refuses plain pip installs (PEP 668); a pyenv/venv python does not.
    "$PIP" install -q 'moto[server]' 2>/dev/null || "$PIP" install -q --break-system-packages 'moto[server]'
fi
# Disaster-recovery (`dr`) tests and demo: PostgreSQL 15, Redis and a Prometheus Pushgateway they
# start on loopback, curl to read the gateway back.
apt-get install -y -qq --no-install-recommends postgresql redis-server prometheus-pushgateway curl >/dev/null
