/* What the fuzz targets share: the deterministic platform, a reader over
 * the fuzzer's bytes, and a stack driven the way a driver drives it (events
 * taken, data read or left unread, time advanced through lwIP's timers). */
#ifndef TCPIP_FUZZ_H
#define TCPIP_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../src/core/tcpip.h"

/* platform.c */
void fuzz_clock_reset(void);
void fuzz_clock_advance(uint32_t ms);
void fuzz_random_reset(uint64_t seed);

/* Reads the fuzzer's input front to back; past the end every read is 0. */
typedef struct fuzz_reader {
  const uint8_t *data;
  size_t size;
  size_t offset;
} fuzz_reader;

bool fuzz_more(const fuzz_reader *in);
uint8_t fuzz_u8(fuzz_reader *in);
uint16_t fuzz_u16(fuzz_reader *in);
uint32_t fuzz_u32(fuzz_reader *in);
/* Up to `want` bytes, fewer at the end of the input; *got says how many. */
const uint8_t *fuzz_bytes(fuzz_reader *in, size_t want, size_t *got);

/* What a target learns from the stack's events. */
typedef struct fuzz_hooks {
  /* a packet or frame the stack sent out of interface `id` */
  void (*packet)(void *context, uint32_t id, const uint8_t *bytes, size_t length);
  /* a connection accepted (or connected): `id` names it for the app calls */
  void (*socket)(void *context, uint32_t id, const tcpip_endpoint *local,
                 const tcpip_endpoint *remote);
  void *context;
} fuzz_hooks;

#define FUZZ_MAX_SOCKETS 16

typedef struct fuzz_stack {
  tcpip_stack *stack;
  fuzz_hooks hooks;
  bool reading;                       /* whether the application takes what arrives */
  uint32_t sockets[FUZZ_MAX_SOCKETS]; /* live connections, 0 when free */
  /* a catch-all listener's id (0: none): its SYNs are answered at once,
   * some with SYN|ACK and some refused, as the gateway's NAT would */
  uint32_t foreign_listener;
  size_t unread[FUZZ_MAX_SOCKETS]; /* delivered and not yet consumed */
  unsigned timer_steps_left;       /* the input's budget of timer runs, for speed */
} fuzz_stack;

/* Makes a stack with a fresh clock and random source. */
void fuzz_stack_begin(fuzz_stack *fs, const fuzz_hooks *hooks, uint64_t seed);
/* Destroys it: whatever the input did, everything must be freed (LeakSanitizer
 * checks after every input). */
void fuzz_stack_end(fuzz_stack *fs);
/* One driver turn: the app consumes what it read, then the stack polls. */
void fuzz_stack_turn(fuzz_stack *fs);
/* Lets `ms` milliseconds pass, running every lwIP timer that falls due, as
 * far as the input's budget of timer runs goes (minutes of TCP timers). */
void fuzz_stack_run_for(fuzz_stack *fs, uint32_t ms);
/* The application acts on connection slot `slot` (0..FUZZ_MAX_SOCKETS-1). */
void fuzz_stack_app(fuzz_stack *fs, unsigned slot, uint8_t action, uint16_t amount);

/* Runs `body` on a thread of its own, as the product runs each stack: lwIP's
 * state is thread-local, so every input starts from a fresh lwIP (timer
 * phases, counters, caches) and a finding replays alone. */
void fuzz_run_isolated(void (*body)(void *), void *argument);

/* Adds an interface; cidrs is NULL-terminated. Returns tcpip_error. */
tcpip_error fuzz_add_interface(fuzz_stack *fs, uint32_t id, tcpip_interface_kind kind, uint16_t mtu,
                               const char *const *cidrs, uint8_t mac_last, const uint32_t *ports,
                               size_t port_count);

#endif
