/*
 * Link conditions: what a link between two interfaces does to each packet
 * (partition, MTU, loss, rate and queue, latency, jitter, reordering,
 * duplication), decided in one place for both engines: the Node addon's
 * native links (src/node/link.cc) and the JS link engine (lib/link-engine.js,
 * through the wasm export layer).
 *
 * The unit only decides. It has no clock (the time comes in as an argument,
 * in milliseconds of whatever monotonic clock the caller uses), no threads
 * and no allocation: the caller owns every struct below, and a direction is
 * used by one thread at a time. Its random numbers come from its own seeded
 * generator, drawn in a fixed order, so a seed gives the same verdicts on
 * every engine.
 */
#ifndef TCPIP_LINK_CONDITIONS_H
#define TCPIP_LINK_CONDITIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tcpip_link_conditions {
  double latency_ms;
  double jitter_ms;     /* up to this much more latency, uniformly */
  double loss;          /* probability, 0..1 */
  double duplicate;     /* probability, 0..1 */
  double reorder;       /* probability that a packet is held back, 0..1 */
  double rate_bps;      /* 0: unlimited */
  uint32_t mtu;         /* IP bytes, link header not counted; 0: no limit */
  uint32_t queue_bytes; /* bytes that may wait behind the rate; 0: automatic */
  bool up;              /* false: a partition, every packet dropped */
} tcpip_link_conditions;

/* Conditions that pass everything at once: up, nothing else. */
void tcpip_link_conditions_init(tcpip_link_conditions *conditions);
/* Whether packets may wait (latency, jitter, reorder or a rate): without,
 * every packet sent is due the moment it is decided. */
bool tcpip_link_conditions_timed(const tcpip_link_conditions *conditions);

typedef struct tcpip_link_counters {
  uint64_t packets; /* sent on (duplicates not counted again) */
  uint64_t bytes;
  uint64_t lost;
  uint64_t duplicated;
  uint64_t reordered;
  uint64_t dropped_down;
  uint64_t dropped_mtu;
  uint64_t dropped_queue; /* behind the rate, or refused by the receiving end */
} tcpip_link_counters;

/* One direction of a link: its wire, its counters, its generator. */
typedef struct tcpip_link_direction {
  uint64_t random_state;
  double wire_free_ms;   /* when the wire is free again (rate) */
  uint32_t header_bytes; /* link-layer bytes the MTU does not count */
  tcpip_link_counters counters;
} tcpip_link_direction;

/* Direction `index` (0: a to b, 1: b to a) of a link seeded with `seed`:
 * the two directions draw different numbers from one seed. */
void tcpip_link_direction_init(tcpip_link_direction *direction, uint32_t header_bytes,
                               uint64_t seed, unsigned index);

typedef enum tcpip_link_fate {
  TCPIP_LINK_SEND = 0, /* deliver at due_ms, and a copy too if duplicate */
  TCPIP_LINK_DROP_DOWN,
  TCPIP_LINK_DROP_MTU,
  TCPIP_LINK_LOSE,
  TCPIP_LINK_DROP_QUEUE
} tcpip_link_fate;

typedef struct tcpip_link_verdict {
  tcpip_link_fate fate;
  bool duplicate;
  double due_ms; /* TCPIP_LINK_SEND: not before this time; now_ms or later */
} tcpip_link_verdict;

/*
 * Decides the fate of a packet of `length` bytes (link header included)
 * sent at `now_ms`, and counts it. In order: a link that is down drops it;
 * one longer than mtu + header_bytes is dropped; then it is lost with
 * probability `loss`; with a rate it waits for the wire behind the packets
 * before it, and is dropped when more than the queue (queue_bytes, or
 * max(256 KiB, 50 ms of the rate)) would be waiting; latency and up to
 * `jitter` more delay it; with probability `reorder` it is held back a
 * further max(1 ms, latency / 2 + jitter) so later packets overtake it;
 * with probability `duplicate` it is delivered twice. Random numbers are
 * drawn in that order (loss, jitter, reorder, duplicate), each only when
 * its condition is not zero.
 */
void tcpip_link_decide(tcpip_link_direction *direction, const tcpip_link_conditions *conditions,
                       size_t length, double now_ms, tcpip_link_verdict *verdict);

/* Counts a packet the link sent that the receiving end refused (its input
 * queue was full). */
void tcpip_link_count_refused(tcpip_link_direction *direction);

#ifdef __cplusplus
}
#endif

#endif
