'use strict';
// lib/scope.js in a browser: there is no Node `net`, `http` or `tls` to
// redirect, nor AsyncLocalStorage to carry a scope.
const errors = require('./errors.js');

function unsupported(what) {
  return () => {
    throw errors.notSupported(what);
  };
}

module.exports = {
  run: unsupported('stack.run()'),
  StackScope: unsupported('stack.scope()'),
  currentStack: () => null,
  install: unsupported('Redirecting Node modules'),
  uninstall() {},
  isInstalled: () => false,
  createDispatcher: unsupported('stack.createDispatcher()'),
  createFetch: unsupported('stack.fetch'),
  createHttpModule: unsupported('stack.http'),
  destroyBindings() {},
};
