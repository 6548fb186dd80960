/* The JS link engine's decisions (see tcpip_wasm_link.h). */
#include "tcpip_wasm_link.h"

#include <stddef.h>
#include <stdlib.h>

_Static_assert(offsetof(tcpip_wasm_link, due_ms) == 0, "JS reads the due time at offset 0");
_Static_assert(sizeof(tcpip_link_counters) == 8 * sizeof(uint64_t), "JS reads eight counters");

tcpip_wasm_link *tcpip_wasm_link_create(uint32_t header_bytes, double seed) {
  tcpip_wasm_link *link = malloc(sizeof *link);
  if (link == NULL) return NULL;
  link->due_ms = 0;
  tcpip_link_conditions_init(&link->conditions);
  for (unsigned i = 0; i < 2; i++) {
    tcpip_link_direction_init(&link->directions[i], header_bytes, (uint64_t)seed, i);
  }
  return link;
}

void tcpip_wasm_link_destroy(tcpip_wasm_link *link) { free(link); }

bool tcpip_wasm_link_set_conditions(tcpip_wasm_link *link, double latency_ms, double jitter_ms,
                                    double loss, double duplicate, double reorder, double rate_bps,
                                    uint32_t mtu, uint32_t queue_bytes, bool up) {
  link->conditions = (tcpip_link_conditions){
      .latency_ms = latency_ms,
      .jitter_ms = jitter_ms,
      .loss = loss,
      .duplicate = duplicate,
      .reorder = reorder,
      .rate_bps = rate_bps,
      .mtu = mtu,
      .queue_bytes = queue_bytes,
      .up = up,
  };
  return tcpip_link_conditions_timed(&link->conditions);
}

uint32_t tcpip_wasm_link_decide(tcpip_wasm_link *link, uint32_t direction, uint32_t length,
                                double now_ms) {
  tcpip_link_verdict verdict;
  tcpip_link_decide(&link->directions[direction & 1], &link->conditions, length, now_ms, &verdict);
  link->due_ms = verdict.due_ms;
  return (uint32_t)verdict.fate | (verdict.duplicate ? TCPIP_WASM_LINK_DUPLICATE : 0);
}

void tcpip_wasm_link_refused(tcpip_wasm_link *link, uint32_t direction) {
  tcpip_link_count_refused(&link->directions[direction & 1]);
}

const tcpip_link_counters *tcpip_wasm_link_counters(const tcpip_wasm_link *link,
                                                    uint32_t direction) {
  return &link->directions[direction & 1].counters;
}
