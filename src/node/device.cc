#include "device.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#endif

namespace tcpip {

int OpenKernelDevice(const std::string& name, bool tap, const char** syscall) {
#if defined(__linux__)
  *syscall = "open";
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct ifreq request;
  std::memset(&request, 0, sizeof request);
  request.ifr_flags = static_cast<short>((tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI);
  std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &request) < 0) {
    int error = errno;
    close(fd);
    *syscall = "ioctl";
    return -error;
  }
  return fd;
#else
  (void)name;
  (void)tap;
  *syscall = "open";
  return -ENOSYS;
#endif
}

// The largest packet a read takes, and what a device holds between a read
// and its delivery: a read starts only while less than kHeldBytes is held.
static constexpr size_t kReadBytes = 65536;
static constexpr size_t kHeldBytes = 256 * 1024;

KernelDevice::KernelDevice(uint32_t interface_id, int fd)
    : interface_id_(interface_id), fd_(fd), buffer_(new uint8_t[kHeldBytes + kReadBytes]) {
  int flags = fcntl(fd_, F_GETFL);
  if (flags >= 0) fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
}

KernelDevice::~KernelDevice() { close(fd_); }

void KernelDevice::Sink(void* context, tcpip_packet* packet) {
  auto* self = static_cast<KernelDevice*>(context);
  size_t length = 0;
  const uint8_t* bytes = tcpip_packet_bytes(packet, &length);
  // A full device queue drops, as a NIC's would; TCP resends.
  ssize_t written;
  do {
    written = write(self->fd_, bytes, length);
  } while (written < 0 && errno == EINTR);
  tcpip_packet_free(packet);
}

void KernelDevice::Read(int budget) {
  for (int i = 0; i < budget && held_bytes_ < kHeldBytes; i++) {
    ssize_t length = read(fd_, buffer_.get() + held_bytes_, kReadBytes);
    if (length < 0 && errno == EINTR) continue;
    if (length <= 0) return;  // EAGAIN: drained (or the device went away)
    held_.push_back({held_bytes_, static_cast<size_t>(length)});
    held_bytes_ += static_cast<size_t>(length);
  }
}

void KernelDevice::Deliver(tcpip_stack* stack) {
  for (const Held& packet : held_) {
    tcpip_interface_input(stack, interface_id_, buffer_.get() + packet.offset, packet.length);
  }
  held_.clear();
  held_bytes_ = 0;
}

}  // namespace tcpip
