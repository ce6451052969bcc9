# End to end: queries in flight upstream are never dropped. A reload that
# changes [forward] lets the old forwarder finish them; SIGTERM stops
# accepting queries, lets those already forwarded finish (bounded by one
# upstream timeout cycle), then exits 0.
# The upstream is slow_upstream.py: answers after 0.8 s, never for blackhole.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly OUTSIDE=127.0.20.5
readonly TEMPLATE="$E2E_TMP/shutdown.toml.in"

# The test config with a 2 s upstream timeout, one attempt: drain bound 2.1 s.
sed -e 's/^timeout_ms = .*/timeout_ms = 2000/' "$E2E_DIR/vpcedns.test.toml.in" >"$TEMPLATE"

start_slow_upstream() {
  free_port
  UP_PORT=$FREE_PORT
  BG_LOG="$E2E_TMP/slow_upstream.log"
  start_bg python3 "$E2E_DIR/slow_upstream.py" "$UP_PORT" 0.8
  sleep 0.3
}

# Sends SIGTERM while a query is in flight upstream; checks exit and timing.
# $1: label, $2: name to ask, $3: earliest and $4: latest exit (ms after TERM).
stop_during_query() {
  local label=$1 name=$2 earliest=$3 latest=$4
  start_daemon "$UP_PORT" "$TEMPLATE"
  dig @127.0.0.1 -p "$DNS_PORT" -b "$OUTSIDE" +time=4 +tries=1 "$name" A >"$E2E_TMP/inflight.txt" 2>&1 &
  local client=$!
  sleep 0.3
  local t0
  t0=$(now_ms)
  daemon_signal TERM
  sleep 0.1
  dig @127.0.0.1 -p "$DNS_PORT" -b "$OUTSIDE" +time=1 +tries=1 late.example.test A \
    >"$E2E_TMP/late.txt" 2>&1 &
  local late=$!
  wait "$DAEMON_PID"
  local rc=$? elapsed=$(($(now_ms) - t0))
  wait "$client" "$late"
  if grep -q 'status:' "$E2E_TMP/late.txt"; then
    fail "$label: a query after SIGTERM is not answered" "$(cat "$E2E_TMP/late.txt")"
  else
    pass "$label: a query after SIGTERM is not answered"
  fi
  check "$label: exit status 0 (got $rc)" test "$rc" = 0
  check "$label: exited after ${elapsed} ms, within [$earliest, $latest]" \
    test "$elapsed" -ge "$earliest" -a "$elapsed" -le "$latest"
  check "$label: log says stopped" grep -q 'SIGTERM: stopping' "$DAEMON_LOG"
  check "$label: log ends with stopped" grep -q '\[main\] stopped' "$DAEMON_LOG"
}

start_slow_upstream

# A reload that changes [forward] while a query waits for the slow upstream:
# the old forwarder keeps it and answers it; new queries use the new one.
start_daemon "$UP_PORT" "$TEMPLATE"
dig @127.0.0.1 -p "$DNS_PORT" -b "$OUTSIDE" +time=4 +tries=1 during.example.test A \
  >"$E2E_TMP/during.txt" 2>&1 &
client=$!
sleep 0.3
sed -i 's/^timeout_ms = .*/timeout_ms = 1500/' "$DAEMON_CONF"
ctl reload
check "forward change: reload succeeds" test "$CTL_RC" = 0
ask "forward change: a new query after the reload" dig -b "$OUTSIDE" +time=3 after.example.test A
expect_answer "A 192.0.2.55"
ctl status
check "forward change: the old forwarder is gone once its query is answered" \
  grep -q 'draining_forwarders=0' <<<"$CTL_OUT"
wait "$client"
check "forward change: the query in flight was answered by the old forwarder" \
  grep -q $'^during.example.test.\t*[0-9]*\tIN\tA\t192.0.2.55' "$E2E_TMP/during.txt"
check "forward change: the log shows the new forwarder" grep -q 'timeout_ms=1500' "$DAEMON_LOG"
daemon_signal TERM
wait "$DAEMON_PID"

# Answered upstream after 0.8 s: the daemon waits for it, then exits.
stop_during_query "in flight" slow.example.test 400 2000
check "in flight: the client got the upstream's answer" \
  grep -q $'^slow.example.test.\t*[0-9]*\tIN\tA\t192.0.2.55' "$E2E_TMP/inflight.txt"

# Never answered: the daemon gives up at the bound (c-ares times out at 2 s
# and the client gets SERVFAIL) and still exits 0.
stop_during_query "black hole" q.blackhole 1500 3500
check "black hole: the client got SERVFAIL" grep -q 'status: SERVFAIL' "$E2E_TMP/inflight.txt"

finish
