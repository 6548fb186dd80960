import tcpip from './index.js';

export const { Stack, link, Link, Interface, LoopbackInterface, TunInterface, TapInterface } = tcpip;
export default tcpip;
