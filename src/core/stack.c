/* A stack: one lwIP instance, driven by polls from its owning thread. */
#include <stdlib.h>
#include <string.h>

#include "stack_internal.h"

#include "lwip/init.h"
#include "lwip/ip4_frag.h"
#include "lwip/ip6_frag.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/timeouts.h"

/* lwIP's state is per thread, so a thread drives at most one stack. */
static LWIP_THREAD_LOCAL tcpip_stack *thread_stack;

tcpip_stack *tcpip_stack_create(tcpip_event_fn on_event, void *context) {
  if (thread_stack != NULL || on_event == NULL) return NULL;
  tcpip_stack *stack = calloc(1, sizeof *stack);
  if (stack == NULL) return NULL;
  stack->on_event = on_event;
  stack->context = context;
  stack->next_core_id = TCPIP_CORE_ID_BASE;
  lwip_init();
  if (!tcpip_icmp_start(stack)) {
    sys_timeouts_free_all();
    free(stack);
    return NULL;
  }
  tcpip_slaac_watch(stack);
  thread_stack = stack;
  return stack;
}

void tcpip_stack_destroy(tcpip_stack *stack) {
  if (stack == NULL) return;
  tcpip_tcp_destroy_all(stack);
  tcpip_udp_destroy_all(stack);
  tcpip_icmp_stop(stack);
  /* With every pcb gone, the tables that index them (patch 0027). */
  tcp_index_free_all();
  /* What the interfaces would still send as they go (a DHCP release) has
   * nobody left to read it. */
  stack->destroying = true;
  tcpip_interfaces_destroy_all(stack);
  /* the list of watchers is the thread's, and outlives the stack */
  netif_remove_ext_callback(&stack->netif_status);
  ip_reass_free_all();
  ip6_reass_free_all();
  sys_timeouts_free_all();
  tcpip_id_map_free(&stack->sockets);
  thread_stack = NULL;
  free(stack);
}

void tcpip_emit(tcpip_stack *stack, tcpip_event *event) { stack->on_event(stack->context, event); }

static bool loopback_traffic_queued(void) {
  struct netif *netif;
  NETIF_FOREACH(netif) {
    if (netif->loop_first != NULL) return true;
  }
  return false;
}

/* Rounds of output and loopback delivery per poll: each round may answer the
 * last (data, then ACKs, then window updates), and a cap keeps one busy
 * stack from starving its driver's command queue. */
#define POLL_ROUNDS 64

static bool run_rounds(tcpip_stack *stack) {
  for (int round = 0; round < POLL_ROUNDS; round++) {
    tcpip_tcp_flush_dirty(stack);
    if (!loopback_traffic_queued()) return true;
    netif_poll_all();
  }
  return stack->dirty == NULL && !loopback_traffic_queued();
}

uint32_t tcpip_stack_poll(tcpip_stack *stack) {
  if (!run_rounds(stack)) return 0;
  sys_check_timeouts();
  tcpip_tcp_trim_time_wait();
  if (!run_rounds(stack)) return 0;
  return sys_timeouts_sleeptime();
}

void tcpip_event_copy_data(const tcpip_event *event, void *dst) {
  pbuf_copy_partial((const struct pbuf *)event->data_, dst, (u16_t)event->count, 0);
}

tcpip_packet *tcpip_event_copy_packet(const tcpip_event *event) {
  return tcpip_packet_from_pbuf((const struct pbuf *)event->data_);
}

void *tcpip_event_hold_data(const tcpip_event *event, const void **bytes) {
  struct pbuf *p = (struct pbuf *)event->data_;
  /* Outgoing packets stay lwIP's (TCP may resend them): only received data
   * can be held. */
  if ((event->type != TCPIP_EV_DATA && event->type != TCPIP_EV_DATAGRAM) || p == NULL ||
      p->next != NULL || p->len != event->count)
    return NULL;
  pbuf_ref(p);
  *bytes = p->payload;
  return p;
}

/* Safe off the stack's thread: with MEM_LIBC_MALLOC and MEMP_MEM_MALLOC a
 * pbuf goes back to the C heap, and no lwIP state is touched. The stack
 * dropped its own reference before the holder could see the handle. */
void tcpip_data_release(void *handle) {
  if (handle != NULL) pbuf_free((struct pbuf *)handle);
}
