#include "capture.h"

#include <cerrno>
#include <unistd.h>

namespace tcpip {

PcapWriter::PcapWriter(int fd) : fd_(fd), buffer_(kBufferBytes) {
  tcpip_pcap_init(&pcap_, buffer_.data(), buffer_.size(), &PcapWriter::Write, this);
}

PcapWriter::~PcapWriter() {
  Flush();
  close(fd_);
}

bool PcapWriter::Write(void* context, const uint8_t* bytes, size_t length) {
  int fd = static_cast<PcapWriter*>(context)->fd_;
  size_t done = 0;
  while (done < length) {
    ssize_t written = write(fd, bytes + done, length - done);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    done += static_cast<size_t>(written);
  }
  return true;
}

}  // namespace tcpip
