// Native links: two interfaces of two stacks joined with no JS on the data
// path. What one stack sends out of its interface is copied once, passes
// through the link's conditions (loss, duplication, reordering, latency,
// jitter, rate, MTU) on the sending stack's thread, and is handed to the
// other stack's worker with the time it is due.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>

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

struct LinkConditions {
  double latency_ms = 0;
  double jitter_ms = 0;
  double loss = 0;       // probability, 0..1
  double duplicate = 0;  // probability, 0..1
  double reorder = 0;    // probability that a packet is held back, 0..1
  double rate_bps = 0;   // 0: unlimited
  uint32_t mtu = 0;      // 0: no limit beyond the interfaces' own
  uint32_t queue_bytes = 0;  // with a rate: bytes that may wait, 0: automatic
  bool up = true;
};

struct LinkCounters {
  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> lost{0};
  std::atomic<uint64_t> duplicated{0};
  std::atomic<uint64_t> reordered{0};
  std::atomic<uint64_t> dropped_down{0};
  std::atomic<uint64_t> dropped_mtu{0};
  std::atomic<uint64_t> dropped_queue{0};
};

// The state both directions share and JS changes while traffic flows.
class LinkShared {
 public:
  LinkConditions Conditions() {
    std::lock_guard<std::mutex> lock(mutex_);
    return conditions_;
  }
  void SetConditions(const LinkConditions& conditions) {
    std::lock_guard<std::mutex> lock(mutex_);
    conditions_ = conditions;
  }
  LinkCounters counters[2];  // [0]: a -> b, [1]: b -> a

 private:
  std::mutex mutex_;
  LinkConditions conditions_;
};

// One direction, installed as the sending interface's sink. Runs on the
// sending stack's worker thread only.
class LinkDirection {
 public:
  LinkDirection(std::shared_ptr<LinkShared> shared, int direction, std::shared_ptr<Inbox> target,
                uint32_t target_interface, uint32_t header_bytes);
  static void Sink(void* context, tcpip_packet* packet);

 private:
  void Send(tcpip_packet* packet);

  std::shared_ptr<LinkShared> shared_;
  LinkCounters& counters_;
  std::shared_ptr<Inbox> target_;
  uint32_t target_interface_;
  uint32_t header_bytes_;  // link-layer bytes not counted by the MTU
  Clock::time_point next_free_{};  // when the wire is free again (rate)
  std::mt19937_64 random_;
};

}  // namespace tcpip
