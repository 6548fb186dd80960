'use strict';
// Gateways on 127.0.0.1 and client stacks tunnelled to them, for the
// gateway's tests; what a test made is closed after it.
const path = require('node:path');
const { spawn } = require('node:child_process');
const WebSocket = require('ws');
const { Stack, createGateway, connectTunnel } = require('../..');
const { teardown, DEFAULT_BACKEND, DEFAULT_THREAD } = require('./stack.js');
const { within, waitFor } = require('./util.js');

const CLI = path.join(__dirname, '..', '..', 'bin', 'tcpip-gateway.js');

// A ws WebSocket class that remembers every socket it made, so that a test
// can reach under a tunnel (kill its socket, send frames of its own).
function recordingWebSocket() {
  const made = [];
  class Recording extends WebSocket {
    constructor(...args) {
      super(...args);
      made.push(this);
    }
  }
  return { Recording, made };
}

/**
 * Call inside a describe(): registers an afterEach that closes every
 * tunnel, stack and gateway made through the returned functions (and any
 * pushed to `stacks`). startGateway(options) resolves a listening gateway on
 * the default engine, its log lines in `.logged`, its URL in `.url`;
 * joinClient(gateway, backend, options) a stack whose TAP interface
 * (options.ipAddress, 'dhcp' by default; the rest are connectTunnel's)
 * joined the gateway and took a lease by DHCP: { stack, tap, tunnel, lease }.
 */
function gatewayFixture(token) {
  const gateways = [];
  const stacks = [];
  const tunnels = [];

  afterEach(async function () {
    await Promise.all(tunnels.splice(0).map((tunnel) => tunnel.close()));
    for (const stack of stacks.splice(0)) teardown(stack);
    await within(Promise.all(gateways.splice(0).map((gateway) => gateway.close())), 10000, 'gateway close');
  });

  async function startGateway(options = {}) {
    const logged = [];
    const gateway = createGateway({
      port: 0,
      host: '127.0.0.1',
      token,
      backend: DEFAULT_BACKEND,
      thread: DEFAULT_BACKEND === 'native' ? DEFAULT_THREAD : undefined,
      log: (message) => logged.push(message),
      ...options,
    });
    gateways.push(gateway);
    await within(new Promise((resolve, reject) => {
      gateway.once('listening', resolve);
      gateway.once('error', reject);
    }), 10000, 'gateway listening');
    gateway.logged = logged;
    gateway.url = `ws://127.0.0.1:${gateway.address().port}/`;
    return gateway;
  }

  async function joinClient(gateway, backend = DEFAULT_BACKEND, options = {}) {
    const { ipAddress = 'dhcp', ...tunnelOptions } = options;
    const stack = new Stack({ backend });
    stacks.push(stack);
    const tap = stack.createTapInterface({ ipAddress });
    const tunnel = await within(connectTunnel(tap, gateway.url, { token, ...tunnelOptions }), 10000, 'tunnel open');
    tunnels.push(tunnel);
    const lease = await within(tap.dhcp(), 10000, 'DHCP lease');
    return { stack, tap, tunnel, lease };
  }

  return { startGateway, joinClient, stacks };
}

/**
 * Runs `npx tcpip-gateway args...` until it says where it listens, then
 * calls `use(port)`; afterwards sends SIGTERM and resolves the command's
 * { code, signal, stdout }. The command is killed if `use` throws.
 */
async function withGatewayCommand(args, use) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  try {
    await waitFor(() => /listening on ws:\/\/127\.0\.0\.1:\d+\//.test(stdout), 10000, 'the command listening');
    await use(Number(/ws:\/\/127\.0\.0\.1:(\d+)\//.exec(stdout)[1]));
    child.kill('SIGTERM');
    const { code, signal } = await within(exited, 10000, 'the command exiting');
    return { code, signal, stdout };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

module.exports = { recordingWebSocket, gatewayFixture, withGatewayCommand, CLI };
