#!/usr/bin/env bash
# Counts heap allocations per query in the running daemon with valgrind
# (memcheck's "total heap usage"): the daemon answers N1 and then N2 queries of
# one kind in two separate runs; (allocs(N2) - allocs(N1)) / (N2 - N1) is the
# cost of one query, start-up and shutdown cancelled out.
#
#   bench/alloc.sh [build dir, default build]
#
# Kinds: local (in-VPC sqs A), hit (outside www.example.test A, a cache hit
# after the first), over UDP. Loopback only: a Python stub on 127.0.0.1 plays
# the upstream.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-$repo/build}/vpcedns
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT

cat >"$tmp/q.py" <<'PY'
import socket, struct, sys, threading
mode, port, up_port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def name(s):
    return b"".join(bytes([len(l)]) + l.encode() for l in s.split(".")) + b"\0"
def upstream():  # answers every A query with 198.51.100.7, TTL 300
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", up_port))
    while True:
        q, peer = u.recvfrom(4096)
        end = 12 + q[12:].index(0) + 5
        a = q[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + q[12:end]
        u.sendto(a + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\xc6\x33\x64\x07", peer)
threading.Thread(target=upstream, daemon=True).start()
src, qname = ("127.0.10.5", "sqs.us-east-1.amazonaws.com") if mode == "local" \
    else ("127.0.20.5", "www.example.test")
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.bind((src, 0)); c.settimeout(5)
for i in range(n):
    c.sendto(struct.pack(">HHHHHH", i & 0xffff, 0x100, 1, 0, 0, 0) + name(qname) + b"\0\1\0\1",
             ("127.0.0.1", port))
    c.recvfrom(4096)
PY

run() {  # run KIND N -> total allocations
  local kind=$1 n=$2 port=$((15300 + RANDOM % 50)) up=$((15350 + RANDOM % 40))
  sed -e "s/@PORT@/$port/; s/@UPSTREAM_IP@/127.0.0.1/; s/@UPSTREAM_PORT@/$up/" \
    "$repo/bench/vpcedns.toml.in" >"$tmp/c.toml"
  valgrind --tool=memcheck "$bin" --config "$tmp/c.toml" >"$tmp/v.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do grep -q ready "$tmp/v.log" && break; sleep 0.1; done
  python3 "$tmp/q.py" "$kind" "$port" "$up" "$n"
  kill -TERM $pid; wait $pid || true
  grep -o 'total heap usage: [0-9,]* allocs' "$tmp/v.log" | tr -dc 0-9
}

for kind in local hit; do
  a=$(run $kind 1000); b=$(run $kind 6000)
  echo "$kind: $a allocs after 1000 queries, $b after 6000:" \
    "$(python3 -c "print(round(($b - $a) / 5000, 3))") per query"
done
