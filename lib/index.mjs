import tcpip from './index.js';

export const {
  Stack, link, Link, Interface, LoopbackInterface, TunInterface, TapInterface, BridgeInterface, Capture,
  openKernelDevice,
} = tcpip;
export default tcpip;
