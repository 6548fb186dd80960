'use strict';
// What drives the v86 test guest (scripts/v86-guest.js) wherever v86 runs:
// in a child process of Node (test/helpers/v86.js) or in a page
// (test/fixtures/browser/v86-page.js). The emulator's options, the kernel's
// command line per NIC model, and the serial console: a shell whose
// commands run one at a time and report their exit status. No Node module
// here: webpack bundles this file into the page.

/** What the guest's /init prints once its shell is about to start. */
const READY = 'TCPIP-GUEST-READY';

/**
 * The kernel command line for `nic`. Under ne2k, Linux's 8390 driver loses
 * transmit-complete interrupts in v86 (raised while the driver has the IRQ
 * disabled, not raised again when it is enabled): transmit stalls until
 * its watchdog, and a bulk upload can stall for good. irqpoll has the
 * kernel run the handlers on every timer tick, so a lost interrupt costs a
 * tick.
 * @param {string} cmdline the guest's own (guestPaths().cmdline)
 * @param {'ne2k' | 'virtio'} nic
 */
function guestCmdline(cmdline, nic) {
  return nic === 'ne2k' ? `${cmdline} irqpoll` : cmdline;
}

/**
 * The V86 constructor's options for the guest. The files are in v86's own
 * form: `{ buffer }` in Node, `{ url }` in a page.
 * @param {{ wasmPath: string, bios: object, vgaBios: object, bzimage: object,
 *   initrd: object, cmdline: string, nic: 'ne2k' | 'virtio', relayUrl?: string }} guest
 */
function emulatorOptions({ wasmPath, bios, vgaBios, bzimage, initrd, cmdline, nic, relayUrl }) {
  return {
    wasm_path: wasmPath,
    bios,
    vga_bios: vgaBios,
    bzimage,
    initrd,
    cmdline,
    // The initrd is loaded at the 64 MiB mark: more than that, or no initrd.
    memory_size: 128 * 1024 * 1024,
    vga_memory_size: 2 * 1024 * 1024,
    // With a relay, v86's own network adapter (its websockproxy client)
    // carries the frames.
    net_device: relayUrl ? { type: nic, relay_url: relayUrl } : { type: nic },
    preserve_mac_from_state_image: true,
    autostart: true,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
    log_level: 0,
  };
}

/**
 * The guest's serial console: `feed()` takes what the guest printed,
 * `write` sends text to its shell.
 */
class SerialConsole {
  /** @param {(text: string) => void} write */
  constructor(write) {
    this._write = write;
    this.text = '';
    this._waiters = [];
    this._sequence = 0;
    this._queue = Promise.resolve();
    this._failure = null;
  }

  feed(text) {
    this.text += text;
    this._check();
  }

  /** Rejects every wait, now and later, with `error` (the guest is gone). */
  fail(error) {
    this._failure = error;
    for (const w of this._waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(error);
    }
  }

  tail(chars = 2000) {
    return this.text.slice(-chars);
  }

  _check() {
    for (const w of [...this._waiters]) {
      const match = w.pattern.exec(this.text.slice(w.from));
      if (match) {
        this._waiters.splice(this._waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve({ match, end: w.from + match.index + match[0].length });
      }
    }
  }

  /** Resolves once the console, past `from`, matches `pattern`. */
  waitFor(pattern, ms, from = 0) {
    if (this._failure) return Promise.reject(this._failure);
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
      const from = this.text.length;
      // The marker is split in the command so that an echoed command line
      // can never match it.
      this._write(`${command}\necho "@@""${id}:$?@@"\n`);
      const { match, end } = await this.waitFor(new RegExp(`@@${id}:(\\d+)@@`), timeout, from);
      const output = this.text.slice(from, end - match[0].length).replace(/\r/g, '');
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

  /** Resolves once the guest's shell is up and prints no prompt. */
  async ready(timeout) {
    await this.waitFor(new RegExp(READY), timeout);
    // No prompt in the output of commands; the shell's banner goes with
    // this first one.
    await this.check("PS1=''");
  }
}

module.exports = { READY, guestCmdline, emulatorOptions, SerialConsole };
