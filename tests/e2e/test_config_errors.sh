# End to end: a broken config stops the daemon at startup, quickly, with a
# non-zero exit and a message naming the file and line (or, for a forwarding
# loop, saying so). Each config is the good test config with one defect.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly MAX_MS=5000

free_port
listen_port=$FREE_PORT
free_port
upstream_port=$FREE_PORT   # never contacted: every config here must be refused
good="$E2E_TMP/good.toml"
render_config "$listen_port" "$upstream_port" >"$good"

# Line number of the first line of $1 matching the fixed string $2.
line_of() { grep -nF -m1 -- "$2" "$1" | cut -d: -f1; }

# start_broken LABEL CONFIG: runs the daemon on CONFIG; sets RUN_RC, RUN_ERR
# (stdout and stderr) and RUN_MS. A daemon still running after 5 s is killed
# (status 124).
start_broken() {
  local label=$1 conf=$2
  local start
  start=$(now_ms)
  timeout -k 1 5 "$VPCEDNS_BIN" --config "$conf" >"$E2E_TMP/$label.out" 2>&1
  RUN_RC=$?
  RUN_MS=$(($(now_ms) - start))
  RUN_ERR=$(cat "$E2E_TMP/$label.out")
}

run_detail() {
  printf 'exit status %s after %s ms; output:\n%s' "$RUN_RC" "$RUN_MS" "$RUN_ERR"
}

expect_refused() {
  local label=$1
  if ((RUN_RC != 0 && RUN_RC != 124 && RUN_MS < MAX_MS)); then
    pass "$label: exits non-zero within ${MAX_MS} ms"
  else
    fail "$label: exits non-zero within ${MAX_MS} ms" "$(run_detail)"
  fi
}

# expect_names_line LABEL FILE LINE: the output holds "<file>:<line>", the file
# as given or by its base name.
expect_names_line() {
  local label=$1 where
  where="$(basename "$2"):$3"
  if grep -qF -- "$where" <<<"$RUN_ERR"; then
    pass "$label: message names $where"
  else
    fail "$label: message names $where" "$(run_detail)"
  fi
}

# broken LABEL SED-SCRIPT MARKER: the good config edited by SED-SCRIPT must be
# refused with a message naming the line that contains MARKER.
broken() {
  local label=$1 script=$2 marker=$3
  local conf="$E2E_TMP/$label.toml"
  sed -e "$script" "$good" >"$conf"
  local line
  line=$(line_of "$conf" "$marker")
  [[ -n $line ]] || die "$label: the edit did not apply ($script)"
  start_broken "$label" "$conf"
  expect_refused "$label"
  expect_names_line "$label" "$conf" "$line"
}

# The good config itself starts (and is stopped again), so the failures below
# are about the defects alone.
start_broken good "$good"
if ((RUN_RC == 124)); then
  pass "good config: daemon starts and keeps running"
else
  fail "good config: daemon starts and keeps running" "$(run_detail)"
fi

broken bad_cidr 's|"127.0.10.0/24"|"10.0.0.0/33"|' '10.0.0.0/33'

broken unknown_key 's|^attempts = 1$|attempts = 1\nbogus_key = 1|' 'bogus_key'

broken syntax_error 's|^timeout_ms = 500$|timeout_ms = = 500|' 'timeout_ms = = 500'

broken bad_eni_ip 's|ipv4 = "10.0.2.10"|ipv4 = "10.0.2.300"|' '10.0.2.300'

# An upstream that is one of our own listen addresses would forward to itself.
for upstream in "127.0.0.1:$listen_port" "[::1]:$listen_port"; do
  label="loop ${upstream}"
  # (No "loop" in the file name: the message must say it, not the path.)
  conf="$E2E_TMP/self_upstream.toml"
  sed -e "s|^upstreams = .*|upstreams = [\"$upstream\"]|" "$good" >"$conf"
  start_broken self_upstream "$conf"
  expect_refused "$label"
  expect_names_line "$label" "$conf" "$(line_of "$conf" "upstreams = ")"
  if grep -qi loop <<<"${RUN_ERR//$conf/}"; then
    pass "$label: message says loop"
  else
    fail "$label: message says loop" "$(run_detail)"
  fi
done

missing="$E2E_TMP/does-not-exist.toml"
start_broken missing "$missing"
expect_refused "missing file"
if grep -qF "does-not-exist.toml" <<<"$RUN_ERR"; then
  pass "missing file: message names the file"
else
  fail "missing file: message names the file" "$(run_detail)"
fi

finish
