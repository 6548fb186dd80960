'use strict';
// A real Linux guest in v86 (test/helpers/v86-child.mjs, in a child process
// with --liftoff-only), for test/v86.test.js and bench/v86.js. The guest
// comes from scripts/v86-guest.js. `guest.bus` stands for v86's bus on this
// side of the IPC channel (register/unregister/send, as `emulator.bus`),
// so attachV86(guest.bus, tap) joins the guest's NIC to a stack; `sh()`
// runs a command on the guest's serial console.
const { fork } = require('node:child_process');
const path = require('node:path');
const { ensureGuest } = require('../../scripts/v86-guest.js');

const CHILD = path.join(__dirname, 'v86-child.mjs');
const READY = 'TCPIP-GUEST-READY';

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
    this.console = '';
    this._waiters = [];
    this._sequence = 0;
    this._queue = Promise.resolve();
    this._exited = new Promise((resolve) => child.once('exit', resolve));
    child.on('message', (message) => {
      if (message.type === 'frames') for (const frame of message.frames) this.bus.deliver('net0-send', frame);
      else if (message.type === 'mac') {
        this.mac = message.mac;
        this.bus.deliver('net0-mac', message.mac);
      } else if (message.type === 'serial') {
        this.console += message.text;
        this._check();
      }
    });
    child.once('exit', (code, signal) => {
      for (const w of this._waiters.splice(0)) w.reject(new Error(`the v86 guest exited (${code ?? signal})\n${this.tail()}`));
    });
  }

  tail(chars = 2000) {
    return this.console.slice(-chars);
  }

  _check() {
    for (const w of [...this._waiters]) {
      const match = w.pattern.exec(this.console.slice(w.from));
      if (match) {
        this._waiters.splice(this._waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve({ match, end: w.from + match.index + match[0].length });
      }
    }
  }

  /** Resolves once the console, past `from`, matches `pattern`. */
  waitFor(pattern, ms, from = 0) {
    return new Promise((resolve, reject) => {
      const w = { pattern, from, resolve, reject };
      w.timer = setTimeout(() => {
        this._waiters.splice(this._waiters.indexOf(w), 1);
        reject(new Error(`the v86 guest did not print ${pattern} within ${ms} ms; its console ends:\n${this.tail()}`));
      }, ms);
      this._waiters.push(w);
      this._check();
    });
  }

  /**
   * Runs `command` in the guest's shell; resolves with its output and exit
   * status. Commands run one at a time, in the order given.
   */
  sh(command, { timeout = 30000 } = {}) {
    const run = async () => {
      const id = ++this._sequence;
      const from = this.console.length;
      // The marker is split in the command so that an echoed command line
      // can never match it.
      this.child.send({ type: 'serial', text: `${command}\necho "@@""${id}:$?@@"\n` });
      const { match, end } = await this.waitFor(new RegExp(`@@${id}:(\\d+)@@`), timeout, from);
      const output = this.console.slice(from, end - match[0].length).replace(/\r/g, '');
      return { output: output.trim(), status: Number(match[1]) };
    };
    const result = this._queue.then(run, run);
    this._queue = result.catch(() => {});
    return result;
  }

  /** sh(), rejecting unless the command exits 0. */
  async check(command, options) {
    const { output, status } = await this.sh(command, options);
    if (status !== 0) throw new Error(`guest: \`${command}\` exited ${status}:\n${output}`);
    return output;
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
  // Under ne2k, Linux's 8390 driver loses transmit-complete interrupts in
  // v86 (raised while the driver has the IRQ disabled, not raised again
  // when it is enabled): transmit stalls until its watchdog, and a bulk
  // upload can stall for good. irqpoll has the kernel run the handlers on
  // every timer tick, so a lost interrupt costs a tick.
  const cmdline = nic === 'ne2k' ? `${paths.cmdline} irqpoll` : paths.cmdline;
  const options = { ...paths, cmdline, nic, nicId: 'net0', relayUrl };
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
    await guest.waitFor(new RegExp(READY), timeout);
    // No prompt in the output of commands; the shell's banner goes with
    // this first one.
    await guest.check("PS1=''");
  } catch (error) {
    await guest.close();
    throw error;
  }
  return guest;
}

module.exports = { bootGuest, Guest, RemoteBus };
