/* DHCP clients: lwIP's, started and stopped per interface, with its leases
 * reported as TCPIP_EV_LEASE events (through the hooks of patch 0032) and
 * its timers running only while a client runs (patch 0033). */
#include <string.h>

#include "stack_internal.h"

#include "lwip/dhcp.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/prot/dhcp.h"
#include "lwip/timeouts.h"

static void fine_tick(void *arg) {
  (void)arg;
  dhcp_fine_tmr();
  sys_timeout(DHCP_FINE_TIMER_MSECS, fine_tick, NULL);
}

static void coarse_tick(void *arg) {
  (void)arg;
  dhcp_coarse_tmr();
  sys_timeout(DHCP_COARSE_TIMER_MSECS, coarse_tick, NULL);
}

static void clients_changed(tcpip_stack *stack, unsigned before) {
  if (before == 0 && stack->dhcp_clients > 0) {
    sys_timeout(DHCP_FINE_TIMER_MSECS, fine_tick, NULL);
    sys_timeout(DHCP_COARSE_TIMER_MSECS, coarse_tick, NULL);
  } else if (before > 0 && stack->dhcp_clients == 0) {
    sys_untimeout(fine_tick, NULL);
    sys_untimeout(coarse_tick, NULL);
  }
}

static void put_be32(uint8_t *out, uint32_t value) {
  out[0] = (uint8_t)(value >> 24);
  out[1] = (uint8_t)(value >> 16);
  out[2] = (uint8_t)(value >> 8);
  out[3] = (uint8_t)value;
}

static unsigned prefix_of(const ip4_addr_t *mask) {
  uint32_t bits = lwip_ntohl(ip4_addr_get_u32(mask));
  unsigned prefix = 0;
  while (prefix < 32 && (bits & (0x80000000u >> prefix)) != 0) prefix++;
  return prefix;
}

static void emit_lease(tcpip_interface *iface, bool bound) {
  struct netif *netif = &iface->netif;
  struct dhcp *dhcp = netif_dhcp_data(netif);
  unsigned dns = bound ? iface->dhcp_dns_count : 0;
  struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)(TCPIP_LEASE_HEADER + 4 * dns), PBUF_RAM);
  if (p == NULL) return;
  uint8_t *out = p->payload;
  memset(out, 0, p->len);
  if (bound) {
    memcpy(out, &netif_ip4_addr(netif)->addr, 4);
    out[4] = (uint8_t)prefix_of(netif_ip4_netmask(netif));
    out[5] = (uint8_t)dns;
    memcpy(out + 8, &netif_ip4_gw(netif)->addr, 4);
    put_be32(out + 12, dhcp != NULL ? dhcp->offered_t0_lease : 0);
    if (dhcp != NULL) memcpy(out + 16, &ip_2_ip4(&dhcp->server_ip_addr)->addr, 4);
    for (unsigned i = 0; i < dns; i++)
      memcpy(out + TCPIP_LEASE_HEADER + 4 * i, &iface->dhcp_dns[i], 4);
  }
  iface->dhcp_dns_count = 0;
  tcpip_event event = {.type = TCPIP_EV_LEASE, .id = iface->id, .count = p->tot_len, .data_ = p};
  if (!iface->stack->destroying) tcpip_emit(iface->stack, &event);
  pbuf_free(p);
}

void tcpip_dhcp_bound(struct netif *netif) {
  tcpip_interface *iface = TCPIP_INTERFACE(netif);
  if (iface->dhcp_default_route && !ip4_addr_isany_val(*netif_ip4_gw(netif))) {
    netif_set_default(netif);
  }
  emit_lease(iface, true);
}

void tcpip_dhcp_unbound(struct netif *netif) { emit_lease(TCPIP_INTERFACE(netif), false); }

void tcpip_dhcp_dns_server(struct netif *netif, unsigned index, const struct ip_addr *server) {
  tcpip_interface *iface = TCPIP_INTERFACE(netif);
  if (index >= TCPIP_LEASE_MAX_DNS || !IP_IS_V4(server)) return;
  iface->dhcp_dns[index] = ip_2_ip4(server)->addr;
  if (index + 1 > iface->dhcp_dns_count) iface->dhcp_dns_count = (uint8_t)(index + 1);
}

static bool running(tcpip_interface *iface) {
  struct dhcp *dhcp = netif_dhcp_data(&iface->netif);
  return dhcp != NULL && dhcp->state != DHCP_STATE_OFF;
}

static void stop(tcpip_interface *iface) {
  if (!running(iface)) return;
  unsigned before = iface->stack->dhcp_clients;
  dhcp_release_and_stop(&iface->netif);
  iface->stack->dhcp_clients--;
  clients_changed(iface->stack, before);
}

void tcpip_interface_dhcp(tcpip_stack *stack, uint32_t id, uint32_t flags) {
  tcpip_interface *iface = tcpip_interface_find(stack, id);
  /* lib/ offers DHCP only where there is Ethernet */
  if (iface == NULL ||
      (iface->kind != TCPIP_INTERFACE_TAP && iface->kind != TCPIP_INTERFACE_BRIDGE))
    return;
  if (!(flags & TCPIP_DHCP_START)) {
    stop(iface);
    return;
  }
  iface->dhcp_default_route = (flags & TCPIP_DHCP_DEFAULT_ROUTE) != 0;
  if (running(iface)) return;
  unsigned before = stack->dhcp_clients;
  /* fails only without memory, or below a 576-byte MTU, which no interface has */
  if (dhcp_start(&iface->netif) != ERR_OK) return;
  stack->dhcp_clients++;
  clients_changed(stack, before);
}

void tcpip_dhcp_forget(tcpip_interface *iface) {
  stop(iface);
  dhcp_cleanup(&iface->netif);
}
