# DNS protocol conformance (issue #3): tests/conformance/conformance.py sends
# hand-built packets and dig/kdig queries over UDP and TCP to four daemons:
#   A -> unbound (real resolver)     B -> fake_upstream.py (scripted)
#   C -> closed port, then the fake  D -> closed port; default [server] settings
# and checks rcode, flags, sections and TTLs. Then the daemons are stopped and
# their logs must show the malformed packets counted.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly CONF_DIR="$VPCEDNS_SOURCE_DIR/tests/conformance"

# start_conf_daemon NAME TEMPLATE UPSTREAMS [UPSTREAM_PORT]: starts a daemon on a
# config rendered from TEMPLATE (@UPSTREAMS@: a TOML list body; @UPSTREAM_PORT@:
# one port, for lib.sh's template); sets PORT_<NAME> and PID_<NAME>.
start_conf_daemon() {
  local name=$1 template=$2 upstreams=$3 upstream_port=${4:-}
  free_port
  DNS_PORT=$FREE_PORT
  local conf="$E2E_TMP/vpcedns-$name.toml"
  sed -e "s|@LISTEN_PORT@|$DNS_PORT|g" -e "s|@UPSTREAMS@|$upstreams|g" \
    -e "s|@UPSTREAM_PORT@|$upstream_port|g" "$template" >"$conf"
  # Each daemon its own control socket (the default one is shared).
  grep -q '^\[control\]' "$conf" ||
    printf '\n[control]\nsocket = "%s"\n' "$E2E_TMP/control-$name.sock" >>"$conf"
  BG_LOG="$E2E_TMP/vpcedns-$name.log"
  DAEMON_LOG=$BG_LOG
  start_bg "$VPCEDNS_BIN" --config "$conf"
  DAEMON_PID=$BG_PID
  wait_for 10 daemon_answers || {
    tail -n 30 "$BG_LOG"
    die "daemon $name did not answer on 127.0.0.1:$DNS_PORT"
  }
  printf -v "PORT_$name" '%s' "$DNS_PORT"
  printf -v "PID_$name" '%s' "$DAEMON_PID"
  echo "daemon $name: 127.0.0.1:$DNS_PORT upstreams [$upstreams] (log $BG_LOG)"
}

fake_answers() {
  dig @127.0.0.1 -p "$FAKE_PORT" +time=1 +tries=1 refused.fake.test 2>/dev/null |
    grep -q 'status: REFUSED'
}

start_upstream

free_port
FAKE_PORT=$FREE_PORT
FAKE_LOG="$E2E_TMP/fake-queries.log"
BG_LOG="$E2E_TMP/fake-upstream.log"
start_bg python3 "$CONF_DIR/fake_upstream.py" "$FAKE_PORT" "$FAKE_LOG"
wait_for 5 fake_answers || die "fake upstream on 127.0.0.1:$FAKE_PORT did not start"

free_port
CLOSED_PORT=$FREE_PORT

template="$CONF_DIR/vpcedns.conformance.toml.in"
start_conf_daemon A "$template" "\"127.0.0.1:$UP_PORT\""
start_conf_daemon B "$template" "\"127.0.0.1:$FAKE_PORT\""
start_conf_daemon C "$template" "\"127.0.0.1:$CLOSED_PORT\", \"127.0.0.1:$FAKE_PORT\""
start_conf_daemon D "$E2E_DIR/vpcedns.test.toml.in" "" "$CLOSED_PORT"

python3 "$CONF_DIR/conformance.py" --a "$PORT_A" --b "$PORT_B" --c "$PORT_C" --d "$PORT_D" \
  --fake-log "$FAKE_LOG" >"$E2E_TMP/conformance.out" 2>&1
suite_rc=$?
cat "$E2E_TMP/conformance.out"
suite_line=$(tail -n 1 "$E2E_TMP/conformance.out")
if [[ $suite_line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  E2E_PASSED=$((E2E_PASSED + BASH_REMATCH[1]))
  E2E_FAILED=$((E2E_FAILED + BASH_REMATCH[2]))
fi
((suite_rc == 0)) || fail "conformance.py exited with status $suite_rc"

for name in A B C D; do
  pid_var="PID_$name"
  DAEMON_PID=${!pid_var}
  DAEMON_LOG="$E2E_TMP/vpcedns-$name.log"
  expect_daemon_alive
done

# Malformed packets are counted: stop A and read its workers' totals.
kill -TERM "$PID_A"
wait "$PID_A" 2>/dev/null
counted() { grep -Eq "worker stopped .*dropped=[1-9][0-9]* formerr=[1-9]" "$E2E_TMP/vpcedns-A.log"; }
check "daemon A: dropped and FORMERR packets counted in its stop line" counted
DAEMON_LOG="$E2E_TMP/vpcedns-A.log"
finish
