// One native stack's core and what the Node layer keeps around it, with no
// thread of its own: the core stack, commands applied to it, the events it
// produces, link deliveries and timed packets, captures and devices, and
// one "turn" of all of it. Its driver decides on which thread it runs (the
// stack's worker: StackWorker; or the JS thread: InlineStack) and where the
// produced events go. Only the thread that opened it may use it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <queue>
#include <vector>

#include "../core/tcpip.h"
#include "capture.h"
#include "commands.h"
#include "device.h"
#include "link.h"

namespace tcpip {

// Events of the Node layer itself (tcpip.h numbers them from TCPIP_EV_DRIVER_BASE).
constexpr int kEventCaptureClosed = TCPIP_EV_CAPTURE_CLOSED;  // `error`: a write failed
// The core is done with a lent write's bytes (`lease`); the binding handles
// it and it never reaches JS.
constexpr int kEventWriteReleased = TCPIP_EV_DRIVER_BASE + 1;
// DATA and DATAGRAM whose bytes were copied into the binding's receive pool:
// (pool, offset, length[, address, port]). lib/backend/native.js turns them
// back into DATA and DATAGRAM with a view of the pool, so no engine user
// sees them.
constexpr int kEventPooledData = TCPIP_EV_DRIVER_BASE + 2;
constexpr int kEventPooledDatagram = TCPIP_EV_DRIVER_BASE + 3;
// A DATA event whose bytes an earlier DATA event of the same socket in the
// batch took (StackBinding::DispatchPending): it never reaches JS.
constexpr int kEventMerged = TCPIP_EV_DRIVER_BASE + 4;

// Bytes an event carries to the JS thread, owned: a received core buffer
// held without a copy, or a packet the worker copied once. Any thread may
// give either back.
class EventBytes {
 public:
  EventBytes() = default;
  static EventBytes Held(void* handle, const void* bytes, size_t length);
  static EventBytes Packet(PacketPtr packet);
  EventBytes(EventBytes&& other) noexcept { *this = std::move(other); }
  EventBytes& operator=(EventBytes&& other) noexcept;
  EventBytes(const EventBytes&) = delete;
  EventBytes& operator=(const EventBytes&) = delete;
  ~EventBytes() { Reset(); }

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  void Reset();

 private:
  void* held_ = nullptr;  // tcpip_event_hold_data()'s handle
  tcpip_packet* packet_ = nullptr;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// An event copied out of the core, safe to carry to another thread.
struct Event {
  int code = 0;  // the core's tcpip_event_type, or one of the Node layer's kEvent*
  uint32_t id = 0;
  uint32_t other_id = 0;
  tcpip_error error = TCPIP_OK;
  size_t count = 0;
  tcpip_endpoint local{};
  tcpip_endpoint remote{};
  tcpip_interface_stats stats{};  // TCPIP_EV_STATS
  EventBytes bytes;               // TCPIP_EV_DATA, TCPIP_EV_PACKET
  LeaseId lease = 0;              // kEventWriteReleased
};

class StackCore {
 public:
  StackCore() = default;
  ~StackCore() { Close(); }
  StackCore(const StackCore&) = delete;
  StackCore& operator=(const StackCore&) = delete;

  // Creates the core stack on the calling thread; false if it cannot.
  bool Open();
  bool open() const { return stack_ != nullptr; }
  // Tears the stack down: links stop sending into it, captures end, devices
  // close, and every lent write is given back (as events in produced()).
  // Idempotent.
  void Close();

  // Applies one command; what the core does not take goes with the command.
  void Apply(Command& command);
  // Sends a datagram now and says how that went (Apply answers with an
  // event instead).
  tcpip_error UdpSend(command::UdpSend& command);
  // Writes bytes that are valid only during the call (tcpip_tcp_write_transient).
  void WriteTransient(uint32_t id, const void* bytes, size_t length);
  tcpip_error IcmpEcho(command::IcmpEcho& command);
  tcpip_error UdpMembership(command::UdpMembership& command);
  // Reads what the kernel devices sent (up to 256 packets each), for the
  // next turn to deliver. The driver reads before it takes the commands
  // that turn applies: a packet a command caused (a peer's SYN to a
  // listen() that JS saw return) then finds that command applied.
  void ReadDevices();
  // One turn: applies `batch` (then cleared), hands the stack what the
  // devices read, hands it the `arrived` link packets (or holds them until
  // due), delivers due ones, polls the core, and flushes links and
  // captures. Returns when the next turn is due (time_point::max(): only
  // when something arrives).
  Clock::time_point Turn(std::vector<Command>& batch, std::vector<LinkDelivery>& arrived);
  const std::map<uint32_t, std::unique_ptr<KernelDevice>>& devices() const { return devices_; }
  // Events produced since the driver last took them.
  std::vector<Event>& produced() { return produced_; }

 private:
  struct Applier;
  // What the core holds of a lent write: given back as an event.
  struct Lease {
    StackCore* core;
    LeaseId id;
  };
  static void OnCoreEvent(void* context, const tcpip_event* event);
  static void OnLeaseReleased(void* context);
  void StopCapture(uint32_t interface_id);
  // Hands the link packets that arrived to the stack, or holds them until
  // they are due.
  void Receive(std::vector<LinkDelivery>& arrived);
  // Hands due link packets to the stack; returns when the next one is due.
  Clock::time_point DeliverDue();

  struct TimedPacket {
    Clock::time_point due;
    uint64_t order;  // equal due times keep their sending order
    uint32_t interface_id;
    PacketPtr packet;
    bool operator>(const TimedPacket& other) const {
      return due != other.due ? due > other.due : order > other.order;
    }
  };

  tcpip_stack* stack_ = nullptr;
  std::vector<Event> produced_;
  std::priority_queue<TimedPacket, std::vector<TimedPacket>, std::greater<TimedPacket>> timed_;
  uint64_t timed_order_ = 0;
  std::map<uint32_t, std::shared_ptr<LinkDirection>> links_;
  std::map<uint32_t, std::unique_ptr<PcapWriter>> captures_;
  std::map<uint32_t, std::unique_ptr<KernelDevice>> devices_;
};

}  // namespace tcpip
