'use strict';
// Code run in a child Node process, for what only a process shows: that it
// exits by itself, its warnings, its uncaught exceptions.
const path = require('node:path');
const { spawn } = require('node:child_process');

const ROOT = path.join(__dirname, '..', '..');

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
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [...flags, '-e', code], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfter);
    child.once('error', reject);
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ code: exitCode, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

module.exports = { runChild, ROOT };
