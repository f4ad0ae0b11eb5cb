#!/usr/bin/env bash
# Makes sure Debian's `zookeeper` package is installed, for the ZooKeeper half of
# the tests (test/support/zookeeper.ts starts its own server from the package's
# jars; the package's own service is not used). Prints the folder that holds
# the ZooKeeper jar on its last line.
#
# Installs with apt-get when missing (needs root, as on CI); waits for the dpkg
# lock rather than failing when another apt-get runs on the machine.
set -euo pipefail

jar_dir() {
  # Debian puts the server jar in /usr/share/java (zookeeper.jar, a link to the versioned one).
  local jar
  jar=$(dpkg -L libzookeeper-java 2>/dev/null | grep -E '/zookeeper(-[0-9.]+)?\.jar$' | head -n 1 || true)
  [ -n "$jar" ] && [ -f "$jar" ] && dirname "$jar"
}

# apt-get waits for the dpkg lock (DPkg::Lock::Timeout) but not for the lists lock
# that a concurrent `apt-get update` holds: retry for up to five minutes.
apt_retry() {
  local attempt
  for attempt in $(seq 1 60); do
    if apt-get -o DPkg::Lock::Timeout=300 "$@" >&2; then return 0; fi
    echo "ensure-zookeeper: apt-get $1 failed (attempt $attempt; another apt-get may hold a lock), retrying in 5 s" >&2
    sleep 5
  done
  return 1
}

if ! dir=$(jar_dir) || ! command -v java >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "ensure-zookeeper: Debian's zookeeper package is missing; install it with: sudo apt-get install zookeeper" >&2
    exit 1
  fi
  echo "ensure-zookeeper: installing Debian's zookeeper package (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  # The package lists are refreshed only when apt does not know the package yet.
  if ! apt-cache show zookeeper >/dev/null 2>&1; then apt_retry update -qq; fi
  # --no-install-recommends: a headless JRE is enough, the desktop bits default-jre recommends are not.
  apt_retry install -y -qq --no-install-recommends zookeeper
  dir=$(jar_dir) || { echo "ensure-zookeeper: zookeeper installed but its jar was not found (dpkg -L libzookeeper-java)" >&2; exit 1; }
fi
echo "$dir"
