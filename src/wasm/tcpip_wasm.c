/* The wasm32 export layer (see tcpip_wasm.h). One module instance holds one
 * stack, so the layer's state is plain globals. */
#include "tcpip_wasm.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(offsetof(tcpip_wasm_event, data) == 20, "JS reads the record at fixed offsets");
_Static_assert(offsetof(tcpip_wasm_event, local_address) == 32,
               "JS reads the record at fixed offsets");
_Static_assert(offsetof(tcpip_wasm_event, remote_address) == 80,
               "JS reads the record at fixed offsets");
_Static_assert(offsetof(tcpip_wasm_event, stats) == 128, "JS reads the record at fixed offsets");
_Static_assert(sizeof(tcpip_interface_stats) == 8 * sizeof(uint64_t), "stats are eight counters");

/* clang-format off: it cannot keep an attribute on a line of its own */
__attribute__((import_module("tcpip"), import_name("event"))) extern void tcpip_wasm_import_event(
    const tcpip_wasm_event *record);

__attribute__((import_module("tcpip"), import_name("capture_write"))) extern uint32_t
tcpip_wasm_import_capture_write(uint32_t interface_id, const uint8_t *bytes, uint32_t length);
/* clang-format on */

static tcpip_stack *stack;
static tcpip_wasm_event record;
/* The packet JS is filling, between tcpip_wasm_packet() and its input. */
static tcpip_packet *pending_packet;
static uint8_t *scratch;
static uint32_t scratch_size;
/* DATA that arrives in pieces is gathered here for JS to copy in one go. */
static uint8_t *gather;
static uint32_t gather_size;
static size_t heap_in_use;

/* The C heap, counted: the linker routes every malloc, calloc, realloc and
 * free of our code and lwIP's here (-Wl,--wrap). */
void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *pointer, size_t size);
void __real_free(void *pointer);

void *__wrap_malloc(size_t size) {
  void *pointer = __real_malloc(size);
  if (pointer != NULL) heap_in_use += malloc_usable_size(pointer);
  return pointer;
}

void *__wrap_calloc(size_t count, size_t size) {
  void *pointer = __real_calloc(count, size);
  if (pointer != NULL) heap_in_use += malloc_usable_size(pointer);
  return pointer;
}

void *__wrap_realloc(void *pointer, size_t size) {
  size_t before = pointer != NULL ? malloc_usable_size(pointer) : 0;
  void *moved = __real_realloc(pointer, size);
  if (moved != NULL) heap_in_use += malloc_usable_size(moved) - before;
  else if (size == 0) heap_in_use -= before;
  return moved;
}

void __wrap_free(void *pointer) {
  if (pointer != NULL) heap_in_use -= malloc_usable_size(pointer);
  __real_free(pointer);
}

void *tcpip_wasm_alloc(uint32_t size) { return malloc(size); }
void tcpip_wasm_free(void *pointer) { free(pointer); }
uint32_t tcpip_wasm_heap_in_use(void) { return (uint32_t)heap_in_use; }

/* One byte more than the capacity, always NUL: a string JS left
 * unterminated ends there instead of running past the buffer. */
static bool reserve(uint8_t **buffer, uint32_t *capacity, uint32_t size) {
  if (size <= *capacity) return true;
  uint32_t grown = *capacity ? *capacity : 256;
  while (grown < size) grown = grown > UINT32_MAX / 2 ? size : grown * 2;
  if (grown == UINT32_MAX) return false;
  uint8_t *moved = realloc(*buffer, (size_t)grown + 1);
  if (moved == NULL) return false;
  moved[grown] = 0;
  *buffer = moved;
  *capacity = grown;
  return true;
}

/* The next NUL-terminated string of the scratch buffer at *cursor, or NULL
 * when none starts inside it. */
static const char *next_string(const char **cursor) {
  if (scratch == NULL) return NULL;
  const char *start = *cursor;
  const char *end = (const char *)scratch + scratch_size;
  if (start > end) return NULL;
  *cursor = start + strlen(start) + 1;
  return start;
}

uint8_t *tcpip_wasm_scratch(uint32_t size) {
  if (reserve(&scratch, &scratch_size, size)) return scratch;
  /* The next command then finds no arguments, and the core fails it with
   * ENOBUFS, rather than reading what an earlier command left here. */
  free(scratch);
  scratch = NULL;
  scratch_size = 0;
  return NULL;
}

static void copy_endpoint(char *address, uint32_t *port, const tcpip_endpoint *endpoint) {
  memcpy(address, endpoint->address, TCPIP_ADDRSTRLEN);
  address[TCPIP_ADDRSTRLEN - 1] = '\0';
  *port = endpoint->port;
}

static void on_event(void *context, const tcpip_event *event) {
  (void)context;
  record.type = event->type;
  record.id = event->id;
  record.other_id = event->other_id;
  record.error = event->error;
  record.count = (uint32_t)event->count;
  record.data = 0;
  void *held = NULL;
  switch (event->type) {
    case TCPIP_EV_DATA:
    case TCPIP_EV_DATAGRAM:
    case TCPIP_EV_PACKET:
    case TCPIP_EV_LEASE:
    case TCPIP_EV_ADDRESS: {
      const void *bytes = NULL;
      held = tcpip_event_hold_data(event, &bytes);
      if (held == NULL) {
        bool room = reserve(&gather, &gather_size, record.count);
        if (!room && event->type == TCPIP_EV_DATAGRAM) {
          /* Lost like a datagram the receive buffer had no room for. */
          tcpip_udp_consumed(stack, event->id, event->count + TCPIP_UDP_DATAGRAM_OVERHEAD);
          return;
        }
        if (!room) {
          /* JS sees a DATA event it cannot read as a reset; never silently
           * lose bytes of a stream. */
          record.type = TCPIP_EV_ERROR;
          record.error = TCPIP_ENOBUFS;
          record.count = 0;
          break;
        }
        tcpip_event_copy_data(event, gather);
        bytes = gather;
      }
      record.data = (uint32_t)(uintptr_t)bytes;
      if (event->type == TCPIP_EV_DATAGRAM) {
        copy_endpoint(record.remote_address, &record.remote_port, &event->remote);
      }
      break;
    }
    case TCPIP_EV_ECHO_REPLY:
    case TCPIP_EV_ACCEPTED:
    case TCPIP_EV_CONNECTED:
    case TCPIP_EV_LISTENING:
    case TCPIP_EV_BOUND:
      copy_endpoint(record.local_address, &record.local_port, &event->local);
      copy_endpoint(record.remote_address, &record.remote_port, &event->remote);
      break;
    case TCPIP_EV_STATS: memcpy(record.stats, event->stats, sizeof record.stats); break;
    default: break;
  }
  tcpip_wasm_import_event(&record);
  tcpip_data_release(held);
}

bool tcpip_wasm_create(void) {
  if (stack != NULL) return false;
  stack = tcpip_stack_create(on_event, NULL);
  return stack != NULL;
}

void tcpip_wasm_destroy(void) {
  tcpip_packet_free(pending_packet);
  pending_packet = NULL;
  tcpip_stack_destroy(stack);
  stack = NULL;
  free(scratch);
  scratch = NULL;
  scratch_size = 0;
  free(gather);
  gather = NULL;
  gather_size = 0;
}

tcpip_stack *tcpip_wasm_stack(void) { return stack; }

uint32_t tcpip_wasm_poll(void) { return tcpip_stack_poll(stack); }

uint32_t tcpip_wasm_interface_create(uint32_t id, uint32_t kind, uint32_t cidr_count, uint32_t mtu,
                                     uint32_t binary_offset, bool has_mac, bool default_route,
                                     uint32_t port_count) {
  const char *cidrs[TCPIP_MAX_IPV6_ADDRESSES + 1];
  const char *cursor = (const char *)scratch;
  bool parsed = scratch != NULL && cidr_count <= TCPIP_MAX_IPV6_ADDRESSES + 1 &&
                port_count <= TCPIP_MAX_BRIDGE_PORTS && binary_offset % 4 == 0 &&
                binary_offset <= scratch_size && 8 + 4 * port_count <= scratch_size - binary_offset;
  for (uint32_t i = 0; parsed && i < cidr_count; i++)
    parsed = (cidrs[i] = next_string(&cursor)) != NULL;
  const char *gateway = parsed ? next_string(&cursor) : NULL;
  if (scratch == NULL) return tcpip_interface_create(stack, id, NULL);
  tcpip_interface_config config = {
      .kind = parsed ? (tcpip_interface_kind)kind : 0, /* 0 is no kind: EINVAL */
      .cidrs = cidrs,
      .cidr_count = parsed ? cidr_count : 0,
      .mtu = (uint16_t)mtu,
      .gateway = gateway != NULL && *gateway != '\0' ? gateway : NULL,
      .default_route = default_route,
      .ports = parsed ? (const uint32_t *)(scratch + binary_offset + 8) : NULL,
      .port_count = parsed ? port_count : 0,
  };
  if (parsed && has_mac) memcpy(config.mac, scratch + binary_offset, sizeof config.mac);
  return tcpip_interface_create(stack, id, &config);
}

uint8_t *tcpip_wasm_packet(uint32_t length) {
  tcpip_packet_free(pending_packet);
  uint8_t *bytes = NULL;
  pending_packet = tcpip_packet_alloc(length, &bytes);
  return pending_packet != NULL ? bytes : NULL;
}

void tcpip_wasm_interface_input_packet(uint32_t id) {
  tcpip_packet *packet = pending_packet;
  pending_packet = NULL;
  if (packet != NULL) tcpip_interface_input_packet(stack, id, packet);
}

void tcpip_wasm_interface_input(uint32_t id, uint32_t length) {
  if (scratch != NULL && length <= scratch_size) tcpip_interface_input(stack, id, scratch, length);
}

/* pcap records gather in a buffer of this size (or go out alone, if
 * larger) before a write. */
#define CAPTURE_BUFFER (256 * 1024)

/* A capture and the buffer it writes into, in one allocation. */
typedef struct capture {
  tcpip_pcap pcap; /* first: JS holds the capture as its tcpip_pcap */
  uint32_t id;
  uint8_t buffer[CAPTURE_BUFFER];
} capture;

static bool write_capture(void *context, const uint8_t *bytes, size_t length) {
  return tcpip_wasm_import_capture_write(((capture *)context)->id, bytes, (uint32_t)length) != 0;
}

tcpip_pcap *tcpip_wasm_capture_start(uint32_t id) {
  capture *started = malloc(sizeof *started);
  if (started == NULL) return NULL;
  started->id = id;
  tcpip_pcap_init(&started->pcap, started->buffer, sizeof started->buffer, write_capture, started);
  if (tcpip_pcap_start(&started->pcap, stack, id) != TCPIP_OK) {
    free(started);
    return NULL;
  }
  return &started->pcap;
}

void tcpip_wasm_capture_flush(tcpip_pcap *pcap) { tcpip_pcap_flush(pcap); }

bool tcpip_wasm_capture_stop(tcpip_pcap *pcap) {
  capture *stopped = (capture *)(void *)pcap;
  bool ok = tcpip_pcap_stop(pcap, stack, stopped->id);
  free(stopped);
  return ok;
}

void tcpip_wasm_tcp_listen(uint32_t id, uint32_t port, int32_t backlog, bool ipv6_only) {
  tcpip_tcp_listen(stack, id, (const char *)scratch, (uint16_t)port, backlog, ipv6_only);
}

void tcpip_wasm_tcp_connect(uint32_t id, uint32_t port, uint32_t local_port) {
  const char *cursor = (const char *)scratch;
  const char *address = next_string(&cursor);
  const char *local_address = next_string(&cursor);
  tcpip_tcp_connect(stack, id, address, (uint16_t)port, local_address, (uint16_t)local_port);
}

void tcpip_wasm_udp_bind(uint32_t id, uint32_t port, uint32_t flags) {
  tcpip_udp_bind(stack, id, (const char *)scratch, (uint16_t)port, flags);
}

void tcpip_wasm_udp_connect(uint32_t id, uint32_t port) {
  tcpip_udp_connect(stack, id, (const char *)scratch, (uint16_t)port);
}

tcpip_error tcpip_wasm_udp_send(uint32_t id, uint32_t port, uint32_t binary_offset,
                                uint32_t length) {
  bool fits = scratch != NULL && binary_offset <= scratch_size &&
              length <= scratch_size - binary_offset;
  /* Without the bytes (no memory for the scratch buffer) the core fails the
   * send with ENOBUFS, as the contract says. */
  return tcpip_udp_send(stack, id, fits ? (const char *)scratch : NULL, (uint16_t)port,
                        fits ? scratch + binary_offset : NULL, length);
}

tcpip_error tcpip_wasm_icmp_echo(uint32_t identifier, uint32_t sequence, uint32_t size) {
  return tcpip_icmp_echo(stack, (uint16_t)identifier, (uint16_t)sequence, (const char *)scratch,
                         (uint16_t)size);
}

tcpip_error tcpip_wasm_udp_membership(uint32_t id, bool join) {
  const char *cursor = (const char *)scratch;
  const char *group = next_string(&cursor);
  const char *interface_address = next_string(&cursor);
  return tcpip_udp_membership(stack, id, group, interface_address, join);
}
