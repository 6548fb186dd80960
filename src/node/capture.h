// Packet capture to a pcap file, written by the stack's worker thread as
// packets pass (no JS on the data path). The JS side opens the file and
// writes the pcap header; this appends records and closes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tcpip {

class PcapWriter {
 public:
  explicit PcapWriter(int fd) : fd_(fd) { buffer_.reserve(kFlushAt + 0x10000 + 16); }
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // A tcpip_capture_fn.
  static void Record(void* context, const uint8_t* bytes, size_t length, bool outgoing);
  // Writes what is buffered. Returns false once a write has failed.
  bool Flush();
  bool failed() const { return failed_; }

 private:
  static constexpr size_t kFlushAt = 256 * 1024;
  int fd_;
  bool failed_ = false;
  std::vector<uint8_t> buffer_;
};

}  // namespace tcpip
