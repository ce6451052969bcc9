#!/usr/bin/env bash
# Developer entry point for vpcedns on Debian 12 (run as root, or with the
# packages already installed):
#
#   tools/dev.sh run [-- daemon args]   install build deps, build, run in the foreground
#   tools/dev.sh test [ctest args]      install build + test deps, build, run every test; then
#                                       the e2e suite against an ASan+UBSan build (build-asan)
#                                       and the libFuzzer target for FUZZ_SECONDS (default 60)
#   tools/dev.sh build                  install build deps and build only
#   tools/dev.sh deps                   install build + test deps only
#
# Works from any directory; the build goes to <repo>/build.
set -euo pipefail

readonly BUILD_DEPS=(build-essential cmake pkg-config libc-ares-dev libldns-dev
                     libboost-dev libspdlog-dev libtoml11-dev doctest-dev)
# dig, kdig, drill, a real upstream (unbound), ss, python3 for the e2e helpers and the
# conformance suite, clang with its runtime libraries for libFuzzer, and pgrep
# (procps) to signal the daemon under its timeout wrapper.
readonly TEST_DEPS=(bind9-dnsutils knot-dnsutils ldnsutils unbound iproute2 python3
                    clang-14 libclang-rt-14-dev procps)

caller_dir=$PWD
readonly caller_dir
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly repo_root
readonly build_dir="$repo_root/build"
readonly asan_dir="$repo_root/build-asan"
readonly fuzz_dir="$repo_root/build-fuzz"

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
  # Back to the caller's directory, so a relative --config path means what they typed.
  cd "$caller_dir"
  exec "$build_dir/vpcedns" "$@"
}

# The end-to-end tests (conformance suite included) against the daemon built
# with AddressSanitizer and UndefinedBehaviorSanitizer: any report fails them.
sanitizer_test() {
  say "building the daemon with ASan+UBSan in $asan_dir"
  # Debug (-O0): the quickest to compile; the suite is not about speed.
  cmake -S "$repo_root" -B "$asan_dir" -DCMAKE_BUILD_TYPE=Debug \
    -DVPCEDNS_SANITIZE=ON >/dev/null || die "cmake configure (sanitizers) failed"
  cmake --build "$asan_dir" -j"$(nproc)" --target vpcedns || die "sanitizer build failed"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --test-dir "$asan_dir" --output-on-failure -R '^e2e\.'
}

# The libFuzzer target over the packet parser, decision core and relay, for
# FUZZ_SECONDS (default 60). Crashing inputs land in $fuzz_dir/artifacts/.
fuzz_test() {
  local seconds=${FUZZ_SECONDS:-60}
  say "building the libFuzzer target in $fuzz_dir"
  CXX=clang++-14 cmake -S "$repo_root" -B "$fuzz_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DVPCEDNS_FUZZ=ON -DVPCEDNS_TESTS=OFF >/dev/null || die "cmake configure (fuzz) failed"
  cmake --build "$fuzz_dir" -j"$(nproc)" --target fuzz_handler || die "fuzz build failed"
  local work="$fuzz_dir/corpus"
  mkdir -p "$work" "$fuzz_dir/artifacts"
  say "fuzzing for ${seconds}s (seeds: tests/fuzz/corpus)"
  "$fuzz_dir/tests/fuzz/fuzz_handler" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$fuzz_dir/artifacts/" \
    "$work" "$repo_root/tests/fuzz/corpus" || die "fuzzing found a problem (input above)"
}

cmd_test() {
  ensure_packages "${BUILD_DEPS[@]}" "${TEST_DEPS[@]}"
  build
  cd "$repo_root"
  ctest --test-dir "$build_dir" --output-on-failure "$@"
  [[ ${SKIP_SANITIZERS:-0} == 1 ]] || sanitizer_test
  [[ ${SKIP_FUZZ:-0} == 1 ]] || fuzz_test
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
