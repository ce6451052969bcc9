#!/usr/bin/env bash
# Builds vpcedns (Release) and runs the shared peer benchmark with vpcedns as
# one more column (see bench/README.md). Needs root (the harness uses unshare).
#
#   bench/run.sh                                  full run, all peers (~6-8 min)
#   bench/run.sh --quick --peers "unbound dnsdist"  smoke test (< 1 min)
#
# Extra arguments go to run-peers.sh. HARNESS=/path/to/run-peers.sh overrides
# where the harness is (default: /work/shared/bench/run-peers.sh).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
harness=${HARNESS:-/work/shared/bench/run-peers.sh}
build="$repo/build-release"
port=15100  # the product's port; run-peers.sh wants 15000-15199

readonly PACKAGES=(unbound dnsdist dnsmasq-base knot-resolver pdns-recursor bind9 dnsperf
                   bind9-dnsutils nsd gcc python3)

[[ $EUID -eq 0 ]] || { echo "run.sh: run as root (the harness needs unshare)" >&2; exit 2; }
[[ -x $harness ]] || { echo "run.sh: harness not found: $harness" >&2; exit 2; }

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "run.sh: installing ${missing[*]}" >&2
  apt-get install -y --no-install-recommends "${missing[@]}"
  # Debian starts the packaged servers; the harness runs its own copies.
  for svc in unbound dnsdist named bind9 pdns-recursor kresd@1 nsd dnsmasq; do
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  done
fi

cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DVPCEDNS_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target vpcedns

cd "$(dirname "$harness")"
exec "$harness" --product "$build/vpcedns --config {config}" "$port" \
  --product-config "$repo/bench/vpcedns.toml.in" "$@"
