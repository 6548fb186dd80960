import tcpip from './index.js';

export const {
  init, Stack, link, Link, Interface, LoopbackInterface, TunInterface, TapInterface, BridgeInterface, Capture,
  openKernelDevice, polyfill,
} = tcpip;
export default tcpip;
