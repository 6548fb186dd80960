/* lwIP's heap on native builds (MEM_LIBC_MALLOC with lwipopts.h's
 * mem_clib_* hooks): the C library's malloc, with a cache of large blocks
 * per stack.
 *
 * A bulk transfer allocates and frees a few segment-sized buffers for every
 * 64 KiB it moves: the bytes written, TCP's segments, loopback's copies of
 * them. glibc's main arena, the one a JS thread allocates from, gives the top
 * of its heap back to the kernel when a large free leaves more than 128 KiB
 * free there (M_TRIM_THRESHOLD, brk), and the next allocation takes it back,
 * faulting fresh zeroed pages in: with the core's blocks among the JS
 * thread's other allocations, up to 100,000 page faults per GiB moved, most
 * of them in lwIP's loopback copy. Whether it happens depends on what the
 * process allocated before, so the figure varied by process. The wasm engine
 * never pays it: its linear memory stays at its peak. Here freed large
 * blocks wait in the current stack's cache for the next allocation of about
 * their size, so a busy stack keeps its working set, bounded; the cache is
 * emptied when the stack is destroyed.
 *
 * The cache belongs to the stack loaded on the calling thread (the core's
 * thread-local current stack): only that thread touches it. A block may be
 * freed on another thread or under another stack than the one that
 * allocated it (packets cross links, JS releases held data); it then joins
 * that stack's cache, or the C library when no caching stack is loaded
 * there.
 *
 * Only JS-thread stacks cache (tcpip_stack_cache_blocks()): they allocate
 * from the main arena, and free on their own thread what they allocated,
 * since they copy what they deliver. A worker's stack allocates from an
 * arena of its own thread, and the JS thread frees its received buffers
 * when it collects them: cached on the worker too, blocks went round between
 * the threads and a worker stack's bulk transfer slowed down (about 20 to 11
 * Gbit/s, measured side by side). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stack_internal.h"

#if !defined(__wasm__) && defined(__linux__)
#include <malloc.h>
#define TCPIP_HEAP_CACHED 1
#else
#define TCPIP_HEAP_CACHED 0
#endif

#if TCPIP_HEAP_CACHED
/* A block is cached from this usable size on; smaller ones come from the
 * C library's bins, which it does not trim. */
#define CACHED_FROM (16 * 1024)

/* A cached block serves a request of `size` if it is no more than this much
 * larger: segment-sized requests differ by their headers. */
static bool fits(size_t block, size_t size) { return block >= size && block - size <= size / 8; }

static void *take_cached(tcpip_heap_cache *cache, size_t size) {
  /* The most recently freed first: its pages are the warmest. */
  for (size_t i = cache->count; i-- > 0;) {
    if (!fits(cache->sizes[i], size)) continue;
    void *block = cache->blocks[i];
    cache->bytes -= cache->sizes[i];
    cache->count--;
    memmove(&cache->blocks[i], &cache->blocks[i + 1], (cache->count - i) * sizeof(void *));
    memmove(&cache->sizes[i], &cache->sizes[i + 1], (cache->count - i) * sizeof(size_t));
    return block;
  }
  return NULL;
}
#endif

void *tcpip_heap_malloc(size_t size) {
#if TCPIP_HEAP_CACHED
  tcpip_stack *stack = tcpip_thread_stack();
  if (stack != NULL && stack->cache_blocks && size >= CACHED_FROM) {
    void *block = take_cached(&stack->heap_cache, size);
    if (block != NULL) return block;
  }
#endif
  return malloc(size);
}

void *tcpip_heap_calloc(size_t count, size_t size) {
#if TCPIP_HEAP_CACHED
  if (size != 0 && count <= SIZE_MAX / size && count * size >= CACHED_FROM) {
    void *block = tcpip_heap_malloc(count * size);
    if (block != NULL) memset(block, 0, count * size);
    return block;
  }
#endif
  return calloc(count, size);
}

void tcpip_heap_free(void *block) {
#if TCPIP_HEAP_CACHED
  tcpip_stack *stack = tcpip_thread_stack();
  if (block != NULL && stack != NULL && stack->cache_blocks) {
    tcpip_heap_cache *cache = &stack->heap_cache;
    size_t size = malloc_usable_size(block);
    if (size >= CACHED_FROM && cache->count < TCPIP_HEAP_CACHE_BLOCKS &&
        cache->bytes + size <= TCPIP_HEAP_CACHE_BYTES) {
      cache->blocks[cache->count] = block;
      cache->sizes[cache->count] = size;
      cache->count++;
      cache->bytes += size;
      return;
    }
  }
#endif
  free(block);
}

void tcpip_heap_cache_free(tcpip_heap_cache *cache) {
  for (size_t i = 0; i < cache->count; i++) free(cache->blocks[i]);
  cache->count = 0;
  cache->bytes = 0;
}
