/* A bridge: an L2 learning switch over TAP ports, with an Ethernet
 * interface of its own (its address, ARP, ND) like Linux's br0. Frames that
 * arrive on a port are forwarded to the port that owns the destination MAC,
 * flooded when it is unknown or a group address, and handed to the bridge's
 * own stack when they are for it. */
#include <stdlib.h>
#include <string.h>

#include "stack_internal.h"

#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/netif.h"
#include "netif/ethernet.h"

#define BRIDGE_TABLE_SIZE 256

typedef struct mac_entry {
  uint8_t mac[ETH_HWADDR_LEN];
  tcpip_interface *port; /* NULL: free slot */
  uint32_t last_seen;
} mac_entry;

struct tcpip_bridge {
  tcpip_interface *ports[TCPIP_MAX_BRIDGE_PORTS];
  size_t port_count;
  mac_entry table[BRIDGE_TABLE_SIZE];
  uint32_t clock; /* counts frames, to replace the stalest entry */
};

static tcpip_interface *lookup(struct tcpip_bridge *bridge, const uint8_t *mac) {
  for (size_t i = 0; i < BRIDGE_TABLE_SIZE; i++) {
    mac_entry *entry = &bridge->table[i];
    if (entry->port != NULL && memcmp(entry->mac, mac, ETH_HWADDR_LEN) == 0) return entry->port;
  }
  return NULL;
}

static void learn(struct tcpip_bridge *bridge, const uint8_t *mac, tcpip_interface *port) {
  if (mac[0] & 1) return; /* a group address is never a source */
  mac_entry *slot = NULL;
  for (size_t i = 0; i < BRIDGE_TABLE_SIZE; i++) {
    mac_entry *entry = &bridge->table[i];
    if (entry->port != NULL && memcmp(entry->mac, mac, ETH_HWADDR_LEN) == 0) {
      slot = entry;
      break;
    }
    if (slot == NULL || entry->port == NULL ||
        (slot->port != NULL && entry->last_seen < slot->last_seen)) {
      slot = entry;
    }
  }
  memcpy(slot->mac, mac, ETH_HWADDR_LEN);
  slot->port = port;
  slot->last_seen = ++bridge->clock;
}

static void flood(struct tcpip_bridge *bridge, const tcpip_interface *except, struct pbuf *p) {
  for (size_t i = 0; i < bridge->port_count; i++) {
    if (bridge->ports[i] != except) tcpip_interface_emit(bridge->ports[i], p);
  }
}

/* Out of the bridge's own interface: to the port that has the destination,
 * or to every port. */
static err_t bridge_linkoutput(struct netif *netif, struct pbuf *p) {
  tcpip_interface *iface = TCPIP_INTERFACE(netif);
  struct tcpip_bridge *bridge = iface->switching;
  iface->stats.packets_out++;
  iface->stats.bytes_out += p->tot_len;
  tcpip_interface_capture_out(iface, p);
  if (bridge == NULL || p->len < SIZEOF_ETH_HDR) return ERR_OK;
  const uint8_t *destination = p->payload;
  tcpip_interface *port = (destination[0] & 1) ? NULL : lookup(bridge, destination);
  if (port != NULL) tcpip_interface_emit(port, p);
  else flood(bridge, NULL, p);
  return ERR_OK;
}

err_t tcpip_bridge_init(struct netif *netif) {
  err_t err = tcpip_tap_init(netif);
  netif->name[0] = 'b';
  netif->name[1] = 'r';
  netif->linkoutput = bridge_linkoutput;
  /* Ports joined to other stacks by links carry no checksums, so the bridge
   * does not check them; it still writes them, for ports that need them. */
  NETIF_SET_CHECKSUM_CTRL(netif, NETIF_CHECKSUM_GEN_IP | NETIF_CHECKSUM_GEN_UDP |
                                     NETIF_CHECKSUM_GEN_TCP | NETIF_CHECKSUM_GEN_ICMP |
                                     NETIF_CHECKSUM_GEN_ICMP6);
  return err;
}

tcpip_error tcpip_bridge_attach(tcpip_interface *bridge, tcpip_interface *const *ports,
                                size_t count) {
  if (count > TCPIP_MAX_BRIDGE_PORTS) return TCPIP_EINVAL;
  for (size_t i = 0; i < count; i++) {
    if (ports[i] == NULL || ports[i]->kind != TCPIP_INTERFACE_TAP || ports[i]->bridge != NULL)
      return TCPIP_EINVAL;
    for (size_t j = 0; j < i; j++) {
      if (ports[j] == ports[i]) return TCPIP_EINVAL;
    }
  }
  struct tcpip_bridge *switching = calloc(1, sizeof *switching);
  if (switching == NULL) return TCPIP_ENOBUFS;
  for (size_t i = 0; i < count; i++) {
    switching->ports[i] = ports[i];
    ports[i]->bridge = bridge;
  }
  switching->port_count = count;
  bridge->switching = switching;
  return TCPIP_OK;
}

void tcpip_bridge_detach_all(tcpip_interface *bridge) {
  struct tcpip_bridge *switching = bridge->switching;
  if (switching == NULL) return;
  for (size_t i = 0; i < switching->port_count; i++) switching->ports[i]->bridge = NULL;
  free(switching);
  bridge->switching = NULL;
}

void tcpip_bridge_forget_port(tcpip_interface *port) {
  struct tcpip_bridge *switching = port->bridge != NULL ? port->bridge->switching : NULL;
  port->bridge = NULL;
  if (switching == NULL) return;
  for (size_t i = 0; i < switching->port_count; i++) {
    if (switching->ports[i] == port) {
      switching->ports[i] = switching->ports[--switching->port_count];
      break;
    }
  }
  for (size_t i = 0; i < BRIDGE_TABLE_SIZE; i++) {
    if (switching->table[i].port == port) switching->table[i].port = NULL;
  }
}

void tcpip_bridge_receive(tcpip_interface *port, struct pbuf *p) {
  tcpip_interface *bridge = port->bridge;
  struct tcpip_bridge *switching = bridge->switching;
  const uint8_t *frame = p->payload; /* admitted: at least a header, contiguous */
  const uint8_t *destination = frame;
  learn(switching, frame + ETH_HWADDR_LEN, port);
  bool for_bridge = memcmp(destination, bridge->netif.hwaddr, ETH_HWADDR_LEN) == 0;
  bool group = (destination[0] & 1) != 0;
  if (group) flood(switching, port, p);
  if (!group && !for_bridge) {
    tcpip_interface *target = lookup(switching, destination);
    if (target == NULL) flood(switching, port, p);
    else if (target != port) tcpip_interface_emit(target, p);
    pbuf_free(p);
    return;
  }
  bridge->stats.packets_in++;
  bridge->stats.bytes_in += p->tot_len;
  if (bridge->capture != NULL) bridge->capture(bridge->capture_context, p->payload, p->len, false);
  if (bridge->netif.input(p, &bridge->netif) != ERR_OK) pbuf_free(p);
}
