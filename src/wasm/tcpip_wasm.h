/*
 * The wasm32 export layer: what JS calls on one module instance, which
 * drives one stack on the JS thread (each stack is its own instance).
 *
 * Events leave through one imported function, tcpip.event(record), called
 * synchronously while the core runs; the record below is read by JS at
 * fixed offsets (lib/backend/wasm.js mirrors them) and is valid only during
 * that call. Strings and small inputs are passed through a scratch buffer
 * that JS fills (tcpip_wasm_scratch), so no call allocates for them.
 */
#ifndef TCPIP_WASM_H
#define TCPIP_WASM_H

#include <stddef.h>
#include <stdint.h>

#include "../core/pcap.h"
#include "../core/tcpip.h"

typedef struct tcpip_wasm_event {
  uint32_t type;        /* offset 0: tcpip_event_type */
  uint32_t id;          /* 4 */
  uint32_t other_id;    /* 8 */
  uint32_t error;       /* 12: tcpip_error */
  uint32_t count;       /* 16 */
  uint32_t data;        /* 20: DATA and PACKET: address of `count` contiguous bytes */
  uint32_t local_port;  /* 24 */
  uint32_t remote_port; /* 28 */
  char local_address[TCPIP_ADDRSTRLEN];  /* 32, NUL-terminated */
  char remote_address[TCPIP_ADDRSTRLEN]; /* 80 */
  uint64_t stats[8];                     /* 128: STATS, in tcpip_interface_stats order */
} tcpip_wasm_event;

/* Creates the instance's stack; returns false if it exists or memory ran out. */
bool tcpip_wasm_create(void);
void tcpip_wasm_destroy(void);
/* The instance's stack, for JS to pass to the tcpip_* functions it calls
 * directly. */
tcpip_stack *tcpip_wasm_stack(void);
/* tcpip_stack_poll() of the instance's stack. */
uint32_t tcpip_wasm_poll(void);

/* A buffer of at least `size` bytes that stays valid until the next call of
 * this function; NULL when memory ran out. */
uint8_t *tcpip_wasm_scratch(uint32_t size);

/* The scratch buffer holds `cidrs` (NUL-terminated, cidr_count of them),
 * then the gateway (NUL-terminated, empty for none); from `binary_offset`
 * (a multiple of 4) the MAC (6 bytes, then 2 of padding) and `port_count`
 * interface ids. Failure comes as the core's error event, and its result. */
uint32_t tcpip_wasm_interface_create(uint32_t id, uint32_t kind, uint32_t cidr_count, uint32_t mtu,
                                     uint32_t binary_offset, bool has_mac, bool default_route,
                                     uint32_t port_count);
/* A packet of `length` bytes for JS to fill at the address returned, then
 * hand to interface `id` with tcpip_wasm_interface_input_packet(): an
 * injected packet's one copy. NULL when there is no memory for it or it is
 * larger than TCPIP_PACKET_MAX. */
uint8_t *tcpip_wasm_packet(uint32_t length);
void tcpip_wasm_interface_input_packet(uint32_t id);
/* Injects `length` bytes from the scratch buffer, copying them: for what no
 * packet could be made of, which the core then counts as it drops it. */
void tcpip_wasm_interface_input(uint32_t id, uint32_t length);
/* Captures interface `id` to a pcap file (src/core/pcap.h) whose bytes go
 * out through the imported tcpip.capture_write(id, bytes, length), which
 * returns 0 when they could not be written. Returns the capture, which JS
 * gives back with tcpip_wasm_capture_stop(), or NULL (unknown interface,
 * or no memory). */
tcpip_pcap *tcpip_wasm_capture_start(uint32_t id);
/* Writes what the capture has buffered. */
void tcpip_wasm_capture_flush(tcpip_pcap *capture);
/* Stops the capture (its interface may be gone), writes what it buffered
 * and frees it. Returns false when a write failed at any time. */
bool tcpip_wasm_capture_stop(tcpip_pcap *capture);

/* The scratch buffer holds the address, then the local address (both
 * NUL-terminated, empty for any). */
void tcpip_wasm_tcp_listen(uint32_t id, uint32_t port, int32_t backlog, bool ipv6_only);
void tcpip_wasm_tcp_connect(uint32_t id, uint32_t port, uint32_t local_port);

/* Joins or leaves the group named by the scratch buffer's first string on
 * the interface of its second; returns how it went. */
tcpip_error tcpip_wasm_udp_membership(uint32_t id, bool join);

/* An echo request to the scratch buffer's first string; returns how it went. */
tcpip_error tcpip_wasm_icmp_echo(uint32_t identifier, uint32_t sequence, uint32_t size);

/* UDP commands whose address is the scratch buffer's first string; a send's
 * bytes follow from `binary_offset` (length bytes), and it returns how it
 * went. */
void tcpip_wasm_udp_bind(uint32_t id, uint32_t port, uint32_t flags);
void tcpip_wasm_udp_connect(uint32_t id, uint32_t port);
tcpip_error tcpip_wasm_udp_send(uint32_t id, uint32_t port, uint32_t binary_offset,
                                uint32_t length);

/* The C heap, for JS: write data handed to tcpip_tcp_write() comes from
 * here (the core frees it). */
void *tcpip_wasm_alloc(uint32_t size);
void tcpip_wasm_free(void *pointer);
/* Bytes of the C heap in use, for leak checks. */
uint32_t tcpip_wasm_heap_in_use(void);

#endif
