'use strict';
// What the wasm backend needs from its host, in a browser (or any bundle):
// the module's bytes come embedded, as base64, from the build.
const { WASM_BASE64 } = require('../../dist/wasm/tcpip.wasm.js');

function readModuleBytes() {
  if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(WASM_BASE64);
  const text = atob(WASM_BASE64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

// Browsers refuse to compile large modules synchronously on the main thread:
// init() compiles asynchronously first.
const canCompileSynchronously = false;

// The engines' own clocks and timers, taken when this file loads (see
// wasm-host.js: fake timers installed later do not stop TCP).
const realSetTimeout = globalThis.setTimeout.bind(globalThis);
const realClearTimeout = globalThis.clearTimeout.bind(globalThis);
const realQueueMicrotask = globalThis.queueMicrotask.bind(globalThis);
const realPerformanceNow = performance.now.bind(performance);
const realDateNow = Date.now;

const now = realPerformanceNow;
const wallNow = realDateNow;

function reportError(error) {
  realQueueMicrotask(() => { throw error; });
}

// A task after pending events, without setTimeout's clamping: a message to
// ourselves through a channel. One stack's failure does not stall the
// others queued behind it.
const queue = [];
let channel = null;
function scheduleTask(fn) {
  if (!channel) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => {
      const due = queue.splice(0);
      for (const task of due) {
        try {
          task();
        } catch (error) {
          reportError(error);
        }
      }
    };
  }
  queue.push(fn);
  if (queue.length === 1) channel.port2.postMessage(0);
}

function setTimer(fn, ms) {
  return realSetTimeout(fn, ms);
}

const clearTimer = realClearTimeout;

// A page stays open by itself.
function holdOpen() {
  return () => {};
}

function captureFile() {
  const error = new Error('Packet capture to a file needs Node');
  error.code = 'ERR_TCPIP_NOT_SUPPORTED';
  throw error;
}

function writeConsole(text) {
  console.error(text.replace(/\n$/, ''));
}

module.exports = {
  readModuleBytes, canCompileSynchronously, now, wallNow, scheduleTask, setTimer, clearTimer, holdOpen, reportError,
  captureFile, writeConsole,
};
