/* ICMP as the core's sockets hear it: an error that names one of their
 * flows reaches that socket (a port unreachable ends a connected UDP
 * socket's exchange with ECONNREFUSED, as Linux reports it). lwIP answers
 * echo requests itself: the raw pcbs here see every ICMP message first and
 * let each one through. */
#include <string.h>

#include "stack_internal.h"

#include "lwip/icmp.h"
#include "lwip/icmp6.h"
#include "lwip/ip.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/ip6.h"
#include "lwip/raw.h"

/* The ICMP header's 8 bytes, the offending datagram's IP header (up to 60
 * bytes with options) and its first 4 bytes: the UDP ports. */
#define QUOTE_MAX (8 + 60 + 4)

static uint16_t read_port(const uint8_t *bytes) { return (uint16_t)(bytes[0] << 8 | bytes[1]); }

/* The flow a port unreachable quotes: the datagram we sent, from local to
 * remote. False when the message is something else, or cut short. */
static bool quoted_udp_flow(const uint8_t *msg, uint16_t length, bool v6, ip_addr_t *local,
                            uint16_t *local_port, ip_addr_t *remote, uint16_t *remote_port) {
  const uint8_t *inner = msg + 8;
  if (v6) {
    if (length < 8 + IP6_HLEN + 4 || msg[0] != ICMP6_TYPE_DUR || msg[1] != ICMP6_DUR_PORT) {
      return false;
    }
    if (inner[6] != IP6_NEXTH_UDP) return false;
    IP_SET_TYPE_VAL(*local, IPADDR_TYPE_V6);
    IP_SET_TYPE_VAL(*remote, IPADDR_TYPE_V6);
    memcpy(ip_2_ip6(local)->addr, inner + 8, 16);
    memcpy(ip_2_ip6(remote)->addr, inner + 24, 16);
    *local_port = read_port(inner + IP6_HLEN);
    *remote_port = read_port(inner + IP6_HLEN + 2);
    return true;
  }
  if (length < 8 + IP_HLEN + 4 || msg[0] != ICMP_DUR || msg[1] != ICMP_DUR_PORT) return false;
  uint16_t header = (uint16_t)((inner[0] & 0x0F) * 4);
  if ((inner[0] >> 4) != 4 || header < IP_HLEN || length < 8 + header + 4) return false;
  if (inner[9] != IP_PROTO_UDP) return false;
  IP_SET_TYPE_VAL(*local, IPADDR_TYPE_V4);
  IP_SET_TYPE_VAL(*remote, IPADDR_TYPE_V4);
  memcpy(&ip_2_ip4(local)->addr, inner + 12, 4);
  memcpy(&ip_2_ip4(remote)->addr, inner + 16, 4);
  *local_port = read_port(inner + header);
  *remote_port = read_port(inner + header + 2);
  return true;
}

static u8_t on_icmp(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *source) {
  tcpip_stack *stack = arg;
  (void)source;
  uint8_t msg[QUOTE_MAX];
  uint16_t length = pbuf_copy_partial(p, msg, sizeof msg, ip_current_header_tot_len());
  ip_addr_t local, remote;
  uint16_t local_port, remote_port;
  if (quoted_udp_flow(msg, length, IP_IS_V6_VAL(pcb->local_ip), &local, &local_port, &remote,
                      &remote_port)) {
    tcpip_udp_port_unreachable(stack, &local, local_port, &remote, remote_port);
  }
  return 0; /* not eaten: lwIP's own ICMP handling follows */
}

bool tcpip_icmp_start(tcpip_stack *stack) {
  stack->icmp4 = raw_new_ip_type(IPADDR_TYPE_V4, IP_PROTO_ICMP);
  stack->icmp6 = raw_new_ip_type(IPADDR_TYPE_V6, IP6_NEXTH_ICMP6);
  if (stack->icmp4 == NULL || stack->icmp6 == NULL) {
    tcpip_icmp_stop(stack);
    return false;
  }
  raw_recv(stack->icmp4, on_icmp, stack);
  raw_recv(stack->icmp6, on_icmp, stack);
  return true;
}

void tcpip_icmp_stop(tcpip_stack *stack) {
  if (stack->icmp4 != NULL) raw_remove(stack->icmp4);
  if (stack->icmp6 != NULL) raw_remove(stack->icmp6);
  stack->icmp4 = stack->icmp6 = NULL;
}
