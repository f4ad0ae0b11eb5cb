#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard's browser test when it is missing.
# The browser comes from the distribution's packages, never from a library's own
# download (playwright-core only drives it, at /usr/bin/chromium).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "ensure-chromium: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) at /usr/bin/chromium" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "ensure-chromium: /usr/bin/chromium is missing; install Debian's chromium package as root" >&2; exit 1; }
  sudo="sudo"
fi
echo "ensure-chromium: installing Debian's chromium package" >&2
$sudo apt-get update
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium
/usr/bin/chromium --version >&2
