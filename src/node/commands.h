// What the JS thread asks of a stack's worker: one type per command, each
// owning what it carries, so a command dropped anywhere (a stopping worker, a
// full queue) gives everything back by itself.
#pragma once

#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "../core/tcpip.h"
#include "link.h"

namespace tcpip {

struct PacketDeleter {
  void operator()(tcpip_packet* packet) const { tcpip_packet_free(packet); }
};
// A core packet; any thread may free one.
using PacketPtr = std::unique_ptr<tcpip_packet, PacketDeleter>;

struct FreeDeleter {
  void operator()(unsigned char* bytes) const { std::free(bytes); }
};
// Bytes from malloc, as tcpip_tcp_write() takes them.
using MallocBytes = std::unique_ptr<unsigned char, FreeDeleter>;

// A file descriptor, closed unless released.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// Names a JS buffer the binding holds while the core reads it; given back
// with a kEventWriteReleased event.
using LeaseId = uint64_t;

namespace command {

struct InterfaceCreate {
  uint32_t id;
  tcpip_interface_kind kind;
  std::vector<std::string> cidrs;
  uint16_t mtu;  // 0: the kind's default
  std::array<uint8_t, 6> mac;
  std::string gateway;  // empty: none
  bool default_route;
  std::vector<uint32_t> ports;  // a bridge's TAP interfaces
};
struct InterfaceRemove {
  uint32_t id;
};
// A packet or frame from JS, copied once into a core packet.
struct InterfaceInput {
  uint32_t id;
  PacketPtr packet;
};
// Input larger than any packet (TCPIP_PACKET_MAX): the core counts it as
// oversize and drops it, after a capture has seen it.
struct InterfaceInputOversize {
  uint32_t id;
  std::vector<uint8_t> bytes;
};
struct InterfaceStats {
  uint32_t id;
};
struct InterfaceChecksums {
  uint32_t id;
  bool enabled;
};
struct InterfaceDhcp {
  uint32_t id;
  uint32_t flags;
};
struct InterfaceSlaac {
  uint32_t id;
  bool enabled;
};
struct Listen {
  uint32_t id;
  std::string address;
  uint16_t port;
  int32_t backlog;
  bool ipv6_only;
};
struct Connect {
  uint32_t id;
  std::string address;
  uint16_t port;
  std::string local_address;
  uint16_t local_port;
};
// Bytes copied on the JS thread; null when there was no memory for them,
// which fails the socket with ENOBUFS.
struct CopiedBytes {
  MallocBytes bytes;
  size_t length;
};
// A JS buffer's own bytes, readable for as long as the binding holds the
// lease (until the core releases them).
struct LentBytes {
  const unsigned char* bytes;
  size_t length;
  LeaseId lease;
};
using WritePiece = std::variant<CopiedBytes, LentBytes>;
struct Write {
  uint32_t id;
  std::vector<WritePiece> pieces;  // in stream order
};
struct Consumed {
  uint32_t id;
  size_t bytes;
};
struct Shutdown {
  uint32_t id;
};
struct Close {
  uint32_t id;
};
struct Abort {
  uint32_t id;
};
struct ListenForeign {
  uint32_t id;
  uint32_t interface_id;
};
struct AcceptSyn {
  uint32_t id;
};
struct SetNoDelay {
  uint32_t id;
  bool enabled;
};
struct SetKeepAlive {
  uint32_t id;
  bool enabled;
  uint32_t idle_ms;
};
// Interface `id` sends into `link`.
struct AttachLink {
  uint32_t id;
  std::shared_ptr<LinkDirection> link;
};
struct DetachLink {
  uint32_t id;
};
// Interface `id` is captured to `fd`: the worker writes the pcap file and closes it.
struct CaptureStart {
  uint32_t id;
  UniqueFd fd;
};
// Answered by a kEventCaptureClosed event.
struct CaptureStop {
  uint32_t id;
};
// Interface `id` is the kernel device open on `fd`.
struct AttachDevice {
  uint32_t id;
  UniqueFd fd;
};

struct UdpBind {
  uint32_t id;
  std::string address;  // empty: the wildcard
  uint16_t port;
  uint32_t flags;  // TCPIP_UDP_*
};
struct UdpConnect {
  uint32_t id;
  std::string address;
  uint16_t port;
};
struct UdpDisconnect {
  uint32_t id;
};
// One datagram, copied on the JS thread; to the connected peer when
// `address` is empty.
struct UdpSend {
  uint32_t id;
  std::string address;
  uint16_t port;
  CopiedBytes bytes;
  uint32_t tag;
  bool report;
};
struct UdpConsumed {
  uint32_t id;
  size_t bytes;
};
struct UdpSetOption {
  uint32_t id;
  tcpip_udp_option option;
  uint32_t value;
};
struct UdpClose {
  uint32_t id;
};
struct UdpMembership {
  uint32_t id;
  std::string group;
  std::string interface_address;  // empty: every interface
  bool join;
};
// One ICMP echo request (ping).
struct IcmpEcho {
  uint16_t identifier;
  uint16_t sequence;
  std::string address;
  uint16_t size;
};

}  // namespace command

using Command = std::variant<
    command::InterfaceCreate, command::InterfaceRemove, command::InterfaceInput,
    command::InterfaceInputOversize, command::InterfaceStats, command::InterfaceChecksums,
    command::Listen, command::Connect, command::Write, command::Consumed, command::Shutdown,
    command::Close, command::Abort, command::SetNoDelay, command::SetKeepAlive, command::AttachLink,
    command::DetachLink, command::CaptureStart, command::CaptureStop, command::AttachDevice,
    command::UdpBind, command::UdpConnect, command::UdpDisconnect, command::UdpSend,
    command::UdpConsumed, command::UdpSetOption, command::UdpClose, command::IcmpEcho,
    command::UdpMembership, command::InterfaceDhcp, command::InterfaceSlaac, command::ListenForeign,
    command::AcceptSyn>;

}  // namespace tcpip
