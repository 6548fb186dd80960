/* What the core's files share about a stack; not part of the driver API. */
#ifndef TCPIP_STACK_INTERNAL_H
#define TCPIP_STACK_INTERNAL_H

#include "tcpip.h"
#include "id_map.h"

#include "lwip/err.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"

struct tcp_pcb;
struct raw_pcb;

#define TCPIP_ECHO_IDENTIFIERS 64

/* A chunk of application data waiting to enter TCP's send buffer. The
 * bytes are the driver's: `release` gives them back once TCP has copied the
 * last of them, or the chunk is dropped. */
typedef struct tcpip_write_chunk {
  struct tcpip_write_chunk *next;
  size_t len;
  size_t offset; /* bytes already handed to TCP */
  const unsigned char *data;
  tcpip_release_fn release;
  void *release_context;
} tcpip_write_chunk;

typedef struct tcpip_tcp_socket {
  tcpip_stack *stack;
  uint32_t id;
  struct tcp_pcb *pcb;
  bool listener;
  bool connecting;
  bool shutdown_requested; /* FIN goes out once the write queue drains */
  bool shutdown_done;
  bool shutdown_reported;
  bool eof_received;
  bool dual_stack;     /* bound to both families: IPv4 peers shown as mapped */
  bool output_pending; /* tcp_output() is due at the end of this poll */
  bool syn_pending;    /* tcp_foreign.c: a SYN not answered yet */
  tcpip_write_chunk *write_head;
  tcpip_write_chunk *write_tail;
  size_t written_unreported;   /* taken by TCP, not yet told to the driver */
  size_t delivered_unconsumed; /* receive window the driver still holds */
  struct tcpip_tcp_socket *next_dirty;
} tcpip_tcp_socket;

/* An interface: lwIP's netif first, so lwIP's netif pointers convert. */
typedef struct tcpip_interface {
  struct netif netif;
  tcpip_stack *stack;
  uint32_t id;
  tcpip_interface_kind kind;
  tcpip_interface_stats stats;
  tcpip_packet_sink sink; /* when set, output goes here instead of events */
  void *sink_context;
  tcpip_capture_fn capture; /* when set, sees all traffic in and out */
  void *capture_context;
  uint8_t *capture_scratch;       /* flattens chained buffers for the capture */
  struct tcpip_interface *bridge; /* a port: the bridge its frames go to */
  struct tcpip_bridge *switching; /* a bridge: its ports and learned MACs */
  bool dhcp_default_route;        /* a lease's router becomes the default route */
  uint8_t dhcp_dns_count;         /* DNS servers of the ACK being handled */
  uint32_t dhcp_dns[TCPIP_LEASE_MAX_DNS];
  uint8_t slaac_reported; /* slaac.c: address slots reported usable, by bit */
} tcpip_interface;

#define TCPIP_INTERFACE(netif_pointer) ((tcpip_interface *)(void *)(netif_pointer))

struct tcpip_stack {
  tcpip_event_fn on_event;
  void *context;
  tcpip_id_map sockets;     /* TCP sockets and listeners */
  tcpip_id_map udp_sockets; /* udp_socket.c's */
  struct raw_pcb *icmp4;    /* icmp.c's: every ICMP message comes by */
  struct raw_pcb *icmp6;
  /* The identifiers of the last echo requests sent: only their replies go
   * to the driver (a flood of others costs it nothing). */
  uint16_t echo_identifiers[TCPIP_ECHO_IDENTIFIERS];
  size_t echo_next;
  uint32_t next_core_id;
  tcpip_tcp_socket *dirty; /* sockets with output or reports to flush */
  tcpip_interface *interfaces[TCPIP_MAX_INTERFACES];
  size_t interface_count;
  unsigned dhcp_clients;             /* dhcp_client.c runs lwIP's DHCP timers while any */
  bool destroying;                   /* nothing leaves the interfaces while the stack goes */
  netif_ext_callback_t netif_status; /* slaac.c's watch on address states */
};

void tcpip_emit(tcpip_stack *stack, tcpip_event *event);
tcpip_error tcpip_error_from_lwip(err_t err);
void tcpip_endpoint_set(tcpip_endpoint *endpoint, const ip_addr_t *address, uint16_t port);
/* As a socket shows it: one bound to both families (dual_stack) shows IPv4
 * peers as IPv4-mapped IPv6, as Node does. */
void tcpip_endpoint_set_shown(bool dual_stack, tcpip_endpoint *endpoint, const ip_addr_t *address,
                              uint16_t port);
/* Parses "address" (no prefix). Returns false when it is not an IP. */
bool tcpip_parse_address(const char *text, ip_addr_t *address);
/* Parses "address/prefix". */
bool tcpip_parse_cidr(const char *text, ip_addr_t *address, unsigned *prefix);
bool tcpip_is_local_address(const ip_addr_t *address);

void tcpip_tcp_mark_dirty(tcpip_tcp_socket *socket);
/* tcp_socket.c's sockets, for tcp_foreign.c: a socket for a driver's
 * command (NULL: the driver heard ENOBUFS, or the id is not usable), one
 * for a connection the core accepts (NULL: no memory), the socket named
 * `id`, and what becomes of them. */
tcpip_tcp_socket *tcpip_tcp_socket_open(tcpip_stack *stack, uint32_t id, const char *address);
tcpip_tcp_socket *tcpip_tcp_socket_accept(tcpip_stack *stack);
tcpip_tcp_socket *tcpip_tcp_socket_find(tcpip_stack *stack, uint32_t id);
void tcpip_tcp_attach(tcpip_tcp_socket *socket, struct tcp_pcb *pcb);
/* Reports `error` and forgets the socket; its pcb, if any, is reset. */
void tcpip_tcp_fail(tcpip_tcp_socket *socket, tcpip_error error);
err_t tcpip_tcp_push_writes(tcpip_tcp_socket *socket);
void tcpip_tcp_flush_dirty(tcpip_stack *stack);
void tcpip_tcp_destroy_all(tcpip_stack *stack);
void tcpip_udp_destroy_all(tcpip_stack *stack);
/* A port unreachable quoted the datagram local:port -> remote:port. */
void tcpip_udp_port_unreachable(tcpip_stack *stack, const ip_addr_t *local, uint16_t local_port,
                                const ip_addr_t *remote, uint16_t remote_port);
/* icmp.c: the raw pcbs that watch ICMP for the sockets. */
bool tcpip_icmp_start(tcpip_stack *stack);
void tcpip_icmp_stop(tcpip_stack *stack);
void tcpip_tcp_trim_time_wait(void);
void tcpip_interfaces_destroy_all(tcpip_stack *stack);
/* dhcp_client.c: stops the interface's client (releasing its lease) and
 * frees its state, before the netif goes. */
void tcpip_dhcp_forget(tcpip_interface *iface);
/* slaac.c: reports the addresses SLAAC forms, from the stack's creation. */
void tcpip_slaac_watch(tcpip_stack *stack);

/* What each interface kind provides (loopback.c, tun.c, tap.c). */
err_t tcpip_loopback_init(struct netif *netif);
err_t tcpip_tun_init(struct netif *netif);
err_t tcpip_tap_init(struct netif *netif);
err_t tcpip_bridge_init(struct netif *netif);
/* bridge.c: ports are TAP interfaces of the same stack. */
tcpip_error tcpip_bridge_attach(tcpip_interface *bridge, tcpip_interface *const *ports,
                                size_t count);
void tcpip_bridge_detach_all(tcpip_interface *bridge);
void tcpip_bridge_forget_port(tcpip_interface *port);
/* A frame that arrived on `port` (owned): switched, or delivered to the bridge. */
void tcpip_bridge_receive(tcpip_interface *port, struct pbuf *p);
/* The interface named `id`, or NULL. */
tcpip_interface *tcpip_interface_find(tcpip_stack *stack, uint32_t id);
/* A contiguous copy of a buffer chain, as a packet any thread may free. */
tcpip_packet *tcpip_packet_from_pbuf(const struct pbuf *p);
/* Counts and reports a packet or frame the stack sends out of `iface`. */
err_t tcpip_interface_emit(tcpip_interface *iface, struct pbuf *p);
/* Shows an outgoing buffer chain to the interface's capture, if any. */
void tcpip_interface_capture_out(tcpip_interface *iface, const struct pbuf *p);

#endif
