/*
 * tcpip core: one lwIP instance, its interfaces and its sockets.
 *
 * The core knows nothing of Node, N-API or threads. Whoever drives it (the
 * Node worker thread, or the wasm export layer on the JS thread) calls every
 * function below from one thread only, the thread that called
 * tcpip_stack_create(); lwIP's state lives in thread-locals on that thread.
 *
 * Sockets and listeners are named by 32-bit ids. Ids below TCPIP_CORE_ID_BASE
 * are chosen by the driver (so it can name a socket before the core has seen
 * it); ids from TCPIP_CORE_ID_BASE up are chosen by the core for accepted
 * connections. Commands naming an unknown id are ignored: the socket may have
 * died while the command was in flight, and its error event says so.
 *
 * Every failure a driver reports comes from the core, as a TCPIP_EV_ERROR
 * event: drivers never make one up. A driver that had no memory to pass a
 * command's string or buffer passes NULL instead, and the core fails the
 * command with TCPIP_ENOBUFS, as if it had run out of memory itself.
 *
 * lib/backend/contract.js declares the same constants, events and commands
 * for the JS engines; test/contract.test.js holds the two together.
 */
#ifndef TCPIP_CORE_H
#define TCPIP_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TCPIP_CORE_ID_BASE 0x80000000u
#define TCPIP_ADDRSTRLEN 48
#define TCPIP_SLEEP_FOREVER UINT32_MAX
/* The smallest interface MTU: IPv4's 576-byte datagram every host must take. */
#define TCPIP_MTU_MIN 576
#define TCPIP_MTU_MAX 65535
/* What an MTU of 0 picks: loopback interfaces carry anything IP can. */
#define TCPIP_MTU_DEFAULT 1500
#define TCPIP_MTU_DEFAULT_LOOPBACK 65535
/* Interfaces of one stack, bridges included. */
#define TCPIP_MAX_INTERFACES 64
/* TAP interfaces one bridge switches between. */
#define TCPIP_MAX_BRIDGE_PORTS 32
/* Addresses of one interface: one IPv4 address, up to four IPv6 ones, the
 * link-local address among them on TAP and bridge interfaces (and those
 * SLAAC forms). */
#define TCPIP_MAX_IPV6_ADDRESSES 4
/* Drivers number the events of their own layer from here (the core's are
 * below): the capture of interface `id` has ended, its file is complete. */
#define TCPIP_EV_DRIVER_BASE 100
#define TCPIP_EV_CAPTURE_CLOSED TCPIP_EV_DRIVER_BASE
/* What a received datagram costs its UDP socket's receive buffer beyond its
 * bytes (a kernel charges its buffer's bookkeeping too): an empty datagram
 * is not free. */
#define TCPIP_UDP_DATAGRAM_OVERHEAD 256
/* The DONE tag of a connected UDP socket's ECONNREFUSED (the peer's port is
 * closed); drivers' send tags stay below it, and 0 is a failed connect. */
#define TCPIP_UDP_REFUSED_TAG 0xFFFFFFFFu

typedef struct tcpip_stack tcpip_stack;

/* Errors as the driver reports them; the JS layer turns them into Node's
 * error codes of the same name. */
typedef enum tcpip_error {
  TCPIP_OK = 0,
  TCPIP_ECONNREFUSED,
  TCPIP_ECONNRESET,
  TCPIP_ECONNABORTED,
  TCPIP_ETIMEDOUT,
  TCPIP_EADDRINUSE,
  TCPIP_EADDRNOTAVAIL,
  TCPIP_ENETUNREACH,
  TCPIP_ENOBUFS,
  TCPIP_EINVAL,
  TCPIP_EPIPE,
  TCPIP_EMSGSIZE, /* a datagram larger than IP can carry */
  TCPIP_EACCES,   /* a broadcast from a socket without SO_BROADCAST */
  TCPIP_ERROR_COUNT
} tcpip_error;

typedef struct tcpip_endpoint {
  char address[TCPIP_ADDRSTRLEN]; /* textual, as Node prints it */
  uint16_t port;
  uint8_t family; /* 4 or 6 */
} tcpip_endpoint;

typedef enum tcpip_event_type {
  /* a listener is bound and listening: local.port holds the bound port */
  TCPIP_EV_LISTENING = 1,
  /* a listener accepted connection `id`; `other_id` is the listener */
  TCPIP_EV_ACCEPTED,
  /* an outgoing connection completed */
  TCPIP_EV_CONNECTED,
  /* bytes arrived: copy them (tcpip_event_copy_data) or hold them
   * (tcpip_event_hold_data) during the call */
  TCPIP_EV_DATA,
  /* the peer sent FIN */
  TCPIP_EV_EOF,
  /* `count` more bytes of earlier writes were taken by TCP */
  TCPIP_EV_WRITTEN,
  /* every write before the shutdown was taken, and FIN is queued */
  TCPIP_EV_SHUTDOWN,
  /* the socket, listener or interface failed and is gone: `error` says why
   * (an interface only fails to be created) */
  TCPIP_EV_ERROR,
  /* interface `id` sent a packet (TUN) or frame (TAP): copy it with
   * tcpip_event_copy_data() or tcpip_event_copy_packet() during the call */
  TCPIP_EV_PACKET,
  /* the statistics of interface `id` that tcpip_interface_request_stats()
   * asked for, in `stats` */
  TCPIP_EV_STATS,
  /* a UDP socket is bound: local holds its address and port */
  TCPIP_EV_BOUND,
  /* a datagram arrived for UDP socket `id` from `remote`: its `count` bytes
   * are read as those of TCPIP_EV_DATA (copy them during the call), and
   * count against the socket's receive buffer until consumed */
  TCPIP_EV_DATAGRAM,
  /* UDP socket `id` failed to connect (`error`, `other_id` 0), or (connected)
   * heard that its peer's port is closed (ECONNREFUSED, `other_id`
   * TCPIP_UDP_REFUSED_TAG). Drivers
   * that answer sends later also report with it: the send they tagged
   * `other_id`, `count` bytes sent or `error` */
  TCPIP_EV_DONE,
  /* an echo reply to the ping whose ICMP identifier is `id`: `other_id` is
   * its sequence number, `count` its payload's bytes, `remote` who answered
   * (drivers that send echo requests later also report a request that
   * failed with it, `error` set) */
  TCPIP_EV_ECHO_REPLY,
  /* interface `id`'s DHCP client bound a lease (first, renewed or rebound)
   * or lost it: `count` bytes of a lease record (TCPIP_LEASE_* below), read
   * as those of TCPIP_EV_PACKET */
  TCPIP_EV_LEASE = 15,
  /* interface `id` autoconfigured an address (SLAAC) that is now usable,
   * or lost one: `count` bytes of an address record (TCPIP_ADDRESS_* below),
   * read as those of TCPIP_EV_PACKET */
  TCPIP_EV_ADDRESS = 16
} tcpip_event_type;

typedef struct tcpip_interface_stats {
  uint64_t packets_in, bytes_in;   /* injected and accepted */
  uint64_t packets_out, bytes_out; /* sent by the stack */
  uint64_t dropped_malformed;      /* too short, bad header, lengths that lie */
  uint64_t dropped_oversize;       /* larger than the MTU allows */
  uint64_t dropped_down;           /* arrived while the interface was down */
  uint64_t dropped_no_memory;      /* no buffer for it */
} tcpip_interface_stats;

typedef struct tcpip_event {
  tcpip_event_type type;
  uint32_t id;
  uint32_t other_id;
  tcpip_error error;
  size_t count;
  tcpip_endpoint local;
  tcpip_endpoint remote;
  const tcpip_interface_stats *stats; /* TCPIP_EV_STATS, valid during the call */
  const void *data_;                  /* private: the buffer chain of DATA, DATAGRAM, PACKET */
} tcpip_event;

/* Called synchronously, on the core's thread, for every event. */
typedef void (*tcpip_event_fn)(void *context, const tcpip_event *event);

/* Copies the bytes of a TCPIP_EV_DATA or TCPIP_EV_DATAGRAM event into dst (event->count bytes). */
void tcpip_event_copy_data(const tcpip_event *event, void *dst);

/* Keeps the bytes of a TCPIP_EV_DATA or _DATAGRAM event alive past the callback without a
 * copy, when they lie in one piece: returns a handle and sets *bytes, or
 * returns NULL (copy them instead). The handle must be given back with
 * tcpip_data_release(), which any thread may call. */
void *tcpip_event_hold_data(const tcpip_event *event, const void **bytes);
void tcpip_data_release(void *handle);

tcpip_stack *tcpip_stack_create(tcpip_event_fn on_event, void *context);
/* Aborts every connection, removes every interface, frees all memory. */
void tcpip_stack_destroy(tcpip_stack *stack);

/* Runs due timers and delivers queued loopback traffic and pending output.
 * Returns the milliseconds until it must run again, or TCPIP_SLEEP_FOREVER. */
uint32_t tcpip_stack_poll(tcpip_stack *stack);

/* Interfaces, named by driver-chosen ids (from the same id space as
 * sockets). Addresses are CIDRs: "a.b.c.d/len" or "ipv6/len"; one IPv4
 * address and up to three IPv6 ones. */
typedef enum tcpip_interface_kind {
  TCPIP_INTERFACE_LOOPBACK = 1, /* delivers what it sends back to the stack */
  TCPIP_INTERFACE_TUN,          /* L3: IP packets in and out */
  TCPIP_INTERFACE_TAP,          /* L2: Ethernet frames, with ARP and ND */
  TCPIP_INTERFACE_BRIDGE        /* an L2 switch over TAP ports, with its own address */
} tcpip_interface_kind;

typedef struct tcpip_interface_config {
  tcpip_interface_kind kind;
  const char *const *cidrs;
  size_t cidr_count;
  uint16_t mtu;          /* 0 picks the kind's default */
  uint8_t mac[6];        /* TAP only */
  const char *gateway;   /* IPv4 next hop for off-link traffic, or NULL */
  bool default_route;    /* route what no other interface matches through it */
  const uint32_t *ports; /* BRIDGE only: TAP interfaces it switches between */
  size_t port_count;
} tcpip_interface_config;

/* On failure the interface does not exist, and a TCPIP_EV_ERROR event for
 * `id` says why, as the result does. A NULL config fails with ENOBUFS. */
tcpip_error tcpip_interface_create(tcpip_stack *stack, uint32_t id,
                                   const tcpip_interface_config *config);
void tcpip_interface_remove(tcpip_stack *stack, uint32_t id);
/* Hands the stack one IP packet (TUN) or Ethernet frame (TAP); the bytes are
 * copied. Malformed, oversized or unroutable input is counted and dropped. */
void tcpip_interface_input(tcpip_stack *stack, uint32_t id, const void *bytes, size_t length);
/* Answers with a TCPIP_EV_STATS event. */
void tcpip_interface_request_stats(tcpip_stack *stack, uint32_t id);
/* Checksums are generated and checked unless turned off, which is right
 * only where no wire can corrupt a packet (links between stacks). */
void tcpip_interface_set_checksums(tcpip_stack *stack, uint32_t id, bool enabled);

/* DHCP client (lwIP's) on TAP or bridge interface `id`. Flags without
 * TCPIP_DHCP_START stop it, releasing the lease. With
 * TCPIP_DHCP_DEFAULT_ROUTE a lease's router becomes the default route.
 * Each bound or lost lease is a TCPIP_EV_LEASE event whose record holds the
 * address (4 bytes, network order; 0.0.0.0: no lease), the prefix length
 * (1), the count of DNS servers (1), 2 reserved, the router (4), the lease
 * time in seconds (4, big-endian), the server (4), then the DNS servers (4
 * each, at most TCPIP_LEASE_MAX_DNS). */
typedef enum tcpip_dhcp_flag { TCPIP_DHCP_START = 1, TCPIP_DHCP_DEFAULT_ROUTE = 2 } tcpip_dhcp_flag;
void tcpip_interface_dhcp(tcpip_stack *stack, uint32_t id, uint32_t flags);
#define TCPIP_LEASE_HEADER 20
#define TCPIP_LEASE_MAX_DNS 3

/* IPv6 addresses by SLAAC from router advertisements on TAP or bridge
 * interface `id`, on or off (which retires the addresses it formed). Each
 * is a TCPIP_EV_ADDRESS event once it passed duplicate address detection,
 * and another when it expires or goes: a record of TCPIP_ADDRESS_RECORD_LENGTH
 * bytes, the address (16, network order), its prefix length (1), flags (1:
 * TCPIP_ADDRESS_ADDED, else removed), then reserved bytes. */
void tcpip_interface_slaac(tcpip_stack *stack, uint32_t id, bool enabled);
#define TCPIP_ADDRESS_RECORD_LENGTH 20
#define TCPIP_ADDRESS_ADDED 1

/* A packet owned by whoever holds it: what an interface's sink receives and
 * what tcpip_interface_input_packet() takes. Any thread may read, copy or
 * free one; only the stack's thread may hand it to a stack. */
typedef struct tcpip_packet tcpip_packet;
const uint8_t *tcpip_packet_bytes(const tcpip_packet *packet, size_t *length);
tcpip_packet *tcpip_packet_copy(const tcpip_packet *packet);
void tcpip_packet_free(tcpip_packet *packet);
/* A packet of `length` bytes for the driver to fill through *bytes before
 * it hands it to tcpip_interface_input_packet(); NULL when there is no memory
 * or `length` exceeds TCPIP_PACKET_MAX. Any thread may call it: the bytes
 * come from the C heap and no stack state is touched. */
#define TCPIP_PACKET_MAX 0xFFFFu
tcpip_packet *tcpip_packet_alloc(size_t length, uint8_t **bytes);
/* The bytes of a TCPIP_EV_DATA or TCPIP_EV_PACKET event, copied once into a
 * packet the caller owns (NULL when there is no memory). Only during the
 * event's call. */
tcpip_packet *tcpip_event_copy_packet(const tcpip_event *event);

/* Sends what the stack sends out of interface `id` to `sink` (called on
 * the stack's thread, owning the packet) instead of TCPIP_EV_PACKET events;
 * a NULL sink restores the events. */
typedef void (*tcpip_packet_sink)(void *context, tcpip_packet *packet);
void tcpip_interface_set_sink(tcpip_stack *stack, uint32_t id, tcpip_packet_sink sink,
                              void *context);
/* Shows every packet or frame that enters or leaves interface `id` to `fn`
 * (on the stack's thread, bytes valid during the call), for packet capture;
 * a NULL fn stops it. */
typedef void (*tcpip_capture_fn)(void *context, const uint8_t *bytes, size_t length, bool outgoing);
void tcpip_interface_set_capture(tcpip_stack *stack, uint32_t id, tcpip_capture_fn fn,
                                 void *context);

/* Like tcpip_interface_input() but takes the packet, without a copy. */
void tcpip_interface_input_packet(tcpip_stack *stack, uint32_t id, tcpip_packet *packet);

/* TCP. Results arrive as events. A NULL address (the driver had no memory
 * for it) fails the listener or connection with ENOBUFS. */
void tcpip_tcp_listen(tcpip_stack *stack, uint32_t id, const char *address, uint16_t port,
                      int backlog, bool ipv6_only);
void tcpip_tcp_connect(tcpip_stack *stack, uint32_t id, const char *address, uint16_t port,
                       const char *local_address, uint16_t local_port);

/* Gives bytes lent to the core back to their owner. */
typedef void (*tcpip_release_fn)(void *context);

/* Queues `len` bytes for sending without copying them: the core borrows
 * `data` and reads it, on the stack's thread, as TCP's send buffer makes
 * room (TCP keeps its own copy of what it has taken). The bytes must stay
 * valid and unchanged until the core calls release(context), which it does
 * exactly once per call, on the stack's thread: as soon as TCP has taken the
 * last byte, or when the write is refused (unknown socket, a listener, after
 * shutdown, len 0) or dropped (the socket fails, is closed or aborted, or the
 * stack is destroyed), possibly before this function returns. `release` may
 * be NULL when the bytes need no giving back.
 *
 * `data` NULL with `len` > 0 means the driver had no memory for the bytes:
 * the socket fails with a TCPIP_ENOBUFS error event, as it does when the
 * core has no memory to queue the write. */
/* A catch-all listener on interface `interface_id` (IPv4): from now on the
 * interface takes TCP to any address that is not its own as the stack's
 * (it goes on doing so after the listener closes, and such SYNs are then
 * answered with RST), and every SYN of such a connection, to any address
 * and port, is a TCPIP_EV_ACCEPTED event at once, before any answer: its
 * `local` is the SYN's original destination. The driver answers with
 * tcpip_tcp_accept_syn() (SYN|ACK), or refuses it with tcpip_tcp_abort()
 * or tcpip_tcp_close() (RST: the client sees ECONNREFUSED). Writes wait for
 * the handshake. Unanswered, the connection fails (ETIMEDOUT) with lwIP's
 * SYN_RCVD timeout, 20 s. One per interface: another fails EADDRINUSE, an
 * unknown interface EINVAL. TCPIP_EV_LISTENING shows 0.0.0.0 port 0. */
void tcpip_tcp_listen_foreign(tcpip_stack *stack, uint32_t id, uint32_t interface_id);
/* Answers the SYN of catch-all connection `id` with SYN|ACK. */
void tcpip_tcp_accept_syn(tcpip_stack *stack, uint32_t id);

void tcpip_tcp_write_borrowed(tcpip_stack *stack, uint32_t id, const void *data, size_t len,
                              tcpip_release_fn release, void *context);
/* tcpip_tcp_write_borrowed() of bytes allocated with malloc, which the core
 * frees once taken (or dropped): the driver gives them up with the call. */
void tcpip_tcp_write(tcpip_stack *stack, uint32_t id, void *data, size_t len);
/* A write of bytes that are the caller's only during the call (a driver on
 * the stack's own thread writing from its caller's buffer): TCP takes what
 * its send buffer has room for now, and the core copies the rest. */
void tcpip_tcp_write_transient(tcpip_stack *stack, uint32_t id, const void *data, size_t len);
void tcpip_tcp_consumed(tcpip_stack *stack, uint32_t id, size_t len);
void tcpip_tcp_shutdown(tcpip_stack *stack, uint32_t id);
/* Graceful close (FIN); unread data turns it into a reset, as in BSD. */
void tcpip_tcp_close(tcpip_stack *stack, uint32_t id);
/* Immediate reset. */
void tcpip_tcp_abort(tcpip_stack *stack, uint32_t id);
void tcpip_tcp_set_nodelay(tcpip_stack *stack, uint32_t id, bool enable);
void tcpip_tcp_set_keepalive(tcpip_stack *stack, uint32_t id, bool enable, uint32_t idle_ms);

/* UDP. A socket exists from a bind that succeeds (TCPIP_EV_BOUND; a failed
 * bind answers TCPIP_EV_ERROR and leaves no socket) until it is closed.
 * Addresses are those of the socket's family (flags): a dual-stack udp6
 * socket (bound to "::" without TCPIP_UDP_IPV6_ONLY) reaches IPv4 hosts as
 * ::ffff:a.b.c.d and shows them so. An empty address binds the wildcard. */
typedef enum tcpip_udp_flag {
  TCPIP_UDP_IPV6 = 1,      /* a udp6 socket */
  TCPIP_UDP_IPV6_ONLY = 2, /* "::" takes IPv6 only */
  TCPIP_UDP_REUSE_ADDR = 4 /* SO_REUSEADDR: others may bind the same port */
} tcpip_udp_flag;
void tcpip_udp_bind(tcpip_stack *stack, uint32_t id, const char *address, uint16_t port,
                    uint32_t flags);
/* Sets the socket's peer: TCPIP_EV_CONNECTED with the local address that
 * reaches it, or TCPIP_EV_DONE with other_id 0 and the error. */
void tcpip_udp_connect(tcpip_stack *stack, uint32_t id, const char *address, uint16_t port);
void tcpip_udp_disconnect(tcpip_stack *stack, uint32_t id);
/* Sends `len` bytes (copied) to address:port, or to the connected peer when
 * `address` is "", and says how that went, as a kernel's sendto() does: at
 * once (no event follows). A NULL `address`, or a NULL `data` with `len` >
 * 0 (the driver had no memory), fails with ENOBUFS; an unknown socket with
 * EINVAL. */
tcpip_error tcpip_udp_send(tcpip_stack *stack, uint32_t id, const char *address, uint16_t port,
                           const void *data, size_t len);
/* The driver is done with received datagrams: their bytes plus
 * TCPIP_UDP_DATAGRAM_OVERHEAD each. */
void tcpip_udp_consumed(tcpip_stack *stack, uint32_t id, size_t len);
typedef enum tcpip_udp_option {
  TCPIP_UDP_TTL = 1,        /* unicast hop limit, 1..255 */
  TCPIP_UDP_MULTICAST_TTL,  /* multicast hop limit, 0..255 */
  TCPIP_UDP_MULTICAST_LOOP, /* 0 or 1 */
  TCPIP_UDP_BROADCAST,      /* SO_BROADCAST, 0 or 1 */
  TCPIP_UDP_RECV_BUFFER,    /* bytes of datagrams held for the driver */
  /* the id of the interface multicast leaves by; 0: as routed */
  TCPIP_UDP_MULTICAST_INTERFACE,
  /* the id of the only interface the socket receives from and sends by
   * (SO_BINDTODEVICE: broadcasts too); 0: any */
  TCPIP_UDP_BIND_INTERFACE
} tcpip_udp_option;
void tcpip_udp_set_option(tcpip_stack *stack, uint32_t id, tcpip_udp_option option, uint32_t value);
/* Joins (or leaves) multicast `group` on the interface that has
 * `interface_address` ("": every interface), sending IGMP or MLD reports,
 * and says how that went: EINVAL (not a group of the socket's family),
 * EADDRNOTAVAIL (no such interface; leaving a group not joined),
 * EADDRINUSE (joined already), ENOBUFS (20 groups already). A socket
 * leaves its groups when it closes. */
tcpip_error tcpip_udp_membership(tcpip_stack *stack, uint32_t id, const char *group,
                                 const char *interface_address, bool join);
void tcpip_udp_close(tcpip_stack *stack, uint32_t id);

/* ICMP. Sends one echo request (ping) to `address` with `size` bytes of
 * payload, and says how that went (as tcpip_udp_send); replies arrive as
 * TCPIP_EV_ECHO_REPLY events for `identifier` (not 0), while it is among
 * the last 64 identifiers sent. */
tcpip_error tcpip_icmp_echo(tcpip_stack *stack, uint16_t identifier, uint16_t sequence,
                            const char *address, uint16_t size);

const char *tcpip_error_name(tcpip_error error);

#ifdef __cplusplus
}
#endif

#endif
