# Helpers for the end-to-end tests; sourced by tests/e2e/test_*.sh.
#
# Each test gets a temp dir, a real upstream (unbound on a free loopback port),
# the daemon on another free loopback port, and a small assertion library:
#
#   ask LABEL dig|kdig [args...]     query the daemon; parses the reply into R_*
#   expect_status NOERROR            rcode
#   expect_flag aa / expect_no_flag aa
#   expect_answer "A 10.0.1.10" ...  the whole answer section (type + rdata, any order)
#   expect_ttl 60                    every answer record's TTL
#   expect_soa                       one SOA in authority, its TTL <= its MINIMUM
#   expect_qname NAME                the question section echoes NAME byte for byte
#   check LABEL CONDITION-COMMAND... any other check
#   finish                           prints "N passed, M failed", exits non-zero on failures
#
# Run a test by hand from the repo root: bash tests/e2e/test_split_horizon.sh
# (VPCEDNS_BIN defaults to build/vpcedns). E2E_KEEP=1 keeps the temp dir.
#
# Network rule: everything here talks to 127.0.0.0/8 and ::1 only. The daemon
# always gets a rendered config with explicit loopback upstreams, never its
# embedded default (which forwards to /etc/resolv.conf).

set -uo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${VPCEDNS_SOURCE_DIR:=$(cd "$E2E_DIR/../.." && pwd)}"
: "${VPCEDNS_BIN:=$VPCEDNS_SOURCE_DIR/build/vpcedns}"
# Upper bound on any process we start, in case the test itself is killed
# (ctest's timeout) before its EXIT trap can stop them.
readonly E2E_LIFETIME=240

E2E_PASSED=0
E2E_FAILED=0
E2E_PIDS=()
E2E_PORTS=()

die() {
  printf 'FATAL: %s\n' "$*"
  printf '%d passed, %d failed\n' "$E2E_PASSED" "$((E2E_FAILED + 1))"
  exit 1
}

# --- temp dir and cleanup ---------------------------------------------------

E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vpcedns-e2e.XXXXXX") || die "mktemp failed"

e2e_cleanup() {
  local pid
  for pid in "${E2E_PIDS[@]}"; do
    kill "$pid" 2>/dev/null
  done
  for pid in "${E2E_PIDS[@]}"; do
    wait "$pid" 2>/dev/null
  done
  if [[ ${E2E_KEEP:-0} == 1 ]]; then
    echo "kept $E2E_TMP"
  else
    rm -rf "$E2E_TMP"
  fi
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM

for tool in dig kdig unbound python3 timeout; do
  command -v "$tool" >/dev/null || die "$tool not found; run tools/dev.sh deps (as root)"
done

# Starts "$@" in the background under a lifetime bound; sets BG_PID.
# stdout and stderr go to the file in $BG_LOG.
start_bg() {
  timeout -k 2 "$E2E_LIFETIME" "$@" >"$BG_LOG" 2>&1 &
  BG_PID=$!
  E2E_PIDS+=("$BG_PID")
}

# Stops one process started with start_bg.
stop_bg() {
  kill "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  return 0
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# --- loopback ports ---------------------------------------------------------

# Sets FREE_PORT to a port that is free for UDP and TCP on both 127.0.0.1 and
# ::1, below the kernel's ephemeral range so no client socket takes it
# meanwhile, and not handed out before in this test.
free_port() {
  local port
  port=$(python3 - "${E2E_PORTS[@]}" <<'EOF'
import random, socket, sys
taken = {int(p) for p in sys.argv[1:]}
for _ in range(500):
    port = random.randint(20000, 32000)
    if port in taken:
        continue
    socks = []
    try:
        for family, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(family, kind)
                socks.append(s)
                s.bind((addr, port))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(port)
    sys.exit(0)
sys.exit(1)
EOF
  ) || die "no loopback port free for UDP and TCP on both 127.0.0.1 and ::1"
  E2E_PORTS+=("$port")
  FREE_PORT=$port
}

# --- the upstream: unbound as the public internet --------------------------

# Polls "$@" (a command) every 0.1 s until it succeeds or $1 seconds pass.
wait_for() {
  local seconds=$1
  shift
  local deadline=$(($(now_ms) + seconds * 1000))
  until "$@"; do
    (($(now_ms) < deadline)) || return 1
    sleep 0.1
  done
}

upstream_answers() {
  dig @127.0.0.1 -p "$UP_PORT" +time=1 +tries=1 +short www.example.test A 2>/dev/null |
    grep -qx 198.51.100.7
}

# Writes the upstream zone: upstream.zone plus big.example.test, whose answers
# do not fit in 512 bytes (40 A records; 40 TXT records of 60 bytes).
render_upstream_zone() {
  local out=$1 i
  cp "$E2E_DIR/upstream.zone" "$out"
  for i in $(seq 1 40); do
    printf 'many.big.example.test. 300 IN A 198.51.100.%d\n' "$((100 + i))"
    printf 'txt.big.example.test. 300 IN TXT "record %02d %s"\n' "$i" \
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
  done >>"$out"
}

# Starts the upstream; sets UP_PORT and UP_PID. Fails the test if it does not
# answer within 5 s.
start_upstream() {
  free_port
  UP_PORT=$FREE_PORT
  local dir="$E2E_TMP/upstream"
  mkdir -p "$dir"
  render_upstream_zone "$dir/upstream.zone"
  sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$UP_PORT|g" \
    "$E2E_DIR/upstream.unbound.conf.in" >"$dir/unbound.conf"

  BG_LOG="$dir/unbound.log"
  start_bg unbound -d -c "$dir/unbound.conf"
  UP_PID=$BG_PID
  if ! wait_for 5 upstream_answers; then
    tail -n 20 "$BG_LOG"
    die "upstream unbound on 127.0.0.1:$UP_PORT did not answer within 5 s"
  fi
  echo "upstream: unbound on 127.0.0.1:$UP_PORT (log $BG_LOG)"
}

# --- the daemon -------------------------------------------------------------

# The daemon's control socket: in the test's temp dir, never the default
# (/run/vpcedns/control.sock for root), so parallel test runs cannot collide.
CTL_SOCKET="$E2E_TMP/control.sock"

# Renders a config template (default: vpcedns.test.toml.in) to stdout, with a
# [control] socket = $CTL_SOCKET unless the template has its own [control].
render_config() {
  local listen_port=$1 upstream_port=$2
  local template=${3:-$E2E_DIR/vpcedns.test.toml.in}
  sed -e "s|@LISTEN_PORT@|$listen_port|g" -e "s|@UPSTREAM_PORT@|$upstream_port|g" \
    -e "s|@E2E_TMP@|$E2E_TMP|g" "$template"
  if ! grep -q '^\[control\]' "$template"; then
    printf '\n[control]\nsocket = "%s"\n' "$CTL_SOCKET"
  fi
}

# ctl ARGS...: runs `vpcedns ctl` against the test daemon; output in CTL_OUT
# (stdout and stderr), exit status in CTL_RC.
ctl() {
  CTL_OUT=$(timeout 20 "$VPCEDNS_BIN" ctl --socket "$CTL_SOCKET" "$@" 2>&1)
  CTL_RC=$?
}

daemon_answers() {
  # A vpce name is answered locally: no upstream involved. Any reply will do.
  dig @127.0.0.1 -p "$DNS_PORT" -b 127.0.20.5 +time=1 +tries=1 \
    vpce-0a1b2c3d4e5f60718-abcd1234.sqs.us-east-1.vpce.amazonaws.com A 2>/dev/null |
    grep -q 'status: '
}

# Starts the daemon forwarding to 127.0.0.1:$1 (default: $UP_PORT), with the
# config template $2 (default: vpcedns.test.toml.in); sets DNS_PORT,
# DAEMON_PID, DAEMON_LOG, DAEMON_CONF. Fails the test with the log's tail if
# it exits or does not answer within 5 s.
start_daemon() {
  local upstream_port=${1:-$UP_PORT} template=${2:-$E2E_DIR/vpcedns.test.toml.in}
  [[ -x $VPCEDNS_BIN ]] || die "daemon binary not found: $VPCEDNS_BIN (build first)"
  free_port
  DNS_PORT=$FREE_PORT
  DAEMON_CONF="$E2E_TMP/vpcedns.toml"
  DAEMON_LOG="$E2E_TMP/vpcedns.log"
  render_config "$DNS_PORT" "$upstream_port" "$template" >"$DAEMON_CONF"

  BG_LOG=$DAEMON_LOG
  start_bg "$VPCEDNS_BIN" --config "$DAEMON_CONF"
  DAEMON_PID=$BG_PID
  local deadline=$(($(now_ms) + 5000))
  until daemon_answers; do
    if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
      wait "$DAEMON_PID"
      local rc=$?
      tail -n 30 "$DAEMON_LOG"
      die "vpcedns exited (status $rc) before answering; config $DAEMON_CONF"
    fi
    if (($(now_ms) >= deadline)); then
      tail -n 30 "$DAEMON_LOG"
      die "vpcedns did not answer on 127.0.0.1:$DNS_PORT within 5 s"
    fi
    sleep 0.1
  done
  echo "daemon: $VPCEDNS_BIN on 127.0.0.1:$DNS_PORT and [::1]:$DNS_PORT (log $DAEMON_LOG)"
}

# daemon_signal SIG: sends SIG to the daemon itself. DAEMON_PID is the
# `timeout` wrapper, which would pass the signal on and then SIGKILL the daemon
# 2 s later (its -k), so signals must skip it.
daemon_signal() {
  local pid
  pid=$(pgrep -P "$DAEMON_PID") || die "daemon_signal: no child of $DAEMON_PID"
  kill -"$1" "$pid"
}

# Fails the test if the daemon died (e.g. crashed on a query).
expect_daemon_alive() {
  if kill -0 "$DAEMON_PID" 2>/dev/null; then
    pass "daemon: still running"
  else
    fail "daemon: still running" "$(tail -n 30 "$DAEMON_LOG")"
  fi
}

# --- assertions -------------------------------------------------------------

pass() {
  E2E_PASSED=$((E2E_PASSED + 1))
  printf 'PASS %s\n' "$1"
}

# fail LABEL [DETAIL]: DETAIL (e.g. the dig output) is printed indented.
fail() {
  E2E_FAILED=$((E2E_FAILED + 1))
  printf 'FAIL %s\n' "$1"
  if [[ -n ${2:-} ]]; then
    printf '%s\n' "$2" | sed 's/^/    | /'
  fi
}

# check LABEL COMMAND...: passes when COMMAND succeeds.
check() {
  local label=$1
  shift
  if "$@"; then pass "$label"; else fail "$label"; fi
}

# The last reply, set by ask.
R_LABEL=""
R_CMD=""
R_OUT=""
R_STATUS=""
R_FLAGS=""
R_QUESTION=""
R_ANSWER=""
R_AUTHORITY=""

# Prints the records of one section of dig/kdig output ("ANSWER", ...), one a
# line, with whitespace runs squeezed to one space.
reply_section() {
  awk -v name="$1" '
    $0 ~ "^;; " name " SECTION:" { on = 1; next }
    on && /^$/ { exit }
    on && /^;; [A-Z]+ SECTION:/ { exit }
    on && !/^;/ { $1 = $1; print }
  ' <<<"$R_OUT"
}

# ask LABEL TOOL [ARGS...]: queries the daemon (127.0.0.1:$DNS_PORT unless ARGS
# name another server with @) with dig or kdig, short timeouts, one try.
# Checks that a reply came back whose ID and question matched, then parses it.
ask() {
  R_LABEL=$1
  local tool=$2
  shift 2
  local server=(@127.0.0.1)
  local arg
  for arg in "$@"; do
    [[ $arg == @* ]] && server=()
  done
  local cmd
  case $tool in
    dig) cmd=(dig "${server[@]}" -p "$DNS_PORT" +time=2 +tries=1 "$@") ;;
    kdig) cmd=(kdig "${server[@]}" -p "$DNS_PORT" +time=2 +retry=0 "$@") ;;
    *) die "ask: unknown tool $tool" ;;
  esac
  R_CMD="${cmd[*]}"
  R_OUT=$("${cmd[@]}" 2>&1)
  local rc=$?

  R_STATUS=$(grep -m1 -o 'status: [A-Z0-9]*' <<<"$R_OUT" | awk '{print $2}')
  R_FLAGS=$(grep -m1 -i '^;; flags:' <<<"$R_OUT" | sed -E 's/^;; [Ff]lags: *//; s/;.*//')
  R_QUESTION=$(awk '/^;; QUESTION SECTION:/ { getline; sub(/^;+ */, ""); print $1; exit }' \
    <<<"$R_OUT")
  R_ANSWER=$(reply_section ANSWER)
  R_AUTHORITY=$(reply_section AUTHORITY)

  if ((rc != 0)) || [[ -z $R_STATUS ]]; then
    fail "$R_LABEL: got a reply ($tool exit status $rc)" "$(r_detail)"
  elif grep -qi 'mismatch\|unexpected source' <<<"$R_OUT"; then
    fail "$R_LABEL: reply ID, source and question match the query" "$(r_detail)"
  else
    pass "$R_LABEL: got a reply"
  fi
}

r_detail() {
  printf '$ %s\n%s' "$R_CMD" "$R_OUT"
}

# r_expect DESCRIPTION TEST-COMMAND...: a check on the last reply.
r_expect() {
  local what=$1
  shift
  if "$@"; then
    pass "$R_LABEL: $what"
  else
    fail "$R_LABEL: $what" "$(r_detail)"
  fi
}

expect_status() {
  r_expect "status $1" test "$R_STATUS" = "$1"
}

has_flag() { [[ " $R_FLAGS " == *" $1 "* ]]; }
lacks_flag() { ! has_flag "$1"; }

expect_flag() { r_expect "flag $1 set" has_flag "$1"; }
expect_no_flag() { r_expect "flag $1 not set" lacks_flag "$1"; }

# "TYPE RDATA" of every answer record, sorted, one a line.
answer_pairs() {
  awk 'NF >= 5 { rdata = $5; for (i = 6; i <= NF; i++) rdata = rdata " " $i;
                 print toupper($4) " " rdata }' <<<"$R_ANSWER" | sort
}

answer_is() {
  local want
  want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
  [[ $(answer_pairs) == "$want" ]]
}

# expect_answer ["TYPE RDATA"...]: the answer section holds exactly these
# records (no arguments: an empty answer section).
expect_answer() {
  if (($# == 0)); then
    r_expect "empty answer" answer_is
  else
    r_expect "answer is exactly {$(printf '%s, ' "$@" | sed 's/, $//')}" answer_is "$@"
  fi
}

ttls_are() {
  [[ -n $R_ANSWER ]] && awk -v ttl="$1" '$2 != ttl { bad = 1 } END { exit bad }' <<<"$R_ANSWER"
}

expect_ttl() { r_expect "answer TTL $1" ttls_are "$1"; }

# Exactly one SOA in authority, and (RFC 2308 section 5) its TTL no greater
# than its MINIMUM field, since that TTL is the negative-caching time.
soa_ok() {
  local soas
  soas=$(awk 'toupper($4) == "SOA"' <<<"$R_AUTHORITY")
  [[ $(grep -c . <<<"$soas") == 1 ]] || return 1
  awk '{ exit !($2 <= $11) }' <<<"$soas"
}

expect_soa() { r_expect "SOA in authority, TTL <= MINIMUM" soa_ok; }

expect_qname() { r_expect "question echoes '$1'" test "$R_QUESTION" = "$1"; }

# Stops every process we started, gracefully (SIGTERM, then wait), so that a
# sanitizer build writes its exit-time reports (leaks) before they are read.
stop_all() {
  local pid
  for pid in "${E2E_PIDS[@]}"; do
    kill "$pid" 2>/dev/null
  done
  for pid in "${E2E_PIDS[@]}"; do
    wait "$pid" 2>/dev/null
  done
}

# Fails the test when a daemon log holds an AddressSanitizer, LeakSanitizer or
# UndefinedBehaviorSanitizer report (tools/dev.sh test runs the e2e tests
# against such a build too).
expect_no_sanitizer_reports() {
  local logs
  logs=$(grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$E2E_TMP"/*.log \
    2>/dev/null)
  if [[ -z $logs ]]; then
    pass "daemon logs: no sanitizer reports"
  else
    fail "daemon logs: no sanitizer reports" "$(grep -h -A 30 -E \
      'ERROR: (Address|Leak)Sanitizer|runtime error:' $logs | head -n 60)"
  fi
}

# Prints the totals; exits non-zero if anything failed (or nothing ran).
finish() {
  stop_all
  expect_no_sanitizer_reports
  if ((E2E_FAILED > 0)) && [[ -n ${DAEMON_LOG:-} && -f $DAEMON_LOG ]]; then
    echo "--- last lines of the daemon log ($DAEMON_LOG)"
    tail -n 40 "$DAEMON_LOG"
    echo "---"
  fi
  printf '%d passed, %d failed\n' "$E2E_PASSED" "$E2E_FAILED"
  ((E2E_FAILED == 0 && E2E_PASSED > 0))
  exit $?
}
