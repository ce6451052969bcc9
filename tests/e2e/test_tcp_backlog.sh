# End to end: a TCP client that pipelines queries but never reads the answers
# must not make the daemon queue answers without bound (RFC 7766 6.2.3): the
# daemon stops reading that connection, its memory stays flat, and other
# clients keep being answered.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly INSIDE=127.0.10.5

# Under AddressSanitizer (tools/dev.sh sets ASAN_OPTIONS), freed memory waits
# in a 256 MB quarantine and RSS grows with any churn; keep it small so RSS
# reflects what the daemon holds.
if [[ -n ${ASAN_OPTIONS:-} ]]; then export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=1"; fi

start_upstream
start_daemon

daemon_pid=$(pgrep -P "$DAEMON_PID")
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$daemon_pid/status"; }
before=$(rss_kb)

# 5 s of pipelined A queries for the endpoint name, never reading a byte back.
python3 - "$DNS_PORT" "$INSIDE" <<'PY' &
import socket, struct, sys, time
port, src = int(sys.argv[1]), sys.argv[2]
q = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03sqs\x09us-east-1"
     b"\x09amazonaws\x03com\x00\x00\x01\x00\x01")
frame = struct.pack("!H", len(q)) + q
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind((src, 0))
s.connect(("127.0.0.1", port))
s.settimeout(0.2)
end = time.time() + 5
while time.time() < end:
    try:
        s.sendall(frame * 200)
    except socket.timeout:
        pass
    except OSError:
        break
time.sleep(0.5)
PY
flooder=$!
sleep 2

ask "another client during the flood" dig -b "$INSIDE" sqs.us-east-1.amazonaws.com A
expect_status NOERROR
expect_answer "A 10.0.1.10" "A 10.0.2.10"
wait "$flooder"

after=$(rss_kb)
growth=$((after - before))
if ((growth < 20000)); then
  pass "RSS grew ${growth} kB (< 20 MB) under a client that never reads"
else
  fail "RSS grew ${growth} kB under a client that never reads (unbounded answer queue)"
fi
expect_daemon_alive

finish
