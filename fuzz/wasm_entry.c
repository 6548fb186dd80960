/* The wasm export layer (src/wasm/tcpip_wasm.c), built natively: what JS
 * calls on a module instance, in any order and with any arguments. Packets
 * enter through the scratch buffer exactly as lib/backend/wasm.js puts them
 * there; strings, interface configurations and lengths are the fuzzer's, so
 * a length or string that does not fit the buffer must be refused, never
 * read past it.
 *
 * Input: ops of [op][arguments...]; see the switch below. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../src/wasm/tcpip_wasm.h"
#include "../src/wasm/tcpip_wasm_link.h"

/* The module's imports, as JS provides them: each reads what it is shown. */
static volatile uint8_t sink;

/* Natively the record's 32-bit data address cannot hold a pointer, so the
 * bytes it names are not read here: the other targets check that path. */
void tcpip_wasm_import_event(const tcpip_wasm_event *record) {
  sink ^= (uint8_t)(record->type + record->count + (uint8_t)record->local_address[0] +
                    (uint8_t)record->remote_address[0]);
}

/* A file that fails now and then, as a full disk would. */
uint32_t tcpip_wasm_import_capture_write(uint32_t interface_id, const uint8_t *bytes,
                                         uint32_t length) {
  for (uint32_t i = 0; i < length; i++) sink ^= bytes[i];
  sink ^= (uint8_t)interface_id;
  return length % 61 != 0;
}

/* The layer counts its heap through the linker's --wrap in wasm; natively
 * the real allocator stands behind it. */
void *__real_malloc(size_t size) { return malloc(size); }
void *__real_calloc(size_t count, size_t size) { return calloc(count, size); }
void *__real_realloc(void *pointer, size_t size) { return realloc(pointer, size); }
void __real_free(void *pointer) { free(pointer); }

/* Fills the scratch buffer as JS does: ask for `size`, write what fits. */
static void fill_scratch(fuzz_reader *in) {
  uint16_t size = fuzz_u16(in);
  uint8_t *scratch = tcpip_wasm_scratch(size);
  size_t got;
  const uint8_t *bytes = fuzz_bytes(in, size, &got);
  if (scratch != NULL) memcpy(scratch, bytes, got);
}

/* What JS holds between calls: captures by interface id (1..16), links. */
static tcpip_pcap *captures[17];
static tcpip_wasm_link *links[2];

static void stop_captures(void) {
  for (size_t i = 0; i < sizeof captures / sizeof captures[0]; i++) {
    if (captures[i] != NULL) tcpip_wasm_capture_stop(captures[i]);
    captures[i] = NULL;
  }
}

static void link_op(fuzz_reader *in, uint8_t op) {
  tcpip_wasm_link **link = &links[op & 1];
  uint8_t what = fuzz_u8(in) % 4;
  if (*link == NULL || what == 0) {
    if (*link != NULL) tcpip_wasm_link_destroy(*link);
    *link = tcpip_wasm_link_create(fuzz_u8(in) % 2 ? 14 : 0, (double)fuzz_u16(in));
    return;
  }
  if (what == 1) {
    /* Probabilities in 0..1 and delays, rates and sizes as lib/link.js lets them through. */
    tcpip_wasm_link_set_conditions(*link, fuzz_u16(in) % 60001, fuzz_u16(in) % 60001,
                                   fuzz_u8(in) / 255.0, fuzz_u8(in) / 255.0, fuzz_u8(in) / 255.0,
                                   (double)fuzz_u16(in) * 1000, fuzz_u16(in), fuzz_u16(in) * 64u,
                                   fuzz_u8(in) & 1);
  } else if (what == 2) {
    uint32_t direction = fuzz_u8(in) & 1;
    tcpip_wasm_link_decide(*link, direction, fuzz_u16(in), (double)fuzz_u16(in));
    sink ^= (uint8_t)tcpip_wasm_link_counters(*link, direction)->packets;
  } else {
    tcpip_wasm_link_refused(*link, fuzz_u8(in) & 1);
  }
}

static void run(void *context) {
  fuzz_reader in = *(fuzz_reader *)context;
  fuzz_clock_reset();
  fuzz_random_reset(1);
  if (!tcpip_wasm_create()) abort();
  while (fuzz_more(&in)) {
    uint8_t op = fuzz_u8(&in);
    uint32_t id = (uint32_t)(op >> 4) + 1;
    switch (op & 15) {
      case 0: fill_scratch(&in); break;
      case 1: {
        /* The MAC and the ports come from the scratch buffer, at an offset
         * the fuzzer picks: in range, past it, misaligned. */
        uint8_t kind = fuzz_u8(&in) % 6;
        uint8_t cidr_count = fuzz_u8(&in) % 10;
        uint16_t mtu = fuzz_u16(&in);
        uint16_t binary_offset = fuzz_u16(&in);
        uint8_t port_count = fuzz_u8(&in) % 40;
        tcpip_wasm_interface_create(id, kind, cidr_count, mtu, binary_offset, op & 1,
                                    port_count == 1, port_count);
        break;
      }
      case 2: tcpip_wasm_interface_input(id, fuzz_u16(&in)); break;
      case 3: {
        uint16_t port = fuzz_u16(&in);
        tcpip_wasm_tcp_listen(id, port, (int8_t)fuzz_u8(&in), op & 1);
        break;
      }
      case 4: {
        uint16_t port = fuzz_u16(&in);
        tcpip_wasm_tcp_connect(id, port, fuzz_u16(&in));
        break;
      }
      case 5: {
        uint32_t sleep = tcpip_wasm_poll();
        fuzz_clock_advance(sleep == TCPIP_SLEEP_FOREVER ? 1000 : sleep > 60000 ? 60000 : sleep);
        break;
      }
      case 6:
        if (captures[id] != NULL) {
          if (op & 1) {
            tcpip_wasm_capture_flush(captures[id]);
          } else {
            tcpip_wasm_capture_stop(captures[id]);
            captures[id] = NULL;
          }
        } else {
          captures[id] = tcpip_wasm_capture_start(id);
        }
        break;
      case 7: tcpip_interface_remove(tcpip_wasm_stack(), id); break;
      case 8: {
        uint16_t length = fuzz_u16(&in);
        void *bytes = tcpip_wasm_alloc(length ? length : 1);
        if (bytes == NULL) abort();
        memset(bytes, 'x', length);
        tcpip_tcp_write(tcpip_wasm_stack(), id, bytes, length);
        break;
      }
      case 9: tcpip_tcp_consumed(tcpip_wasm_stack(), id, fuzz_u16(&in)); break;
      case 10: tcpip_tcp_close(tcpip_wasm_stack(), id); break;
      case 11: tcpip_interface_set_checksums(tcpip_wasm_stack(), id, op & 1); break;
      case 12: tcpip_interface_request_stats(tcpip_wasm_stack(), id); break;
      case 13:
        stop_captures();
        tcpip_wasm_destroy();
        if (!tcpip_wasm_create()) abort();
        break;
      case 14: {
        /* An injected packet as JS makes one: asked for, filled, handed over. */
        uint16_t length = fuzz_u16(&in);
        uint8_t *packet = tcpip_wasm_packet(length);
        size_t got;
        const uint8_t *bytes = fuzz_bytes(&in, length, &got);
        if (packet != NULL) memcpy(packet, bytes, got);
        if (op & 1) tcpip_wasm_interface_input_packet(id);
        break;
      }
      case 15: link_op(&in, op); break;
      default: break;
    }
  }
  stop_captures();
  for (size_t i = 0; i < 2; i++) {
    tcpip_wasm_link_destroy(links[i]);
    links[i] = NULL;
  }
  tcpip_wasm_destroy();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_reader in = {data, size, 0};
  fuzz_run_isolated(run, &in);
  return 0;
}
