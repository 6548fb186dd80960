/*
 * Packet capture files: the pcap format, written in one place for both
 * engines. A writer formats the file header and one record per packet into
 * a buffer its driver supplies, and hands full buffers to the driver's
 * flush function, which does the I/O: write(2) on the Node addon's worker
 * (src/node/capture.cc), the host's file in the wasm export layer.
 *
 * Files are little-endian pcap 2.4 with microsecond timestamps and whole
 * packets: raw IP (LINKTYPE_RAW) for loopback and TUN interfaces, Ethernet
 * for TAP interfaces and bridges.
 *
 * Who owns what: the driver owns the writer and its buffer, and keeps both
 * until tcpip_pcap_stop(). Like the rest of the core, a writer is used on
 * its stack's thread only.
 */
#ifndef TCPIP_PCAP_H
#define TCPIP_PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcpip.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TCPIP_PCAP_FILE_HEADER_BYTES 24
#define TCPIP_PCAP_RECORD_HEADER_BYTES 16

/* Writes `length` bytes out; returns false when they could not be written. */
typedef bool (*tcpip_pcap_flush_fn)(void *context, const uint8_t *bytes, size_t length);

typedef struct tcpip_pcap {
  uint8_t *buffer; /* the driver's */
  size_t capacity;
  size_t size; /* bytes waiting in the buffer */
  tcpip_pcap_flush_fn flush;
  void *context;
  bool failed; /* a flush failed: nothing more is written */
} tcpip_pcap;

/* A writer that gathers up to `capacity` bytes (at least
 * TCPIP_PCAP_FILE_HEADER_BYTES) in `buffer` before each flush. */
void tcpip_pcap_init(tcpip_pcap *pcap, uint8_t *buffer, size_t capacity, tcpip_pcap_flush_fn flush,
                     void *context);

/* Starts capturing interface `id` of `stack`: the file header for the
 * interface's kind, then a record for every packet in or out, timestamped
 * with the real-time clock. Returns TCPIP_EINVAL for an unknown interface,
 * TCPIP_ENOBUFS when the core had no memory for it. */
tcpip_error tcpip_pcap_start(tcpip_pcap *pcap, tcpip_stack *stack, uint32_t id);
/* Stops capturing interface `id` (gone already is fine) and flushes.
 * Returns false when a write failed at any time. */
bool tcpip_pcap_stop(tcpip_pcap *pcap, tcpip_stack *stack, uint32_t id);

/* The pieces start() uses, for drivers and tests that write files alone. */
void tcpip_pcap_write_header(tcpip_pcap *pcap, tcpip_interface_kind kind);
void tcpip_pcap_write_record(tcpip_pcap *pcap, uint64_t time_us, const uint8_t *bytes,
                             size_t length);
/* Hands what is buffered to the flush function. Returns false once a
 * write has failed. */
bool tcpip_pcap_flush(tcpip_pcap *pcap);

#ifdef __cplusplus
}
#endif

#endif
