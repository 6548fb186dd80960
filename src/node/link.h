// Native links: two interfaces of two stacks joined with no JS on the data
// path. What one stack sends out of its interface is judged by the link's
// conditions (src/core/link_conditions.h) on the sending stack's thread,
// gathered, and handed to the other stack's worker, a turn's packets at a
// time, each with the time it is due.
//
// No lock per packet: the sender reads the conditions JS sets through a
// version number (the mutex only when they changed), publishes its counters
// with relaxed atomic stores, and takes the other stack's locks once per
// batch.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "../core/link_conditions.h"
#include "../core/tcpip.h"

namespace tcpip {

using Clock = std::chrono::steady_clock;

// A packet on its way over a link: for interface `interface_id` of the
// receiving stack, not before `due`.
struct LinkDelivery {
  Clock::time_point due;
  uint32_t interface_id;
  tcpip_packet* packet;  // owned by whoever holds the delivery
};

void FreeDeliveries(std::vector<LinkDelivery>& deliveries);
// Moves every delivery of `batch` to the end of `queue`, leaving `batch` empty.
void AppendDeliveries(std::vector<LinkDelivery>& queue, std::vector<LinkDelivery>& batch);

// What a link delivers to: a stack's driver (its worker thread, or the JS
// thread). PostDeliveries takes every packet of `batch` and leaves it empty;
// any thread may call it.
class DeliveryTarget {
 public:
  virtual void PostDeliveries(std::vector<LinkDelivery>& batch) = 0;

 protected:
  ~DeliveryTarget() = default;
};

// Where a link delivers: one stack's driver, for as long as it runs. The
// link holds this, not the driver, so either stack can go away first.
class Inbox {
 public:
  explicit Inbox(DeliveryTarget* target) : target_(target) {}
  // Takes every packet of `batch` and leaves it empty: the worker gets them
  // in one go, or they are freed if the stack is gone.
  void Deliver(std::vector<LinkDelivery>& batch);
  void Close();

 private:
  std::mutex mutex_;
  DeliveryTarget* target_;
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

  // The sending worker publishes after every packet; JS reads whenever it
  // asks. A sequence number (odd while a publish is under way) lets the
  // reader retry instead of seeing counters from two different packets.
  void Publish(const tcpip_link_counters& counters);
  tcpip_link_counters Read() const;

 private:
  std::atomic<uint64_t> sequence_{0};
};

// The state both directions share and JS changes while traffic flows.
class LinkShared {
 public:
  LinkShared() { tcpip_link_conditions_init(&conditions_); }
  void SetConditions(const tcpip_link_conditions& conditions);
  // Copies the conditions into `out` when they changed since `*seen`, and
  // updates `*seen`: one atomic load when they did not.
  void Refresh(tcpip_link_conditions* out, uint64_t* seen);

  LinkCounters counters[2];  // [0]: a -> b, [1]: b -> a

 private:
  std::mutex mutex_;
  tcpip_link_conditions conditions_;
  std::atomic<uint64_t> version_{1};
};

// One direction, installed as the sending interface's sink. Runs on the
// sending stack's worker thread only.
class LinkDirection {
 public:
  LinkDirection(std::shared_ptr<LinkShared> shared, int direction, std::shared_ptr<Inbox> target,
                uint32_t target_interface, uint32_t header_bytes, uint64_t seed);
  ~LinkDirection();  // frees what it gathered and did not flush
  LinkDirection(const LinkDirection&) = delete;
  LinkDirection& operator=(const LinkDirection&) = delete;

  static void Sink(void* context, tcpip_packet* packet);
  // Hands what it gathered to the other stack; the worker calls this at the
  // end of each turn.
  void Flush();

 private:
  void Send(tcpip_packet* packet);
  void Gather(tcpip_packet* packet, Clock::time_point due);

  std::shared_ptr<LinkShared> shared_;
  LinkCounters& counters_;
  std::shared_ptr<Inbox> target_;
  uint32_t target_interface_;
  tcpip_link_conditions conditions_;
  uint64_t conditions_seen_ = 0;
  tcpip_link_direction state_;
  std::vector<LinkDelivery> gathered_;
};

}  // namespace tcpip
