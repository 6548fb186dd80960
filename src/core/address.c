/* Textual addresses in and out of the core, the way Node prints them. */
#include <string.h>

#include "stack_internal.h"

#include "lwip/ip_addr.h"
#include "lwip/netif.h"

void tcpip_endpoint_set(tcpip_endpoint *endpoint, const ip_addr_t *address, uint16_t port) {
  endpoint->port = port;
  if (IP_IS_V6(address) && !ip_addr_isany(address)) {
    const ip6_addr_t *v6 = ip_2_ip6(address);
    /* An IPv4-mapped peer of a dual-stack listener is shown as Node shows it. */
    if (ip6_addr_isipv4mappedipv6(v6)) {
      static const char prefix[] = "::ffff:";
      ip4_addr_t v4;
      unmap_ipv4_mapped_ipv6(&v4, v6);
      memcpy(endpoint->address, prefix, sizeof prefix - 1);
      ip4addr_ntoa_r(&v4, endpoint->address + sizeof prefix - 1,
                     (int)(sizeof endpoint->address - (sizeof prefix - 1)));
    } else {
      ip6addr_ntoa_r(v6, endpoint->address, sizeof endpoint->address);
      /* lwIP prints hex digits in capitals; Node (inet_ntop) in lower case. */
      for (char *c = endpoint->address; *c != '\0'; c++) {
        if (*c >= 'A' && *c <= 'F') *c = (char)(*c - 'A' + 'a');
      }
    }
    endpoint->family = 6;
  } else if (IP_IS_V6(address) || IP_IS_ANY_TYPE_VAL(*address)) {
    strcpy(endpoint->address, "::");
    endpoint->family = 6;
  } else {
    ip4addr_ntoa_r(ip_2_ip4(address), endpoint->address, sizeof endpoint->address);
    endpoint->family = 4;
  }
}

void tcpip_endpoint_set_shown(bool dual_stack, tcpip_endpoint *endpoint, const ip_addr_t *address,
                              uint16_t port) {
  if (dual_stack && IP_IS_V4(address)) {
    ip_addr_t mapped;
    ip4_2_ipv4_mapped_ipv6(ip_2_ip6(&mapped), ip_2_ip4(address));
    IP_SET_TYPE_VAL(mapped, IPADDR_TYPE_V6);
    tcpip_endpoint_set(endpoint, &mapped, port);
  } else {
    tcpip_endpoint_set(endpoint, address, port);
  }
}

bool tcpip_parse_address(const char *text, ip_addr_t *address) {
  if (text == NULL || *text == '\0') return false;
  if (strchr(text, ':') != NULL) {
    IP_SET_TYPE_VAL(*address, IPADDR_TYPE_V6);
    return ip6addr_aton(text, ip_2_ip6(address)) != 0;
  }
  IP_SET_TYPE_VAL(*address, IPADDR_TYPE_V4);
  return ip4addr_aton(text, ip_2_ip4(address)) != 0;
}

bool tcpip_parse_cidr(const char *text, ip_addr_t *address, unsigned *prefix) {
  char buffer[TCPIP_ADDRSTRLEN + 8];
  size_t len = strlen(text);
  if (len >= sizeof buffer) return false;
  memcpy(buffer, text, len + 1);
  char *slash = strchr(buffer, '/');
  if (slash == NULL) return false;
  *slash = '\0';
  /* Digits only (no strtoul: it would pull number parsing into the wasm
   * module, and accepts signs and spaces besides). */
  const char *digit = slash + 1;
  unsigned value = 0;
  if (*digit == '\0') return false;
  for (; *digit != '\0'; digit++) {
    if (*digit < '0' || *digit > '9' || value > 128u) return false;
    value = value * 10u + (unsigned)(*digit - '0');
  }
  if (!tcpip_parse_address(buffer, address)) return false;
  if (value > (IP_IS_V6(address) ? 128u : 32u)) return false;
  *prefix = value;
  return true;
}

bool tcpip_is_local_address(const ip_addr_t *address) {
  struct netif *netif;
  NETIF_FOREACH(netif) {
    if (IP_IS_V6(address)) {
      if (netif_get_ip6_addr_match(netif, ip_2_ip6(address)) >= 0) return true;
    } else if (ip4_addr_cmp(ip_2_ip4(address), netif_ip4_addr(netif))) {
      return true;
    }
  }
  return false;
}
