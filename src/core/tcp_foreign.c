/* Catch-all TCP listeners (lwIP patches 0035, IPv4, and 0036, IPv6): a stack that terminates every
 * connection arriving on one interface, whatever its destination, as a
 * router doing userspace NAT does, with the original destination given to
 * the driver. The SYN is reported before it is answered, so that the
 * driver can first ask the real destination: the client then sees the
 * destination's own answer, a handshake or ECONNREFUSED, rather than a
 * connection that opens and is reset. */
#include "stack_internal.h"

#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"

/* Half-open connections a catch-all holds, lwIP's most: each is a pcb that
 * lwIP's SYN_RCVD timeout frees, and the driver bounds them per client. */
#define FOREIGN_BACKLOG 0xFFFF

static err_t on_syn(void *arg, struct tcp_pcb *pcb) {
  tcpip_tcp_socket *listener = arg;
  if (listener == NULL) return ERR_VAL;
  tcpip_tcp_socket *socket = tcpip_tcp_socket_accept(listener->stack);
  if (socket == NULL) return ERR_MEM; /* lwIP refuses the SYN */
  tcpip_tcp_attach(socket, pcb);
  socket->connecting = true; /* writes wait for the handshake */
  socket->syn_pending = true;
  tcpip_event event = {.type = TCPIP_EV_ACCEPTED, .id = socket->id, .other_id = listener->id};
  tcpip_endpoint_set(&event.local, &pcb->local_ip, pcb->local_port);
  tcpip_endpoint_set(&event.remote, &pcb->remote_ip, pcb->remote_port);
  tcpip_emit(listener->stack, &event);
  return ERR_OK;
}

/* lwIP's accept callback, called when the handshake completes, with the
 * connection's own argument (its socket, or NULL once the driver let go). */
static err_t on_established(void *arg, struct tcp_pcb *pcb, err_t err) {
  tcpip_tcp_socket *socket = arg;
  if (err != ERR_OK || pcb == NULL || socket == NULL) return ERR_VAL;
  socket->connecting = false;
  return tcpip_tcp_push_writes(socket);
}

void tcpip_tcp_listen_foreign(tcpip_stack *stack, uint32_t id, uint32_t interface_id) {
  tcpip_tcp_socket *socket = tcpip_tcp_socket_open(stack, id, "");
  if (socket == NULL) return;
  socket->listener = true;
  tcpip_interface *iface = tcpip_interface_find(stack, interface_id);
  if (iface == NULL) {
    tcpip_tcp_fail(socket, TCPIP_EINVAL);
    return;
  }
  if (tcp_find_foreign_listener(netif_get_index(&iface->netif)) != NULL) {
    tcpip_tcp_fail(socket, TCPIP_EADDRINUSE);
    return;
  }
  /* Both families: IPv6 segments come too (lwIP patch 0036). */
  struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_ANY);
  if (pcb == NULL) {
    tcpip_tcp_fail(socket, TCPIP_ENOBUFS);
    return;
  }
  tcp_bind_netif(pcb, &iface->netif);
  /* Bound somewhere, as every listener is; lwIP's listener lookup skips a
   * catch-all, so its own port takes nothing. */
  err_t err = tcp_bind(pcb, IP_ANY_TYPE, 0);
  struct tcp_pcb *listen_pcb = err == ERR_OK
                                   ? tcp_listen_with_backlog_and_err(pcb, FOREIGN_BACKLOG, &err)
                                   : NULL;
  if (listen_pcb == NULL) {
    tcp_abort(pcb);
    tcpip_tcp_fail(socket, tcpip_error_from_lwip(err));
    return;
  }
  socket->pcb = listen_pcb;
  tcp_arg(listen_pcb, socket);
  tcp_accept(listen_pcb, on_established);
  tcp_listen_foreign(listen_pcb, on_syn);
  netif_set_accept_foreign(&iface->netif, 1);
  tcpip_event event = {.type = TCPIP_EV_LISTENING, .id = id};
  tcpip_endpoint_set(&event.local, IP4_ADDR_ANY, 0);
  tcpip_emit(stack, &event);
}

void tcpip_tcp_accept_syn(tcpip_stack *stack, uint32_t id) {
  tcpip_tcp_socket *socket = tcpip_tcp_socket_find(stack, id);
  if (socket == NULL || !socket->syn_pending || socket->pcb == NULL) return;
  socket->syn_pending = false;
  err_t err = tcp_syn_accept(socket->pcb);
  if (err != ERR_OK) tcpip_tcp_fail(socket, tcpip_error_from_lwip(err));
}
