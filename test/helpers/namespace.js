'use strict';
// A gateway and a kernel HTTP server inside a network namespace of their
// own (test/fixtures/namespace-gateway.js in a child under `unshare -n`),
// reached through a socket file. Everything is asynchronous: the test's
// stacks keep serving while the child starts and stops.
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { within } = require('./util.js');
const { pipeServer } = require('./pipe.js');

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'namespace-gateway.js');

let probed = null;

// Resolves the exit code of `unshare -n ...args`, or null if it cannot run.
function inNewNamespace(args) {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.LD_PRELOAD; // the sanitizer run's preload is not for ip
    const probe = spawn('unshare', ['-n', ...args], { stdio: 'ignore', env });
    const timer = setTimeout(() => probe.kill('SIGKILL'), 10000);
    probe.once('error', () => {
      clearTimeout(timer);
      resolve(null);
    });
    probe.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/**
 * Resolves null where a child may make a network namespace and configure
 * it with `ip`, else why not (said as kernel-devices says it).
 */
function namespaceMissing() {
  if (probed === null) {
    probed = (async () => {
      if (await inNewNamespace(['true']) !== 0) return 'unshare -n is not permitted here';
      if (await inNewNamespace(['ip', 'link', 'set', 'lo', 'up']) !== 0) return 'ip (iproute2) cannot configure a new namespace here';
      return null;
    })();
  }
  return probed;
}

/**
 * Starts the child; resolves once its gateway listens:
 * { url (ws+unix://), socketPath, allowed, denied, port, device, checked,
 *   served, connections, logged, metricsText(), stop() }. `served` and
 * `connections` fill as the child reports them. stop() asks the child to
 * close everything and resolves once it exited by itself; it kills it (and
 * rejects) past 10 s. Options: token, backend, thread, size (of GET /), seed.
 */
async function startNamespaceGateway({ token, backend, thread, size, seed }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpip-ns-gw-'));
  const socketPath = path.join(dir, 'gateway.sock');
  const config = { socketPath, token, backend, thread, size, seed };
  const child = spawn('unshare', ['-n', process.execPath, FIXTURE, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const state = { served: [], connections: [], logged: [], errors: [], stderr: '' };
  let ready = null;
  const readyMessage = new Promise((resolve) => { ready = resolve; });
  const exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const message = JSON.parse(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      if (message.event === 'ready') ready(message);
      else if (message.event === 'served') state.served.push(message);
      else if (message.event === 'connection') state.connections.push(message);
      else if (message.event === 'log') state.logged.push(message.message);
      else if (message.event === 'error') state.errors.push(message.message);
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => { state.stderr += chunk; });
  child.stdin.on('error', () => {});
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });

  const failed = exited.then(({ code, signal }) => {
    throw new Error(`the namespace child exited (${code ?? signal}) before it was ready: ${state.errors.join('\n')}${state.stderr}`);
  });
  let started;
  try {
    started = await within(Promise.race([readyMessage, failed]), 30000, 'the namespace gateway starting');
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    cleanup();
    throw error;
  }
  failed.catch(() => {});

  let stopped = null;
  function stop() {
    if (stopped === null) {
      stopped = (async () => {
        child.stdin.end('stop\n');
        try {
          const { code, signal } = await within(exited, 10000, 'the namespace child exiting');
          if (code !== 0) throw new Error(`the namespace child exited with ${code ?? signal}: ${state.errors.join('\n')}${state.stderr}`);
        } catch (error) {
          child.kill('SIGKILL');
          await exited;
          throw error;
        } finally {
          cleanup();
        }
      })();
    }
    return stopped;
  }

  // The gateway's own /metrics, through the socket file.
  function metricsText() {
    return within(new Promise((resolve, reject) => {
      http.get({ socketPath, path: '/metrics' }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => { text += chunk; });
        res.on('end', () => resolve(text));
        res.on('error', reject);
      }).on('error', reject);
    }), 10000, 'metrics');
  }

  return { ...started, ...state, url: `ws+unix://${socketPath}:/`, socketPath, metricsText, stop, child };
}

/**
 * A TCP port on 127.0.0.1 piped to a socket file, for what cannot open one
 * (a page's WebSocket): resolves { port, close() }.
 */
async function forwardToSocketFile(socketPath) {
  const pipe = await within(pipeServer({ port: 0, host: '127.0.0.1' }, { path: socketPath }), 10000, 'the forwarder listening');
  return { port: pipe.address.port, close: pipe.close };
}

module.exports = { namespaceMissing, startNamespaceGateway, forwardToSocketFile };
