#!/usr/bin/env bash
# Project setup: installs, if missing, what the build and the tests need on a
# Debian 12 machine (Node and npm are expected to be there already).
#
#   clang, lld (wasm-ld), wasi-libc, compiler-rt wasm32 builtins  -> build:wasm
#   compiler-rt (libFuzzer, ASan, UBSan)                           -> fuzz
#   binaryen (wasm-opt; optional, the module is 15% smaller)       -> build:wasm
#   build-essential, python3                                       -> node-gyp addon
#   patch, xz-utils                                                -> deps/fetch.js
#   iproute2, iputils-ping, curl                                   -> kernel device tests
#   tshark                                                         -> capture tests
#   wrk                                                            -> bench/kernel-tap.js
#   chromium                                                       -> test/browser.test.js
#                                 (driven by playwright-core, which downloads no browser)
#   clang-format-14 (the version the style is tuned for)           -> format, format:check
#   dnsutils (dig, querying the DNS server over UDP and TCP)       -> test/dns.test.js
#   dnsmasq-base, busybox (udhcpc): a DHCP server and client       -> test/dhcp.test.js
#   (then scripts/v86-guest.js: Debian i386 packages, a private apt state -> test/v86.test.js, browser.test.js)
#
# Idempotent: apt-get runs only when a package is actually missing, so a
# second run is a few dpkg queries. Safe to run as non-root when nothing is
# missing; when something is, it needs root (or sudo).
set -euo pipefail

log() { printf 'setup: %s\n' "$*"; }

installed() {
  # "install ok installed" only; a removed package with config files is not installed.
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

missing=()
want() {
  local pkg
  for pkg in "$@"; do
    installed "$pkg" || missing+=("$pkg")
  done
}

want build-essential python3 iproute2 iputils-ping curl patch xz-utils clang lld wasi-libc binaryen tshark wrk chromium \
  clang-format-14 dnsutils
# DHCP tests (test/dhcp.test.js): dnsmasq as a real DHCP and DNS server for a
# stack, busybox's udhcpc as the kernel's DHCP client of the stack's server.
# dnsmasq-base is the program without the system service.
want dnsmasq-base busybox

# clang needs compiler-rt's wasm32 builtins (libclang_rt.builtins-wasm32.a) to
# link for wasm32-wasi. Debian ships it per LLVM version: take the one matching
# the clang we have, or the default one if clang comes in this same run.
if command -v clang >/dev/null 2>&1 && installed clang; then
  clang_major="$(clang -dumpversion | cut -d. -f1)"
  rt="$(clang -print-resource-dir)/lib/wasi/libclang_rt.builtins-wasm32.a"
  if [ ! -f "$rt" ]; then
    missing+=("libclang-rt-${clang_major}-dev-wasm32")
  fi
  # libFuzzer and the sanitizer runtimes, for npm run fuzz
  fuzzer="$(clang -print-resource-dir)/lib/linux/libclang_rt.fuzzer-x86_64.a"
  if [ "$(uname -m)" = x86_64 ] && [ ! -f "$fuzzer" ]; then
    missing+=("libclang-rt-${clang_major}-dev")
  fi
else
  want libclang-rt-dev-wasm32 libclang-rt-dev
fi

if [ "${#missing[@]}" -eq 0 ]; then
  log "nothing to install"
else
  log "installing: ${missing[*]}"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      log "error: missing packages and not root (no sudo): ${missing[*]}" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  log "installed: ${missing[*]}"
fi

for tool in node npm; do
  command -v "$tool" >/dev/null 2>&1 || log "warning: $tool not found (Node 18+ is expected on the machine)" >&2
done

# The Linux guest of test/v86.test.js, the v86 page of test/browser.test.js
# and bench/v86.js (an i386 kernel, a busybox initramfs with the NIC modules,
# SeaBIOS): fetched with apt-get into a private state under
# ~/.cache/tcpip/v86, the machine's apt config untouched.
if command -v node >/dev/null 2>&1; then
  node "$(dirname "$0")/v86-guest.js" || log "warning: the v86 guest could not be fetched; test/v86.test.js and the v86 page of test/browser.test.js will fail" >&2
fi
