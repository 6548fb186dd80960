// Native links: two interfaces of two stacks joined with no JS on the data
// path. What one stack sends out of its interface is copied once, judged by
// the link's conditions (src/core/link_conditions.h) on the sending stack's
// thread, and handed to the other stack's worker with the time it is due.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

#include "../core/link_conditions.h"
#include "../core/tcpip.h"

namespace tcpip {

using Clock = std::chrono::steady_clock;

class StackWorker;

// Where a link delivers: one stack's worker, for as long as it runs. The
// link holds this, not the worker, so a stack can go away first.
class Inbox {
 public:
  explicit Inbox(StackWorker* worker) : worker_(worker) {}
  // Takes the packet; frees it if the stack is gone.
  void Deliver(uint32_t interface_id, tcpip_packet* packet, Clock::time_point due);
  void Close();

 private:
  std::mutex mutex_;
  StackWorker* worker_;
};

// A direction's counters as JS reads them: the sender stores, JS loads.
struct LinkCounters {
  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> lost{0};
  std::atomic<uint64_t> duplicated{0};
  std::atomic<uint64_t> reordered{0};
  std::atomic<uint64_t> dropped_down{0};
  std::atomic<uint64_t> dropped_mtu{0};
  std::atomic<uint64_t> dropped_queue{0};

  void Publish(const tcpip_link_counters& counters);
};

// The state both directions share and JS changes while traffic flows.
class LinkShared {
 public:
  LinkShared() { tcpip_link_conditions_init(&conditions_); }
  tcpip_link_conditions Conditions() {
    std::lock_guard<std::mutex> lock(mutex_);
    return conditions_;
  }
  void SetConditions(const tcpip_link_conditions& conditions) {
    std::lock_guard<std::mutex> lock(mutex_);
    conditions_ = conditions;
  }
  LinkCounters counters[2];  // [0]: a -> b, [1]: b -> a

 private:
  std::mutex mutex_;
  tcpip_link_conditions conditions_;
};

// One direction, installed as the sending interface's sink. Runs on the
// sending stack's worker thread only.
class LinkDirection {
 public:
  LinkDirection(std::shared_ptr<LinkShared> shared, int direction, std::shared_ptr<Inbox> target,
                uint32_t target_interface, uint32_t header_bytes, uint64_t seed);
  static void Sink(void* context, tcpip_packet* packet);

 private:
  void Send(tcpip_packet* packet);

  std::shared_ptr<LinkShared> shared_;
  LinkCounters& counters_;
  std::shared_ptr<Inbox> target_;
  uint32_t target_interface_;
  tcpip_link_direction state_;
};

}  // namespace tcpip
