#!/usr/bin/env bash
# Runs the Mocha suite against an AddressSanitizer + UBSan build of the addon.
# The instrumented addon is built in build-asan/ so the normal build stays.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/build-asan"
mkdir -p "$out"
cp "$root/binding.gyp" "$out/"
rm -rf "$out/src" "$out/deps"
ln -s "$root/src" "$out/src"
ln -s "$root/deps" "$out/deps"
ln -sfn "$root/node_modules" "$out/node_modules"
nodedir=$(dirname "$(dirname "$(command -v node)")")
(cd "$out" && node "$root/node_modules/node-gyp/bin/node-gyp.js" rebuild -j 2 --sanitize=1 \
  ${nodedir:+--nodedir="$nodedir"} >"$out/build.log" 2>&1) || { tail -30 "$out/build.log"; exit 1; }
asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
# Node itself is not built for LeakSanitizer; leaks are checked by the
# lifecycle tests' memory bounds instead.
# A small quarantine keeps RSS meaningful for the memory-growth tests.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1:quarantine_size_mb=4:thread_local_quarantine_size_kb=64
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TCPIP_ADDON_PATH="$out/build/Release/tcpip.node"
# The native backend only (the wasm module is not instrumented), and no
# browser: Chromium must not inherit the sanitizer preload.
export TCPIP_BACKEND=native
# Neither the wasm engine's tests (its module is not instrumented) nor the
# type check (tsc, no addon) gain from the sanitizers.
LD_PRELOAD="$asan $ubsan" node "$root/node_modules/mocha/bin/mocha.js" --ignore test/browser.test.js \
  --ignore test/wasm.test.js --ignore test/types.test.js --ignore test/v86.test.js "$@"
# Stacks on worker threads (the suite above runs them on the JS thread, the
# default): the files whose code paths differ between the two drivers.
# --no-config: the config's spec would add every file (and the browser's).
if [ "$#" -eq 0 ]; then
  TCPIP_NATIVE_THREAD=worker LD_PRELOAD="$asan $ubsan" node "$root/node_modules/mocha/bin/mocha.js" \
    --no-config --timeout 20000 --reporter spec \
    test/handoff.test.js test/native-thread.test.js test/links.test.js \
    test/backpressure.test.js test/integrity.test.js test/kernel-devices.test.js test/dgram.test.js
fi
