/* Compiler/platform glue for lwIP: the same file serves native builds and wasm32. */
#ifndef TCPIP_ARCH_CC_H
#define TCPIP_ARCH_CC_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>

#define LWIP_NO_UNISTD_H 0
#define LWIP_ERRNO_STDINCLUDE 1
#define LWIP_TIMEVAL_PRIVATE 0

/* Every stack runs lwIP on its own thread (native) or in its own module
 * instance (wasm), so lwIP's file-scope state is made thread-local by
 * deps/patches/. In wasm there are no threads and the qualifier is empty. */
#if defined(__wasm__) || defined(TCPIP_NO_THREAD_LOCAL)
#define LWIP_THREAD_LOCAL
#elif defined(__cplusplus) /* the headers' externs, seen from C++ (g++ has no _Thread_local) */
#define LWIP_THREAD_LOCAL thread_local
#else
#define LWIP_THREAD_LOCAL _Thread_local
#endif

/* An lwIP assertion is a bug in the engine, never something a caller can
 * trigger: stop loudly so tests and sanitizers see it. */
#define LWIP_PLATFORM_DIAG(x) do { printf x; } while (0)
#ifdef __wasm__
/* wasm: the same message without stdio, which would cost the module a few KB
 * (src/wasm/assert.c). */
__attribute__((noreturn, cold)) void tcpip_wasm_assert_failed(const char *message,
                                                             const char *file, int line);
#define LWIP_PLATFORM_ASSERT(x)                                              \
  do {                                                                       \
    tcpip_wasm_assert_failed((x), __FILE__, __LINE__);                       \
  } while (0)
#else
#define LWIP_PLATFORM_ASSERT(x)                                              \
  do {                                                                       \
    fprintf(stderr, "tcpip: lwIP assertion \"%s\" failed at %s:%d\n", x,     \
            __FILE__, __LINE__);                                             \
    abort();                                                                 \
  } while (0)
#endif

uint32_t tcpip_core_random(void);
#define LWIP_RAND() tcpip_core_random()

#endif
