# End to end: the cache of forwarded answers. Answers come back from the cache
# with TTLs counting down and the client's ID, case and EDNS; one view's answer
# never reaches another view's client; NXDOMAIN is cached; after the upstream
# dies, cached answers keep coming, failures are remembered (SERVFAIL, fast),
# SIGUSR1 flushes and SIGUSR2 logs the hit rate; with serve_stale on, an
# expired answer is served with TTL 30 when the upstream is gone; identical
# questions asked while the first is upstream share its upstream query.
#
# The daemon runs one worker thread here, so every query meets the same cache
# (with more workers each has its own; see resolver/cache/README.md).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly INSIDE=127.0.10.5
readonly OUTSIDE=127.0.20.5

# write_config FILE EXTRA-TOML: the test template plus one worker and EXTRA.
write_config() {
  {
    cat "$E2E_DIR/vpcedns.test.toml.in"
    printf '\n[server]\nthreads = 1\n\n[cache]\n%s\n' "$2"
  } >"$1"
}

udp_bound() { [[ -n $(ss -Hlnu "sport = :$1") ]]; }

# Number of query-log lines of the daemon for QNAME (lowercase) with SOURCE.
logged() {
  grep -c "qname=$1 .*source=$2 " "$DAEMON_LOG"
}
# Number of queries the upstream (unbound, log-queries) got for QNAME.
upstream_saw() {
  grep -ci " $1 " "$E2E_TMP/upstream/unbound.log"
}

answer_ttl() { awk 'NR == 1 { print $2 }' <<<"$R_ANSWER"; }
ttl_below() { local t; t=$(answer_ttl); [[ -n $t ]] && ((t < $1)); }
ttl_between() { local t; t=$(answer_ttl); [[ -n $t ]] && ((t >= $1 && t <= $2)); }
has_opt() { grep -q 'OPT PSEUDOSECTION' <<<"$R_OUT"; }
no_opt() { ! has_opt; }

# --- part 1: cache on, serve-stale off --------------------------------------

start_upstream
write_config "$E2E_TMP/cache.toml.in" "servfail_ttl = 3"
start_daemon "$UP_PORT" "$E2E_TMP/cache.toml.in"

# lib.sh's start-up probe asked the upstream for www.example.test itself.
upstream_before=$(upstream_saw www.example.test.)
ask "first ask" dig -b "$OUTSIDE" www.example.test A
expect_status NOERROR
expect_answer "A 198.51.100.7"
first_ttl=$(answer_ttl)
sleep 2.2
ask "second ask, 2 s later" dig -b "$OUTSIDE" WwW.ExAmPlE.TeSt A
expect_status NOERROR
expect_answer "A 198.51.100.7"
expect_qname "WwW.ExAmPlE.TeSt."
r_expect "TTL counted down by at least 2 (first $first_ttl)" ttl_below $((first_ttl - 1))
check "answered from the cache" test "$(logged www.example.test. cache)" = 1
check "upstream asked once" test "$(upstream_saw www.example.test.)" = $((upstream_before + 1))

ask "no EDNS from cache: no OPT" dig -b "$OUTSIDE" +noedns www.example.test A
r_expect "no OPT record" no_opt
ask "EDNS from cache: OPT echoed" dig -b "$OUTSIDE" +edns=0 +bufsize=1232 www.example.test A
r_expect "OPT record" has_opt
check "both from the cache" test "$(logged www.example.test. cache)" = 3

# Large answer: fetched over TCP, then a 512-byte UDP client gets TC from the cache.
ask "big over TCP" dig -b "$OUTSIDE" +tcp many.big.example.test A
expect_status NOERROR
ask "big over UDP, 512 bytes" dig -b "$OUTSIDE" +ignore +noedns many.big.example.test A
expect_flag tc
expect_answer
check "TC answer came from the cache" test "$(logged many.big.example.test. cache)" = 1

# Views: the public answer cached for outside never reaches the VPC.
ask "outside: public sqs" dig -b "$OUTSIDE" sqs.us-east-1.amazonaws.com A
expect_answer "A 192.0.2.80" "A 192.0.2.81"
ask "inside: private sqs" dig -b "$INSIDE" sqs.us-east-1.amazonaws.com A
expect_answer "A 10.0.1.10" "A 10.0.2.10"
ask "outside again: public sqs, from the cache" dig -b "$OUTSIDE" sqs.us-east-1.amazonaws.com A
expect_answer "A 192.0.2.80" "A 192.0.2.81"
check "outside sqs from the cache" test "$(logged sqs.us-east-1.amazonaws.com. cache)" = 1
# A forwarded name cached for the VPC is a miss for outside clients.
ask "inside: forwarded look-alike" dig -b "$INSIDE" queue.amazonaws.com A
expect_answer "A 192.0.2.91"
ask "outside: same name" dig -b "$OUTSIDE" queue.amazonaws.com A
expect_answer "A 192.0.2.91"
check "outside's queue.amazonaws.com not from the VPC's cache" \
  test "$(logged queue.amazonaws.com. cache)" = 0
check "upstream asked once per view" test "$(upstream_saw queue.amazonaws.com.)" = 2

# Negative caching (RFC 2308).
ask "NXDOMAIN" dig -b "$OUTSIDE" nope.example.test A
expect_status NXDOMAIN
ask "NXDOMAIN again" dig -b "$OUTSIDE" nope.example.test A
expect_status NXDOMAIN
expect_soa
check "NXDOMAIN from the cache" test "$(logged nope.example.test. cache)" = 1
check "upstream asked once for the NXDOMAIN" test "$(upstream_saw nope.example.test.)" = 1

# The upstream dies: cached answers keep coming.
stop_bg "$UP_PID"
ask "upstream gone: cached answer" dig -b "$OUTSIDE" www.example.test A
expect_status NOERROR
expect_answer "A 198.51.100.7"
r_expect "TTL below the first one" ttl_below "$first_ttl"
ask "upstream gone: cached NXDOMAIN" dig -b "$OUTSIDE" nope.example.test A
expect_status NXDOMAIN

# Failures are remembered for servfail_ttl (3 s): the second ask is answered
# from that memory, without going upstream.
ask "upstream gone: uncached name" dig -b "$OUTSIDE" fresh.example.test A
expect_status SERVFAIL
ask "uncached name again" dig -b "$OUTSIDE" fresh.example.test A
expect_status SERVFAIL
check "second SERVFAIL from the failure memory" \
  test "$(logged fresh.example.test. cached-failure)" = 1
check "the daemon forwarded it once" test "$(logged fresh.example.test. unreachable)" = 1

# SIGUSR2 logs size and hit rate; SIGUSR1 flushes. DAEMON_PID is the
# `timeout` wrapping the daemon (see start_bg): signal its child.
daemon=$(ps -o pid= --ppid "$DAEMON_PID" | tr -d ' ')
kill -USR2 "$daemon"
check "SIGUSR2 logs the hit rate" wait_for 3 grep -q 'cache entries=[1-9].*hit_rate=' "$DAEMON_LOG"
kill -USR1 "$daemon"
check "SIGUSR1 logs the flush" wait_for 3 grep -q 'SIGUSR1: cache flushed' "$DAEMON_LOG"
ask "after the flush, upstream gone" dig -b "$OUTSIDE" www.example.test A
expect_status SERVFAIL
expect_daemon_alive
stop_bg "$DAEMON_PID"

# --- part 2: serve-stale on --------------------------------------------------

start_upstream
write_config "$E2E_TMP/stale.toml.in" "$(printf 'max_ttl = 1\nserve_stale = true\nstale_ttl = 30')"
start_daemon "$UP_PORT" "$E2E_TMP/stale.toml.in"

ask "stale: first ask" dig -b "$OUTSIDE" www.example.test A
expect_answer "A 198.51.100.7"
expect_ttl 1
stop_bg "$UP_PID"
sleep 1.5
ask "stale: expired, upstream gone" dig -b "$OUTSIDE" www.example.test A
expect_status NOERROR
expect_answer "A 198.51.100.7"
expect_ttl 30
ask "stale: again, within the failure window" dig -b "$OUTSIDE" www.example.test A
expect_answer "A 198.51.100.7"
expect_ttl 30
check "served stale twice" test "$(logged www.example.test. stale)" = 2
ask "stale: never-seen name still SERVFAIL" dig -b "$OUTSIDE" other.example.test A
expect_status SERVFAIL
expect_daemon_alive
stop_bg "$DAEMON_PID"

# --- part 3: identical questions in flight share one upstream query ---------

# A slow upstream: answers every A query with 198.51.100.9 after 400 ms, and
# logs one line per query it got.
cat >"$E2E_TMP/slow.py" <<'PY'
import socket, sys, threading, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", int(sys.argv[1])))
def answer(q, peer):
    time.sleep(0.4)
    end = 12 + q[12:].index(0) + 5
    a = q[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + q[12:end]
    u.sendto(a + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\xc6\x33\x64\x09", peer)
while True:
    q, peer = u.recvfrom(4096)
    print("query", flush=True)
    threading.Thread(target=answer, args=(q, peer)).start()
PY
free_port
slow_port=$FREE_PORT
BG_LOG="$E2E_TMP/slow.log"
start_bg python3 "$E2E_TMP/slow.py" "$slow_port"
wait_for 5 udp_bound "$slow_port" || die "slow upstream on 127.0.0.1:$slow_port did not start"
start_daemon "$slow_port" "$E2E_TMP/cache.toml.in"
digs=()
for i in 1 2 3 4 5; do
  dig @127.0.0.1 -p "$DNS_PORT" -b "$OUTSIDE" +time=3 +tries=1 +short shared.example.test A \
    >"$E2E_TMP/shared.$i" &
  digs+=($!)
done
wait "${digs[@]}"
check "all 5 concurrent clients answered" \
  test "$(cat "$E2E_TMP"/shared.* | grep -c 198.51.100.9)" = 5
check "all 5 waited for the one forwarded query" \
  test "$(logged shared.example.test. forward)" = 5
check "the upstream got one query" test "$(grep -c query "$E2E_TMP/slow.log")" = 1
expect_daemon_alive

finish
