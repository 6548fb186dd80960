'use strict';
// Code run in a child process, for what only a process shows: that it
// exits by itself, its warnings, its uncaught exceptions, what a command
// leaves behind. Always asynchronous: the test's own thread keeps running.
const path = require('node:path');
const { spawn } = require('node:child_process');

const ROOT = path.join(__dirname, '..', '..');

/**
 * Runs `command` with `args`; resolves { code, signal, stdout, stderr, ms }.
 * `env` is the child's whole environment, `cwd` its directory (the
 * repository root by default); the child is killed after `killAfter` ms.
 */
function runCommand(command, args, { cwd = ROOT, env = process.env, killAfter = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfter);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ code: exitCode, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/**
 * Runs `code` with `node -e` in the repository root; resolves
 * { code, signal, stdout, stderr, ms }. `env` adds variables (undefined
 * removes one), `flags` go before -e, and the child is killed after
 * `killAfter` ms.
 */
function runChild(code, { killAfter = 10000, env = {}, flags = [] } = {}) {
  const childEnv = { ...process.env };
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  return runCommand(process.execPath, [...flags, '-e', code], { env: childEnv, killAfter });
}

module.exports = { runChild, runCommand, ROOT };
