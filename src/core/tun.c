/* TUN: an L3 interface whose packets go to, and come from, the driver. */
#include "stack_internal.h"

#include "lwip/netif.h"

static err_t tun_output4(struct netif *netif, struct pbuf *p, const ip4_addr_t *next_hop) {
  (void)next_hop;
  return tcpip_interface_emit(TCPIP_INTERFACE(netif), p);
}

static err_t tun_output6(struct netif *netif, struct pbuf *p, const ip6_addr_t *next_hop) {
  (void)next_hop;
  return tcpip_interface_emit(TCPIP_INTERFACE(netif), p);
}

err_t tcpip_tun_init(struct netif *netif) {
  netif->name[0] = 't';
  netif->name[1] = 'u';
  netif->output = tun_output4;
  netif->output_ip6 = tun_output6;
  /* No solicited-node groups (and their MLD reports): no neighbour discovery
   * without a link layer. */
  netif->flags |= NETIF_FLAG_IGMP;
  return ERR_OK;
}
