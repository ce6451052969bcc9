# End to end: when the upstream is down (port closed) or silent (a socket that
# reads and never answers), a forwarded query gets SERVFAIL within the
# configured budget (timeout_ms 500 x attempts 1, plus a margin), never
# silence; private answers keep working meanwhile.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly INSIDE=127.0.10.5
readonly OUTSIDE=127.0.20.5
readonly BUDGET_MS=2000   # 500 ms x 1 attempt, plus generous margin

# Writes a script that binds UDP and TCP on 127.0.0.1:<argv[1]>, takes queries
# and never answers.
write_blackhole() {
  cat >"$1" <<'EOF'
import select, socket, sys
port = int(sys.argv[1])
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", port))
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("127.0.0.1", port))
tcp.listen(16)
conns = []
while True:
    ready, _, _ = select.select([udp, tcp] + conns, [], [])
    for s in ready:
        if s is udp:
            udp.recvfrom(65535)
        elif s is tcp:
            conns.append(tcp.accept()[0])
        elif not s.recv(65535):
            conns.remove(s)
            s.close()
EOF
}

udp_bound() { [[ -n $(ss -Hlnu "sport = :$1") ]]; }

# ask_timed LABEL ARGS...: ask with a 5 s client timeout, recording the time taken.
ask_timed() {
  local label=$1
  shift
  local start
  start=$(now_ms)
  ask "$label" dig +tries=1 +time=5 "$@"
  ELAPSED_MS=$(($(now_ms) - start))
}

within_budget() { ((ELAPSED_MS < BUDGET_MS)); }

expect_servfail_in_time() {
  expect_status SERVFAIL
  expect_answer
  r_expect "answered in ${ELAPSED_MS} ms (< ${BUDGET_MS} ms)" within_budget
}

expect_failures_handled() {
  local what=$1
  ask_timed "$what: forwarded A udp" -b "$OUTSIDE" www.example.test A
  expect_servfail_in_time

  ask_timed "$what: forwarded A tcp" +tcp -b "$OUTSIDE" www.example.test A
  expect_servfail_in_time

  ask_timed "$what: inside, look-alike name (forwarded)" -b "$INSIDE" queue.amazonaws.com A
  expect_servfail_in_time

  # Private answers need no upstream.
  ask "$what: inside private answer" dig -b "$INSIDE" sqs.us-east-1.amazonaws.com A
  expect_status NOERROR
  expect_answer "A 10.0.1.10" "A 10.0.2.10"

  ask "$what: vpce name" dig -b "$OUTSIDE" \
    vpce-0a1b2c3d4e5f60718-abcd1234.sqs.us-east-1.vpce.amazonaws.com A
  expect_status NOERROR
  expect_answer "A 10.0.1.10" "A 10.0.2.10"

  # Nothing got stuck: a second forwarded query fails just as fast.
  ask_timed "$what: forwarded again" -b "$OUTSIDE" nope.example.test A
  expect_servfail_in_time

  expect_daemon_alive
}

# --- upstream port closed (ICMP port unreachable) ---------------------------

free_port
closed_port=$FREE_PORT
start_daemon "$closed_port"
expect_failures_handled "closed port"
stop_bg "$DAEMON_PID"

# --- upstream silent ----------------------------------------------------------

free_port
silent_port=$FREE_PORT
write_blackhole "$E2E_TMP/blackhole.py"
BG_LOG="$E2E_TMP/blackhole.log"
start_bg python3 "$E2E_TMP/blackhole.py" "$silent_port"
wait_for 5 udp_bound "$silent_port" || die "blackhole on 127.0.0.1:$silent_port did not start"
start_daemon "$silent_port"
expect_failures_handled "silent upstream"

finish
