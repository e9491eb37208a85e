#!/usr/bin/env bash
# Installs the system packages cartae-restic builds and tests with (Debian, as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    pkg-config libssl-dev libzstd-dev restic ca-certificates python3 >/dev/null
