# SPDX-License-Identifier: Apache-2.0
# Starting and stopping the three demo services (sourced by scripts/demo).
#
#   demo_start_all BIN_DIR LOG_DIR   inventory, then orders, then gateway, each on the address in
#                                    $INVENTORY_LISTEN / $ORDERS_LISTEN / $GATEWAY_LISTEN (default
#                                    127.0.0.1:0: an ephemeral port), each told where the next one is
#                                    listening; then nginx in front of the gateway, with
#                                    docker/nginx.conf, on a free loopback port; sets DEMO_GATEWAY
#                                    (nginx's host:port: the scenarios go through it),
#                                    DEMO_GATEWAY_DIRECT and DEMO_LOG_<NAME> (NGINX too)
#   demo_stop_all                    SIGTERM to each service started, SIGKILL after 5 s; idempotent,
#                                    safe from an EXIT trap
#
# Services are started with setsid, each in a process group of its own, and only those groups are ever
# signalled.

DEMO_PIDS=()

# demo_listening_port LOG: the port from the "<name> listening on <host>:<port>" line, once written.
demo_listening_port() {
  sed -n 's/.* listening on .*:\([0-9][0-9]*\)$/\1/p' "$1" | head -n 1
}

# demo_start NAME BINARY LOG ARGS...: starts one service and waits (up to 15 s) until it listens;
# sets DEMO_PORT to its port. (Not in a subshell: DEMO_PIDS must keep the pid.)
demo_start() {
  local name=$1 bin=$2 log=$3 pid i
  shift 3
  : >"$log"
  setsid "$bin" "$@" >>"$log" 2>&1 </dev/null &
  pid=$!
  DEMO_PIDS+=("$pid")
  for ((i = 0; i < 300; i++)); do
    DEMO_PORT=$(demo_listening_port "$log")
    [[ -n $DEMO_PORT ]] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  ctx_log "$name did not start; its log ($log):" >&2
  cat "$log" >&2
  return 1
}

demo_start_all() {
  local bin=$1 logs=$2
  mkdir -p "$logs"
  DEMO_LOG_INVENTORY=$logs/inventory.log
  DEMO_LOG_ORDERS=$logs/orders.log
  DEMO_LOG_GATEWAY=$logs/gateway.log
  demo_start inventory "$bin/demo_inventory" "$DEMO_LOG_INVENTORY" \
    --listen="${INVENTORY_LISTEN:-127.0.0.1:0}" || return 1
  demo_start orders "$bin/demo_orders" "$DEMO_LOG_ORDERS" \
    --listen="${ORDERS_LISTEN:-127.0.0.1:0}" --inventory="127.0.0.1:$DEMO_PORT" || return 1
  demo_start gateway "$bin/demo_gateway" "$DEMO_LOG_GATEWAY" \
    --listen="${GATEWAY_LISTEN:-127.0.0.1:0}" --orders="127.0.0.1:$DEMO_PORT" || return 1
  DEMO_GATEWAY_DIRECT=127.0.0.1:$DEMO_PORT
  DEMO_LOG_NGINX=$logs/nginx.log
  demo_start_nginx "$DEMO_GATEWAY_DIRECT" "$DEMO_LOG_NGINX" || return 1
  DEMO_GATEWAY=127.0.0.1:$DEMO_NGINX_PORT
}

# demo_start_nginx GATEWAY LOG: nginx (docker/nginx.conf, its two addresses rewritten) as a child in a
# temporary prefix, in front of GATEWAY, on a free loopback port (a few random ones tried); sets
# DEMO_NGINX_PORT. The prefix goes when the demo stops.
demo_start_nginx() {
  local gateway=$1 log=$2 nginx port pid try i root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  nginx=$(command -v nginx || echo /usr/sbin/nginx)
  [[ -x $nginx ]] || { ctx_log "nginx is not installed (scripts/lib/common.sh installs it)" >&2; return 1; }
  DEMO_NGINX_PREFIX=$(mktemp -d)
  mkdir "$DEMO_NGINX_PREFIX/tmp"
  for ((try = 0; try < 10; try++)); do
    port=$((20000 + RANDOM % 40000))
    sed "s|^\( *\)listen 8080;.*|\1listen 127.0.0.1:$port;|;
         s|^\( *\)proxy_pass http://gateway:8080;.*|\1proxy_pass http://$gateway;|" \
      "$root/docker/nginx.conf" >"$DEMO_NGINX_PREFIX/nginx.conf"
    if ! grep -q "listen 127.0.0.1:$port;" "$DEMO_NGINX_PREFIX/nginx.conf" ||
      ! grep -q "proxy_pass http://$gateway;" "$DEMO_NGINX_PREFIX/nginx.conf"; then
      ctx_log "docker/nginx.conf: its listen / proxy_pass lines were not found" >&2
      return 1
    fi
    : >"$log"
    setsid "$nginx" -p "$DEMO_NGINX_PREFIX/" -c nginx.conf -e stderr >>"$log" 2>&1 </dev/null &
    pid=$!
    DEMO_PIDS+=("$pid")
    for ((i = 0; i < 100; i++)); do
      if curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; then
        DEMO_NGINX_PORT=$port
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    grep -q "Address already in use" "$log" || break
  done
  ctx_log "nginx did not start; its log ($log):" >&2
  cat "$log" >&2
  return 1
}

demo_stop_all() {
  local pid i
  ((${#DEMO_PIDS[@]})) || return 0
  for pid in "${DEMO_PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${DEMO_PIDS[@]}"; do
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  DEMO_PIDS=()
  [[ -z ${DEMO_NGINX_PREFIX:-} ]] || rm -rf "$DEMO_NGINX_PREFIX"
  DEMO_NGINX_PREFIX=""
}
