/* TCP state: the fuzzer plays the peer of live connections. Segments are
 * built by the harness, with sequence and acknowledgement numbers made
 * relative to what the stack last said on that connection, so mutations
 * stay meaningful deep into a connection's life: handshakes both ways,
 * ESTABLISHED, the FIN states and TIME_WAIT, zero windows, the out-of-order
 * queue, retransmissions and keep-alives as time passes, while the
 * application reads or stops reading, writes, shuts down, closes or aborts.
 *
 * The TUN interface has checksums off, so the fuzzer spends nothing on them.
 *
 * Input: [mtu choice][op]... where each op is one of:
 *   0 segment: conn, flags, seq mode+delta, ack mode+delta, window,
 *     option words, options, payload length, payload fill
 *   1 time: milliseconds to let pass
 *   2 app: slot, action, amount
 *   3 connect: the stack opens a connection to the peer of conn
 *   4 raw: length, bytes of one packet into the TUN */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"

#define TUN 1
#define CONNECTIONS 4
#define PEER_PORT_BASE 40000
#define LISTEN_PORT 80

typedef struct connection {
  uint16_t stack_port;
  uint32_t stack_next; /* the stack's snd_nxt: one past what it sent */
  uint32_t stack_ack;  /* the stack's rcv_nxt: what it acknowledged last */
  uint32_t peer_isn;
} connection;

typedef struct world {
  fuzz_stack fs;
  connection connections[CONNECTIONS];
  uint16_t mtu;
  uint8_t packet[65536];
} world;

static bool is_v6(unsigned conn) { return conn >= CONNECTIONS / 2; }

static uint32_t be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v) {
  put16(p, (uint16_t)(v >> 16));
  put16(p + 2, (uint16_t)v);
}

/* Follows the stack's side of each connection from what it sends. */
static void on_packet(void *context, uint32_t id, const uint8_t *bytes, size_t length) {
  world *w = context;
  if (id != TUN || length < 1) return;
  size_t header;
  if (bytes[0] >> 4 == 4 && length >= 20 && bytes[9] == 6) header = (size_t)(bytes[0] & 15) * 4;
  else if (bytes[0] >> 4 == 6 && length >= 40 && bytes[6] == 6) header = 40;
  else return;
  if (length < header + 20) return;
  const uint8_t *tcp = bytes + header;
  uint16_t peer_port = be16(tcp + 2);
  if (peer_port < PEER_PORT_BASE || peer_port >= PEER_PORT_BASE + CONNECTIONS) return;
  connection *c = &w->connections[peer_port - PEER_PORT_BASE];
  uint8_t flags = tcp[13];
  /* a reset echoes the fuzzer's own numbers, not the connection's */
  if (flags & 0x04) return;
  size_t payload = length - header - (size_t)(tcp[12] >> 4) * 4;
  if ((size_t)(tcp[12] >> 4) * 4 > length - header) payload = 0;
  uint32_t end = be32(tcp + 4) + (uint32_t)payload + ((flags & 0x02) ? 1 : 0) +
                 ((flags & 0x01) ? 1 : 0);
  if ((flags & 0x02) || (int32_t)(end - c->stack_next) > 0) c->stack_next = end;
  if (flags & 0x10) c->stack_ack = be32(tcp + 8);
  c->stack_port = be16(tcp);
}

/* A sequence number relative to `base`: the same, a small step either way,
 * a large one, any; and optionally half the sequence space away. */
static uint32_t relative(fuzz_reader *in, uint32_t base, uint32_t isn) {
  uint8_t mode = fuzz_u8(in);
  uint32_t value = (mode & 0x80) ? isn : base;
  switch (mode & 3) {
    case 1: value += (uint32_t)(int32_t)(int8_t)fuzz_u8(in); break;
    case 2: value += (uint32_t)(int32_t)(int16_t)fuzz_u16(in); break;
    case 3: value += fuzz_u32(in); break;
    default: break;
  }
  if (mode & 4) value += 0x80000000u;
  return value;
}

static void segment(world *w, fuzz_reader *in) {
  unsigned conn = fuzz_u8(in) % CONNECTIONS;
  connection *c = &w->connections[conn];
  uint8_t flags = fuzz_u8(in);
  uint32_t seq;
  if ((flags & 0x12) == 0x02) {
    /* a SYN: the peer picks its ISN */
    c->peer_isn = fuzz_u32(in);
    seq = c->peer_isn;
  } else {
    seq = relative(in, c->stack_ack, c->peer_isn);
  }
  uint32_t ack = relative(in, c->stack_next, 0);
  uint16_t window = fuzz_u16(in);
  size_t option_words = fuzz_u8(in) % 11;
  size_t got;
  const uint8_t *options = fuzz_bytes(in, option_words * 4, &got);
  option_words = got / 4;
  size_t ip_header = is_v6(conn) ? 40 : 20;
  size_t tcp_header = 20 + option_words * 4;
  size_t room = (size_t)w->mtu - ip_header - tcp_header;
  size_t payload = fuzz_u16(in) % (room + 1);
  uint8_t fill = fuzz_u8(in);

  uint8_t *p = w->packet;
  size_t total = ip_header + tcp_header + payload;
  memset(p, 0, ip_header + tcp_header);
  if (is_v6(conn)) {
    p[0] = 0x60;
    put16(p + 4, (uint16_t)(tcp_header + payload));
    p[6] = 6;
    p[7] = 64;
    const uint8_t peer[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    const uint8_t self[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    memcpy(p + 8, peer, 16);
    memcpy(p + 24, self, 16);
  } else {
    p[0] = 0x45;
    put16(p + 2, (uint16_t)total);
    p[8] = 64;
    p[9] = 6;
    const uint8_t peer[4] = {10, 0, 0, 2};
    const uint8_t self[4] = {10, 0, 0, 1};
    memcpy(p + 12, peer, 4);
    memcpy(p + 16, self, 4);
  }
  uint8_t *tcp = p + ip_header;
  put16(tcp, (uint16_t)(PEER_PORT_BASE + conn));
  put16(tcp + 2, c->stack_port != 0 ? c->stack_port : LISTEN_PORT);
  put32(tcp + 4, seq);
  put32(tcp + 8, ack);
  tcp[12] = (uint8_t)((tcp_header / 4) << 4);
  tcp[13] = flags;
  put16(tcp + 14, window);
  memcpy(tcp + 20, options, option_words * 4);
  memset(tcp + tcp_header, fill, payload);
  tcpip_interface_input(w->fs.stack, TUN, p, total);
}

static void connect_out(world *w, fuzz_reader *in) {
  unsigned conn = fuzz_u8(in) % CONNECTIONS;
  uint32_t id = 100 + conn;
  for (int i = 0; i < FUZZ_MAX_SOCKETS; i++) {
    if (w->fs.sockets[i] == id) return; /* still open */
  }
  for (int i = 0; i < FUZZ_MAX_SOCKETS; i++) {
    if (w->fs.sockets[i] == 0) {
      w->fs.sockets[i] = id;
      w->connections[conn].stack_port = 0;
      tcpip_tcp_connect(w->fs.stack, id, is_v6(conn) ? "fd00::2" : "10.0.0.2",
                        (uint16_t)(PEER_PORT_BASE + conn), "", 0);
      return;
    }
  }
}

static void run(void *context) {
  static world w;
  static const uint16_t mtus[] = {65535, 1500, 1280, 9000};
  fuzz_reader in = *(fuzz_reader *)context;
  memset(w.connections, 0, sizeof w.connections);
  fuzz_hooks hooks = {.packet = on_packet, .context = &w};
  fuzz_stack_begin(&w.fs, &hooks, 1);
  uint8_t setup = fuzz_u8(&in);
  w.mtu = mtus[setup & 3];
  w.fs.reading = (setup & 4) == 0;
  const char *cidrs[] = {"10.0.0.1/24", "fd00::1/64", NULL};
  fuzz_add_interface(&w.fs, TUN, TCPIP_INTERFACE_TUN, w.mtu, cidrs, 0, NULL, 0);
  tcpip_interface_set_checksums(w.fs.stack, TUN, false);
  tcpip_tcp_listen(w.fs.stack, 1, "::", LISTEN_PORT, 4, false);
  fuzz_stack_turn(&w.fs);
  while (fuzz_more(&in)) {
    switch (fuzz_u8(&in) % 5) {
      case 0: segment(&w, &in); break;
      case 1: fuzz_stack_run_for(&w.fs, (uint32_t)fuzz_u16(&in) * 8u); break;
      case 2: {
        uint8_t slot = fuzz_u8(&in);
        uint8_t action = fuzz_u8(&in);
        fuzz_stack_app(&w.fs, slot, action, fuzz_u16(&in));
        break;
      }
      case 3: connect_out(&w, &in); break;
      case 4: {
        size_t got;
        const uint8_t *bytes = fuzz_bytes(&in, fuzz_u16(&in), &got);
        tcpip_interface_input(w.fs.stack, TUN, bytes, got);
        break;
      }
    }
    fuzz_stack_turn(&w.fs);
  }
  fuzz_stack_end(&w.fs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_reader in = {data, size, 0};
  fuzz_run_isolated(run, &in);
  return 0;
}
