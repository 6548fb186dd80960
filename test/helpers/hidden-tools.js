'use strict';
// A PATH without some tools: one directory of links to every other command
// on this PATH, the first of each name, as a lookup would find it.
const fs = require('node:fs/promises');
const path = require('node:path');

/** C/C++ compilers, linkers and make, plain, versioned or target-prefixed. */
const COMPILERS = /^(?:[\w.]+-linux-gnu-)?(?:cc|c\+\+|c89|c99|gcc|g\+\+|cpp|clang|clang\+\+|clang-cpp|make|gmake|ld|ld\.\w+|lld|wasm-ld)(?:-[\d.]+)?$/;

/** apt and its helpers: a package that installs without apt never runs them. */
const APT = /^apt(?:-get|-cache|-config)?$/;

/**
 * Fills `binDir` with links to the commands on `searchPath` whose names no
 * pattern of `hidden` matches; resolves the PATH to use: `binDir` alone.
 */
async function pathWithout(binDir, hidden, searchPath = process.env.PATH) {
  await fs.mkdir(binDir, { recursive: true });
  const linked = new Set();
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    let names;
    try {
      names = await fs.readdir(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (linked.has(name) || hidden.some((pattern) => pattern.test(name))) continue;
      const target = path.join(dir, name);
      try {
        const stat = await fs.stat(target);
        if (!stat.isFile() || (stat.mode & 0o111) === 0) continue;
      } catch {
        continue;
      }
      linked.add(name);
      await fs.symlink(target, path.join(binDir, name));
    }
  }
  return binDir;
}

module.exports = { pathWithout, COMPILERS, APT };
