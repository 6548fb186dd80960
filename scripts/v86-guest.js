#!/usr/bin/env node
'use strict';
// The Linux guest of test/v86.test.js and bench/v86.js, made from Debian
// packages: an i386 kernel (linux-image-686), an initramfs of
// busybox-static and the NIC modules (ne2k-pci, virtio_net and what they
// depend on), SeaBIOS and the VGA BIOS (the v86 npm package ships no BIOS).
//
// The packages come with apt-get, but with a private state, lists and
// cache (an i386 view of the machine's own sources): the machine's apt
// configuration and its installed packages are left alone. Everything is
// cached under $TCPIP_V86_CACHE, else $XDG_CACHE_HOME/tcpip/v86, else
// ~/.cache/tcpip/v86; a second run finds the guest there and does nothing.
//
//   node scripts/v86-guest.js            fetch and build if missing, print the paths
//   node scripts/v86-guest.js --force    fetch and build again
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { promisify } = require('node:util');

const run = promisify(execFile);

// The guest's layout version: bump it when /init or the module list changes.
const LAYOUT = 5;
const PACKAGES = ['busybox-static', 'seabios', 'vgabios'];
// The NIC drivers; their dependencies come from the modules' own .modinfo.
const NIC_MODULES = ['ne2k-pci', 'virtio_net', 'virtio_pci'];
const CMDLINE = 'console=ttyS0 rdinit=/init quiet loglevel=3 cryptomgr.notests noisapnp tsc=reliable mitigations=off random.trust_cpu=on';

function cacheDir() {
  if (process.env.TCPIP_V86_CACHE) return process.env.TCPIP_V86_CACHE;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'tcpip', 'v86');
}

function guestPaths(dir = cacheDir()) {
  return {
    dir,
    bzimage: path.join(dir, 'bzImage'),
    initrd: path.join(dir, 'initrd.gz'),
    bios: path.join(dir, 'seabios.bin'),
    vgaBios: path.join(dir, 'vgabios.bin'),
    stamp: path.join(dir, 'guest.json'),
    cmdline: CMDLINE,
  };
}

function aptOptions(dir) {
  const state = path.join(dir, 'apt');
  return [
    '-o', 'APT::Architecture=i386',
    '-o', 'APT::Architectures::=i386',
    '-o', `Dir::State=${state}`,
    '-o', `Dir::State::Lists=${path.join(state, 'lists')}`,
    '-o', `Dir::State::status=${path.join(state, 'status')}`,
    '-o', `Dir::Cache=${path.join(state, 'cache')}`,
    '-o', 'Debug::NoLocking=1',
    // As root apt drops to _apt to download, which cannot write a private
    // directory under root's home.
    '-o', 'APT::Sandbox::User=root',
    '-qq',
  ];
}

async function apt(dir, command, args, cwd) {
  const tool = command === 'depends' ? 'apt-cache' : 'apt-get';
  const { stdout } = await run(tool, [...aptOptions(dir), command, ...args], { cwd, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

// The .modinfo section is NUL-separated key=value strings; "depends=" lists
// the modules this one needs, comma-separated.
function moduleDepends(file) {
  const text = fs.readFileSync(file).toString('latin1');
  const match = /\0depends=([^\0]*)\0/.exec(text);
  return match && match[1] ? match[1].split(',') : [];
}

function findModules(root) {
  const found = new Map();
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ko')) found.set(entry.name.slice(0, -3).replace(/-/g, '_'), full);
    }
  };
  walk(root);
  return found;
}

// The modules to load, each after those it depends on.
function moduleOrder(all, wanted) {
  const order = [];
  const seen = new Set();
  const visit = (name) => {
    const key = name.replace(/-/g, '_');
    if (seen.has(key)) return;
    seen.add(key);
    const file = all.get(key);
    if (!file) throw new Error(`v86 guest: the kernel package has no module ${name}`);
    for (const dep of moduleDepends(file)) visit(dep);
    order.push({ name: key, file });
  };
  for (const name of wanted) visit(name);
  return order;
}

// A cpio archive in the "newc" format the kernel unpacks as its initramfs.
function cpio(entries) {
  const chunks = [];
  let ino = 1;
  const pad = (n) => (4 - (n % 4)) % 4;
  const hex = (n) => n.toString(16).padStart(8, '0');
  const push = ({ name, mode, data = Buffer.alloc(0), rdev = [0, 0] }) => {
    const nameBytes = Buffer.from(`${name}\0`);
    const header = `070701${hex(ino++)}${hex(mode)}${hex(0)}${hex(0)}${hex(1)}${hex(0)}${hex(data.length)}`
      + `${hex(0)}${hex(0)}${hex(rdev[0])}${hex(rdev[1])}${hex(nameBytes.length)}${hex(0)}`;
    chunks.push(Buffer.from(header), nameBytes, Buffer.alloc(pad(110 + nameBytes.length)), data, Buffer.alloc(pad(data.length)));
  };
  for (const entry of entries) push(entry);
  push({ name: 'TRAILER!!!', mode: 0 });
  return Buffer.concat(chunks);
}

// busybox udhcpc leaves configuring the interface to a script; this one
// takes the address, the router and the DNS servers of the lease.
const UDHCPC_SCRIPT = `#!/bin/sh
case "$1" in
  deconfig) ip -4 addr flush dev "$interface" ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/\${mask:-24}" dev "$interface"
    for r in $router; do ip route add default via "$r" dev "$interface"; break; done
    : > /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
    echo "LEASE $ip/\${mask:-24} router=$router dns=$dns" > /tmp/lease
    ;;
esac
`;

function initScript(modules) {
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /tmp /www /var/run
# Both NIC models' drivers: the one without hardware stays unbound.
${modules.map((m) => `insmod /lib/modules/${m.name}.ko 2>/dev/null`).join('\n')}
ip link set lo up
for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /sys/class/net/eth0 ] && break; sleep 0.2; done
ip link set eth0 up
echo 'hosts: files dns' > /etc/nsswitch.conf
stty -echo -F /dev/ttyS0 2>/dev/null
echo TCPIP-GUEST-READY
# The shell is not init: init must never exit (the kernel panics).
while :; do
  setsid sh -c 'exec sh </dev/ttyS0 >/dev/ttyS0 2>&1'
  echo "TCPIP-GUEST-SHELL-EXITED $?"
done
`;
}

async function build(dir, log) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpip-v86-'));
  try {
    const state = path.join(dir, 'apt');
    for (const sub of ['lists/partial', 'cache/archives/partial']) fs.mkdirSync(path.join(state, sub), { recursive: true });
    if (!fs.existsSync(path.join(state, 'status'))) fs.writeFileSync(path.join(state, 'status'), '');
    log('apt-get update (i386, a private state; the machine\'s apt is not changed)');
    await apt(dir, 'update', []);
    const depends = await apt(dir, 'depends', ['linux-image-686']);
    const kernelPackage = (/Depends: (linux-image-[0-9][^\s]*)/.exec(depends) || [])[1];
    if (!kernelPackage) throw new Error(`v86 guest: linux-image-686 names no kernel package:\n${depends}`);
    log(`apt-get download ${kernelPackage} ${PACKAGES.join(' ')}`);
    const debs = path.join(work, 'debs');
    fs.mkdirSync(debs);
    await apt(dir, 'download', [kernelPackage, ...PACKAGES], debs);
    const root = path.join(work, 'root');
    for (const deb of fs.readdirSync(debs)) await run('dpkg-deb', ['-x', path.join(debs, deb), root]);

    const paths = guestPaths(dir);
    const boot = path.join(root, 'boot');
    const vmlinuz = fs.readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
    const release = vmlinuz.slice('vmlinuz-'.length);
    const modules = moduleOrder(findModules(path.join(root, 'lib', 'modules', release)), NIC_MODULES);
    const dirs = ['bin', 'dev', 'etc', 'lib', 'lib/modules', 'proc', 'sys', 'tmp', 'www', 'var', 'var/run'];
    const entries = [
      ...dirs.map((name) => ({ name, mode: 0o040755 })),
      // The kernel opens /dev/console before /init mounts devtmpfs.
      { name: 'dev/console', mode: 0o020600, rdev: [5, 1] },
      { name: 'bin/busybox', mode: 0o100755, data: fs.readFileSync(path.join(root, 'bin', 'busybox')) },
      { name: 'init', mode: 0o100755, data: Buffer.from(initScript(modules)) },
      { name: 'etc/hosts', mode: 0o100644, data: Buffer.from('127.0.0.1 localhost\n') },
      { name: 'etc/udhcpc.script', mode: 0o100755, data: Buffer.from(UDHCPC_SCRIPT) },
      ...modules.map((m) => ({ name: `lib/modules/${m.name}.ko`, mode: 0o100644, data: fs.readFileSync(m.file) })),
    ];
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(paths.initrd, zlib.gzipSync(cpio(entries), { level: 9 }));
    fs.copyFileSync(path.join(boot, vmlinuz), paths.bzimage);
    fs.copyFileSync(path.join(root, 'usr', 'share', 'seabios', 'bios.bin'), paths.bios);
    fs.copyFileSync(path.join(root, 'usr', 'share', 'vgabios', 'vgabios.bin'), paths.vgaBios);
    const stamp = { layout: LAYOUT, kernel: release, modules: modules.map((m) => m.name), cmdline: CMDLINE };
    fs.writeFileSync(paths.stamp, `${JSON.stringify(stamp, null, 2)}\n`);
    log(`built: kernel ${release}, modules ${stamp.modules.join(' ')}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function isBuilt(paths) {
  try {
    const stamp = JSON.parse(fs.readFileSync(paths.stamp, 'utf8'));
    return stamp.layout === LAYOUT && [paths.bzimage, paths.initrd, paths.bios, paths.vgaBios].every((f) => fs.existsSync(f));
  } catch {
    return false;
  }
}

/**
 * The guest's files, fetched and built first if the cache lacks them.
 * Rejects with a message that says what to do when they cannot be fetched.
 * @param {{ force?: boolean, log?: (line: string) => void }} [options]
 */
async function ensureGuest({ force = false, log = () => {} } = {}) {
  const paths = guestPaths();
  if (!force && isBuilt(paths)) return paths;
  try {
    await build(paths.dir, log);
  } catch (error) {
    const detail = (error.stderr || error.message || String(error)).trim();
    throw new Error(`The v86 test guest could not be fetched or built into ${paths.dir} (it needs apt-get and `
      + `dpkg-deb, and Debian's i386 packages reachable; run \`node scripts/v86-guest.js\`):\n${detail}`, { cause: error });
  }
  return paths;
}

module.exports = { ensureGuest, guestPaths, cpio, CMDLINE };

if (require.main === module) {
  ensureGuest({ force: process.argv.includes('--force'), log: (line) => console.log(`v86-guest: ${line}`) })
    .then((paths) => console.log(`v86-guest: ready in ${paths.dir}`))
    .catch((error) => {
      console.error(error.message);
      process.exitCode = 1;
    });
}
