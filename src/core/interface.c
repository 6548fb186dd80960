/* Interfaces: creation from a driver's config, removal, packets handed in by
 * the driver, packets the stack sends out, and their counters. What differs
 * between kinds lives in loopback.c, tun.c and tap.c. */
#include <stdlib.h>
#include <string.h>

#include "stack_internal.h"

#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/etharp.h"
#include "lwip/prot/etharp.h"
#include "netif/ethernet.h"

#define ETHERNET_HEADER 14 /* destination, source, type */
#define ETHERNET_VLAN_TAG 4

typedef struct interface_addresses {
  ip4_addr_t v4, v4_mask, gateway;
  ip6_addr_t v6[LWIP_IPV6_NUM_ADDRESSES];
  size_t v6_count;
} interface_addresses;

static tcpip_error parse_addresses(const tcpip_interface_config *config, interface_addresses *out) {
  memset(out, 0, sizeof *out);
  /* Ethernet interfaces keep a slot for their link-local address. */
  bool ethernet = config->kind == TCPIP_INTERFACE_TAP || config->kind == TCPIP_INTERFACE_BRIDGE;
  size_t v6_slots = LWIP_IPV6_NUM_ADDRESSES - (ethernet ? 1 : 0);
  bool has_v4 = false;
  for (size_t i = 0; i < config->cidr_count; i++) {
    ip_addr_t address;
    unsigned prefix;
    if (!tcpip_parse_cidr(config->cidrs[i], &address, &prefix)) return TCPIP_EINVAL;
    /* lwIP takes the unspecified address for "none" and would send from it;
     * a multicast one is nobody's (Linux refuses both for IPv6). */
    if (ip_addr_isany(&address) || ip_addr_ismulticast(&address)) return TCPIP_EINVAL;
    if (IP_IS_V6(&address)) {
      if (out->v6_count == v6_slots) return TCPIP_EINVAL;
      out->v6[out->v6_count++] = *ip_2_ip6(&address);
    } else {
      if (has_v4) return TCPIP_EINVAL;
      has_v4 = true;
      out->v4 = *ip_2_ip4(&address);
      ip4_addr_set_u32(&out->v4_mask, prefix == 0 ? 0 : lwip_htonl(0xffffffffu << (32 - prefix)));
    }
  }
  if (config->gateway != NULL && *config->gateway != '\0') {
    ip_addr_t gateway;
    if (!tcpip_parse_address(config->gateway, &gateway) || IP_IS_V6(&gateway)) return TCPIP_EINVAL;
    out->gateway = *ip_2_ip4(&gateway);
  }
  return TCPIP_OK;
}

static tcpip_interface *find(tcpip_stack *stack, uint32_t id) {
  for (size_t i = 0; i < stack->interface_count; i++) {
    if (stack->interfaces[i]->id == id) return stack->interfaces[i];
  }
  return NULL;
}

tcpip_interface *tcpip_interface_find(tcpip_stack *stack, uint32_t id) { return find(stack, id); }

_Static_assert(TCPIP_MAX_IPV6_ADDRESSES == LWIP_IPV6_NUM_ADDRESSES,
               "tcpip.h promises what lwIP keeps");

static uint16_t default_mtu(tcpip_interface_kind kind) {
  return kind == TCPIP_INTERFACE_LOOPBACK ? TCPIP_MTU_DEFAULT_LOOPBACK : TCPIP_MTU_DEFAULT;
}

static tcpip_error create_interface(tcpip_stack *stack, uint32_t id,
                                    const tcpip_interface_config *config) {
  if (config == NULL) return TCPIP_ENOBUFS;
  netif_init_fn init;
  switch (config->kind) {
    case TCPIP_INTERFACE_LOOPBACK: init = tcpip_loopback_init; break;
    case TCPIP_INTERFACE_TUN: init = tcpip_tun_init; break;
    case TCPIP_INTERFACE_TAP: init = tcpip_tap_init; break;
    case TCPIP_INTERFACE_BRIDGE: init = tcpip_bridge_init; break;
    default: return TCPIP_EINVAL;
  }
  if (id == 0 || find(stack, id) != NULL) return TCPIP_EINVAL;
  /* below it, fragmentation would cut pieces of no payload, forever */
  if (config->mtu != 0 && config->mtu < TCPIP_MTU_MIN) return TCPIP_EINVAL;
  if (stack->interface_count == TCPIP_MAX_INTERFACES) return TCPIP_ENOBUFS;
  interface_addresses addresses;
  tcpip_error error = parse_addresses(config, &addresses);
  if (error != TCPIP_OK) return error;
  tcpip_interface *iface = calloc(1, sizeof *iface);
  if (iface == NULL) return TCPIP_ENOBUFS;
  iface->stack = stack;
  iface->id = id;
  iface->kind = config->kind;
  /* The kind's init reads its settings through `state`. */
  if (netif_add(&iface->netif, &addresses.v4, &addresses.v4_mask, &addresses.gateway,
                (void *)config, init, netif_input) == NULL) {
    free(iface);
    return TCPIP_ENOBUFS;
  }
  iface->netif.state = iface;
  iface->netif.mtu = config->mtu != 0 ? config->mtu : default_mtu(config->kind);
#if LWIP_IPV6 && LWIP_ND6_ALLOW_RA_UPDATES
  iface->netif.mtu6 = iface->netif.mtu;
#endif
  if (config->kind == TCPIP_INTERFACE_BRIDGE) {
    tcpip_interface *ports[TCPIP_MAX_INTERFACES];
    size_t count = config->port_count < TCPIP_MAX_INTERFACES ? config->port_count
                                                             : TCPIP_MAX_INTERFACES;
    for (size_t i = 0; i < count; i++) ports[i] = find(stack, config->ports[i]);
    error = config->port_count > count ? TCPIP_EINVAL : tcpip_bridge_attach(iface, ports, count);
    if (error != TCPIP_OK) {
      netif_remove(&iface->netif);
      free(iface);
      return error;
    }
  }
  stack->interfaces[stack->interface_count++] = iface;
  if (config->kind == TCPIP_INTERFACE_TAP || config->kind == TCPIP_INTERFACE_BRIDGE) {
    netif_create_ip6_linklocal_address(&iface->netif, 1);
  }
  for (size_t i = 0; i < addresses.v6_count; i++) {
    s8_t index;
    if (netif_add_ip6_address(&iface->netif, &addresses.v6[i], &index) == ERR_OK)
      netif_ip6_addr_set_state(&iface->netif, index, IP6_ADDR_PREFERRED);
  }
  if (config->default_route) netif_set_default(&iface->netif);
  netif_set_up(&iface->netif);
  netif_set_link_up(&iface->netif);
  return TCPIP_OK;
}

tcpip_error tcpip_interface_create(tcpip_stack *stack, uint32_t id,
                                   const tcpip_interface_config *config) {
  tcpip_error error = create_interface(stack, id, config);
  if (error != TCPIP_OK) {
    tcpip_event event = {.type = TCPIP_EV_ERROR, .id = id, .error = error};
    tcpip_emit(stack, &event);
  }
  return error;
}

static void interface_free(tcpip_interface *iface) {
  struct netif *netif = &iface->netif;
  tcpip_dhcp_forget(iface); /* its release leaves while the interface is still there */
  if (iface->bridge != NULL) tcpip_bridge_forget_port(iface);
  tcpip_bridge_detach_all(iface);
  free(iface->capture_scratch);
  netif_remove(netif);
  /* Loopback packets still queued belong to the interface. */
  if (netif->loop_first != NULL) pbuf_free(netif->loop_first);
  netif->loop_first = netif->loop_last = NULL;
  free(iface);
}

void tcpip_interface_remove(tcpip_stack *stack, uint32_t id) {
  for (size_t i = 0; i < stack->interface_count; i++) {
    if (stack->interfaces[i]->id != id) continue;
    interface_free(stack->interfaces[i]);
    stack->interfaces[i] = stack->interfaces[--stack->interface_count];
    return;
  }
}

void tcpip_interfaces_destroy_all(tcpip_stack *stack) {
  for (size_t i = 0; i < stack->interface_count; i++) interface_free(stack->interfaces[i]);
  stack->interface_count = 0;
}

static uint16_t read_be16(const uint8_t *bytes) { return (uint16_t)((bytes[0] << 8) | bytes[1]); }

/* The lengths an IP header claims must fit in what arrived. */
static bool ip_packet_well_formed(const uint8_t *bytes, size_t length) {
  if (length < 1) return false;
  switch (bytes[0] >> 4) {
    case 4: {
      if (length < 20) return false;
      size_t header = (size_t)(bytes[0] & 0x0f) * 4;
      size_t total = read_be16(bytes + 2);
      return header >= 20 && total >= header && total <= length;
    }
    case 6: return length >= 40 && 40 + (size_t)read_be16(bytes + 4) <= length;
    default: return false;
  }
}

/* lwIP reads an Ethernet payload's headers before it checks their length,
 * so what it will parse is checked here first. */
static bool ethernet_frame_well_formed(const uint8_t *bytes, size_t length) {
  if (length < SIZEOF_ETH_HDR) return false;
  const uint8_t *payload = bytes + SIZEOF_ETH_HDR;
  size_t payload_length = length - SIZEOF_ETH_HDR;
  switch (read_be16(bytes + 12)) {
    case ETHTYPE_IP: return ip_packet_well_formed(payload, payload_length) && payload[0] >> 4 == 4;
    case ETHTYPE_IPV6:
      return ip_packet_well_formed(payload, payload_length) && payload[0] >> 4 == 6;
    case ETHTYPE_ARP: return payload_length >= SIZEOF_ETHARP_HDR;
    default: return true; /* lwIP drops other types unread */
  }
}

/* Decides whether `iface` takes what arrived, counting the reason if not.
 * A capture sees it either way, as a capture on a wire would. */
static bool admit(tcpip_interface *iface, const uint8_t *bytes, size_t length) {
  tcpip_interface_stats *stats = &iface->stats;
  if (iface->capture != NULL) iface->capture(iface->capture_context, bytes, length, false);
  if (!netif_is_up(&iface->netif) || !netif_is_link_up(&iface->netif)) {
    stats->dropped_down++;
    return false;
  }
  size_t limit = iface->netif.mtu;
  bool well_formed;
  if (iface->kind == TCPIP_INTERFACE_TAP || iface->kind == TCPIP_INTERFACE_BRIDGE) {
    /* An MTU-sized payload behind the header, and a VLAN tag only when the
     * frame has one: a bridge forwards what a port admits, and no port may
     * send its peers a frame larger than Ethernet allows it. */
    well_formed = ethernet_frame_well_formed(bytes, length);
    limit += ETHERNET_HEADER;
    if (well_formed && read_be16(bytes + 12) == ETHTYPE_VLAN) limit += ETHERNET_VLAN_TAG;
  } else {
    well_formed = ip_packet_well_formed(bytes, length);
  }
  if (!well_formed) {
    stats->dropped_malformed++;
    return false;
  }
  if (length > limit || length > 0xFFFF) {
    stats->dropped_oversize++;
    return false;
  }
  stats->packets_in++;
  stats->bytes_in += length;
  return true;
}

static tcpip_interface *find_hook(tcpip_stack *stack, uint32_t id) {
  tcpip_interface *iface = find(stack, id);
  return iface != NULL && (iface->kind == TCPIP_INTERFACE_TUN || iface->kind == TCPIP_INTERFACE_TAP)
             ? iface
             : NULL;
}

/* An admitted packet or frame (owned) enters the stack, or its bridge. */
static void deliver(tcpip_interface *iface, struct pbuf *p) {
  if (iface->bridge != NULL) {
    tcpip_bridge_receive(iface, p);
    return;
  }
  if (iface->netif.input(p, &iface->netif) != ERR_OK) pbuf_free(p);
}

void tcpip_interface_input(tcpip_stack *stack, uint32_t id, const void *bytes, size_t length) {
  tcpip_interface *iface = find_hook(stack, id);
  if (iface == NULL || !admit(iface, bytes, length)) return;
  struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)length, PBUF_RAM);
  if (p == NULL) {
    iface->stats.dropped_no_memory++;
    return;
  }
  memcpy(p->payload, bytes, length);
  deliver(iface, p);
}

/* A tcpip_packet is a contiguous PBUF_RAM pbuf: freeing one returns it to
 * the C heap (MEM_LIBC_MALLOC) and touches no stack state. */
const uint8_t *tcpip_packet_bytes(const tcpip_packet *packet, size_t *length) {
  const struct pbuf *p = (const struct pbuf *)packet;
  *length = p->len;
  return p->payload;
}

tcpip_packet *tcpip_packet_from_pbuf(const struct pbuf *source) {
  struct pbuf *p = pbuf_alloc(PBUF_RAW, source->tot_len, PBUF_RAM);
  if (p == NULL) return NULL;
  if (pbuf_copy(p, source) != ERR_OK) {
    pbuf_free(p);
    return NULL;
  }
  return (tcpip_packet *)p;
}

tcpip_packet *tcpip_packet_copy(const tcpip_packet *packet) {
  return tcpip_packet_from_pbuf((const struct pbuf *)packet);
}

/* pbuf_alloc(PBUF_RAM) is malloc() and field stores: no lwIP state, so any
 * thread may allocate (deps/check-thread-local.sh keeps pbuf.c free of
 * shared state). */
tcpip_packet *tcpip_packet_alloc(size_t length, uint8_t **bytes) {
  if (length > TCPIP_PACKET_MAX) return NULL;
  struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)length, PBUF_RAM);
  if (p == NULL) return NULL;
  *bytes = p->payload;
  return (tcpip_packet *)p;
}

void tcpip_packet_free(tcpip_packet *packet) {
  if (packet != NULL) pbuf_free((struct pbuf *)packet);
}

void tcpip_interface_input_packet(tcpip_stack *stack, uint32_t id, tcpip_packet *packet) {
  tcpip_interface *iface = find_hook(stack, id);
  struct pbuf *p = (struct pbuf *)packet;
  if (iface == NULL || !admit(iface, p->payload, p->len)) {
    pbuf_free(p);
    return;
  }
  deliver(iface, p);
}

void tcpip_interface_set_sink(tcpip_stack *stack, uint32_t id, tcpip_packet_sink sink,
                              void *context) {
  tcpip_interface *iface = find_hook(stack, id);
  if (iface == NULL) return;
  iface->sink = sink;
  iface->sink_context = context;
}

void tcpip_interface_set_checksums(tcpip_stack *stack, uint32_t id, bool enabled) {
  tcpip_interface *iface = find(stack, id);
  if (iface == NULL) return;
  NETIF_SET_CHECKSUM_CTRL(&iface->netif,
                          enabled ? NETIF_CHECKSUM_ENABLE_ALL : NETIF_CHECKSUM_DISABLE_ALL);
}

void tcpip_interface_request_stats(tcpip_stack *stack, uint32_t id) {
  tcpip_interface *iface = find(stack, id);
  tcpip_interface_stats empty = {0};
  tcpip_event event = {.type = TCPIP_EV_STATS,
                       .id = id,
                       .stats = iface != NULL ? &iface->stats : &empty};
  tcpip_emit(stack, &event);
}

void tcpip_interface_set_capture(tcpip_stack *stack, uint32_t id, tcpip_capture_fn fn,
                                 void *context) {
  tcpip_interface *iface = find(stack, id);
  if (iface == NULL) return;
  if (fn != NULL && iface->capture_scratch == NULL) {
    iface->capture_scratch = malloc(0x10000);
    if (iface->capture_scratch == NULL) return;
  }
  iface->capture = fn;
  iface->capture_context = context;
}

void tcpip_interface_capture_out(tcpip_interface *iface, const struct pbuf *p) {
  if (iface->capture == NULL) return;
  const uint8_t *bytes = p->payload;
  if (p->next != NULL) {
    pbuf_copy_partial(p, iface->capture_scratch, p->tot_len, 0);
    bytes = iface->capture_scratch;
  }
  iface->capture(iface->capture_context, bytes, p->tot_len, true);
}

err_t tcpip_interface_emit(tcpip_interface *iface, struct pbuf *p) {
  if (iface->stack->destroying) return ERR_OK;
  iface->stats.packets_out++;
  iface->stats.bytes_out += p->tot_len;
  tcpip_interface_capture_out(iface, p);
  if (iface->sink != NULL) {
    /* lwIP keeps `p` (TCP may resend it): the sink gets its own copy. */
    tcpip_packet *packet = tcpip_packet_from_pbuf(p);
    if (packet == NULL) return ERR_MEM;
    iface->sink(iface->sink_context, packet);
    return ERR_OK;
  }
  tcpip_event event = {.type = TCPIP_EV_PACKET, .id = iface->id, .count = p->tot_len, .data_ = p};
  tcpip_emit(iface->stack, &event);
  return ERR_OK;
}
