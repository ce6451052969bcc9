#!/usr/bin/env bash
# Developer entry point for vpcedns on Debian 12 (run as root, or with the
# packages already installed):
#
#   tools/dev.sh run [-- daemon args]   install build deps, build, run in the foreground
#   tools/dev.sh test [ctest args]      install build + test deps, build, run every test
#   tools/dev.sh build                  install build deps and build only
#   tools/dev.sh deps                   install build + test deps only
#
# Works from any directory; the build goes to <repo>/build.
set -euo pipefail

readonly BUILD_DEPS=(build-essential cmake pkg-config libc-ares-dev libldns-dev
                     libboost-dev libspdlog-dev libtoml11-dev doctest-dev)
# dig, kdig, drill, a real upstream (unbound), ss, and python3 for the e2e helpers.
readonly TEST_DEPS=(bind9-dnsutils knot-dnsutils ldnsutils unbound iproute2 python3)

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly repo_root
readonly build_dir="$repo_root/build"

say() { printf 'dev.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

usage() {
  sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
  exit "${1:-2}"
}

# Prints the packages among "$@" that dpkg does not report as installed.
missing_packages() {
  local pkg status
  for pkg in "$@"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ $status == installed ]] || printf '%s\n' "$pkg"
  done
}

# Debian starts (and enables) a system unbound on port 53 when the package is
# installed. The tests run their own unbound on private loopback ports and never
# use it, and a dev host should not silently get a new resolver: stop it again.
stop_system_unbound() {
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    systemctl disable --now unbound.service unbound-resolvconf.service >/dev/null 2>&1 || true
  elif [[ -x /etc/init.d/unbound ]]; then
    invoke-rc.d unbound stop >/dev/null 2>&1 || true
  fi
  say "stopped the system unbound service that the unbound package starts; tests do not use it"
}

# Installs whatever of "$@" is missing. Fast and offline when nothing is.
ensure_packages() {
  local missing
  mapfile -t missing < <(missing_packages "$@")
  ((${#missing[@]} == 0)) && return 0

  if [[ $(id -u) -ne 0 ]]; then
    die "missing Debian packages: ${missing[*]}; run as root or: apt-get install ${missing[*]}"
  fi
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get"

  say "installing ${missing[*]}"
  local log
  log=$(mktemp)
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get update -qq >"$log" 2>&1 ||
     ! apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 \
         "${missing[@]}" >>"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    die "apt-get failed (output above)"
  fi
  rm -f "$log"

  local pkg
  for pkg in "${missing[@]}"; do
    [[ $pkg == unbound ]] && stop_system_unbound
  done
  return 0
}

build() {
  ensure_packages "${BUILD_DEPS[@]}"
  cd "$repo_root"
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ||
    die "cmake configure failed"
  cmake --build "$build_dir" -j"$(nproc)" || die "build failed"
}

cmd_run() {
  [[ ${1:-} == -- ]] && shift
  build
  say "starting $build_dir/vpcedns $*"
  exec "$build_dir/vpcedns" "$@"
}

cmd_test() {
  ensure_packages "${BUILD_DEPS[@]}" "${TEST_DEPS[@]}"
  build
  cd "$repo_root"
  ctest --test-dir "$build_dir" --output-on-failure "$@"
}

main() {
  local cmd=${1:-}
  (($#)) && shift
  case $cmd in
    run) cmd_run "$@" ;;
    test) cmd_test "$@" ;;
    build) build ;;
    deps) ensure_packages "${BUILD_DEPS[@]}" "${TEST_DEPS[@]}" ;;
    -h | --help | help) usage 0 ;;
    *) usage ;;
  esac
}

main "$@"
