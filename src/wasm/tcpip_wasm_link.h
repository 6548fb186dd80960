/*
 * The JS link engine's decisions (lib/link-engine.js): the core's link
 * conditions unit (src/core/link_conditions.h) for one link's two
 * directions. Any module instance serves; the engine keeps one for all the
 * links of its realm, apart from the stacks'.
 *
 * JS calls tcpip_wasm_link_decide() once per packet and reads the due time
 * of the verdict at offset 0 of the link (tcpip_wasm_link below), the
 * counters of a direction at tcpip_wasm_link_counters(): eight uint64 in
 * tcpip_link_counters order.
 */
#ifndef TCPIP_WASM_LINK_H
#define TCPIP_WASM_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/link_conditions.h"

typedef struct tcpip_wasm_link {
  double due_ms; /* offset 0: the last TCPIP_LINK_SEND verdict's due time */
  tcpip_link_conditions conditions;
  tcpip_link_direction directions[2]; /* 0: a to b, 1: b to a */
} tcpip_wasm_link;

/* The verdict JS gets: a tcpip_link_fate, with this bit for a duplicate. */
#define TCPIP_WASM_LINK_DUPLICATE 0x100u

/* A link that passes everything until told otherwise; `seed` is a
 * non-negative integer below 2^53. NULL when memory ran out. JS owns it
 * and gives it back with tcpip_wasm_link_destroy(). */
tcpip_wasm_link *tcpip_wasm_link_create(uint32_t header_bytes, double seed);
void tcpip_wasm_link_destroy(tcpip_wasm_link *link);
/* Returns whether packets may now wait (tcpip_link_conditions_timed):
 * without, JS need not read the clock or the due time. */
bool tcpip_wasm_link_set_conditions(tcpip_wasm_link *link, double latency_ms, double jitter_ms,
                                    double loss, double duplicate, double reorder, double rate_bps,
                                    uint32_t mtu, uint32_t queue_bytes, bool up);
/* tcpip_link_decide() for a packet of `length` bytes into `direction`. */
uint32_t tcpip_wasm_link_decide(tcpip_wasm_link *link, uint32_t direction, uint32_t length,
                                double now_ms);
/* tcpip_link_count_refused(). */
void tcpip_wasm_link_refused(tcpip_wasm_link *link, uint32_t direction);
const tcpip_link_counters *tcpip_wasm_link_counters(const tcpip_wasm_link *link,
                                                    uint32_t direction);

#endif
