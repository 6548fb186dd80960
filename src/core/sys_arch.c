#define _POSIX_C_SOURCE 200809L
/* The two services lwIP asks of its platform in NO_SYS mode: a millisecond
 * clock and random numbers. Both work on native and wasm32 (WASI clocks). */
#include <stdint.h>
#include <time.h>
#ifdef __wasm__
#include <sys/random.h> /* getentropy */
#endif

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
  if (random_state == 0) {
#ifdef __wasm__
    /* Every instance has the same addresses and a millisecond clock: two
     * stacks made together would pick the same ports. The host's entropy
     * (WASI random_get) tells them apart. */
    if (getentropy(&random_state, sizeof random_state) != 0) random_state = 0;
#endif
  }
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
