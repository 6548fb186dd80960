/* The loopback interface: every packet sent through it is delivered back to
 * this stack by netif_poll_all(). */
#include <stdlib.h>

#include "stack_internal.h"

#include "lwip/netif.h"
#include "lwip/ip.h"

/* The largest MTU lwIP's 16-bit lengths allow. */
#define LOOPBACK_MTU 65535

static err_t loop_output4(struct netif *netif, struct pbuf *p,
                          const ip4_addr_t *next_hop) {
  (void)next_hop;
  return netif_loop_output(netif, p);
}

static err_t loop_output6(struct netif *netif, struct pbuf *p,
                          const ip6_addr_t *next_hop) {
  (void)next_hop;
  return netif_loop_output(netif, p);
}

static err_t loopback_init(struct netif *netif) {
  netif->name[0] = 'l';
  netif->name[1] = 'o';
  netif->mtu = LOOPBACK_MTU;
  netif->output = loop_output4;
  netif->output_ip6 = loop_output6;
  /* Nothing between sender and receiver can corrupt a packet. */
  NETIF_SET_CHECKSUM_CTRL(netif, NETIF_CHECKSUM_DISABLE_ALL);
  return ERR_OK;
}

tcpip_error tcpip_loopback_create(tcpip_stack *stack, const char *const *cidrs,
                                  size_t cidr_count) {
  ip4_addr_t v4 = {0}, v4_mask = {0};
  ip6_addr_t v6[LWIP_IPV6_NUM_ADDRESSES];
  size_t v6_count = 0;
  bool has_v4 = false;
  for (size_t i = 0; i < cidr_count; i++) {
    ip_addr_t address;
    unsigned prefix;
    if (!tcpip_parse_cidr(cidrs[i], &address, &prefix)) return TCPIP_EINVAL;
    if (IP_IS_V6(&address)) {
      if (v6_count == LWIP_IPV6_NUM_ADDRESSES) return TCPIP_EINVAL;
      v6[v6_count++] = *ip_2_ip6(&address);
    } else {
      if (has_v4) return TCPIP_EINVAL;
      has_v4 = true;
      v4 = *ip_2_ip4(&address);
      ip4_addr_set_u32(&v4_mask, prefix == 0 ? 0 : lwip_htonl(0xffffffffu << (32 - prefix)));
    }
  }
  if (stack->interface_count == TCPIP_MAX_INTERFACES) return TCPIP_ENOBUFS;
  struct netif *netif = calloc(1, sizeof *netif);
  if (netif == NULL) return TCPIP_ENOBUFS;
  if (netif_add(netif, &v4, &v4_mask, IP4_ADDR_ANY4, NULL, loopback_init, ip_input) == NULL) {
    free(netif);
    return TCPIP_ENOBUFS;
  }
  tcpip_interface_attach(stack, netif);
  for (size_t i = 0; i < v6_count; i++) {
    s8_t index;
    if (netif_add_ip6_address(netif, &v6[i], &index) == ERR_OK)
      netif_ip6_addr_set_state(netif, index, IP6_ADDR_PREFERRED);
  }
  netif_set_up(netif);
  netif_set_link_up(netif);
  return TCPIP_OK;
}
