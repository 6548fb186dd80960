// A v86 emulator in a child process of its own (test/helpers/v86.js forks
// it with V8's --liftoff-only: v86 JIT-compiles many small wasm modules,
// and tiering them up would take the second core from the stack). Its NIC's
// bus events and its serial port cross the IPC channel; frames go in
// batches, one message per turn of the event loop.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const v86Dir = path.dirname(require.resolve('v86/package.json'));
const { V86 } = await import(path.join(v86Dir, 'build', 'libv86.mjs'));
const { emulatorOptions } = require('./v86-serial.js');

const options = JSON.parse(process.argv[2]);
const file = (name) => {
  const bytes = fs.readFileSync(name);
  return { buffer: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) };
};

const emulator = new V86(emulatorOptions({
  wasmPath: path.join(v86Dir, 'build', 'v86.wasm'),
  bios: file(options.bios),
  vgaBios: file(options.vgaBios),
  bzimage: file(options.bzimage),
  initrd: file(options.initrd),
  cmdline: options.cmdline,
  nic: options.nic,
  // With a relay, nothing crosses the IPC channel.
  relayUrl: options.relayUrl,
}));

let frames = [];
let serial = '';
let flushing = false;
function flush() {
  flushing = false;
  if (frames.length) process.send({ type: 'frames', frames });
  if (serial) process.send({ type: 'serial', text: serial });
  frames = [];
  serial = '';
}
function schedule() {
  if (!flushing) {
    flushing = true;
    setImmediate(flush);
  }
}

const nic = options.nicId;
// A view into NIC memory that the NIC reuses: copied before it waits.
emulator.add_listener(`${nic}-send`, (data) => {
  frames.push(new Uint8Array(data));
  schedule();
});
emulator.add_listener(`${nic}-mac`, (mac) => process.send({ type: 'mac', mac }));
emulator.add_listener('serial0-output-byte', (byte) => {
  serial += String.fromCharCode(byte);
  schedule();
});

process.on('message', async (message) => {
  switch (message.type) {
    case 'frames':
      for (const frame of message.frames) emulator.bus.send(`${nic}-receive`, frame);
      break;
    case 'serial':
      emulator.serial0_send(message.text);
      break;
    case 'stop':
      await emulator.destroy();
      process.exit(0);
      break;
    default:
      break;
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'started' });
