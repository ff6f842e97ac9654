#!/usr/bin/env bash
# Installs the Debian packages a command needs when they are missing: python3-venv for every
# command, and for the tests the real servers they start (Mosquitto, VictoriaMetrics) and the
# browser the kiosk page is tested in (Chromium, with a CJK font so Chinese text renders), and
# systemd-analyze, which checks the unit files in systemd/.
# Usage: scripts/ensure-system-packages.sh [--test-servers]
set -euo pipefail

missing=()
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [[ "${1:-}" == "--test-servers" ]]; then
  command -v mosquitto >/dev/null || [[ -x /usr/sbin/mosquitto ]] || missing+=(mosquitto)
  command -v victoria-metrics >/dev/null || missing+=(victoria-metrics)
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  [[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]] || missing+=(fonts-wqy-microhei)
  command -v systemd-analyze >/dev/null || missing+=(systemd)
fi
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing Debian packages: ${missing[*]}"
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
