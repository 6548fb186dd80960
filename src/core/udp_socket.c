/* UDP sockets over lwIP's raw API.
 *
 * Ownership: a tcpip_udp_socket lives in the stack's UDP id map from a bind
 * that succeeds until it is closed or the stack is destroyed; its pcb is its
 * own all along. Received datagrams go to the driver as events; what the
 * driver has not consumed yet counts against the socket's receive buffer,
 * and what would overflow it is dropped and counted, as a kernel does. */
#include <stdlib.h>
#include <string.h>

#include "stack_internal.h"

#include "lwip/ip.h"
#include "lwip/pbuf.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/ip6.h"
#include "lwip/igmp.h"
#include "lwip/mld6.h"
#include "lwip/udp.h"

/* What Linux gives a socket by default (net.core.rmem_default), which Node
 * reports as its receive buffer size. */
#define TCPIP_UDP_RECV_BUFFER_DEFAULT 212992u
/* The largest payload of one datagram: 65535 less the IP and UDP headers.
 * IPv6 could carry 40 bytes more (its payload length leaves out its own
 * header), but an lwIP buffer chain holds at most 65535 bytes in all. */
#define TCPIP_UDP_MAX_PAYLOAD_V4 (0xFFFFu - IP_HLEN - UDP_HLEN)
#define TCPIP_UDP_MAX_PAYLOAD_V6 (0xFFFFu - IP6_HLEN - UDP_HLEN)

/* Groups one socket may join, as Linux's IP_MAX_MEMBERSHIPS. */
#define TCPIP_UDP_MAX_MEMBERSHIPS 20

typedef struct tcpip_udp_group {
  ip_addr_t group;
  ip_addr_t interface; /* any: every interface */
} tcpip_udp_group;

typedef struct tcpip_udp_socket {
  tcpip_stack *stack;
  uint32_t id;
  struct udp_pcb *pcb;
  bool dual_stack; /* bound to both families: IPv4 peers shown as mapped */
  bool ipv6;       /* a udp6 socket: IPv4 destinations go out mapped */
  bool broadcast;  /* SO_BROADCAST: may send to broadcast addresses */
  size_t recv_buffer;
  size_t delivered_unconsumed; /* bytes the driver still holds */
  uint64_t dropped;            /* datagrams the receive buffer had no room for */
  tcpip_udp_group memberships[TCPIP_UDP_MAX_MEMBERSHIPS];
  size_t membership_count;
} tcpip_udp_socket;

static tcpip_udp_socket *socket_find(tcpip_stack *stack, uint32_t id) {
  return tcpip_id_map_get(&stack->udp_sockets, id);
}

/* A connect that failed: DONE with tag 0 (sends answer by their result). */
static void emit_connect_failed(tcpip_stack *stack, uint32_t id, tcpip_error error) {
  tcpip_event event = {.type = TCPIP_EV_DONE, .id = id, .error = error};
  tcpip_emit(stack, &event);
}

static void emit_error(tcpip_stack *stack, uint32_t id, tcpip_error error) {
  tcpip_event event = {.type = TCPIP_EV_ERROR, .id = id, .error = error};
  tcpip_emit(stack, &event);
}

static void on_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *address,
                    u16_t port) {
  tcpip_udp_socket *socket = arg;
  (void)pcb;
  size_t charge = (size_t)p->tot_len + TCPIP_UDP_DATAGRAM_OVERHEAD;
  if (socket->delivered_unconsumed + charge > socket->recv_buffer) {
    socket->dropped++;
    pbuf_free(p);
    return;
  }
  tcpip_event event = {.type = TCPIP_EV_DATAGRAM,
                       .id = socket->id,
                       .count = p->tot_len,
                       .data_ = p};
  tcpip_endpoint_set_shown(socket->dual_stack, &event.remote, address, port);
  socket->delivered_unconsumed += charge;
  tcpip_emit(socket->stack, &event);
  pbuf_free(p);
}

/* Parses a destination or a peer as the kernel takes it from Node: a udp4
 * socket takes IPv4 addresses, a udp6 socket IPv6 ones; ::ffff:a.b.c.d is
 * the IPv4 host, which only a dual-stack socket reaches (over IPv4). */
static tcpip_error parse_peer(const tcpip_udp_socket *socket, const char *text,
                              ip_addr_t *address) {
  if (text == NULL) return TCPIP_ENOBUFS;
  if (!tcpip_parse_address(text, address)) return TCPIP_EINVAL;
  if (IP_IS_V6(address) != socket->ipv6) return TCPIP_EINVAL;
  if (IP_IS_V6(address) && ip6_addr_isipv4mappedipv6(ip_2_ip6(address))) {
    if (!socket->dual_stack) return TCPIP_ENETUNREACH;
    ip4_addr_t v4;
    unmap_ipv4_mapped_ipv6(&v4, ip_2_ip6(address));
    ip_addr_copy_from_ip4(*address, v4);
  }
  return TCPIP_OK;
}

void tcpip_udp_bind(tcpip_stack *stack, uint32_t id, const char *address, uint16_t port,
                    uint32_t flags) {
  if (id == 0 || socket_find(stack, id) != NULL) return;
  if (address == NULL) {
    emit_error(stack, id, TCPIP_ENOBUFS);
    return;
  }
  bool ipv6 = (flags & TCPIP_UDP_IPV6) != 0;
  bool ipv6_only = (flags & TCPIP_UDP_IPV6_ONLY) != 0;
  ip_addr_t bind_address;
  if (*address == '\0') {
    ip_addr_set_any(ipv6, &bind_address);
  } else if (!tcpip_parse_address(address, &bind_address) || IP_IS_V6(&bind_address) != ipv6) {
    emit_error(stack, id, TCPIP_EINVAL);
    return;
  } else if (!ip_addr_isany(&bind_address) && !tcpip_is_local_address(&bind_address)) {
    emit_error(stack, id, TCPIP_EADDRNOTAVAIL);
    return;
  }
  /* "::" is dual-stack unless asked otherwise, as on Linux. */
  if (ipv6 && ip_addr_isany(&bind_address) && !ipv6_only) {
    IP_SET_TYPE_VAL(bind_address, IPADDR_TYPE_ANY);
  }
  tcpip_udp_socket *socket = calloc(1, sizeof *socket);
  struct udp_pcb *pcb = socket != NULL ? udp_new_ip_type(IP_GET_TYPE(&bind_address)) : NULL;
  if (pcb == NULL || !tcpip_id_map_put(&stack->udp_sockets, id, socket)) {
    if (pcb != NULL) udp_remove(pcb);
    free(socket);
    emit_error(stack, id, TCPIP_ENOBUFS);
    return;
  }
  socket->stack = stack;
  socket->id = id;
  socket->pcb = pcb;
  socket->ipv6 = ipv6;
  socket->dual_stack = IP_IS_ANY_TYPE_VAL(bind_address);
  socket->recv_buffer = TCPIP_UDP_RECV_BUFFER_DEFAULT;
  if (flags & TCPIP_UDP_REUSE_ADDR) ip_set_option(pcb, SOF_REUSEADDR);
  udp_set_multicast_ttl(pcb, 1);
  udp_set_flags(pcb, UDP_FLAGS_MULTICAST_LOOP);
  err_t err = udp_bind(pcb, &bind_address, port);
  if (err != ERR_OK) {
    tcpip_id_map_remove(&stack->udp_sockets, id);
    udp_remove(pcb);
    free(socket);
    emit_error(stack, id, tcpip_error_from_lwip(err));
    return;
  }
  udp_recv(pcb, on_recv, socket);
  tcpip_event event = {.type = TCPIP_EV_BOUND, .id = id};
  tcpip_endpoint_set(&event.local, &bind_address, pcb->local_port);
  tcpip_emit(stack, &event);
}

/* The local address a connected socket sends from: its bound one, or the
 * one of the interface that routes to the peer. */
static const ip_addr_t *source_for(struct udp_pcb *pcb) {
  if (!ip_addr_isany(&pcb->local_ip) && !IP_IS_ANY_TYPE_VAL(pcb->local_ip)) return &pcb->local_ip;
  struct netif *netif = ip_route(&pcb->local_ip, &pcb->remote_ip);
  if (netif == NULL) return NULL;
  return ip_netif_get_local_ip(netif, &pcb->remote_ip);
}

void tcpip_udp_connect(tcpip_stack *stack, uint32_t id, const char *address, uint16_t port) {
  tcpip_udp_socket *socket = socket_find(stack, id);
  if (socket == NULL) return;
  ip_addr_t remote;
  tcpip_error error = parse_peer(socket, address, &remote);
  if (error == TCPIP_OK && port == 0) error = TCPIP_EINVAL;
  if (error != TCPIP_OK) {
    emit_connect_failed(stack, id, error);
    return;
  }
  err_t err = udp_connect(socket->pcb, &remote, port);
  const ip_addr_t *source = err == ERR_OK ? source_for(socket->pcb) : NULL;
  if (err == ERR_OK && source == NULL) {
    udp_disconnect(socket->pcb);
    err = ERR_RTE;
  }
  if (err != ERR_OK) {
    emit_connect_failed(stack, id, tcpip_error_from_lwip(err));
    return;
  }
  tcpip_event event = {.type = TCPIP_EV_CONNECTED, .id = id};
  tcpip_endpoint_set_shown(socket->dual_stack, &event.local, source, socket->pcb->local_port);
  tcpip_endpoint_set_shown(socket->dual_stack, &event.remote, &remote, port);
  tcpip_emit(stack, &event);
}

void tcpip_udp_disconnect(tcpip_stack *stack, uint32_t id) {
  tcpip_udp_socket *socket = socket_find(stack, id);
  if (socket != NULL) udp_disconnect(socket->pcb);
}

/* Whether `address` is IPv4's limited broadcast or the broadcast address of
 * a subnet of one of the interfaces. */
static bool is_limited_broadcast(const ip_addr_t *address) {
  return IP_IS_V4(address) && ip_2_ip4(address)->addr == IPADDR_BROADCAST;
}

static bool is_broadcast(const ip_addr_t *address) {
  if (!IP_IS_V4(address)) return false;
  if (is_limited_broadcast(address)) return true;
  struct netif *netif;
  NETIF_FOREACH(netif) {
    if (ip4_addr_isbroadcast(ip_2_ip4(address), netif)) return true;
  }
  return false;
}

static struct pbuf *datagram_of(const void *data, size_t len) {
  struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
  if (p != NULL && len > 0) memcpy(p->payload, data, len);
  return p;
}

/* Limited broadcast goes out of every IPv4 interface that is up, as the
 * one wire it names is each of them. */
static err_t send_limited_broadcast(struct udp_pcb *pcb, const void *data, size_t len,
                                    const ip_addr_t *destination, uint16_t port) {
  err_t result = ERR_RTE;
  struct netif *netif;
  NETIF_FOREACH(netif) {
    if (!netif_is_up(netif) || ip4_addr_isany_val(*netif_ip4_addr(netif))) continue;
    if (TCPIP_INTERFACE(netif)->kind == TCPIP_INTERFACE_LOOPBACK) continue;
    if (pcb->netif_idx != NETIF_NO_INDEX && pcb->netif_idx != netif_get_index(netif)) continue;
    struct pbuf *p = datagram_of(data, len);
    if (p == NULL) return ERR_MEM;
    err_t err = udp_sendto_if(pcb, p, destination, port, netif);
    pbuf_free(p);
    if (result != ERR_OK) result = err;
  }
  return result;
}

tcpip_error tcpip_udp_send(tcpip_stack *stack, uint32_t id, const char *address, uint16_t port,
                           const void *data, size_t len) {
  tcpip_udp_socket *socket = socket_find(stack, id);
  if (socket == NULL) return TCPIP_EINVAL;
  tcpip_error error = TCPIP_OK;
  ip_addr_t destination;
  bool connected = address != NULL && *address == '\0';
  if (data == NULL && len > 0) {
    error = TCPIP_ENOBUFS;
  } else if (connected) {
    if (!(socket->pcb->flags & UDP_FLAGS_CONNECTED)) error = TCPIP_EINVAL;
    ip_addr_copy(destination, socket->pcb->remote_ip);
  } else {
    error = parse_peer(socket, address, &destination);
    if (error == TCPIP_OK && port == 0) error = TCPIP_EINVAL;
  }
  if (error == TCPIP_OK &&
      len > (IP_IS_V6(&destination) ? TCPIP_UDP_MAX_PAYLOAD_V6 : TCPIP_UDP_MAX_PAYLOAD_V4)) {
    error = TCPIP_EMSGSIZE;
  }
  if (error == TCPIP_OK && is_broadcast(&destination) && !socket->broadcast) {
    error = TCPIP_EACCES;
  }
  if (error == TCPIP_OK) {
    err_t err;
    if (is_limited_broadcast(&destination)) {
      err = send_limited_broadcast(socket->pcb, data, len, &destination,
                                   connected ? socket->pcb->remote_port : port);
    } else {
      struct pbuf *p = datagram_of(data, len);
      if (p == NULL) {
        err = ERR_MEM;
      } else {
        err = connected ? udp_send(socket->pcb, p) : udp_sendto(socket->pcb, p, &destination, port);
        pbuf_free(p);
      }
    }
    error = tcpip_error_from_lwip(err);
  }
  return error;
}

void tcpip_udp_consumed(tcpip_stack *stack, uint32_t id, size_t len) {
  tcpip_udp_socket *socket = socket_find(stack, id);
  if (socket == NULL) return;
  socket->delivered_unconsumed -= len < socket->delivered_unconsumed ? len
                                                                     : socket->delivered_unconsumed;
}

void tcpip_udp_set_option(tcpip_stack *stack, uint32_t id, tcpip_udp_option option,
                          uint32_t value) {
  tcpip_udp_socket *socket = socket_find(stack, id);
  if (socket == NULL) return;
  struct udp_pcb *pcb = socket->pcb;
  switch (option) {
    case TCPIP_UDP_TTL: pcb->ttl = (u8_t)value; break;
    case TCPIP_UDP_MULTICAST_TTL: udp_set_multicast_ttl(pcb, (u8_t)value); break;
    case TCPIP_UDP_MULTICAST_LOOP:
      if (value) udp_set_flags(pcb, UDP_FLAGS_MULTICAST_LOOP);
      else udp_clear_flags(pcb, UDP_FLAGS_MULTICAST_LOOP);
      break;
    case TCPIP_UDP_BROADCAST: socket->broadcast = value != 0; break;
    case TCPIP_UDP_RECV_BUFFER: socket->recv_buffer = value; break;
    case TCPIP_UDP_MULTICAST_INTERFACE: {
      tcpip_interface *iface = value != 0 ? tcpip_interface_find(stack, value) : NULL;
      udp_set_multicast_netif_index(pcb, iface != NULL ? netif_get_index(&iface->netif)
                                                       : NETIF_NO_INDEX);
      break;
    }
    case TCPIP_UDP_BIND_INTERFACE: {
      /* udp_input() then takes only what arrives there, and udp_sendto()
       * routes by it alone, broadcasts included */
      tcpip_interface *iface = value != 0 ? tcpip_interface_find(stack, value) : NULL;
      udp_bind_netif(pcb, iface != NULL ? &iface->netif : NULL);
      break;
    }
    default: break;
  }
}

static err_t group_change(const tcpip_udp_group *membership, bool join) {
  if (IP_IS_V6(&membership->group)) {
    const ip6_addr_t *source = ip_2_ip6(&membership->interface);
    return join ? mld6_joingroup(source, ip_2_ip6(&membership->group))
                : mld6_leavegroup(source, ip_2_ip6(&membership->group));
  }
  const ip4_addr_t *source = ip_2_ip4(&membership->interface);
  return join ? igmp_joingroup(source, ip_2_ip4(&membership->group))
              : igmp_leavegroup(source, ip_2_ip4(&membership->group));
}

tcpip_error tcpip_udp_membership(tcpip_stack *stack, uint32_t id, const char *group,
                                 const char *interface_address, bool join) {
  tcpip_udp_socket *socket = socket_find(stack, id);
  if (socket == NULL) return TCPIP_EINVAL;
  if (group == NULL || interface_address == NULL) return TCPIP_ENOBUFS;
  tcpip_udp_group wanted;
  if (!tcpip_parse_address(group, &wanted.group) || !ip_addr_ismulticast(&wanted.group) ||
      IP_IS_V6(&wanted.group) != socket->ipv6) {
    return TCPIP_EINVAL;
  }
  if (*interface_address == '\0') {
    ip_addr_set_any(IP_IS_V6(&wanted.group), &wanted.interface);
  } else if (!tcpip_parse_address(interface_address, &wanted.interface) ||
             IP_IS_V6(&wanted.interface) != IP_IS_V6(&wanted.group)) {
    return TCPIP_EINVAL;
  } else if (!ip_addr_isany(&wanted.interface) && !tcpip_is_local_address(&wanted.interface)) {
    return TCPIP_EADDRNOTAVAIL;
  }
  size_t found = socket->membership_count;
  for (size_t i = 0; i < socket->membership_count; i++) {
    const tcpip_udp_group *m = &socket->memberships[i];
    if (ip_addr_cmp(&m->group, &wanted.group) && ip_addr_cmp(&m->interface, &wanted.interface)) {
      found = i;
    }
  }
  if (join) {
    if (found < socket->membership_count) return TCPIP_EADDRINUSE;
    if (socket->membership_count == TCPIP_UDP_MAX_MEMBERSHIPS) return TCPIP_ENOBUFS;
    err_t err = group_change(&wanted, true);
    if (err != ERR_OK) return tcpip_error_from_lwip(err);
    socket->memberships[socket->membership_count++] = wanted;
    return TCPIP_OK;
  }
  if (found == socket->membership_count) return TCPIP_EADDRNOTAVAIL;
  /* The interface may be gone (and its groups with it): nothing to leave. */
  (void)group_change(&socket->memberships[found], false);
  socket->memberships[found] = socket->memberships[--socket->membership_count];
  return TCPIP_OK;
}

static void socket_free(tcpip_udp_socket *socket) {
  for (size_t i = 0; i < socket->membership_count; i++) {
    (void)group_change(&socket->memberships[i], false);
  }
  tcpip_id_map_remove(&socket->stack->udp_sockets, socket->id);
  udp_remove(socket->pcb);
  free(socket);
}

void tcpip_udp_close(tcpip_stack *stack, uint32_t id) {
  tcpip_udp_socket *socket = socket_find(stack, id);
  if (socket != NULL) socket_free(socket);
}

void tcpip_udp_destroy_all(tcpip_stack *stack) {
  tcpip_id_map *map = &stack->udp_sockets;
  for (size_t i = 0; i < map->capacity; i++) {
    if (map->slots[i].id == 0) continue;
    tcpip_udp_socket *socket = map->slots[i].value;
    udp_remove(socket->pcb);
    free(socket);
  }
  tcpip_id_map_free(map);
}

/* As Linux: only a connected socket hears that its peer's port is closed,
 * as ECONNREFUSED (its next receive fails with it). */
void tcpip_udp_port_unreachable(tcpip_stack *stack, const ip_addr_t *local, uint16_t local_port,
                                const ip_addr_t *remote, uint16_t remote_port) {
  (void)local;
  tcpip_id_map *map = &stack->udp_sockets;
  for (size_t i = 0; i < map->capacity; i++) {
    if (map->slots[i].id == 0) continue;
    tcpip_udp_socket *socket = map->slots[i].value;
    struct udp_pcb *pcb = socket->pcb;
    if (!(pcb->flags & UDP_FLAGS_CONNECTED) || pcb->local_port != local_port ||
        pcb->remote_port != remote_port || !ip_addr_cmp(&pcb->remote_ip, remote)) {
      continue;
    }
    tcpip_event event = {.type = TCPIP_EV_DONE,
                         .id = socket->id,
                         .other_id = TCPIP_UDP_REFUSED_TAG,
                         .error = TCPIP_ECONNREFUSED};
    tcpip_emit(stack, &event);
  }
}
