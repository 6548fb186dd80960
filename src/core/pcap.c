#define _POSIX_C_SOURCE 200809L
/* The pcap writer (see pcap.h). */
#include "pcap.h"

#include <string.h>
#include <time.h>

#include "stack_internal.h"

#define PCAP_MAGIC_MICROSECONDS 0xa1b2c3d4u
#define PCAP_VERSION_MAJOR 2
#define PCAP_VERSION_MINOR 4
#define PCAP_SNAPSHOT_LENGTH 0x10000u /* whole packets: interfaces carry at most 64 KiB */
#define LINKTYPE_ETHERNET 1
#define LINKTYPE_RAW 101 /* bare IPv4 and IPv6 packets */

static void put_u16(uint8_t *out, uint16_t value) {
  out[0] = (uint8_t)value;
  out[1] = (uint8_t)(value >> 8);
}

static void put_u32(uint8_t *out, uint32_t value) {
  for (int i = 0; i < 4; i++) out[i] = (uint8_t)(value >> (8 * i));
}

void tcpip_pcap_init(tcpip_pcap *pcap, uint8_t *buffer, size_t capacity, tcpip_pcap_flush_fn flush,
                     void *context) {
  memset(pcap, 0, sizeof *pcap);
  pcap->buffer = buffer;
  pcap->capacity = capacity;
  pcap->flush = flush;
  pcap->context = context;
}

bool tcpip_pcap_flush(tcpip_pcap *pcap) {
  if (pcap->size != 0 && !pcap->failed)
    pcap->failed = !pcap->flush(pcap->context, pcap->buffer, pcap->size);
  pcap->size = 0;
  return !pcap->failed;
}

/* Room for `length` more bytes in the buffer, flushing it if need be. */
static void make_room(tcpip_pcap *pcap, size_t length) {
  if (pcap->size + length > pcap->capacity) tcpip_pcap_flush(pcap);
}

void tcpip_pcap_write_header(tcpip_pcap *pcap, tcpip_interface_kind kind) {
  make_room(pcap, TCPIP_PCAP_FILE_HEADER_BYTES);
  uint8_t *out = pcap->buffer + pcap->size;
  memset(out, 0, TCPIP_PCAP_FILE_HEADER_BYTES); /* time zone and accuracy: 0 */
  put_u32(out, PCAP_MAGIC_MICROSECONDS);
  put_u16(out + 4, PCAP_VERSION_MAJOR);
  put_u16(out + 6, PCAP_VERSION_MINOR);
  put_u32(out + 16, PCAP_SNAPSHOT_LENGTH);
  bool ethernet = kind == TCPIP_INTERFACE_TAP || kind == TCPIP_INTERFACE_BRIDGE;
  put_u32(out + 20, ethernet ? LINKTYPE_ETHERNET : LINKTYPE_RAW);
  pcap->size += TCPIP_PCAP_FILE_HEADER_BYTES;
}

void tcpip_pcap_write_record(tcpip_pcap *pcap, uint64_t time_us, const uint8_t *bytes,
                             size_t length) {
  if (pcap->failed) return;
  make_room(pcap, TCPIP_PCAP_RECORD_HEADER_BYTES + length);
  uint8_t *out = pcap->buffer + pcap->size;
  put_u32(out, (uint32_t)(time_us / 1000000));
  put_u32(out + 4, (uint32_t)(time_us % 1000000));
  put_u32(out + 8, (uint32_t)length);  /* captured */
  put_u32(out + 12, (uint32_t)length); /* on the wire */
  pcap->size += TCPIP_PCAP_RECORD_HEADER_BYTES;
  if (pcap->size + length <= pcap->capacity) {
    memcpy(pcap->buffer + pcap->size, bytes, length);
    pcap->size += length;
    return;
  }
  /* Larger than the buffer: its header goes out, then the bytes as they are. */
  if (tcpip_pcap_flush(pcap)) pcap->failed = !pcap->flush(pcap->context, bytes, length);
}

/* A tcpip_capture_fn. */
static void capture(void *context, const uint8_t *bytes, size_t length, bool outgoing) {
  (void)outgoing;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  uint64_t time_us = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
  tcpip_pcap_write_record(context, time_us, bytes, length);
}

tcpip_error tcpip_pcap_start(tcpip_pcap *pcap, tcpip_stack *stack, uint32_t id) {
  tcpip_interface *iface = tcpip_interface_find(stack, id);
  if (iface == NULL) return TCPIP_EINVAL;
  tcpip_interface_set_capture(stack, id, capture, pcap);
  if (iface->capture != capture) return TCPIP_ENOBUFS;
  tcpip_pcap_write_header(pcap, iface->kind);
  return TCPIP_OK;
}

bool tcpip_pcap_stop(tcpip_pcap *pcap, tcpip_stack *stack, uint32_t id) {
  tcpip_interface *iface = tcpip_interface_find(stack, id);
  if (iface != NULL && iface->capture_context == pcap)
    tcpip_interface_set_capture(stack, id, NULL, NULL);
  return tcpip_pcap_flush(pcap);
}
