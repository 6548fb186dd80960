#define _POSIX_C_SOURCE 200809L
/* The two services lwIP asks of its platform in NO_SYS mode: a millisecond
 * clock and random numbers. Both work on native and wasm32 (WASI clocks). */
#include <stdint.h>
#include <sys/random.h> /* getentropy: glibc, and WASI's random_get */
#include <time.h>

#include "lwip/arch.h"
#include "lwip/sys.h"

u32_t sys_now(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (u32_t)((uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u);
}

/* Initial sequence numbers and ephemeral ports need unpredictability, not
 * cryptographic strength; each stack thread keeps its own generator. */
static LWIP_THREAD_LOCAL uint64_t random_state;

uint32_t tcpip_core_random(void) {
  /* Seeded from the host's entropy: wasm instances share addresses and a
   * millisecond clock, so stacks made together would otherwise pick the
   * same ports. The clock is the fallback where there is no entropy. */
  if (random_state == 0 && getentropy(&random_state, sizeof random_state) != 0) random_state = 0;
  if (random_state == 0) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    random_state = ((uint64_t)now.tv_sec << 32) ^ (uint64_t)now.tv_nsec ^
                   (uint64_t)(uintptr_t)&random_state;
    if (random_state == 0) random_state = 0x9e3779b97f4a7c15ull;
  }
  /* xorshift64* */
  random_state ^= random_state >> 12;
  random_state ^= random_state << 25;
  random_state ^= random_state >> 27;
  return (uint32_t)((random_state * 2685821657736338717ull) >> 32);
}
