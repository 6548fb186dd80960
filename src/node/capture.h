// Packet capture to a pcap file, written by the stack's worker thread as
// packets pass (no JS on the data path). The core's pcap writer
// (src/core/pcap.h) formats the file; this owns the buffer and the file,
// and writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../core/pcap.h"

namespace tcpip {

class PcapWriter {
 public:
  explicit PcapWriter(int fd);  // owns `fd` from now on
  ~PcapWriter();                // flushes and closes
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Captures interface `id` of `stack` into the file, header first.
  void Start(tcpip_stack* stack, uint32_t id) { tcpip_pcap_start(&pcap_, stack, id); }
  // Stops capturing and writes what is buffered. Returns false once a
  // write has failed.
  bool Stop(tcpip_stack* stack, uint32_t id) { return tcpip_pcap_stop(&pcap_, stack, id); }
  bool Flush() { return tcpip_pcap_flush(&pcap_); }

 private:
  static bool Write(void* context, const uint8_t* bytes, size_t length);

  static constexpr size_t kBufferBytes = 256 * 1024;
  int fd_;
  std::vector<uint8_t> buffer_;
  tcpip_pcap pcap_;
};

}  // namespace tcpip
