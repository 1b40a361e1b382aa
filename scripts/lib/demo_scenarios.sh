# SPDX-License-Identifier: Apache-2.0
# The six scenarios of the three-service demo, sent through nginx, and their report (sourced by scripts/demo, after
# scripts/lib/demo_services.sh has started the services and nginx: DEMO_GATEWAY, DEMO_LOG_*).
#
# Each scenario sends requests with curl, then reads the three services' logs: every line a service
# writes while serving a request starts with "[req=<id> left=<ms>ms ...]" (ctx::log), so a request can
# be followed by its id across the three logs, and each line's timestamp says when its hop saw what.
# demo_run_scenarios prints the report and returns non-zero if any check failed.

DEMO_FAILED=0
DEMO_TMP=""

# --- log reading --------------------------------------------------------------------------------------

# demo_lines LOG ID [TEXT]: the lines LOG wrote for request ID (containing TEXT, when given).
demo_lines() {
  grep -F -- "[req=$2 " "$1" | grep -F -- "${3:-}" || true
}

# demo_left LOG ID TEXT: the remaining budget ("1987ms") on the first line of ID containing TEXT.
demo_left() {
  demo_lines "$1" "$2" "$3" | head -n 1 |
    sed -n 's/^[^[]*\[req=[^ ]*\( trace=[^ ]* span=[^ ]*\)\{0,1\} left=\([^] ]*\).*/\2/p'
}

# demo_us LOG ID TEXT: when the first line of ID containing TEXT was written, in microseconds since
# midnight (empty when there is no such line).
demo_us() {
  local t h m s us
  t=$(demo_lines "$1" "$2" "$3" | head -n 1 | cut -d' ' -f1)
  [[ -n $t ]] || return 0
  IFS=':.' read -r h m s us <<<"$t"
  echo $(((10#$h * 3600 + 10#$m * 60 + 10#$s) * 1000000 + 10#$us))
}

# demo_deadline_us LOG ID TEXT: when the deadline of request ID fell, as that service saw it: the time
# of its first line containing TEXT plus the budget left on that line (ms resolution; empty when
# there is no such line or it had no deadline).
demo_deadline_us() {
  local at left
  at=$(demo_us "$1" "$2" "$3")
  left=$(demo_left "$1" "$2" "$3")
  left=${left%ms}
  [[ -n $at && $left =~ ^-?[0-9]+$ ]] || return 0
  echo $((at + left * 1000))
}

# demo_first_us LOG ID TEXT_A TEXT_B: the earlier of demo_us for TEXT_A and for TEXT_B. (The end of a
# context is logged by the thread that ended it and by the handler that noticed; either may come first.)
demo_first_us() {
  local a b
  a=$(demo_us "$1" "$2" "$3")
  b=$(demo_us "$1" "$2" "$4")
  if [[ -z $a || (-n $b && $b -lt $a) ]]; then echo "$b"; else echo "$a"; fi
}

# demo_ms FROM_US TO_US: the interval between two demo_us values, as "+1.2 ms".
demo_ms() {
  [[ -n $1 && -n $2 ]] || { echo "?"; return; }
  awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f ms", (b - a) / 1000 }'
}

# demo_relative FROM_US TO_US: "1.2 ms before" / "1.2 ms after" (TO relative to FROM).
demo_relative() {
  [[ -n $1 && -n $2 ]] || { echo "? (not logged) relative to"; return; }
  awk -v a="$1" -v b="$2" \
    'BEGIN { d = (b - a) / 1000; printf "%.1f ms %s", (d < 0 ? -d : d), (d < 0 ? "before" : "after") }'
}

# demo_wait_line LOG ID TEXT: waits (up to 5 s) until LOG has a line of ID containing TEXT.
demo_wait_line() {
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -n $(demo_lines "$1" "$2" "$3") ]] && return 0
    sleep 0.05
  done
  return 1
}

# --- requests and checks ------------------------------------------------------------------------------

# demo_get PATH CURL_ARGS...: GET http://$DEMO_GATEWAY/PATH; the body goes to $DEMO_TMP/body, the
# headers to $DEMO_TMP/headers; sets CODE (000 when no response) and MS (the call's duration).
demo_get() {
  local path=$1 out
  shift
  out=$(curl -sS -o "$DEMO_TMP/body" -D "$DEMO_TMP/headers" -w '%{http_code} %{time_total}' \
    "$@" "http://$DEMO_GATEWAY$path" 2>/dev/null) || true
  CODE=${out%% *}
  MS=$(awk -v s="${out##* }" 'BEGIN { printf "%d", s * 1000 }')
}

# demo_response_id: the X-Request-Id of the last response.
demo_response_id() {
  tr -d '\r' <"$DEMO_TMP/headers" | sed -n 's/^[Xx]-[Rr]equest-[Ii]d: *//p' | head -n 1
}

# demo_check DESCRIPTION COMMAND...: runs COMMAND; prints "ok" or "FAILED" with DESCRIPTION.
demo_check() {
  local what=$1
  shift
  if "$@"; then
    printf '   ok      %s\n' "$what"
  else
    printf '   FAILED  %s\n' "$what"
    DEMO_FAILED=1
  fi
}

demo_in_all_logs() {
  [[ -n $(demo_lines "$DEMO_LOG_GATEWAY" "$1") && -n $(demo_lines "$DEMO_LOG_ORDERS" "$1") &&
    -n $(demo_lines "$DEMO_LOG_INVENTORY" "$1") ]]
}

# demo_show_lines ID: the three logs' lines for ID, merged in time order, the id shortened.
demo_show_lines() {
  printf '   the three logs for this request, merged by time:\n'
  cat "$DEMO_LOG_GATEWAY" "$DEMO_LOG_ORDERS" "$DEMO_LOG_INVENTORY" | grep -F -- "[req=$1 " | sort |
    sed "s/\[req=$1 /[req=${1:0:8}.. /; s/^/     /" | cut -c1-150
}

demo_hops() {  # demo_hops ID: "gateway 1999ms -> orders 1987ms -> inventory east 1977ms / west 1976ms"
  printf 'gateway %s -> orders %s -> inventory east %s / west %s' \
    "$(demo_left "$DEMO_LOG_GATEWAY" "$1" "gateway: GET /order")" \
    "$(demo_left "$DEMO_LOG_ORDERS" "$1" "orders: place")" \
    "$(demo_left "$DEMO_LOG_INVENTORY" "$1" "inventory/east: reserve")" \
    "$(demo_left "$DEMO_LOG_INVENTORY" "$1" "inventory/west: reserve")"
}

# --- the scenarios ------------------------------------------------------------------------------------

demo_scenario_normal() {
  local id=demo-normal-$RANDOM$RANDOM
  echo
  echo "== 1. A normal request: 2 s budget, 100 ms of work in each warehouse"
  echo "   curl -H 'X-Request-Id: $id' -H 'X-Request-Timeout: 2000' '/order?item=book&qty=2&work_ms=100'"
  demo_get "/order?item=book&qty=2&work_ms=100" -H "X-Request-Id: $id" -H "X-Request-Timeout: 2000"
  printf '   outcome:     %s in %d ms\n' "$CODE" "$MS"
  printf '   request id:  %s\n' "$id"
  printf '   budget left: %s\n' "$(demo_hops "$id")"
  demo_check "200 OK" test "$CODE" = 200
  demo_check "the response echoes the request id" test "$(demo_response_id)" = "$id"
  demo_check "gateway, orders and inventory logged it under that id" demo_in_all_logs "$id"
}

demo_scenario_deadline() {
  local id=demo-deadline-$RANDOM$RANDOM gw_end inv_end work_stop
  echo
  echo "== 2. An edge deadline shorter than the work: 1000 ms budget, 5000 ms of work"
  echo "   curl -H 'X-Request-Timeout: 1000' '/order?work_ms=5000'"
  demo_get "/order?work_ms=5000" -H "X-Request-Id: $id" -H "X-Request-Timeout: 1000"
  demo_wait_line "$DEMO_LOG_INVENTORY" "$id" "stopped work" || true
  gw_end=$(demo_deadline_us "$DEMO_LOG_GATEWAY" "$id" "gateway: GET /order")
  inv_end=$(demo_us "$DEMO_LOG_INVENTORY" "$id" "context ended while working: context deadline exceeded")
  work_stop=$(demo_lines "$DEMO_LOG_INVENTORY" "$id" "stopped work" | head -n 1 | sed 's/.*: stopped/stopped/')
  printf '   outcome:     %s in %d ms\n' "$CODE" "$MS"
  printf '   request id:  %s\n' "$id"
  printf '   budget left: %s\n' "$(demo_hops "$id")"
  printf '   inventory:   context ended (deadline exceeded) %s the gateway'"'"'s deadline; %s\n' \
    "$(demo_relative "$gw_end" "$inv_end")" "$work_stop"
  echo "                (each hop forwards its budget minus a small margin: the deepest hop gives up first)"
  demo_check "504 Gateway Timeout" test "$CODE" = 504
  demo_check "the answer came long before the work would have ended (< 3000 ms)" test "$MS" -lt 3000
  demo_check "inventory's context ended with deadline exceeded" test -n "$inv_end"
}

demo_scenario_hangup() {
  local id=demo-hangup-$RANDOM$RANDOM gw orders inv_e inv_w inv work_stop
  echo
  echo "== 3. The client hangs up after 1 s (5000 ms of work)"
  echo "   curl --max-time 1 '/order?work_ms=5000'"
  demo_get "/order?work_ms=5000" -H "X-Request-Id: $id" -H "X-Request-Timeout: 10000" --max-time 1
  demo_wait_line "$DEMO_LOG_INVENTORY" "$id" "inventory/east: stopped work" || true
  demo_wait_line "$DEMO_LOG_INVENTORY" "$id" "inventory/west: stopped work" || true
  gw=$(demo_us "$DEMO_LOG_GATEWAY" "$id" "gateway: context ended while working")
  orders=$(demo_us "$DEMO_LOG_ORDERS" "$id" "orders: context ended while working")
  inv_e=$(demo_first_us "$DEMO_LOG_INVENTORY" "$id" "inventory/east: context ended while working" \
    "inventory/east: stopped work")
  inv_w=$(demo_first_us "$DEMO_LOG_INVENTORY" "$id" "inventory/west: context ended while working" \
    "inventory/west: stopped work")
  inv=$inv_e
  [[ -n $inv_w && (-z $inv || $inv_w -gt $inv) ]] && inv=$inv_w
  work_stop=$(demo_lines "$DEMO_LOG_INVENTORY" "$id" "stopped work" | head -n 1 | sed 's/.*: stopped/stopped/')
  printf '   outcome:     client gone after %d ms; the gateway logged 499 (client closed request)\n' "$MS"
  printf '   request id:  %s\n' "$id"
  printf '   budget left: %s\n' "$(demo_hops "$id")"
  printf '   cancel:      gateway saw the hang-up -> orders %s -> inventory %s (last hop)\n' \
    "$(demo_ms "$gw" "$orders")" "$(demo_ms "$gw" "$inv")"
  printf '   inventory:   %s\n' "$work_stop"
  demo_check "the gateway saw the client go, and logged 499" \
    grep -q "http 499 .*request_id=$id " "$DEMO_LOG_GATEWAY"
  demo_check "the cancel reached orders and both inventory calls" \
    test -n "$orders" -a -n "$inv_e" -a -n "$inv_w"
  demo_check "the abandoned work stopped early" test -n "$work_stop"
  demo_show_lines "$id"
}

demo_scenario_ids() {
  local generated replaced
  echo
  echo "== 4. Request ids at the edge"
  echo "   curl '/order'                                  (no X-Request-Id)"
  demo_get "/order" -H "X-Request-Timeout: 2000"
  generated=$(demo_response_id)
  printf '   generated:   %s (status %s)\n' "$generated" "$CODE"
  demo_check "the edge (nginx) generated an id and every service reused it" \
    demo_in_all_logs "${generated:-none}"
  echo "   curl -H \$'X-Request-Id: evil\\e[31m-red' '/order'  (a terminal escape sequence)"
  demo_get "/order" -H "X-Request-Timeout: 2000" -H $'X-Request-Id: evil\e[31m-red'
  replaced=$(demo_response_id)
  printf '   replaced by: %s (status %s)\n' "$replaced" "$CODE"
  printf '   gateway log: %s\n' "$(demo_lines "$DEMO_LOG_GATEWAY" "${replaced:-none}" "replaced" |
    sed 's/.*gateway: //')"
  demo_check "the hostile id was replaced, and the new id used downstream" \
    demo_in_all_logs "${replaced:-none}"
  demo_check "no log holds the raw escape byte" \
    test -z "$(cat "$DEMO_LOG_GATEWAY" "$DEMO_LOG_ORDERS" "$DEMO_LOG_INVENTORY" | grep -F $'\e' || true)"
}

demo_scenario_nginx_hangup() {
  local id=""
  echo
  echo "== 5. A hang-up at nginx, no request id sent: nginx makes one, every hop is canceled under it"
  echo "   curl --max-time 1 '/order?work_ms=5000'                (via nginx, no X-Request-Id)"
  demo_get "/order?work_ms=5000&item=nginx-hangup" -H "X-Request-Timeout: 10000" --max-time 1
  # nginx logs the request (status 499, with the id it sent on) once it has seen the client go.
  demo_wait_nginx_line 'nginx 499 "GET /order?work_ms=5000&item=nginx-hangup ' || true
  id=$(grep -F 'nginx 499 "GET /order?work_ms=5000&item=nginx-hangup ' "$DEMO_LOG_NGINX" | tail -n 1 |
    sed -n 's/.* request_id=\([0-9a-f]*\) .*/\1/p')
  demo_wait_line "$DEMO_LOG_INVENTORY" "${id:-none}" "inventory/east: stopped work" || true
  demo_wait_line "$DEMO_LOG_INVENTORY" "${id:-none}" "inventory/west: stopped work" || true
  printf '   nginx log:   %s\n' "$(grep -F "request_id=${id:-none} " "$DEMO_LOG_NGINX" | cut -d' ' -f2-)"
  printf '   budget left: %s\n' "$(demo_hops "${id:-none}")"
  demo_check "nginx logged 499 and the request id it generated" test -n "$id"
  demo_check "that id is in the gateway's, orders' and inventory's logs" demo_in_all_logs "${id:-none}"
  demo_check "the gateway saw nginx hang up, and logged 499" \
    grep -q "http 499 .*request_id=${id:-none} " "$DEMO_LOG_GATEWAY"
  demo_check "the cancel reached orders and stopped both inventory calls" \
    test -n "$(demo_lines "$DEMO_LOG_ORDERS" "${id:-none}" "orders: context ended while working")" \
    -a -n "$(demo_lines "$DEMO_LOG_INVENTORY" "${id:-none}" "inventory/east: stopped work")" \
    -a -n "$(demo_lines "$DEMO_LOG_INVENTORY" "${id:-none}" "inventory/west: stopped work")"
}

# demo_trace LOG ID TEXT: the trace id on LOG's first line for request ID containing TEXT.
demo_trace() {
  demo_lines "$1" "$2" "$3" | head -n 1 | sed -n 's/^[^[]*\[req=[^ ]* trace=\([0-9a-f]*\) .*/\1/p'
}

# demo_span LOG ID TEXT: the span id (the span of the call that brought the request to that hop) on
# LOG's first line for request ID containing TEXT.
demo_span() {
  demo_lines "$1" "$2" "$3" | head -n 1 | sed -n 's/^[^[]*\[req=[^ ]* trace=[^ ]* span=\([0-9a-f]*\) .*/\1/p'
}

# demo_all_equal WANT VALUE...: every VALUE is WANT.
demo_all_equal() {
  local want=$1 v
  shift
  for v in "$@"; do [[ $v == "$want" ]] || return 1; done
}

# demo_all_distinct VALUE...: every VALUE is non-empty and no two are the same.
demo_all_distinct() {
  local v
  for v in "$@"; do [[ -n $v ]] || return 1; done
  (($(printf '%s\n' "$@" | sort -u | wc -l) == $#))
}

demo_scenario_trace() {
  local id=demo-trace-$RANDOM$RANDOM trace parent i
  trace=$(printf '%08x' $RANDOM$RANDOM $RANDOM$RANDOM $RANDOM$RANDOM $RANDOM$RANDOM | cut -c1-32)
  parent=00f067aa0ba902b7
  echo
  echo "== 6. A W3C traceparent from the client, through nginx and every hop"
  echo "   curl -H 'traceparent: 00-$trace-$parent-01' '/order'"
  demo_get "/order?item=book&qty=1&work_ms=10" -H "X-Request-Id: $id" -H "X-Request-Timeout: 2000" \
    -H "traceparent: 00-$trace-$parent-01"
  demo_wait_line "$DEMO_LOG_INVENTORY" "$id" "inventory/east: reserve" || true
  demo_wait_line "$DEMO_LOG_INVENTORY" "$id" "inventory/west: reserve" || true
  # One row per hop: its name, the log it writes, and the text of its first line for the request.
  local hops=(gateway orders inventory/east inventory/west)
  local logs=("$DEMO_LOG_GATEWAY" "$DEMO_LOG_ORDERS" "$DEMO_LOG_INVENTORY" "$DEMO_LOG_INVENTORY")
  local texts=("gateway: GET /order" "orders: place" "inventory/east: reserve" "inventory/west: reserve")
  local traces=() spans=()
  for i in "${!hops[@]}"; do
    traces+=("$(demo_trace "${logs[i]}" "$id" "${texts[i]}")")
    spans+=("$(demo_span "${logs[i]}" "$id" "${texts[i]}")")
  done
  printf '   outcome:     %s\n' "$CODE"
  printf '   %-16s %-32s  %s\n' hop "trace id" "span id"
  for i in "${!hops[@]}"; do
    printf '   %-16s %-32s  %s\n' "${hops[i]}" "${traces[i]:-(not logged)}" "${spans[i]:-(not logged)}"
  done
  demo_check "200 OK" test "$CODE" = 200
  demo_check "gateway, orders and both inventory calls logged the client's trace id" \
    demo_all_equal "$trace" "${traces[@]}"
  demo_check "the gateway logged the client's span id ($parent)" test "${spans[0]}" = "$parent"
  demo_check "every hop logged a span id of its own (four different ids)" demo_all_distinct "${spans[@]}"
}

# demo_wait_nginx_line TEXT: waits (up to 5 s) until nginx's log has a line containing TEXT.
demo_wait_nginx_line() {
  local i
  for ((i = 0; i < 100; i++)); do
    grep -qF -- "$1" "$DEMO_LOG_NGINX" && return 0
    sleep 0.05
  done
  return 1
}

demo_run_scenarios() {
  DEMO_TMP=$(mktemp -d)
  DEMO_FAILED=0
  demo_scenario_normal
  demo_scenario_deadline
  demo_scenario_hangup
  demo_scenario_ids
  demo_scenario_nginx_hangup
  demo_scenario_trace
  rm -rf "$DEMO_TMP"
  return "$DEMO_FAILED"
}
