/* Link conditions (see link_conditions.h): one decision per packet. */
#include "link_conditions.h"

#include <string.h>

/* A full queue drops, as a router's would: by default it holds 50 ms of the
 * rate, and never less than this. */
#define AUTOMATIC_QUEUE_MIN_BYTES (256.0 * 1024)
#define AUTOMATIC_QUEUE_SECONDS 0.05
/* The least a reordered packet is held back. */
#define REORDER_MIN_MS 1.0

/* splitmix64 (Steele, Lea and Flood): 64 bits of state, every seed good,
 * and simple enough to be the same on every compiler. */
static uint64_t next_random(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in [0, 1), from the top 53 bits: exact in a double. */
static double uniform(tcpip_link_direction *direction) {
  return (double)(next_random(&direction->random_state) >> 11) * 0x1.0p-53;
}

static double max_of(double a, double b) { return a > b ? a : b; }

void tcpip_link_conditions_init(tcpip_link_conditions *conditions) {
  memset(conditions, 0, sizeof *conditions);
  conditions->up = true;
}

bool tcpip_link_conditions_timed(const tcpip_link_conditions *c) {
  return c->latency_ms > 0 || c->jitter_ms > 0 || c->reorder > 0 || c->rate_bps > 0;
}

void tcpip_link_direction_init(tcpip_link_direction *direction, uint32_t header_bytes,
                               uint64_t seed, unsigned index) {
  memset(direction, 0, sizeof *direction);
  direction->header_bytes = header_bytes;
  /* Each direction starts from its own output of the seed's sequence. */
  uint64_t state = seed;
  for (unsigned i = 0; i <= index; i++) direction->random_state = next_random(&state);
}

/* The first condition that drops the packet, or TCPIP_LINK_SEND; counts a
 * drop. Draws the loss number. */
static tcpip_link_fate check_drop(tcpip_link_direction *direction, const tcpip_link_conditions *c,
                                  size_t length) {
  tcpip_link_counters *counters = &direction->counters;
  if (!c->up) {
    counters->dropped_down++;
    return TCPIP_LINK_DROP_DOWN;
  }
  if (c->mtu != 0 && length > (size_t)c->mtu + direction->header_bytes) {
    counters->dropped_mtu++;
    return TCPIP_LINK_DROP_MTU;
  }
  if (c->loss > 0 && uniform(direction) < c->loss) {
    counters->lost++;
    return TCPIP_LINK_LOSE;
  }
  return TCPIP_LINK_SEND;
}

void tcpip_link_decide(tcpip_link_direction *direction, const tcpip_link_conditions *c,
                       size_t length, double now_ms, tcpip_link_verdict *verdict) {
  tcpip_link_counters *counters = &direction->counters;
  verdict->duplicate = false;
  verdict->due_ms = now_ms;
  verdict->fate = check_drop(direction, c, length);
  if (verdict->fate != TCPIP_LINK_SEND) return;
  double sent_ms = now_ms;
  if (c->rate_bps > 0) {
    /* A wire of this rate: each packet waits for the ones before it. */
    double queue_bytes = c->queue_bytes != 0 ? c->queue_bytes
                                             : max_of(AUTOMATIC_QUEUE_MIN_BYTES,
                                                      c->rate_bps / 8 * AUTOMATIC_QUEUE_SECONDS);
    double start_ms = max_of(now_ms, direction->wire_free_ms);
    double backlog_bytes = (start_ms - now_ms) / 1000 * c->rate_bps / 8;
    if (backlog_bytes + (double)length > queue_bytes) {
      verdict->fate = TCPIP_LINK_DROP_QUEUE;
      counters->dropped_queue++;
      return;
    }
    direction->wire_free_ms = start_ms + (double)length * 8 / c->rate_bps * 1000;
    sent_ms = direction->wire_free_ms;
  }
  double due_ms = sent_ms + c->latency_ms;
  if (c->jitter_ms > 0) due_ms += c->jitter_ms * uniform(direction);
  if (c->reorder > 0 && uniform(direction) < c->reorder) {
    due_ms += max_of(REORDER_MIN_MS, c->latency_ms / 2 + c->jitter_ms);
    counters->reordered++;
  }
  verdict->due_ms = due_ms;
  counters->packets++;
  counters->bytes += length;
  if (c->duplicate > 0 && uniform(direction) < c->duplicate) {
    verdict->duplicate = true;
    counters->duplicated++;
  }
}

void tcpip_link_count_refused(tcpip_link_direction *direction) {
  direction->counters.dropped_queue++;
}
