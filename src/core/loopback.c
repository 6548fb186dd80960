/* The loopback interface: every packet sent through it is delivered back to
 * this stack by netif_poll_all(). */
#include "stack_internal.h"

#include "lwip/netif.h"

static err_t loop_output4(struct netif *netif, struct pbuf *p, const ip4_addr_t *next_hop) {
  (void)next_hop;
  return netif_loop_output(netif, p);
}

static err_t loop_output6(struct netif *netif, struct pbuf *p, const ip6_addr_t *next_hop) {
  (void)next_hop;
  return netif_loop_output(netif, p);
}

/* lwIP loops packets for its own addresses without calling the netif's
 * output, so a capture sees each looped packet once, as it comes back
 * (LWIP_HOOK_NETIF_LOOPBACK_INPUT). Any interface can loop packets for its
 * own addresses; only ours carry a capture. */
void tcpip_loopback_capture(struct pbuf *p, struct netif *netif) {
  tcpip_interface_capture_out(TCPIP_INTERFACE(netif), p);
}

err_t tcpip_loopback_init(struct netif *netif) {
  netif->name[0] = 'l';
  netif->name[1] = 'o';
  netif->output = loop_output4;
  netif->output_ip6 = loop_output6;
  /* No solicited-node groups (and their MLD reports): no neighbour discovery
   * without a link layer. */
  netif->flags |= NETIF_FLAG_IGMP;
  /* Nothing between sender and receiver can corrupt a packet. */
  NETIF_SET_CHECKSUM_CTRL(netif, NETIF_CHECKSUM_DISABLE_ALL);
  return ERR_OK;
}
