'use strict';
// What the wasm backend needs from its host, in Node. Bundlers use
// wasm-host.browser.js instead (package.json "browser").
const fs = require('node:fs');
const path = require('node:path');

const WASM_PATH = process.env.TCPIP_WASM_PATH
  ? path.resolve(process.env.TCPIP_WASM_PATH)
  : path.join(__dirname, '..', '..', 'dist', 'wasm', 'tcpip.wasm');

/** The module's bytes, read synchronously: Node compiles any size on any thread. */
function readModuleBytes() {
  try {
    return fs.readFileSync(WASM_PATH);
  } catch (cause) {
    const error = new Error(`tcpip: the wasm module is not built (run \`npm run build:wasm\`): ${cause.message}`);
    error.code = 'ERR_TCPIP_NO_WASM';
    throw error;
  }
}

const canCompileSynchronously = true;

// Runs fn after pending I/O, as the native backend's events arrive.
const scheduleTask = setImmediate;

// A timer that does not hold the process open by itself.
function setTimer(fn, ms) {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return timer;
}

// Holds the process open while the stack has referenced handles.
function holdOpen() {
  const timer = setInterval(() => {}, 0x7fffffff);
  return () => clearInterval(timer);
}

// pcap records go to a file descriptor the backend owns from captureStart.
function captureFile(fd) {
  return {
    write(bytes) {
      let done = 0;
      while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
    },
    close() {
      fs.closeSync(fd);
    },
  };
}

function writeConsole(text) {
  process.stderr.write(text);
}

module.exports = {
  readModuleBytes, canCompileSynchronously, scheduleTask, setTimer, holdOpen, captureFile, writeConsole,
};
