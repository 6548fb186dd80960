/* IPv6 stateless address autoconfiguration (RFC 4862): lwIP's, turned on
 * per interface. lwIP forms an address from each autonomous prefix a router
 * advertises, checks it is not a duplicate (DAD), ages it by the prefix's
 * lifetimes and retires it. Each autoconfigured address that becomes usable
 * or goes away is a TCPIP_EV_ADDRESS event, seen through lwIP's netif
 * status callback. */
#include <string.h>

#include "stack_internal.h"

#include "lwip/ip6_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"

/* Every address lwIP autoconfigures is a /64 (it ignores other prefixes). */
#define SLAAC_PREFIX_LENGTH 64

static bool usable(u8_t state) { return ip6_addr_isvalid(state); }

static void emit_address(tcpip_interface *iface, s8_t index, bool added) {
  struct netif *netif = &iface->netif;
  struct pbuf *p = pbuf_alloc(PBUF_RAW, TCPIP_ADDRESS_RECORD_LENGTH, PBUF_RAM);
  if (p == NULL) return;
  uint8_t *out = p->payload;
  memset(out, 0, TCPIP_ADDRESS_RECORD_LENGTH);
  memcpy(out, netif_ip6_addr(netif, index)->addr, 16);
  out[16] = SLAAC_PREFIX_LENGTH;
  out[17] = added ? TCPIP_ADDRESS_ADDED : 0;
  tcpip_event event = {.type = TCPIP_EV_ADDRESS, .id = iface->id, .count = p->tot_len, .data_ = p};
  if (!iface->stack->destroying) tcpip_emit(iface->stack, &event);
  pbuf_free(p);
}

/* Slot 0 is the link-local address, and static addresses are the user's:
 * only the others can be autoconfigured. A slot is reported usable once it
 * passed DAD, and gone once it is invalid again (expired, or slaac turned
 * off); by then lwIP has already cleared its lifetimes, so the interface
 * remembers which slots it reported. */
static void address_state_changed(struct netif *netif, s8_t index) {
  tcpip_interface *iface = TCPIP_INTERFACE(netif);
  if (index <= 0 || index >= LWIP_IPV6_NUM_ADDRESSES) return;
  uint8_t bit = (uint8_t)(1u << index);
  bool now_usable = usable(netif_ip6_addr_state(netif, index));
  if (now_usable && !(iface->slaac_reported & bit) && !netif_ip6_addr_isstatic(netif, index)) {
    iface->slaac_reported |= bit;
    emit_address(iface, index, true);
  } else if (!now_usable && (iface->slaac_reported & bit)) {
    iface->slaac_reported &= (uint8_t)~bit;
    emit_address(iface, index, false);
  }
}

static void on_netif_status(struct netif *netif, netif_nsc_reason_t reason,
                            const netif_ext_callback_args_t *args) {
  if (reason & LWIP_NSC_IPV6_ADDR_STATE_CHANGED) {
    address_state_changed(netif, args->ipv6_addr_state_changed.addr_index);
  }
}

void tcpip_slaac_watch(tcpip_stack *stack) {
  netif_add_ext_callback(&stack->netif_status, on_netif_status);
}

void tcpip_interface_slaac(tcpip_stack *stack, uint32_t id, bool enabled) {
  tcpip_interface *iface = tcpip_interface_find(stack, id);
  /* Router advertisements come over Ethernet, to a link-local address. */
  if (iface == NULL ||
      (iface->kind != TCPIP_INTERFACE_TAP && iface->kind != TCPIP_INTERFACE_BRIDGE))
    return;
  struct netif *netif = &iface->netif;
  if (enabled) {
    if (netif->ip6_autoconfig_enabled) return;
    netif_set_ip6_autoconfig_enabled(netif, 1);
    /* Ask the routers now rather than wait for their next advertisement. */
    netif->rs_count = LWIP_ND6_MAX_MULTICAST_SOLICIT;
    return;
  }
  netif_set_ip6_autoconfig_enabled(netif, 0);
  /* lwIP would keep aging the addresses it formed; turned off, they go. */
  for (s8_t i = 1; i < LWIP_IPV6_NUM_ADDRESSES; i++) {
    if (ip6_addr_isinvalid(netif_ip6_addr_state(netif, i)) || netif_ip6_addr_isstatic(netif, i))
      continue;
    /* as lwIP retires an expired one */
    netif_ip6_addr_set_valid_life(netif, i, 0);
    netif_ip6_addr_set_pref_life(netif, i, 0);
    netif_ip6_addr_set_state(netif, i, IP6_ADDR_INVALID);
  }
}
