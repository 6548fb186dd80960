/* The platform lwIP asks for (src/core/sys_arch.c in the product), made
 * deterministic for fuzzing: time moves only when a target says so, and
 * random numbers repeat from one input to the next, so that a crash file
 * replays the same run. */
#include <stdint.h>

#include "fuzz.h"

static uint32_t now_ms;
static uint64_t random_state;

uint32_t sys_now(void) { return now_ms; }

void fuzz_clock_reset(void) { now_ms = 1000000u; }

void fuzz_clock_advance(uint32_t ms) { now_ms += ms; }

void fuzz_random_reset(uint64_t seed) { random_state = seed != 0 ? seed : 0x9e3779b97f4a7c15ull; }

uint32_t tcpip_core_random(void) {
  /* the product's generator (xorshift64*), minus the entropy seeding */
  random_state ^= random_state >> 12;
  random_state ^= random_state << 25;
  random_state ^= random_state >> 27;
  return (uint32_t)((random_state * 2685821657736338717ull) >> 32);
}
