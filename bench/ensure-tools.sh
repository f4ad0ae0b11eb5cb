#!/usr/bin/env bash
# Installs the bench's load tools and peer from Debian when missing: wrk (the
# HTTP/1.1 load), h2load from nghttp2-client (the HTTP/2 and gRPC load) and
# nginx (the reference reverse proxy). Services are not started by
# the package (the bench runs its own nginx on loopback with its own config).
# Without apt-get (or root), the bench falls back to autocannon from npm and
# leaves nginx out, saying so in its report.
set -euo pipefail
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v h2load >/dev/null 2>&1 || missing+=(nghttp2-client)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-tools: ${missing[*]} missing and apt-get is not usable here; the bench runs without them" >&2
  exit 0
fi
echo "ensure-tools: installing ${missing[*]} from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || true
# RUNLEVEL=1 keeps the package's init script from starting a system nginx on port 80.
RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
  echo "ensure-tools: apt-get could not install ${missing[*]}; the bench runs without them" >&2
