'use strict';
// A real Linux guest in v86 (test/helpers/v86-child.mjs, in a child process
// with --liftoff-only), for test/v86.test.js and bench/v86.js. The guest
// comes from scripts/v86-guest.js. `guest.bus` stands for v86's bus on this
// side of the IPC channel (register/unregister/send, as `emulator.bus`),
// so attachV86(guest.bus, tap) joins the guest's NIC to a stack; `sh()`
// runs a command on the guest's serial console (test/helpers/v86-serial.js,
// which the page of test/browser.test.js drives too).
const { fork } = require('node:child_process');
const path = require('node:path');
const { ensureGuest } = require('../../scripts/v86-guest.js');
const { guestCmdline, SerialConsole } = require('./v86-serial.js');

const CHILD = path.join(__dirname, 'v86-child.mjs');

// The host's end of v86's bus: what the NIC sends arrives on `deliver`,
// what the adapter sends goes to the child, batched per turn of the loop.
class RemoteBus {
  constructor(child, nic) {
    this._child = child;
    this._nic = nic;
    this._listeners = new Map();
    this._out = [];
    this._flushing = false;
  }

  register(name, fn, thisValue) {
    if (!this._listeners.has(name)) this._listeners.set(name, []);
    this._listeners.get(name).push({ fn, thisValue });
  }

  unregister(name, fn) {
    const list = this._listeners.get(name);
    if (list) this._listeners.set(name, list.filter((l) => l.fn !== fn));
  }

  send(name, value) {
    if (name !== `${this._nic}-receive` || !this._child.connected) return;
    this._out.push(value);
    if (!this._flushing) {
      this._flushing = true;
      setImmediate(() => {
        this._flushing = false;
        const frames = this._out;
        this._out = [];
        if (this._child.connected) this._child.send({ type: 'frames', frames });
      });
    }
  }

  deliver(name, value) {
    for (const l of this._listeners.get(name) || []) l.fn.call(l.thisValue, value);
  }
}

class Guest {
  constructor(child, nic) {
    this.child = child;
    this.nic = nic;
    this.bus = new RemoteBus(child, 'net0');
    this.mac = null;
    this.serial = new SerialConsole((text) => this.child.send({ type: 'serial', text }));
    this._exited = new Promise((resolve) => child.once('exit', resolve));
    child.on('message', (message) => {
      if (message.type === 'frames') for (const frame of message.frames) this.bus.deliver('net0-send', frame);
      else if (message.type === 'mac') {
        this.mac = message.mac;
        this.bus.deliver('net0-mac', message.mac);
      } else if (message.type === 'serial') {
        this.serial.feed(message.text);
      }
    });
    child.once('exit', (code, signal) => {
      this.serial.fail(new Error(`the v86 guest exited (${code ?? signal})\n${this.tail()}`));
    });
  }

  /** All the guest has printed on its serial console. */
  get console() {
    return this.serial.text;
  }

  tail(chars) {
    return this.serial.tail(chars);
  }

  /** Resolves once the console, past `from`, matches `pattern`. */
  waitFor(pattern, ms, from) {
    return this.serial.waitFor(pattern, ms, from);
  }

  /** Runs `command` in the guest's shell (SerialConsole.sh). */
  sh(command, options) {
    return this.serial.sh(command, options);
  }

  /** sh(), rejecting unless the command exits 0. */
  check(command, options) {
    return this.serial.check(command, options);
  }

  async close() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.send({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this._exited;
    clearTimeout(timer);
  }
}

/**
 * Boots the guest with the NIC model `nic` ('ne2k' or 'virtio') and
 * resolves once its shell is up. With `relayUrl` (ws://...), v86's own
 * relay client carries the NIC's frames instead of `guest.bus`.
 */
async function bootGuest({ nic = 'ne2k', timeout = 60000, relayUrl } = {}) {
  const paths = await ensureGuest();
  const options = { ...paths, cmdline: guestCmdline(paths.cmdline, nic), nic, nicId: 'net0', relayUrl };
  // v86's relay client needs a global WebSocket: Node 20 has it behind a flag.
  const execArgv = ['--liftoff-only'];
  if (relayUrl && typeof globalThis.WebSocket !== 'function') execArgv.push('--experimental-websocket');
  const child = fork(CHILD, [JSON.stringify(options)], {
    execArgv,
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const guest = new Guest(child, nic);
  try {
    await guest.serial.ready(timeout);
  } catch (error) {
    await guest.close();
    throw error;
  }
  return guest;
}

module.exports = { bootGuest, Guest, RemoteBus };
