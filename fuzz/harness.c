/* The stack every target drives, and the reader over the fuzzer's bytes
 * (see fuzz.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

bool fuzz_more(const fuzz_reader *in) { return in->offset < in->size; }

uint8_t fuzz_u8(fuzz_reader *in) { return fuzz_more(in) ? in->data[in->offset++] : 0; }

uint16_t fuzz_u16(fuzz_reader *in) {
  uint16_t high = fuzz_u8(in);
  return (uint16_t)((high << 8) | fuzz_u8(in));
}

uint32_t fuzz_u32(fuzz_reader *in) {
  uint32_t high = fuzz_u16(in);
  return (high << 16) | fuzz_u16(in);
}

const uint8_t *fuzz_bytes(fuzz_reader *in, size_t want, size_t *got) {
  size_t left = in->size - in->offset;
  *got = want < left ? want : left;
  const uint8_t *bytes = in->data + in->offset;
  in->offset += *got;
  return bytes;
}

static int slot_of(const fuzz_stack *fs, uint32_t id) {
  for (int i = 0; i < FUZZ_MAX_SOCKETS; i++) {
    if (fs->sockets[i] == id) return i;
  }
  return -1;
}

/* Reads what an event points at, so the sanitizers check every byte a
 * driver would copy. */
static uint8_t touch(const uint8_t *bytes, size_t length) {
  uint8_t sum = 0;
  for (size_t i = 0; i < length; i++) sum ^= bytes[i];
  return sum;
}

static volatile uint8_t sink;

static void on_event(void *context, const tcpip_event *event) {
  fuzz_stack *fs = context;
  switch (event->type) {
    case TCPIP_EV_ACCEPTED:
    case TCPIP_EV_CONNECTED: {
      int slot = event->type == TCPIP_EV_CONNECTED ? slot_of(fs, event->id) : slot_of(fs, 0);
      if (slot < 0) {
        /* no room: the application refuses it, as a full accept queue would */
        if (event->type == TCPIP_EV_ACCEPTED) tcpip_tcp_abort(fs->stack, event->id);
        break;
      }
      fs->sockets[slot] = event->id;
      fs->unread[slot] = 0;
      if (event->type == TCPIP_EV_ACCEPTED && fs->foreign_listener != 0 &&
          event->other_id == fs->foreign_listener) {
        if (event->remote.port & 1) {
          tcpip_tcp_abort(fs->stack, event->id);
          fs->sockets[slot] = 0;
          break;
        }
        tcpip_tcp_accept_syn(fs->stack, event->id);
      }
      if (fs->hooks.socket != NULL)
        fs->hooks.socket(fs->hooks.context, event->id, &event->local, &event->remote);
      break;
    }
    case TCPIP_EV_DATA: {
      /* Both ways a driver takes data: held without a copy when it lies in
       * one piece, copied otherwise. */
      const void *bytes;
      void *held = tcpip_event_hold_data(event, &bytes);
      if (held != NULL) {
        sink ^= touch(bytes, event->count);
        tcpip_data_release(held);
      } else {
        uint8_t *copy = malloc(event->count ? event->count : 1);
        if (copy == NULL) abort();
        tcpip_event_copy_data(event, copy);
        sink ^= touch(copy, event->count);
        free(copy);
      }
      int slot = slot_of(fs, event->id);
      if (slot >= 0) fs->unread[slot] += event->count;
      break;
    }
    case TCPIP_EV_ERROR: {
      int slot = slot_of(fs, event->id);
      if (slot >= 0) fs->sockets[slot] = 0;
      break;
    }
    case TCPIP_EV_PACKET: {
      uint8_t *copy = malloc(event->count ? event->count : 1);
      if (copy == NULL) abort();
      tcpip_event_copy_data(event, copy);
      if (fs->hooks.packet != NULL)
        fs->hooks.packet(fs->hooks.context, event->id, copy, event->count);
      free(copy);
      break;
    }
    case TCPIP_EV_STATS: sink ^= (uint8_t)event->stats->packets_in; break;
    default: break;
  }
}

void fuzz_stack_begin(fuzz_stack *fs, const fuzz_hooks *hooks, uint64_t seed) {
  memset(fs, 0, sizeof *fs);
  if (hooks != NULL) fs->hooks = *hooks;
  fs->reading = true;
  /* 8192 timer runs: minutes of lwIP's 50 ms TCP timer, enough for
   * retransmissions to give up; more only slowed every input down */
  fs->timer_steps_left = 8192;
  fuzz_clock_reset();
  fuzz_random_reset(seed);
  fs->stack = tcpip_stack_create(on_event, fs);
  if (fs->stack == NULL) abort();
}

void fuzz_stack_end(fuzz_stack *fs) {
  tcpip_stack_destroy(fs->stack);
  fs->stack = NULL;
}

void fuzz_stack_turn(fuzz_stack *fs) {
  if (fs->reading) {
    for (int i = 0; i < FUZZ_MAX_SOCKETS; i++) {
      if (fs->sockets[i] != 0 && fs->unread[i] != 0) {
        tcpip_tcp_consumed(fs->stack, fs->sockets[i], fs->unread[i]);
        fs->unread[i] = 0;
      }
    }
  }
  /* A busy stack asks to run again at once; the driver's command queue gets
   * a turn in between, and so does ours, after a bounded number. */
  for (int i = 0; i < 16 && tcpip_stack_poll(fs->stack) == 0; i++) {
  }
}

void fuzz_stack_run_for(fuzz_stack *fs, uint32_t ms) {
  /* each step jumps to the next timer */
  for (; fs->timer_steps_left > 0; fs->timer_steps_left--) {
    fuzz_stack_turn(fs);
    uint32_t sleep = tcpip_stack_poll(fs->stack);
    if (ms == 0) return;
    uint32_t jump = sleep == 0 ? 1 : sleep < ms ? sleep : ms;
    fuzz_clock_advance(jump);
    ms -= jump;
  }
}

typedef struct isolated_run {
  void (*body)(void *);
  void *argument;
} isolated_run;

static void *run_body(void *context) {
  isolated_run *run = context;
  run->body(run->argument);
  return NULL;
}

void fuzz_run_isolated(void (*body)(void *), void *argument) {
  isolated_run run = {body, argument};
  pthread_t thread;
  pthread_attr_t attributes;
  /* A small stack: the sanitizers prepare the shadow of all of it for every
   * thread, and 8 MiB of it made each input cost milliseconds. */
  if (pthread_attr_init(&attributes) != 0 ||
      pthread_attr_setstacksize(&attributes, 512 * 1024) != 0)
    abort();
  if (pthread_create(&thread, &attributes, run_body, &run) != 0) abort();
  pthread_attr_destroy(&attributes);
  if (pthread_join(thread, NULL) != 0) abort();
}

enum {
  APP_READ_ON,
  APP_READ_OFF,
  APP_WRITE,
  APP_SHUTDOWN,
  APP_CLOSE,
  APP_ABORT,
  APP_NODELAY,
  APP_KEEPALIVE,
  APP_STATS,
  APP_READ_SOME, /* part of what arrived: windows that reopen partly */
  APP_ACTIONS
};

void fuzz_stack_app(fuzz_stack *fs, unsigned slot, uint8_t action, uint16_t amount) {
  uint32_t id = fs->sockets[slot % FUZZ_MAX_SOCKETS];
  switch (action % APP_ACTIONS) {
    case APP_READ_ON: fs->reading = true; break;
    case APP_READ_OFF: fs->reading = false; break;
    case APP_WRITE: {
      if (id == 0) break;
      /* up to 64 KiB a write: a few fill the send buffer, and larger ones
       * would spend the fuzzer's time in page faults */
      size_t length = (size_t)(amount & 0x0fff) * 16 + 1;
      unsigned char *data = malloc(length);
      if (data == NULL) abort();
      memset(data, 'w', length);
      tcpip_tcp_write(fs->stack, id, data, length);
      break;
    }
    case APP_SHUTDOWN:
      if (id != 0) tcpip_tcp_shutdown(fs->stack, id);
      break;
    case APP_CLOSE:
      if (id != 0) tcpip_tcp_close(fs->stack, id);
      fs->sockets[slot % FUZZ_MAX_SOCKETS] = 0;
      break;
    case APP_ABORT:
      if (id != 0) tcpip_tcp_abort(fs->stack, id);
      fs->sockets[slot % FUZZ_MAX_SOCKETS] = 0;
      break;
    case APP_NODELAY:
      if (id != 0) tcpip_tcp_set_nodelay(fs->stack, id, amount & 1);
      break;
    case APP_KEEPALIVE:
      if (id != 0)
        tcpip_tcp_set_keepalive(fs->stack, id, amount & 1, (uint32_t)(amount >> 1) * 100u);
      break;
    case APP_STATS: tcpip_interface_request_stats(fs->stack, amount & 7); break;
    case APP_READ_SOME: {
      size_t *unread = &fs->unread[slot % FUZZ_MAX_SOCKETS];
      size_t count = (size_t)amount * 16 < *unread ? (size_t)amount * 16 : *unread;
      if (id == 0 || count == 0) break;
      tcpip_tcp_consumed(fs->stack, id, count);
      *unread -= count;
      break;
    }
  }
}

tcpip_error fuzz_add_interface(fuzz_stack *fs, uint32_t id, tcpip_interface_kind kind, uint16_t mtu,
                               const char *const *cidrs, uint8_t mac_last, const uint32_t *ports,
                               size_t port_count) {
  size_t count = 0;
  while (cidrs != NULL && cidrs[count] != NULL) count++;
  tcpip_interface_config config = {
      .kind = kind,
      .cidrs = cidrs,
      .cidr_count = count,
      .mtu = mtu,
      .mac = {0x02, 0, 0, 0, 0, mac_last},
      .ports = ports,
      .port_count = port_count,
  };
  return tcpip_interface_create(fs->stack, id, &config);
}
