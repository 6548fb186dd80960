import tcpip from './index.js';

export const { Stack } = tcpip;
export default tcpip;
