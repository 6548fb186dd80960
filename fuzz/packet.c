/* Raw packets and frames into every interface kind: IPv4 and IPv6 (with
 * extension headers and fragments), ARP, ICMP and ICMPv6 (neighbour
 * discovery), TCP, through TUN and TAP interfaces with and without
 * checksums, a bridge's ports, the loopback's listeners and a catch-all
 * listener (the gateway's NAT) that takes TCP to any address on one TUN.
 *
 * Input: records of [selector][length, 16 bits][bytes]. The selector's low
 * three bits pick where the bytes go (or an application action, or time);
 * the stack also has outgoing connections waiting on ARP and ND, so replies
 * from the fuzzer release their queued packets, and interfaces of one
 * family only (selector bit 3). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"

enum {
  TUN_BARE = 1, /* checksums off: the fuzzer reaches transport headers */
  TUN_CHECKED,
  TAP_BARE,
  BRIDGE_PORT_A,
  BRIDGE_PORT_B,
  BRIDGE,
  LOOPBACK,
  TUN_V4_ONLY, /* interfaces of one family: answers with no source address */
  TAP_V6_ONLY,
};

static volatile uint8_t checksum;

/* Reads every byte shown, so the sanitizers check what a capture copies. */
static void capture(void *context, const uint8_t *bytes, size_t length, bool outgoing) {
  (void)context;
  (void)outgoing;
  for (size_t i = 0; i < length; i++) checksum ^= bytes[i];
}

static void sink(void *context, tcpip_packet *packet) {
  size_t length;
  const uint8_t *bytes = tcpip_packet_bytes(packet, &length);
  capture(context, bytes, length, true);
  tcpip_packet *copy = tcpip_packet_copy(packet);
  tcpip_packet_free(packet);
  tcpip_packet_free(copy);
}

static void build(fuzz_stack *fs) {
  tcpip_stack *stack = fs->stack;
  const char *tun_bare[] = {"10.0.0.1/24", "fd00::1/64", NULL};
  const char *tun_checked[] = {"10.0.1.1/24", "fd01::1/64", NULL};
  const char *tap[] = {"10.0.2.1/24", "fd02::1/64", NULL};
  const char *bridge[] = {"10.0.3.1/24", "fd03::1/64", NULL};
  const char *loopback[] = {"127.0.0.1/8", "::1/128", NULL};
  const char *v4_only[] = {"10.0.4.1/24", NULL};
  const char *v6_only[] = {"fd05::1/64", NULL};
  const uint32_t ports[] = {BRIDGE_PORT_A, BRIDGE_PORT_B};
  fuzz_add_interface(fs, TUN_BARE, TCPIP_INTERFACE_TUN, 65535, tun_bare, 0, NULL, 0);
  fuzz_add_interface(fs, TUN_CHECKED, TCPIP_INTERFACE_TUN, 1500, tun_checked, 0, NULL, 0);
  fuzz_add_interface(fs, TAP_BARE, TCPIP_INTERFACE_TAP, 1500, tap, 3, NULL, 0);
  fuzz_add_interface(fs, BRIDGE_PORT_A, TCPIP_INTERFACE_TAP, 1500, NULL, 4, NULL, 0);
  fuzz_add_interface(fs, BRIDGE_PORT_B, TCPIP_INTERFACE_TAP, 1500, NULL, 5, NULL, 0);
  fuzz_add_interface(fs, BRIDGE, TCPIP_INTERFACE_BRIDGE, 1500, bridge, 6, ports, 2);
  fuzz_add_interface(fs, LOOPBACK, TCPIP_INTERFACE_LOOPBACK, 0, loopback, 0, NULL, 0);
  fuzz_add_interface(fs, TUN_V4_ONLY, TCPIP_INTERFACE_TUN, 1500, v4_only, 0, NULL, 0);
  fuzz_add_interface(fs, TAP_V6_ONLY, TCPIP_INTERFACE_TAP, 1500, v6_only, 9, NULL, 0);
  /* a DHCP client where only IPv6 is configured: what arrives for port 68
   * reaches lwIP's DHCP parser */
  tcpip_interface_dhcp(stack, TAP_V6_ONLY, TCPIP_DHCP_START | TCPIP_DHCP_DEFAULT_ROUTE);
  /* and SLAAC: router advertisements form addresses, which age and go */
  tcpip_interface_slaac(stack, TAP_V6_ONLY, true);
  tcpip_interface_slaac(stack, TAP_BARE, true);
  tcpip_interface_set_checksums(stack, TUN_V4_ONLY, false);
  tcpip_interface_set_checksums(stack, TAP_V6_ONLY, false);
  tcpip_interface_set_checksums(stack, TUN_BARE, false);
  tcpip_interface_set_checksums(stack, TAP_BARE, false);
  tcpip_interface_set_capture(stack, TUN_BARE, capture, NULL);
  tcpip_interface_set_capture(stack, BRIDGE, capture, NULL);
  tcpip_interface_set_capture(stack, LOOPBACK, capture, NULL);
  /* the native links' path out: packets handed over, owned */
  tcpip_interface_set_sink(stack, TUN_CHECKED, sink, NULL);
  /* listeners on every address, both families, and one IPv4-only */
  tcpip_tcp_listen(stack, 1, "::", 80, 8, false);
  tcpip_tcp_listen(stack, 2, "0.0.0.0", 7, 8, false);
  /* and a catch-all on the bare TUN: TCP to any address there is taken */
  tcpip_tcp_listen_foreign(stack, 3, TUN_BARE);
  fs->foreign_listener = 3;
  /* connections waiting for ARP and ND answers, and one over loopback */
  fs->sockets[0] = 10;
  fs->sockets[1] = 11;
  fs->sockets[2] = 12;
  fs->sockets[3] = 13;
  tcpip_tcp_connect(stack, 10, "10.0.2.2", 443, "", 0);
  tcpip_tcp_connect(stack, 11, "fd02::2", 443, "", 0);
  tcpip_tcp_connect(stack, 12, "10.0.3.2", 443, "", 0);
  tcpip_tcp_connect(stack, 13, "127.0.0.1", 7, "", 0);
  fuzz_stack_turn(fs);
}

static void run(void *context) {
  fuzz_reader in = *(fuzz_reader *)context;
  fuzz_stack fs;
  fuzz_stack_begin(&fs, NULL, 1);
  build(&fs);
  while (fuzz_more(&in)) {
    uint8_t selector = fuzz_u8(&in);
    uint16_t length = fuzz_u16(&in);
    switch (selector & 7) {
      case 5: fuzz_stack_app(&fs, selector >> 3, (uint8_t)(length >> 8), length & 0xff); break;
      case 6: fuzz_stack_run_for(&fs, (uint32_t)length * 4u); break;
      default: {
        /* 7: an interface that takes no input (a bridge is fed by its
         * ports); bit 3 picks the interfaces of one family instead */
        static const uint32_t targets[] = {TUN_BARE,      TUN_CHECKED, TAP_BARE, BRIDGE_PORT_A,
                                           BRIDGE_PORT_B, 0,           0,        BRIDGE};
        static const uint32_t one_family[] = {TUN_V4_ONLY,   TAP_V6_ONLY, TUN_CHECKED, TAP_BARE,
                                              BRIDGE_PORT_A, 0,           0,           LOOPBACK};
        size_t got;
        const uint8_t *bytes = fuzz_bytes(&in, length, &got);
        uint32_t target = (selector & 8) ? one_family[selector & 7] : targets[selector & 7];
        tcpip_interface_input(fs.stack, target, bytes, got);
        break;
      }
    }
    fuzz_stack_turn(&fs);
  }
  fuzz_stack_run_for(&fs, 1000);
  fuzz_stack_end(&fs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_reader in = {data, size, 0};
  fuzz_run_isolated(run, &in);
  return 0;
}
