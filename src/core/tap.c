/* TAP: an Ethernet interface (ARP, IPv6 neighbour discovery) whose frames go
 * to, and come from, the driver. */
#include <string.h>

#include "stack_internal.h"

#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/netif.h"

static err_t tap_linkoutput(struct netif *netif, struct pbuf *p) {
  return tcpip_interface_emit(TCPIP_INTERFACE(netif), p);
}

err_t tcpip_tap_init(struct netif *netif) {
  const tcpip_interface_config *config = netif->state;
  netif->name[0] = 't';
  netif->name[1] = 'a';
  netif->hwaddr_len = ETH_HWADDR_LEN;
  memcpy(netif->hwaddr, config->mac, ETH_HWADDR_LEN);
  netif->flags |= NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_IGMP |
                  NETIF_FLAG_MLD6;
  netif->output = etharp_output;
  netif->output_ip6 = ethip6_output;
  netif->linkoutput = tap_linkoutput;
  return ERR_OK;
}
