'use strict';
// Bundles have no HTTP server to listen with: a gateway runs in Node.
const errors = require('../errors.js');

function createGateway() {
  throw errors.notSupported('A WebSocket gateway');
}

class Gateway {
  constructor() {
    throw errors.notSupported('A WebSocket gateway');
  }
}

module.exports = { createGateway, Gateway };
