#!/bin/sh
# Entry point of the locally assembled hashicorp/consul image (see
# scripts/ensure-engine.sh), with the official image's behaviour:
#   - CONSUL_BIND_INTERFACE / CONSUL_CLIENT_INTERFACE name an interface whose
#     address becomes -bind / -client (a go-sockaddr template that Consul
#     resolves itself, so the image needs no `ip` tool);
#   - `agent` gets -data-dir=/consul/data and -config-dir=/consul/config, and
#     CONSUL_LOCAL_CONFIG is written to /consul/config/local.json;
#   - a first argument that starts with "-" or is a consul subcommand runs consul;
#   - consul runs as the non-root user consul (setpriv from util-linux, in the
#     minbase image, instead of Alpine's su-exec), unless CONSUL_DISABLE_PERM_MGMT is set.
set -e

CONSUL_BIND=
if [ -n "$CONSUL_BIND_INTERFACE" ]; then
  CONSUL_BIND="-bind={{ GetInterfaceIP \"$CONSUL_BIND_INTERFACE\" }}"
  echo "==> Binding to the address of interface $CONSUL_BIND_INTERFACE"
fi
CONSUL_CLIENT=
if [ -n "$CONSUL_CLIENT_INTERFACE" ]; then
  CONSUL_CLIENT="-client={{ GetInterfaceIP \"$CONSUL_CLIENT_INTERFACE\" }}"
  echo "==> Client address from interface $CONSUL_CLIENT_INTERFACE"
fi

CONSUL_DATA_DIR=/consul/data
CONSUL_CONFIG_DIR=/consul/config
if [ -n "$CONSUL_LOCAL_CONFIG" ]; then
  echo "$CONSUL_LOCAL_CONFIG" > "$CONSUL_CONFIG_DIR/local.json"
fi

case "$1" in
  -*) set -- consul "$@" ;;
esac

if [ "$1" = agent ]; then
  shift
  if [ -n "$CONSUL_BIND" ] && [ -n "$CONSUL_CLIENT" ]; then
    set -- consul agent -data-dir="$CONSUL_DATA_DIR" -config-dir="$CONSUL_CONFIG_DIR" "$CONSUL_BIND" "$CONSUL_CLIENT" "$@"
  elif [ -n "$CONSUL_BIND" ]; then
    set -- consul agent -data-dir="$CONSUL_DATA_DIR" -config-dir="$CONSUL_CONFIG_DIR" "$CONSUL_BIND" "$@"
  elif [ -n "$CONSUL_CLIENT" ]; then
    set -- consul agent -data-dir="$CONSUL_DATA_DIR" -config-dir="$CONSUL_CONFIG_DIR" "$CONSUL_CLIENT" "$@"
  else
    set -- consul agent -data-dir="$CONSUL_DATA_DIR" -config-dir="$CONSUL_CONFIG_DIR" "$@"
  fi
elif [ "$1" = version ]; then
  set -- consul "$@"
elif [ "$1" != consul ] && consul --help "$1" 2>&1 | grep -q "consul $1"; then
  set -- consul "$@"
fi

if [ "$1" = consul ] && [ -z "${CONSUL_DISABLE_PERM_MGMT+x}" ] && [ "$(id -u)" = 0 ]; then
  [ "$(stat -c %U "$CONSUL_DATA_DIR")" = consul ] || chown consul:consul "$CONSUL_DATA_DIR"
  [ "$(stat -c %U "$CONSUL_CONFIG_DIR")" = consul ] || chown consul:consul "$CONSUL_CONFIG_DIR"
  set -- setpriv --reuid=consul --regid=consul --init-groups "$@"
fi

exec "$@"
