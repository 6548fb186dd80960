/* TCP sockets and listeners over lwIP's raw API.
 *
 * Ownership: a tcpip_tcp_socket lives in the stack's id map from the command
 * (or accept) that creates it until it is closed, aborted or fails; the pcb
 * belongs to it until then, and to lwIP afterwards (a closed pcb finishes its
 * FIN handshake on its own). Write chunks belong to the socket; their bytes
 * are lent by the driver and given back through each chunk's release. */
#include <stdlib.h>
#include <string.h>

#include "stack_internal.h"

#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"

/* tcp_write() and tcp_recved() take 16-bit lengths. */
#define LWIP_LEN_MAX 0xFFFFu
/* Half-open connections a listener answers at least (see tcpip_tcp_listen). */
#define TCPIP_SYN_BACKLOG 2048

static tcpip_tcp_socket *socket_create(tcpip_stack *stack, uint32_t id) {
  if (id == 0 || tcpip_id_map_get(&stack->sockets, id) != NULL) return NULL;
  tcpip_tcp_socket *socket = calloc(1, sizeof *socket);
  if (socket == NULL) return NULL;
  socket->stack = stack;
  socket->id = id;
  if (!tcpip_id_map_put(&stack->sockets, id, socket)) {
    free(socket);
    return NULL;
  }
  return socket;
}

static tcpip_tcp_socket *socket_find(tcpip_stack *stack, uint32_t id) {
  return tcpip_id_map_get(&stack->sockets, id);
}

/* A socket for a driver's listen or connect command. When there is no memory
 * for it, or for the command's address (NULL), the driver hears ENOBUFS for
 * its id; an id that is 0 or in use is a driver's bug, and ignored. */
static tcpip_tcp_socket *socket_open(tcpip_stack *stack, uint32_t id, const char *address) {
  if (id == 0 || socket_find(stack, id) != NULL) return NULL;
  tcpip_tcp_socket *socket = address != NULL ? socket_create(stack, id) : NULL;
  if (socket == NULL) {
    tcpip_event event = {.type = TCPIP_EV_ERROR, .id = id, .error = TCPIP_ENOBUFS};
    tcpip_emit(stack, &event);
  }
  return socket;
}

/* Gives a chunk's bytes back to the driver, and frees the chunk. */
static void chunk_release(tcpip_write_chunk *chunk) {
  if (chunk->release != NULL) chunk->release(chunk->release_context);
  free(chunk);
}

static void write_queue_free(tcpip_tcp_socket *socket) {
  tcpip_write_chunk *chunk = socket->write_head;
  /* Detached first: a release may not find the queue half torn down. */
  socket->write_head = socket->write_tail = NULL;
  while (chunk != NULL) {
    tcpip_write_chunk *next = chunk->next;
    chunk_release(chunk);
    chunk = next;
  }
}

static void socket_free(tcpip_tcp_socket *socket) {
  tcpip_stack *stack = socket->stack;
  tcpip_id_map_remove(&stack->sockets, socket->id);
  for (tcpip_tcp_socket **link = &stack->dirty; *link != NULL; link = &(*link)->next_dirty) {
    if (*link == socket) {
      *link = socket->next_dirty;
      break;
    }
  }
  write_queue_free(socket);
  free(socket);
}

static void pcb_detach(struct tcp_pcb *pcb) {
  tcp_arg(pcb, NULL);
  if (pcb->state == LISTEN) {
    tcp_accept(pcb, NULL);
    return;
  }
  tcp_recv(pcb, NULL);
  tcp_sent(pcb, NULL);
  tcp_err(pcb, NULL);
}

static void emit_error(tcpip_tcp_socket *socket, tcpip_error error) {
  tcpip_event event = {.type = TCPIP_EV_ERROR, .id = socket->id, .error = error};
  tcpip_emit(socket->stack, &event);
}

/* Reports an error for a socket whose pcb is already gone, and forgets it. */
static void fail(tcpip_tcp_socket *socket, tcpip_error error) {
  socket->pcb = NULL;
  emit_error(socket, error);
  socket_free(socket);
}

/* Detaches `pcb` from its socket and leaves it to lwIP: gracefully (FIN;
 * a reset only if that fails) or with a reset. A listener just closes.
 * Returns ERR_ABRT when the pcb was aborted, which an lwIP callback must
 * pass on. */
static err_t pcb_let_go(struct tcp_pcb *pcb, bool reset) {
  bool listener = pcb->state == LISTEN;
  pcb_detach(pcb);
  if (listener) {
    tcp_close(pcb);
    return ERR_OK;
  }
  if (!reset && tcp_close(pcb) == ERR_OK) return ERR_OK;
  tcp_abort(pcb);
  return ERR_ABRT;
}

/* Fails a socket that still has a pcb. Data may have been cut short, so an
 * established connection is reset rather than ended with a FIN. */
static err_t fail_with_pcb(tcpip_tcp_socket *socket, struct tcp_pcb *pcb, tcpip_error error) {
  err_t result = pcb != NULL ? pcb_let_go(pcb, pcb->state >= ESTABLISHED) : ERR_OK;
  fail(socket, error);
  return result;
}

/* Once FIN went both ways the connection carries nothing more for us, and
 * lwIP finishes it alone (it may free a TIME_WAIT pcb without telling
 * anyone), so the socket lets go of the pcb here. */
static void release_if_finished(tcpip_tcp_socket *socket) {
  if (socket->pcb == NULL || !socket->eof_received || !socket->shutdown_done) return;
  pcb_detach(socket->pcb);
  socket->pcb = NULL;
}

void tcpip_tcp_mark_dirty(tcpip_tcp_socket *socket) {
  if (socket->output_pending) return;
  socket->output_pending = true;
  socket->next_dirty = socket->stack->dirty;
  socket->stack->dirty = socket;
}

/* The largest segment tcp_write() builds now: lwIP's mss_local, the MSS
 * but no more than half the largest window the peer has offered. */
static size_t segment_size(const struct tcp_pcb *pcb) {
  size_t half_window = pcb->snd_wnd_max / 2;
  size_t size = pcb->mss < half_window ? pcb->mss : half_window;
  return size != 0 ? size : pcb->mss;
}

/* Moves queued chunks into TCP's send buffer as far as it has room, and
 * sends FIN once a requested shutdown finds the queue empty. */
static err_t push_writes(tcpip_tcp_socket *socket) {
  struct tcp_pcb *pcb = socket->pcb;
  if (pcb == NULL || socket->connecting || socket->listener) return ERR_OK;
  while (socket->write_head != NULL) {
    tcpip_write_chunk *chunk = socket->write_head;
    size_t room = tcp_sndbuf(pcb);
    if (room == 0 || tcp_sndqueuelen(pcb) >= TCP_SND_QUEUELEN - 1) break;
    size_t left = chunk->len - chunk->offset;
    size_t n = left < room ? left : room;
    if (n > LWIP_LEN_MAX) n = LWIP_LEN_MAX;
    /* No more than the segments lwIP's queue has left can hold: a peer that
     * offers tiny windows gets tiny segments (down to one byte), and a larger
     * write built thousands of them only to fail with ERR_MEM, again at every
     * ACK, so the connection never moved. */
    size_t segments = TCP_SND_QUEUELEN - 1 - tcp_sndqueuelen(pcb);
    size_t capacity = segments > 1 ? (segments - 1) * segment_size(pcb) : 0;
    if (capacity == 0) break;
    if (n > capacity) n = capacity;
    bool more = n < left || chunk->next != NULL;
    err_t err = tcp_write(pcb, chunk->data + chunk->offset, (u16_t)n,
                          TCP_WRITE_FLAG_COPY | (more ? TCP_WRITE_FLAG_MORE : 0));
    if (err == ERR_MEM) break; /* tcp_sent() will call again */
    if (err != ERR_OK) return fail_with_pcb(socket, pcb, tcpip_error_from_lwip(err));
    chunk->offset += n;
    socket->written_unreported += n;
    if (chunk->offset == chunk->len) {
      socket->write_head = chunk->next;
      if (socket->write_head == NULL) socket->write_tail = NULL;
      chunk_release(chunk);
    }
  }
  tcpip_tcp_mark_dirty(socket);
  if (socket->write_head == NULL && socket->shutdown_requested && !socket->shutdown_done) {
    err_t err = tcp_shutdown(pcb, 0, 1);
    if (err != ERR_OK) return fail_with_pcb(socket, pcb, tcpip_error_from_lwip(err));
    socket->shutdown_done = true;
    release_if_finished(socket);
  }
  return ERR_OK;
}

void tcpip_tcp_flush_dirty(tcpip_stack *stack) {
  while (stack->dirty != NULL) {
    tcpip_tcp_socket *socket = stack->dirty;
    stack->dirty = socket->next_dirty;
    socket->output_pending = false;
    struct tcp_pcb *pcb = socket->pcb;
    if (pcb != NULL && !socket->listener) {
      /* The driver has seen everything that arrived: acknowledge now rather
       * than on lwIP's 250 ms delayed-ACK timer. */
      if (pcb->flags & TF_ACK_DELAY) tcp_ack_now(pcb);
      tcp_output(pcb);
    }
    if (socket->written_unreported > 0) {
      tcpip_event event = {.type = TCPIP_EV_WRITTEN,
                           .id = socket->id,
                           .count = socket->written_unreported};
      socket->written_unreported = 0;
      tcpip_emit(stack, &event);
    }
    if (socket->shutdown_done && !socket->shutdown_reported) {
      socket->shutdown_reported = true;
      tcpip_event event = {.type = TCPIP_EV_SHUTDOWN, .id = socket->id};
      tcpip_emit(stack, &event);
    }
  }
}

/* lwIP callbacks */

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err) {
  tcpip_tcp_socket *socket = arg;
  (void)pcb;
  (void)err;
  if (p == NULL) {
    socket->eof_received = true;
    tcpip_event event = {.type = TCPIP_EV_EOF, .id = socket->id};
    tcpip_emit(socket->stack, &event);
    release_if_finished(socket);
    return ERR_OK;
  }
  tcpip_event event = {.type = TCPIP_EV_DATA, .id = socket->id, .count = p->tot_len, .data_ = p};
  socket->delivered_unconsumed += p->tot_len;
  tcpip_emit(socket->stack, &event);
  pbuf_free(p);
  tcpip_tcp_mark_dirty(socket);
  return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len) {
  tcpip_tcp_socket *socket = arg;
  (void)pcb;
  (void)len;
  return push_writes(socket);
}

static void on_error(void *arg, err_t err) {
  tcpip_tcp_socket *socket = arg;
  if (socket == NULL) return;
  tcpip_error error;
  if (err == ERR_RST) {
    error = socket->connecting ? TCPIP_ECONNREFUSED : TCPIP_ECONNRESET;
  } else if (err == ERR_ABRT) {
    /* We detach before aborting, so an abort we hear of is lwIP giving up
     * on retransmissions or keepalives. */
    error = TCPIP_ETIMEDOUT;
  } else {
    error = tcpip_error_from_lwip(err);
  }
  fail(socket, error);
}

static void pcb_attach(tcpip_tcp_socket *socket, struct tcp_pcb *pcb) {
  socket->pcb = pcb;
  tcp_arg(pcb, socket);
  tcp_recv(pcb, on_recv);
  tcp_sent(pcb, on_sent);
  tcp_err(pcb, on_error);
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err) {
  tcpip_tcp_socket *socket = arg;
  (void)err; /* always ERR_OK in lwIP 2.1 */
  socket->connecting = false;
  tcpip_event event = {.type = TCPIP_EV_CONNECTED, .id = socket->id};
  tcpip_endpoint_set_shown(socket->dual_stack, &event.local, &pcb->local_ip, pcb->local_port);
  tcpip_endpoint_set_shown(socket->dual_stack, &event.remote, &pcb->remote_ip, pcb->remote_port);
  tcpip_emit(socket->stack, &event);
  return push_writes(socket);
}

static uint32_t next_core_id(tcpip_stack *stack) {
  for (;;) {
    uint32_t id = stack->next_core_id++;
    if (stack->next_core_id == 0) stack->next_core_id = TCPIP_CORE_ID_BASE;
    if (tcpip_id_map_get(&stack->sockets, id) == NULL) return id;
  }
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err) {
  tcpip_tcp_socket *listener = arg;
  if (err != ERR_OK || pcb == NULL || listener == NULL) return ERR_VAL;
  tcpip_tcp_socket *socket = socket_create(listener->stack, next_core_id(listener->stack));
  if (socket == NULL) {
    tcp_abort(pcb);
    return ERR_ABRT;
  }
  socket->dual_stack = listener->dual_stack;
  pcb_attach(socket, pcb);
  tcpip_event event = {.type = TCPIP_EV_ACCEPTED, .id = socket->id, .other_id = listener->id};
  tcpip_endpoint_set_shown(socket->dual_stack, &event.local, &pcb->local_ip, pcb->local_port);
  tcpip_endpoint_set_shown(socket->dual_stack, &event.remote, &pcb->remote_ip, pcb->remote_port);
  tcpip_emit(listener->stack, &event);
  return ERR_OK;
}

/* Commands */

static bool family_overlaps(const ip_addr_t *a, const ip_addr_t *b) {
  if (IP_IS_ANY_TYPE_VAL(*a) || IP_IS_ANY_TYPE_VAL(*b)) return true;
  return IP_IS_V6(a) == IP_IS_V6(b);
}

/* lwIP lets two SO_REUSEADDR pcbs bind anything; Linux refuses a listener
 * whose address overlaps another listener's on the same port (a wildcard
 * overlaps every address of its families). */
static bool listener_conflicts(const ip_addr_t *address, uint16_t port) {
  for (struct tcp_pcb_listen *other = tcp_listen_pcbs.listen_pcbs; other != NULL;
       other = other->next) {
    if (other->local_port != port || !family_overlaps(&other->local_ip, address)) continue;
    if (ip_addr_isany(&other->local_ip) || IP_IS_ANY_TYPE_VAL(other->local_ip) ||
        ip_addr_isany(address) || IP_IS_ANY_TYPE_VAL(*address) ||
        ip_addr_cmp(&other->local_ip, address)) {
      return true;
    }
  }
  return false;
}

void tcpip_tcp_listen(tcpip_stack *stack, uint32_t id, const char *address, uint16_t port,
                      int backlog, bool ipv6_only) {
  tcpip_tcp_socket *socket = socket_open(stack, id, address);
  if (socket == NULL) return;
  socket->listener = true;
  ip_addr_t bind_address;
  if (*address == '\0') {
    ip_addr_set_any(1, &bind_address);
    if (!ipv6_only) IP_SET_TYPE_VAL(bind_address, IPADDR_TYPE_ANY);
  } else if (!tcpip_parse_address(address, &bind_address)) {
    fail(socket, TCPIP_EINVAL);
    return;
  } else if (ip_addr_isany(&bind_address)) {
    /* "::" is dual-stack unless asked otherwise, as on Linux. */
    if (IP_IS_V6(&bind_address) && !ipv6_only) IP_SET_TYPE_VAL(bind_address, IPADDR_TYPE_ANY);
  } else if (!tcpip_is_local_address(&bind_address)) {
    fail(socket, TCPIP_EADDRNOTAVAIL);
    return;
  }
  socket->dual_stack = IP_IS_ANY_TYPE_VAL(bind_address);
  if (port != 0 && listener_conflicts(&bind_address, port)) {
    fail(socket, TCPIP_EADDRINUSE);
    return;
  }
  struct tcp_pcb *pcb = tcp_new_ip_type(IP_GET_TYPE(&bind_address));
  if (pcb == NULL) {
    fail(socket, TCPIP_ENOBUFS);
    return;
  }
  ip_set_option(pcb, SOF_REUSEADDR);
  err_t err = tcp_bind(pcb, &bind_address, port);
  if (err != ERR_OK) {
    fail_with_pcb(socket, pcb, tcpip_error_from_lwip(err));
    return;
  }
  /* lwIP counts half-open connections against the backlog and drops SYNs
     past it. The backlog Linux honours is another queue, of connections
     waiting for accept(), which here is always empty (every connection goes
     to JS at once); its half-open ones are bounded apart
     (tcp_max_syn_backlog, 2048 on a typical host) and, with SYN cookies,
     never dropped. So a burst of connections is answered as on Linux: up
     to TCPIP_SYN_BACKLOG half-open, or the backlog given if more (at most
     lwIP's 16 bits). */
  if (backlog < TCPIP_SYN_BACKLOG) backlog = TCPIP_SYN_BACKLOG;
  if (backlog > 0xFFFF) backlog = 0xFFFF;
  struct tcp_pcb *listen_pcb = tcp_listen_with_backlog_and_err(pcb, (u16_t)backlog, &err);
  if (listen_pcb == NULL) {
    fail_with_pcb(socket, pcb, tcpip_error_from_lwip(err));
    return;
  }
  socket->pcb = listen_pcb;
  tcp_arg(listen_pcb, socket);
  tcp_accept(listen_pcb, on_accept);
  tcpip_event event = {.type = TCPIP_EV_LISTENING, .id = id};
  tcpip_endpoint_set(&event.local, &bind_address, listen_pcb->local_port);
  tcpip_emit(stack, &event);
}

void tcpip_tcp_connect(tcpip_stack *stack, uint32_t id, const char *address, uint16_t port,
                       const char *local_address, uint16_t local_port) {
  tcpip_tcp_socket *socket = socket_open(stack, id, address);
  if (socket == NULL) return;
  ip_addr_t remote;
  if (!tcpip_parse_address(address, &remote)) {
    fail(socket, TCPIP_EINVAL);
    return;
  }
  if (IP_IS_V6(&remote) && ip6_addr_isipv4mappedipv6(ip_2_ip6(&remote))) {
    /* ::ffff:a.b.c.d is the IPv4 peer, reached over IPv4 and shown mapped,
     * as a dual-stack socket on Linux does. */
    ip4_addr_t v4;
    unmap_ipv4_mapped_ipv6(&v4, ip_2_ip6(&remote));
    ip_addr_copy_from_ip4(remote, v4);
    socket->dual_stack = true;
  }
  ip_addr_t local;
  bool bind_local = false;
  if (local_address != NULL && *local_address != '\0') {
    if (!tcpip_parse_address(local_address, &local)) {
      fail(socket, TCPIP_EINVAL);
      return;
    }
    if (IP_GET_TYPE(&local) != IP_GET_TYPE(&remote)) {
      fail(socket, TCPIP_EINVAL);
      return;
    }
    if (!ip_addr_isany(&local) && !tcpip_is_local_address(&local)) {
      fail(socket, TCPIP_EADDRNOTAVAIL);
      return;
    }
    bind_local = true;
  } else if (local_port != 0) {
    ip_addr_set_any(IP_IS_V6(&remote), &local);
    bind_local = true;
  }
  struct tcp_pcb *pcb = tcp_new_ip_type(IP_GET_TYPE(&remote));
  if (pcb == NULL) {
    fail(socket, TCPIP_ENOBUFS);
    return;
  }
  if (bind_local) {
    err_t err = tcp_bind(pcb, &local, local_port);
    if (err != ERR_OK) {
      fail_with_pcb(socket, pcb, tcpip_error_from_lwip(err));
      return;
    }
  }
  pcb_attach(socket, pcb);
  socket->connecting = true;
  err_t err = tcp_connect(pcb, &remote, port, on_connected);
  if (err != ERR_OK) fail_with_pcb(socket, pcb, tcpip_error_from_lwip(err));
}

void tcpip_tcp_write_borrowed(tcpip_stack *stack, uint32_t id, const void *data, size_t len,
                              tcpip_release_fn release, void *context) {
  tcpip_tcp_socket *socket = socket_find(stack, id);
  if (socket == NULL || socket->listener || socket->shutdown_requested || len == 0) {
    if (release != NULL) release(context);
    return;
  }
  tcpip_write_chunk *chunk = data != NULL ? malloc(sizeof *chunk) : NULL;
  if (chunk == NULL) {
    /* Bytes the driver could not store, or no room to queue them: the
     * stream would have a hole, so the socket fails. */
    if (release != NULL) release(context);
    fail_with_pcb(socket, socket->pcb, TCPIP_ENOBUFS);
    return;
  }
  chunk->next = NULL;
  chunk->len = len;
  chunk->offset = 0;
  chunk->data = data;
  chunk->release = release;
  chunk->release_context = context;
  if (socket->write_tail != NULL) socket->write_tail->next = chunk;
  else socket->write_head = chunk;
  socket->write_tail = chunk;
  push_writes(socket);
}

void tcpip_tcp_write(tcpip_stack *stack, uint32_t id, void *data, size_t len) {
  tcpip_tcp_write_borrowed(stack, id, data, len, free, data);
}

static void mark_released(void *context) { *(bool *)context = true; }

void tcpip_tcp_write_transient(tcpip_stack *stack, uint32_t id, const void *data, size_t len) {
  tcpip_tcp_socket *socket = socket_find(stack, id);
  if (socket == NULL || socket->listener || socket->shutdown_requested || len == 0) return;
  if (socket->write_head != NULL) {
    /* TCP takes nothing before what already waits: all of it waits too. */
    void *copy = malloc(len);
    if (copy != NULL) memcpy(copy, data, len);
    tcpip_tcp_write(stack, id, copy, len); /* NULL fails the socket (ENOBUFS) */
    return;
  }
  bool released = false;
  tcpip_tcp_write_borrowed(stack, id, data, len, mark_released, &released);
  if (released) return; /* taken whole, or dropped with a failed socket */
  /* The send buffer was full: what it could not take waits in a copy. */
  tcpip_write_chunk *chunk = socket->write_head;
  size_t rest = chunk->len - chunk->offset;
  unsigned char *copy = malloc(rest);
  if (copy == NULL) {
    chunk->release = NULL;
    fail_with_pcb(socket, socket->pcb, TCPIP_ENOBUFS);
    return;
  }
  memcpy(copy, chunk->data + chunk->offset, rest);
  chunk->data = copy;
  chunk->len = rest;
  chunk->offset = 0;
  chunk->release = free;
  chunk->release_context = copy;
}

static void window_reopen(tcpip_tcp_socket *socket, size_t len) {
  if (len > socket->delivered_unconsumed) len = socket->delivered_unconsumed;
  socket->delivered_unconsumed -= len;
  while (len > 0) {
    u16_t part = (u16_t)(len > LWIP_LEN_MAX ? LWIP_LEN_MAX : len);
    tcp_recved(socket->pcb, part);
    len -= part;
  }
}

void tcpip_tcp_consumed(tcpip_stack *stack, uint32_t id, size_t len) {
  tcpip_tcp_socket *socket = socket_find(stack, id);
  if (socket == NULL || socket->pcb == NULL || socket->listener) return;
  window_reopen(socket, len);
  tcpip_tcp_mark_dirty(socket);
}

void tcpip_tcp_shutdown(tcpip_stack *stack, uint32_t id) {
  tcpip_tcp_socket *socket = socket_find(stack, id);
  if (socket == NULL || socket->listener || socket->shutdown_requested) return;
  socket->shutdown_requested = true;
  push_writes(socket);
}

void tcpip_tcp_close(tcpip_stack *stack, uint32_t id) {
  tcpip_tcp_socket *socket = socket_find(stack, id);
  if (socket == NULL) return;
  struct tcp_pcb *pcb = socket->pcb;
  if (pcb != NULL) {
    /* Bytes handed to the driver count as read: only data that never left
     * lwIP makes close() a reset. */
    if (!socket->listener) window_reopen(socket, socket->delivered_unconsumed);
    /* A SYN not answered yet has nothing to end gracefully: lwIP would
     * send FIN before SYN|ACK. It is refused. */
    pcb_let_go(pcb, socket->syn_pending);
  }
  socket_free(socket);
}

void tcpip_tcp_abort(tcpip_stack *stack, uint32_t id) {
  tcpip_tcp_socket *socket = socket_find(stack, id);
  if (socket == NULL) return;
  if (socket->pcb != NULL) pcb_let_go(socket->pcb, true);
  socket_free(socket);
}

void tcpip_tcp_set_nodelay(tcpip_stack *stack, uint32_t id, bool enable) {
  tcpip_tcp_socket *socket = socket_find(stack, id);
  if (socket == NULL || socket->pcb == NULL || socket->listener) return;
  if (enable) tcp_nagle_disable(socket->pcb);
  else tcp_nagle_enable(socket->pcb);
}

void tcpip_tcp_set_keepalive(tcpip_stack *stack, uint32_t id, bool enable, uint32_t idle_ms) {
  tcpip_tcp_socket *socket = socket_find(stack, id);
  if (socket == NULL || socket->pcb == NULL || socket->listener) return;
  struct tcp_pcb *pcb = socket->pcb;
  if (enable) {
    ip_set_option(pcb, SOF_KEEPALIVE);
    /* lwIP's timers walk only pcbs with something to time (patch 0030): an
     * idle connection must rejoin them to send probes. */
    tcp_timers_wake(pcb);
    /* lwIP adds TCP_MAXIDLE to keep_idle: keep the sum from wrapping. */
    if (idle_ms > 0 && idle_ms <= UINT32_MAX - TCP_MAXIDLE) pcb->keep_idle = idle_ms;
  } else {
    ip_reset_option(pcb, SOF_KEEPALIVE);
  }
}

tcpip_tcp_socket *tcpip_tcp_socket_open(tcpip_stack *stack, uint32_t id, const char *address) {
  return socket_open(stack, id, address);
}

tcpip_tcp_socket *tcpip_tcp_socket_accept(tcpip_stack *stack) {
  return socket_create(stack, next_core_id(stack));
}

tcpip_tcp_socket *tcpip_tcp_socket_find(tcpip_stack *stack, uint32_t id) {
  return socket_find(stack, id);
}

void tcpip_tcp_attach(tcpip_tcp_socket *socket, struct tcp_pcb *pcb) { pcb_attach(socket, pcb); }

void tcpip_tcp_fail(tcpip_tcp_socket *socket, tcpip_error error) {
  if (socket->pcb != NULL) pcb_let_go(socket->pcb, true);
  fail(socket, error);
}

err_t tcpip_tcp_push_writes(tcpip_tcp_socket *socket) { return push_writes(socket); }

/* Like Linux's tcp_max_tw_buckets, a stack keeps at most this many pcbs in
 * TIME_WAIT and drops the oldest beyond it (the list holds the newest
 * first). lwIP finds them by hash (patch 0027), so their number no longer
 * costs each packet; what it bounds is memory (a pcb is ~300 bytes: 1.2 MiB
 * at the cap) and ports: lwIP gives a new connection a local port no pcb
 * has, so a cap at a quarter of its 16,384 ephemeral ports leaves the rest
 * to live connections under connect/close churn. */
#define TIME_WAIT_MAX 4096
/* Trimmed to 7/8 of the cap, so the walk to the cut is paid once per 512
 * new TIME_WAIT pcbs, not once per connection. */
#define TIME_WAIT_KEEP (TIME_WAIT_MAX - TIME_WAIT_MAX / 8)

void tcpip_tcp_trim_time_wait(void) {
  if (tcp_tw_count <= TIME_WAIT_MAX) return;
  struct tcp_pcb *pcb = tcp_tw_pcbs;
  for (int kept = 1; pcb != NULL && kept < TIME_WAIT_KEEP; kept++) pcb = pcb->next;
  if (pcb == NULL) return;
  while (pcb->next != NULL) tcp_abort(pcb->next);
}

void tcpip_tcp_destroy_all(tcpip_stack *stack) {
  for (size_t i = 0; i < stack->sockets.capacity; i++) {
    tcpip_id_map_slot *slot = &stack->sockets.slots[i];
    if (slot->id == 0) continue;
    tcpip_tcp_socket *socket = slot->value;
    if (socket->pcb != NULL) pcb_let_go(socket->pcb, true);
    socket->pcb = NULL;
  }
  stack->dirty = NULL;
  for (size_t i = 0; i < stack->sockets.capacity; i++) {
    tcpip_id_map_slot *slot = &stack->sockets.slots[i];
    if (slot->id == 0) continue;
    tcpip_tcp_socket *socket = slot->value;
    write_queue_free(socket);
    free(socket);
  }
  /* Connections the application closed may still be finishing their
   * handshakes inside lwIP; they go too. */
  while (tcp_active_pcbs != NULL) tcp_abort(tcp_active_pcbs);
  while (tcp_tw_pcbs != NULL) tcp_abort(tcp_tw_pcbs);
  while (tcp_bound_pcbs != NULL) tcp_close(tcp_bound_pcbs);
  while (tcp_listen_pcbs.listen_pcbs != NULL)
    tcp_close((struct tcp_pcb *)tcp_listen_pcbs.listen_pcbs);
}
