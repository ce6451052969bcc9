# End to end: SIGHUP and `ctl reload` re-read config and zones. A good change
# is served at once; a broken config or zone is refused with file, line and
# reason (to ctl and in the log) while the old answers continue; listen
# changes wait for a restart; a new upstream list is switched to. Also
# `vpcedns check`, which validates the same files without starting.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly INSIDE=127.0.10.5
readonly OUTSIDE=127.0.20.5
readonly ZONE="$E2E_TMP/zones/corp.internal.zone"

mkdir -p "$E2E_TMP/zones"
cp "$VPCEDNS_SOURCE_DIR/zones/corp.internal.zone" "$E2E_DIR/amazonaws.com.zone" "$E2E_TMP/zones/"
start_upstream
readonly FIRST_UPSTREAM=$UP_PORT FIRST_UPSTREAM_PID=$UP_PID
start_daemon "$UP_PORT" "$E2E_DIR/vpcedns.zones.toml.in"
cp "$DAEMON_CONF" "$E2E_TMP/good.toml"

# The answers that must survive every failed reload.
expect_old_answers() {
  ask "$1: zone answer" dig -b "$INSIDE" db.corp.internal A
  expect_answer "A 10.10.5.10" "A 10.10.5.11"
  ask "$1: forwarded answer" dig -b "$OUTSIDE" www.example.test A
  expect_answer "A 198.51.100.7"
}

# Waits until the log has $1 more lines matching $2 than it had ($3).
log_count() { grep -c -- "$1" "$DAEMON_LOG"; }
wait_log() {
  local pattern=$1 before=$2
  wait_for 5 bash -c "(( \$(grep -c -- '$pattern' '$DAEMON_LOG') > $before ))"
}

# --- vpcedns check ----------------------------------------------------------

out=$("$VPCEDNS_BIN" check --config "$DAEMON_CONF" 2>&1)
check "check: good config exits 0" test $? = 0
check "check: prints the zone and its VPC" grep -q 'zone corp.internal. from=zones/corp.internal.zone' <<<"$out"
check "check: prints the endpoint" grep -q 'endpoint vpce-0a1b2c3d4e5f60718 .* private_dns=on' <<<"$out"
out=$("$VPCEDNS_BIN" check 2>&1)
check "check: the embedded default is valid" test $? = 0

# --- a good zone change, by SIGHUP ------------------------------------------

expect_old_answers "before"
printf 'new         IN A    10.10.5.99\n' >>"$ZONE"
before=$(log_count 'reloaded')
daemon_signal HUP
check "SIGHUP: log says reloaded" wait_log 'reloaded' "$before"
ask "SIGHUP: the new record" dig -b "$INSIDE" new.corp.internal A
expect_answer "A 10.10.5.99"

# --- a broken zone: refused, old data kept ----------------------------------

cp "$ZONE" "$E2E_TMP/zone.good"
printf 'broken      IN AAA  10.10.5.98\n' >>"$ZONE"
bad_line=$(wc -l <"$ZONE")
ctl reload
check "broken zone: ctl reload exits 1" test "$CTL_RC" = 1
want="zones/corp.internal.zone:$bad_line: unknown record type \"AAA\""
check "broken zone: ctl names file, line and reason" grep -qF "$want" <<<"$CTL_OUT"
check "broken zone: ctl says the old state is served" grep -q 'still serving the previous' <<<"$CTL_OUT"
check "broken zone: the log has it too" grep -qF "$want" "$DAEMON_LOG"
expect_old_answers "broken zone"
ask "broken zone: the last good zone still answers" dig -b "$INSIDE" new.corp.internal A
expect_answer "A 10.10.5.99"
cp "$E2E_TMP/zone.good" "$ZONE"

# --- a broken config: refused by ctl and by SIGHUP --------------------------

sed -i 's/^timeout_ms = .*/timeout_ms = "fast"/' "$DAEMON_CONF"
bad_line=$(grep -n '^timeout_ms' "$DAEMON_CONF" | cut -d: -f1)
ctl reload
check "broken config: ctl reload exits 1" test "$CTL_RC" = 1
check "broken config: ctl names file:line and key" \
  grep -qF "vpcedns.toml:$bad_line: forward.timeout_ms = \"fast\": expected an integer" <<<"$CTL_OUT"
before=$(log_count 'reload failed')
daemon_signal HUP
check "broken config: SIGHUP logs the failure" wait_log 'reload failed' "$before"
expect_old_answers "broken config"
expect_daemon_alive

# --- listen changes need a restart ------------------------------------------

free_port
sed -e "s/:$DNS_PORT\"/:$FREE_PORT\"/g" "$E2E_TMP/good.toml" >"$DAEMON_CONF"
ctl reload
check "listen change: reload succeeds" test "$CTL_RC" = 0
check "listen change: ctl says it is kept until a restart" \
  grep -q 'addresses changed; keeping .* until a restart' <<<"$CTL_OUT"
check "listen change: logged at warn" grep -q 'warning .*addresses changed' "$DAEMON_LOG"
expect_old_answers "listen change"

# --- a new upstream list is switched to --------------------------------------

start_upstream
sed -e "s/127.0.0.1:$FIRST_UPSTREAM\"/127.0.0.1:$UP_PORT\"/" "$E2E_TMP/good.toml" >"$DAEMON_CONF"
ctl reload
check "new upstream: reload succeeds" test "$CTL_RC" = 0
stop_bg "$FIRST_UPSTREAM_PID"
ask "new upstream: forwarded via the second upstream" dig -b "$OUTSIDE" www.example.test A
expect_answer "A 198.51.100.7"
ctl status
check "new upstream: status shows it" grep -q "upstreams=127.0.0.1:$UP_PORT " <<<"$CTL_OUT"

# --- check finds what reload refuses ----------------------------------------

printf 'outside.example.com. IN A 10.1.1.1\n' >>"$ZONE"
out=$("$VPCEDNS_BIN" check --config "$DAEMON_CONF" 2>&1)
check "check: broken zone exits 1" test $? = 1
check "check: names file, line and reason" \
  grep -qF "corp.internal.zone:$(wc -l <"$ZONE"): out-of-zone data: outside.example.com." <<<"$out"

expect_daemon_alive
finish
