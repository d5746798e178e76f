#!/usr/bin/env bash
# Installs the real remote_write receivers (Prometheus, VictoriaMetrics) from Debian's packages
# when they are missing; Debian's prometheus package also ships promtool, which the alert-rule
# and dashboard tests run. The demo and CI both call it; nothing is started here.
set -euo pipefail
command -v prometheus >/dev/null && command -v promtool >/dev/null \
    && command -v victoria-metrics >/dev/null && exit 0
if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null; then
    echo "install-receivers: need root (or sudo) to apt-get install prometheus victoria-metrics" >&2
    exit 1
fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
echo "install-receivers: installing prometheus and victoria-metrics from Debian's packages" >&2
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends prometheus victoria-metrics >/dev/null
