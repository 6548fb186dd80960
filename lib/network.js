'use strict';
// A virtual network for tests: one stack per host, each host's TAP linked to
// a port of a bridge on a switch stack (native links between native stacks,
// no JS on the data path), names as static hosts on every stack, and
// handles to partition, heal, degrade and capture, plus a proxy with
// Toxiproxy's stream-level faults (lib/toxics.js).
const errors = require('./errors.js');
const { Stack } = require('./stack.js');
const { link } = require('./link.js');
const { isIP } = require('./platform/node.js');
const { validateObject } = require('./validators.js');
const { ToxicProxy } = require('./toxics.js');

const NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

function ipv4ToInt(address) {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function unknownHost(name) {
  const err = errors.simple(Error, 'ERR_TCPIP_UNKNOWN_HOST', `No host named ${JSON.stringify(String(name))} in the network`);
  err.host = name;
  return err;
}

// options.hosts: name -> 'a.b.c.d' or 'a.b.c.d/prefix' (24 by default), all
// in one IPv4 subnet, no address twice.
function checkHosts(hosts) {
  validateObject(hosts, 'options.hosts');
  const entries = Object.entries(hosts);
  if (entries.length === 0) throw errors.invalidArgValue('options.hosts', hosts, 'must name at least one host');
  const byAddress = new Map();
  let subnet = null;
  return entries.map(([name, value]) => {
    if (!NAME.test(name) || isIP(name)) throw errors.invalidArgValue('options.hosts', name, 'must have host names as keys');
    if (typeof value !== 'string') throw errors.invalidArgType(`options.hosts.${name}`, 'string', value);
    const [address, prefixText = '24', extra] = value.split('/');
    const prefix = Number(prefixText);
    if (extra !== undefined || isIP(address) !== 4 || !/^\d+$/.test(prefixText) || prefix < 1 || prefix > 30) {
      throw errors.invalidArgValue(`options.hosts.${name}`, value, 'must be an IPv4 address, with a prefix length of 1 to 30 or none (24)');
    }
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    const net = (ipv4ToInt(address) & mask) >>> 0;
    if (subnet === null) subnet = { net, prefix, value };
    else if (subnet.net !== net || subnet.prefix !== prefix) {
      throw errors.invalidArgValue(`options.hosts.${name}`, value, `must be in the subnet of ${subnet.value}`);
    }
    if (byAddress.has(address)) {
      throw errors.invalidArgValue(`options.hosts.${name}`, value, `duplicates the address of ${byAddress.get(address)}`);
    }
    byAddress.set(address, name);
    return { name, address, prefix };
  });
}

class Network {
  /** @internal use createNetwork() */
  constructor(options) {
    validateObject(options, 'options');
    const hosts = checkHosts(options.hosts);
    const stackOptions = {};
    if (options.backend !== undefined) stackOptions.backend = options.backend;
    if (options.thread !== undefined) stackOptions.thread = options.thread;
    const names = Object.fromEntries(hosts.map((h) => [h.name, h.address]));
    this._destroyed = false;
    this._proxies = new Set();
    this._groups = null; // bridges and links of a partition in force
    this._hosts = new Map();
    this._switch = new Stack(stackOptions);
    try {
      for (const { name, address, prefix } of hosts) {
        const stack = new Stack({ ...stackOptions, hosts: names });
        this._hosts.set(name.toLowerCase(), { name, address, stack, tap: null, port: null, link: null, conditions: {} });
        stack.createLoopbackInterface({ ipAddress: ['127.0.0.1/8', '::1/128'] });
        const host = this._hosts.get(name.toLowerCase());
        host.tap = stack.createTapInterface({ ipAddress: `${address}/${prefix}` });
        host.port = this._switch.createTapInterface({});
        host.link = link(host.tap, host.port, options.conditions || {});
        host.conditions = { ...(options.conditions || {}) };
      }
      this._bridge = this._switch.createBridgeInterface({ ports: [...this._hosts.values()].map((h) => h.port) });
    } catch (err) {
      this._destroyStacks();
      throw err;
    }
  }

  /** The host names, in the order given. */
  get hosts() {
    return [...this._hosts.values()].map((h) => h.name);
  }

  get destroyed() {
    return this._destroyed;
  }

  /** The stack of host `name`: `network.host('db').run(fn)`, `.net`, `.fetch`, ... */
  host(name) {
    return this._host(name).stack;
  }

  /** The address of host `name`. */
  address(name) {
    return this._host(name).address;
  }

  /** The link of host `name` to the switch (conditions, stats). */
  link(name) {
    return this._host(name).link;
  }

  /**
   * Cuts the network into groups: hosts in different groups stop reaching
   * each other, hosts of one group still do; hosts named in no group make
   * one more group. A partition replaces the one in force.
   * @param {...string[]} groups
   */
  partition(...groups) {
    this._assertAlive();
    if (groups.length === 0) throw errors.missingArgs('groups');
    const seen = new Set();
    const named = groups.map((group, index) => {
      if (!Array.isArray(group)) throw errors.invalidArgType(`groups[${index}]`, 'Array', group);
      return group.map((name) => {
        const host = this._host(name);
        if (seen.has(host)) throw errors.invalidArgValue(`groups[${index}]`, name, 'names a host already in a group');
        seen.add(host);
        return host;
      });
    });
    const rest = [...this._hosts.values()].filter((h) => !seen.has(h));
    this.heal();
    // The rest (or, when every host is named, the largest group) stays on the
    // switch's bridge; each other group gets a bridge of its own, and a host
    // alone is cut off.
    const all = rest.length > 0 ? [rest, ...named] : named.slice().sort((a, b) => b.length - a.length);
    const moved = all.slice(1);
    this._groups = [];
    for (const group of moved) {
      if (group.length === 0) continue;
      if (group.length === 1) {
        group[0].link.down();
        this._groups.push({ bridge: null, hosts: group, ports: [] });
        continue;
      }
      const ports = group.map(() => this._switch.createTapInterface({}));
      group.forEach((host, i) => {
        host.link.destroy();
        host.link = link(host.tap, ports[i], host.conditions);
      });
      const bridge = this._switch.createBridgeInterface({ ports });
      this._groups.push({ bridge, hosts: group, ports });
    }
    return this;
  }

  /** Ends the partition in force: every host reaches every other again. */
  heal() {
    this._assertAlive();
    if (!this._groups) return this;
    for (const group of this._groups) {
      if (group.bridge) {
        for (const host of group.hosts) {
          host.link.destroy();
          host.link = link(host.tap, host.port, host.conditions);
        }
        group.bridge.remove();
        for (const port of group.ports) port.remove();
      }
    }
    for (const host of this._hosts.values()) host.link.up();
    this._groups = null;
    return this;
  }

  /**
   * Sets conditions (latency, jitter, loss, duplicate, reorder, rate, mtu,
   * queue: see link()) on the link of each host named: every packet the host
   * sends or receives meets them. The others stay.
   * @param {string | string[]} hosts
   * @param {object} conditions
   */
  degrade(hosts, conditions) {
    this._assertAlive();
    const list = (Array.isArray(hosts) ? hosts : [hosts]).map((name) => this._host(name));
    validateObject(conditions, 'conditions');
    if ('up' in conditions) throw errors.invalidArgValue('conditions.up', conditions.up, 'is for partition() and heal()');
    for (const host of list) {
      host.link.set(conditions);
      host.conditions = { ...host.conditions, ...conditions };
    }
    return this;
  }

  /**
   * Writes every frame in and out of host `name` to a pcap file.
   * @returns {import('./interfaces.js').Capture} stop() it, or it stops with destroy()
   */
  capture(name, path) {
    this._assertAlive();
    return this._host(name).tap.capture(path);
  }

  /**
   * A TCP proxy on a host, to an upstream on the network, with Toxiproxy's
   * toxics: `await network.proxy({ listen: 'app:7000', upstream: 'db:6379', toxics })`.
   */
  async proxy(options) {
    this._assertAlive();
    validateObject(options, 'options');
    const listen = this._endpoint(options.listen, 'options.listen');
    const upstream = this._endpoint(options.upstream, 'options.upstream');
    const proxy = new ToxicProxy(listen.host.stack, listen.port, upstream.hostname, upstream.port, options.toxics);
    this._proxies.add(proxy);
    proxy.once('close', () => this._proxies.delete(proxy));
    await proxy._listen();
    return proxy;
  }

  /** Closes the proxies and destroys every stack. */
  destroy() {
    if (this._destroyed) return;
    this._destroyed = true;
    for (const proxy of [...this._proxies]) proxy.close();
    this._destroyStacks();
  }

  async [Symbol.asyncDispose]() {
    this.destroy();
  }

  [Symbol.dispose]() {
    this.destroy();
  }

  _destroyStacks() {
    for (const host of this._hosts.values()) host.stack.destroy();
    this._switch.destroy();
  }

  _host(name) {
    this._assertAlive();
    if (typeof name !== 'string') throw errors.invalidArgType('host', 'string', name);
    const host = this._hosts.get(name.toLowerCase());
    if (!host) throw unknownHost(name);
    return host;
  }

  // 'host:port' -> { host, hostname, port }; the upstream may be any name or
  // address the host resolves.
  _endpoint(value, what) {
    if (typeof value !== 'string') throw errors.invalidArgType(what, 'string', value);
    const at = value.lastIndexOf(':');
    const hostname = value.slice(0, at);
    const port = Number(value.slice(at + 1));
    if (at <= 0 || !/^\d+$/.test(value.slice(at + 1)) || port > 65535) {
      throw errors.invalidArgValue(what, value, "must be 'host:port'");
    }
    const host = this._hosts.get(hostname.toLowerCase());
    if (!host && what === 'options.listen') throw unknownHost(hostname);
    return { host, hostname, port };
  }

  _assertAlive() {
    if (this._destroyed) throw errors.simple(Error, 'ERR_TCPIP_NETWORK_DESTROYED', 'The network has been destroyed');
  }
}

/**
 * Makes a network of hosts, one stack each, on one switch.
 * @param {{ hosts: { [name: string]: string }, conditions?: object,
 *   backend?: 'native' | 'wasm', thread?: 'worker' | 'js' }} options
 */
function createNetwork(options) {
  return new Network(options);
}

module.exports = { createNetwork, Network };
