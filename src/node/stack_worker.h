// The worker thread that owns one tcpip core stack, and the two queues that
// connect it to the JS thread. Nothing here touches N-API: the binding
// (binding.cc) turns JS calls into commands and events into JS calls.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
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

class StackWorker {
 public:
  // `notify` runs on the worker thread when events become available after
  // the queue was empty; it must only wake the JS thread.
  explicit StackWorker(std::function<void()> notify);
  ~StackWorker();
  StackWorker(const StackWorker&) = delete;
  StackWorker& operator=(const StackWorker&) = delete;

  void Post(Command&& command);
  // Whether `length` more bytes of input would still fit the queue: lets the
  // JS thread drop a flood before it copies anything.
  bool InputFits(size_t length);
  // Posts `length` bytes of packets for an interface unless too many bytes
  // of them wait already: a flood is dropped here (false), never queued
  // without bound.
  bool PostInput(Command&& command, size_t length);
  // Moves all pending events into `out` (which it clears first).
  void TakeEvents(std::vector<Event>& out);
  // Busy-waits up to `limit` for events; true if some are ready. Used right
  // after the JS thread posted commands, when the answer is microseconds away
  // and sleeping in the event loop would cost a thread wake-up.
  bool SpinForEvents(std::chrono::microseconds limit) const;
  // While the JS thread is taking events it needs no wake-up for new ones.
  // Clearing the flag returns whether events arrived meanwhile, which the
  // caller must then take itself.
  void ConsumerActive() { consumer_active_.store(true, std::memory_order_seq_cst); }
  bool ConsumerInactive() {
    consumer_active_.store(false, std::memory_order_seq_cst);
    return events_ready_.load(std::memory_order_seq_cst);
  }
  // Stops the thread, tears the stack down, and joins. Idempotent.
  void Stop();
  // Where links deliver to this stack.
  std::shared_ptr<Inbox> inbox() const { return inbox_; }
  // Packets from a link (the Inbox's batch, which this empties).
  void PostDeliveries(std::vector<LinkDelivery>& batch);

 private:
  struct Applier;
  // What the core holds of a lent write: given back as an event.
  struct Lease {
    StackWorker* worker;
    LeaseId id;
  };
  static void OnCoreEvent(void* context, const tcpip_event* event);
  static void OnLeaseReleased(void* context);
  void Run();
  void Apply(tcpip_stack* stack, Command& command);
  void PublishEvents();
  void StopCapture(tcpip_stack* stack, uint32_t interface_id);
  // Waits in poll() for the wake pipe, a kernel device, or `wake_at`.
  void SleepUntil(Clock::time_point wake_at);
  // Hands the link packets that arrived to the stack, or holds them until
  // they are due.
  void Receive(tcpip_stack* stack, std::vector<LinkDelivery>& arrived);
  // Hands due link packets to the stack; returns when the next one is due.
  Clock::time_point DeliverDue(tcpip_stack* stack);

  struct TimedPacket {
    Clock::time_point due;
    uint64_t order;  // equal due times keep their sending order
    uint32_t interface_id;
    PacketPtr packet;
    bool operator>(const TimedPacket& other) const {
      return due != other.due ? due > other.due : order > other.order;
    }
  };

  std::function<void()> notify_;
  // Wakes the worker from poll(): written when it sleeps and a command comes.
  void Wake();

  std::mutex commands_mutex_;
  int wake_pipe_[2] = {-1, -1};
  std::vector<Command> commands_;
  std::vector<LinkDelivery> deliveries_;  // from links, under commands_mutex_ too
  bool stopping_ = false;
  bool sleeping_ = false;  // the worker waits in poll(): posting must Wake() it
  size_t queued_input_bytes_ = 0;
  std::atomic<bool> commands_posted_{false};
  std::atomic<bool> events_ready_{false};
  std::atomic<bool> consumer_active_{false};

  std::vector<Event> produced_;  // worker thread only
  std::mutex events_mutex_;
  std::vector<Event> events_;

  std::shared_ptr<Inbox> inbox_;
  // Worker thread only:
  std::priority_queue<TimedPacket, std::vector<TimedPacket>, std::greater<TimedPacket>> timed_;
  uint64_t timed_order_ = 0;
  std::map<uint32_t, std::shared_ptr<LinkDirection>> links_;
  std::map<uint32_t, std::unique_ptr<PcapWriter>> captures_;
  std::map<uint32_t, std::unique_ptr<KernelDevice>> devices_;

  std::thread thread_;
};

}  // namespace tcpip
