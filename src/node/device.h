// Real kernel TUN/TAP devices (Linux): the JS thread opens the device; the
// stack's worker reads and writes its file descriptor directly.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../core/tcpip.h"

namespace tcpip {

// Opens /dev/net/tun as device `name` (TAP for Ethernet frames, TUN for IP
// packets), non-blocking. Returns the fd, or -errno with `syscall` naming the
// call that failed.
int OpenKernelDevice(const std::string& name, bool tap, const char** syscall);

// One attached device: the interface's sink writes to it, and the worker
// reads what the kernel sends into the interface.
class KernelDevice {
 public:
  // Takes `fd`, made non-blocking: the worker must never wait on it.
  KernelDevice(uint32_t interface_id, int fd);
  ~KernelDevice();
  KernelDevice(const KernelDevice&) = delete;
  KernelDevice& operator=(const KernelDevice&) = delete;

  int fd() const { return fd_; }
  // A tcpip_packet_sink.
  static void Sink(void* context, tcpip_packet* packet);
  // Reads what the kernel sent, up to `budget` packets and kHeldBytes, and
  // holds it for Deliver(). Reading before the driver takes its commands,
  // and delivering after it applied them, keeps their order: a packet the
  // kernel sent because of a command (a peer's SYN to a listen() that JS
  // saw return) finds that command applied.
  void Read(int budget);
  // Hands the stack what Read() holds.
  void Deliver(tcpip_stack* stack);

 private:
  struct Held {
    size_t offset;
    size_t length;
  };
  uint32_t interface_id_;
  int fd_;
  // Where reads land: the device's own, not a thread-local (the addon's
  // TLS block is copied when a JS-thread stack is entered: tls_context.h).
  std::unique_ptr<uint8_t[]> buffer_;
  size_t held_bytes_ = 0;
  std::vector<Held> held_;
};

}  // namespace tcpip
