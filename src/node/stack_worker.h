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
#include "device.h"
#include "link.h"

namespace tcpip {

struct Command {
  enum class Type : uint8_t {
    kInterfaceCreate,
    kInterfaceRemove,
    kInterfaceInput,
    kInterfaceStats,
    kInterfaceChecksums,  // `flag`: generate and check checksums on interface `id`
    kListen,
    kConnect,
    kWrite,
    kConsumed,
    kShutdown,
    kClose,
    kAbort,
    kSetNoDelay,
    kSetKeepAlive,
    kAttachLink,  // interface `id` sends into `link`
    kDetachLink,
    kCaptureStart,  // interface `id` is captured to file descriptor `number`
    kCaptureStop,   // answered by a kEventCaptureClosed event
    kAttachDevice,  // interface `id` is a kernel device, fd `number` (owned)
  };
  Type type;
  uint32_t id = 0;
  uint16_t port = 0;
  uint16_t local_port = 0;
  int32_t number = 0;  // backlog, flags or milliseconds, by type
  bool flag = false;
  std::string address;
  std::string local_address;
  std::vector<std::string> cidrs;
  std::vector<uint32_t> ports;  // kInterfaceCreate of a bridge
  uint8_t mac[6] = {0};
  void* data = nullptr;  // kWrite, kInterfaceInput: malloc'd, owned by the command
  size_t length = 0;     // kWrite, kConsumed, kInterfaceInput
  std::shared_ptr<LinkDirection> link;  // kAttachLink
};

// Events of the Node layer itself (tcpip.h numbers them).
constexpr int kEventCaptureClosed = TCPIP_EV_CAPTURE_CLOSED;  // `error`: a write failed

// An event copied out of the core, safe to carry to another thread: DATA
// events own a copy of their bytes.
struct Event : tcpip_event {
  int code;  // the core's tcpip_event_type, or one of the Node layer's kEvent*
  tcpip_interface_stats stats_copy;  // TCPIP_EV_STATS
  // TCPIP_EV_DATA: the bytes, owned by the event through `held` (a core
  // buffer, see tcpip_event_hold_data) or, when that is null, malloc'd.
  unsigned char* data;
  void* held;
};

// Gives back what a DATA event owns.
void ReleaseEventData(unsigned char* data, void* held);

class StackWorker {
 public:
  // `notify` runs on the worker thread when events become available after
  // the queue was empty; it must only wake the JS thread.
  explicit StackWorker(std::function<void()> notify);
  ~StackWorker();
  StackWorker(const StackWorker&) = delete;
  StackWorker& operator=(const StackWorker&) = delete;

  void Post(Command&& command);
  // Posts packets for an interface unless too many bytes of them wait
  // already: a flood is dropped here (false), never queued without bound.
  bool PostInput(Command&& command);
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
  static void OnCoreEvent(void* context, const tcpip_event* event);
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
    tcpip_packet* packet;
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

void FreeEvents(std::vector<Event>& events);

}  // namespace tcpip
