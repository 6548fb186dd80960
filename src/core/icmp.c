/* ICMP as the core's sockets hear it: an error that names one of their
 * flows reaches that socket (a port unreachable ends a connected UDP
 * socket's exchange with ECONNREFUSED, as Linux reports it), and echo
 * replies reach the driver's pings. lwIP answers echo requests itself: the
 * raw pcbs here see every ICMP message first and let each one through. */
#include <string.h>

#include "stack_internal.h"

#include "lwip/icmp.h"
#include "lwip/icmp6.h"
#include "lwip/inet_chksum.h"
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

static bool echo_identifier_in_use(const tcpip_stack *stack, uint16_t identifier) {
  for (size_t i = 0; i < TCPIP_ECHO_IDENTIFIERS; i++) {
    if (stack->echo_identifiers[i] == identifier) return true;
  }
  return false;
}

static u8_t on_icmp(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *source) {
  tcpip_stack *stack = arg;
  uint8_t msg[QUOTE_MAX];
  uint16_t header = ip_current_header_tot_len();
  uint16_t length = pbuf_copy_partial(p, msg, sizeof msg, header);
  bool v6 = IP_IS_V6_VAL(pcb->local_ip);
  if (length >= 8 && msg[0] == (v6 ? ICMP6_TYPE_EREP : ICMP_ER) && msg[1] == 0) {
    tcpip_event event = {.type = TCPIP_EV_ECHO_REPLY,
                         .id = read_port(msg + 4),
                         .other_id = read_port(msg + 6),
                         .count = (size_t)(p->tot_len - header - 8)};
    tcpip_endpoint_set(&event.remote, source, 0);
    if (event.id != 0 && echo_identifier_in_use(stack, (uint16_t)event.id))
      tcpip_emit(stack, &event);
    return 0;
  }
  ip_addr_t local, remote;
  uint16_t local_port, remote_port;
  if (quoted_udp_flow(msg, length, v6, &local, &local_port, &remote, &remote_port)) {
    tcpip_udp_port_unreachable(stack, &local, local_port, &remote, remote_port);
  }
  return 0; /* not eaten: lwIP's own ICMP handling follows */
}

tcpip_error tcpip_icmp_echo(tcpip_stack *stack, uint16_t identifier, uint16_t sequence,
                            const char *address, uint16_t size) {
  ip_addr_t destination;
  if (address == NULL) return TCPIP_ENOBUFS;
  if (identifier == 0 || !tcpip_parse_address(address, &destination)) return TCPIP_EINVAL;
  bool v6 = IP_IS_V6(&destination);
  if ((size_t)size + 8 > 0xFFFFu - (v6 ? IP6_HLEN : IP_HLEN)) return TCPIP_EMSGSIZE;
  struct pbuf *p = pbuf_alloc(PBUF_IP, (u16_t)(8 + size), PBUF_RAM);
  if (p == NULL) return TCPIP_ENOBUFS;
  uint8_t *bytes = p->payload;
  bytes[0] = v6 ? ICMP6_TYPE_EREQ : ICMP_ECHO;
  bytes[1] = 0;
  bytes[2] = bytes[3] = 0;
  bytes[4] = (uint8_t)(identifier >> 8);
  bytes[5] = (uint8_t)identifier;
  bytes[6] = (uint8_t)(sequence >> 8);
  bytes[7] = (uint8_t)sequence;
  /* The payload ping(8) sends after its timestamp: bytes counting up. */
  for (uint16_t i = 0; i < size; i++) bytes[8 + i] = (uint8_t)i;
  if (!v6) {
    /* ICMPv6's checksum covers a pseudo header, which lwIP fills in for the
     * raw pcb (the raw pcb's chksum_reqd); ICMPv4's is the message's alone. */
    u16_t checksum = inet_chksum(bytes, (u16_t)(8 + size));
    memcpy(bytes + 2, &checksum, 2);
  }
  if (!echo_identifier_in_use(stack, identifier)) {
    stack->echo_identifiers[stack->echo_next] = identifier;
    stack->echo_next = (stack->echo_next + 1) % TCPIP_ECHO_IDENTIFIERS;
  }
  err_t err = raw_sendto(v6 ? stack->icmp6 : stack->icmp4, p, &destination);
  pbuf_free(p);
  return tcpip_error_from_lwip(err);
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
  stack->icmp6->chksum_reqd = 1; /* lwIP 2.1 has no setter for these */
  stack->icmp6->chksum_offset = 2;
  return true;
}

void tcpip_icmp_stop(tcpip_stack *stack) {
  if (stack->icmp4 != NULL) raw_remove(stack->icmp4);
  if (stack->icmp6 != NULL) raw_remove(stack->icmp6);
  stack->icmp4 = stack->icmp6 = NULL;
}
