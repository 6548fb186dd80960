'use strict';
// The listening ports of one stack, known on the JS thread: listen() binds
// synchronously, as it does in Node, even where the engine binds on another
// thread. The engine applies the same rule (src/core/tcp_socket.c) and binds
// the port chosen here, so it agrees unless the port was taken behind JS's
// back (a connection's explicit localPort), which it then reports.

// listen(0) picks from here: Linux's own ephemeral range, below the one
// lwIP picks local ports of outgoing connections from (49152..65535).
const EPHEMERAL_FIRST = 32768;
const EPHEMERAL_LAST = 49151;

// The address the stack shows for an IPv6 literal, as Node shows the
// kernel's: compressed and lower-case. (URL parsing canonicalizes it the
// same way in Node and browsers.)
function canonicalAddress(address, family) {
  if (family !== 6) return address;
  const zone = address.indexOf('%');
  const bare = zone === -1 ? address : address.slice(0, zone);
  return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
}

/** Whether a listener on `address` ('' for none given) takes every address. */
function isWildcard(address) {
  return address === '' || address === '0.0.0.0' || address === '::';
}

/**
 * What a listener binds: `families` it accepts, and its address or null for
 * every address of those families.
 */
function binding(address, family, ipv6Only) {
  if (address === '0.0.0.0') return { address: null, families: [4] };
  if (isWildcard(address)) return { address: null, families: ipv6Only ? [6] : [4, 6] };
  return { address: canonicalAddress(address, family), families: [family] };
}

// Linux refuses a listener whose address overlaps another's on the port: a
// wildcard overlaps every address of its families.
function overlaps(a, b) {
  if (!a.families.some((family) => b.families.includes(family))) return false;
  return a.address === null || b.address === null || a.address === b.address;
}

class ListenPorts {
  constructor() {
    this._byPort = new Map(); // port -> bindings
    // Linux starts its search for a free port at a random offset, so
    // listen(0) in two hosts (or two processes' stacks) rarely gives the
    // same port; a stack does the same.
    this._next = EPHEMERAL_FIRST + Math.floor(Math.random() * (EPHEMERAL_LAST - EPHEMERAL_FIRST + 1));
  }

  /**
   * Reserves `port` (0: a free ephemeral one) for a listener on `address`
   * ('' for every address). Returns the reservation, or the error code
   * Node's listen() would give: 'EADDRINUSE'.
   */
  reserve(port, address, family, ipv6Only) {
    const wanted = binding(address, family, ipv6Only);
    if (port === 0) {
      port = this._freeEphemeral(wanted);
      if (port === 0) return { error: 'EADDRINUSE' };
    } else if ((this._byPort.get(port) || []).some((other) => overlaps(other, wanted))) {
      return { error: 'EADDRINUSE' };
    }
    const list = this._byPort.get(port) || [];
    list.push(wanted);
    this._byPort.set(port, list);
    return { port, binding: wanted };
  }

  /** Gives back what reserve() returned. */
  release({ port, binding: reserved }) {
    const list = this._byPort.get(port);
    if (!list) return;
    const index = list.indexOf(reserved);
    if (index !== -1) list.splice(index, 1);
    if (list.length === 0) this._byPort.delete(port);
  }

  _freeEphemeral(wanted) {
    const count = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1;
    for (let i = 0; i < count; i++) {
      const port = this._next;
      this._next = port === EPHEMERAL_LAST ? EPHEMERAL_FIRST : port + 1;
      if (!(this._byPort.get(port) || []).some((other) => overlaps(other, wanted))) return port;
    }
    return 0;
  }
}

module.exports = { ListenPorts, canonicalAddress, isWildcard };
