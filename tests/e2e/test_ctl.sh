# End to end: `vpcedns ctl` on the control socket. private-dns off/on flips the
# answer for an inside client at once, while dig polls, without one failed
# query; status shows the state; a reload drops the runtime override.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly INSIDE=127.0.10.5
readonly SQS=sqs.us-east-1.amazonaws.com
readonly EP=vpce-0a1b2c3d4e5f60718

start_upstream
start_daemon

# --- the socket -------------------------------------------------------------

check "control socket exists with mode 0660" \
  test "$(stat -c '%F %a' "$CTL_SOCKET")" = "socket 660"

ctl status
check "status: exit 0" test "$CTL_RC" = 0
for want in "listen 127.0.0.1:$DNS_PORT" "vpc test cidrs=127.0.10.0/24,::1/128" \
  "endpoint $EP service=com.amazonaws.us-east-1.sqs vpc=test private_dns=on" \
  "upstreams=127.0.0.1:$UP_PORT health=ok" "queries total="; do
  if grep -qF "$want" <<<"$CTL_OUT"; then pass "status shows '$want'"; else
    fail "status shows '$want'" "$CTL_OUT"; fi
done

ctl private-dns vpce-00000000000000000 off
check "unknown endpoint: exit 1" test "$CTL_RC" = 1
check "unknown endpoint: says so" grep -q 'no endpoint "vpce-00000000000000000"' <<<"$CTL_OUT"

ctl frobnicate
check "unknown command: exit 1 with the list" grep -q 'expected: status | reload' <<<"$CTL_OUT"

CTL_OUT=$("$VPCEDNS_BIN" ctl --socket "$E2E_TMP/nothing.sock" status 2>&1)
check "no daemon on the socket: exit 3" test $? = 3

# --- toggling while a client polls ------------------------------------------

# Polls $SQS from inside for $1 ms, one line per query: "<status> <sorted A records>".
poll() {
  local end=$(($(now_ms) + $1)) out
  while (($(now_ms) < end)); do
    out=$(dig @127.0.0.1 -p "$DNS_PORT" -b "$INSIDE" +time=1 +tries=1 "$SQS" A 2>&1)
    printf '%s %s\n' "$(grep -m1 -o 'status: [A-Z]*' <<<"$out" | awk '{print $2}')" \
      "$(awk '/^;; ANSWER SECTION:/ {on=1; next} on && /^$/ {exit} on {print $5}' <<<"$out" |
        sort | tr '\n' ' ')"
  done
}

poll 3000 >"$E2E_TMP/poll.txt" &
poller=$!
sleep 0.8
ctl private-dns "$EP" off
off_rc=$CTL_RC off_out=$CTL_OUT
sleep 1
ctl private-dns "$EP" on
on_rc=$CTL_RC
wait "$poller"

check "ctl private-dns off: exit 0" test "$off_rc" = 0
check "ctl private-dns on: exit 0" test "$on_rc" = 0
check "ctl says it lasts until reload or restart" grep -q 'until the next reload or restart' \
  <<<"$off_out"

# private, then public, then private again; every query answered.
sequence=$(awk '
  $0 == "NOERROR 10.0.1.10 10.0.2.10 " { kind = "private" }
  $0 == "NOERROR 192.0.2.80 192.0.2.81 " { kind = "public" }
  $0 != "NOERROR 10.0.1.10 10.0.2.10 " && $0 != "NOERROR 192.0.2.80 192.0.2.81 " { kind = "FAILED" }
  kind != last { printf "%s ", kind; last = kind }' "$E2E_TMP/poll.txt")
queries=$(wc -l <"$E2E_TMP/poll.txt")
if [[ $sequence == "private public private " ]] && ((queries > 20)); then
  pass "answers flip private -> public -> private over $queries queries, none failed"
else
  fail "answers flip private -> public -> private, none failed" \
    "sequence: $sequence; $queries queries; $(sort "$E2E_TMP/poll.txt" | uniq -c)"
fi

# --- status shows the override; reload drops it -----------------------------

ctl private-dns all off
check "private-dns all off: exit 0" test "$CTL_RC" = 0
ctl status
check "status: private_dns=off, set by ctl" \
  grep -q "endpoint $EP .*private_dns=off.*(set by ctl; config says on)" <<<"$CTL_OUT"
ask "after all off" dig -b "$INSIDE" "$SQS" A
expect_answer "A 192.0.2.80" "A 192.0.2.81"

ctl reload
check "reload: exit 0" test "$CTL_RC" = 0
ask "after reload: the config's private DNS again" dig -b "$INSIDE" "$SQS" A
expect_answer "A 10.0.1.10" "A 10.0.2.10"
check "log: the toggles and the reload" \
  grep -q 'private DNS off for all' "$DAEMON_LOG"

expect_daemon_alive
finish
