#include "capture.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <unistd.h>

namespace tcpip {

PcapWriter::~PcapWriter() {
  Flush();
  close(fd_);
}

static void AppendU32(std::vector<uint8_t>& out, uint32_t value) {
  // pcap records use the writer's byte order; the header's magic says which.
  uint8_t bytes[4];
  std::memcpy(bytes, &value, sizeof bytes);
  out.insert(out.end(), bytes, bytes + sizeof bytes);
}

void PcapWriter::Record(void* context, const uint8_t* bytes, size_t length, bool outgoing) {
  (void)outgoing;
  auto* self = static_cast<PcapWriter*>(context);
  if (self->failed_) return;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  AppendU32(self->buffer_, static_cast<uint32_t>(now.tv_sec));
  AppendU32(self->buffer_, static_cast<uint32_t>(now.tv_nsec / 1000));
  AppendU32(self->buffer_, static_cast<uint32_t>(length));
  AppendU32(self->buffer_, static_cast<uint32_t>(length));
  self->buffer_.insert(self->buffer_.end(), bytes, bytes + length);
  if (self->buffer_.size() >= kFlushAt) self->Flush();
}

bool PcapWriter::Flush() {
  size_t done = 0;
  while (!failed_ && done < buffer_.size()) {
    ssize_t written = write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      failed_ = true;
      break;
    }
    done += static_cast<size_t>(written);
  }
  buffer_.clear();
  return !failed_;
}

}  // namespace tcpip
