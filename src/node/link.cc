#include "link.h"

namespace tcpip {

// A long turn hands its packets over in batches of this many, so the other
// stack can start on them while this one still sends.
static constexpr size_t kBatchPackets = 64;

void FreeDeliveries(std::vector<LinkDelivery>& deliveries) {
  for (LinkDelivery& delivery : deliveries) tcpip_packet_free(delivery.packet);
  deliveries.clear();
}

void AppendDeliveries(std::vector<LinkDelivery>& queue, std::vector<LinkDelivery>& batch) {
  if (queue.empty()) {
    queue.swap(batch);  // the sender keeps the empty one's capacity
  } else {
    queue.insert(queue.end(), batch.begin(), batch.end());
    batch.clear();
  }
}

void Inbox::Deliver(std::vector<LinkDelivery>& batch) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (target_ == nullptr) {
    FreeDeliveries(batch);
    return;
  }
  target_->PostDeliveries(batch);
}

void Inbox::Close() {
  std::lock_guard<std::mutex> lock(mutex_);
  target_ = nullptr;
}

void LinkCounters::Publish(const tcpip_link_counters& counters) {
  uint64_t sequence = sequence_.load(std::memory_order_relaxed);
  sequence_.store(sequence + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  packets.store(counters.packets, std::memory_order_relaxed);
  bytes.store(counters.bytes, std::memory_order_relaxed);
  lost.store(counters.lost, std::memory_order_relaxed);
  duplicated.store(counters.duplicated, std::memory_order_relaxed);
  reordered.store(counters.reordered, std::memory_order_relaxed);
  dropped_down.store(counters.dropped_down, std::memory_order_relaxed);
  dropped_mtu.store(counters.dropped_mtu, std::memory_order_relaxed);
  dropped_queue.store(counters.dropped_queue, std::memory_order_relaxed);
  sequence_.store(sequence + 2, std::memory_order_release);
}

tcpip_link_counters LinkCounters::Read() const {
  tcpip_link_counters out{};
  for (;;) {
    uint64_t before = sequence_.load(std::memory_order_acquire);
    out.packets = packets.load(std::memory_order_relaxed);
    out.bytes = bytes.load(std::memory_order_relaxed);
    out.lost = lost.load(std::memory_order_relaxed);
    out.duplicated = duplicated.load(std::memory_order_relaxed);
    out.reordered = reordered.load(std::memory_order_relaxed);
    out.dropped_down = dropped_down.load(std::memory_order_relaxed);
    out.dropped_mtu = dropped_mtu.load(std::memory_order_relaxed);
    out.dropped_queue = dropped_queue.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (before % 2 == 0 && sequence_.load(std::memory_order_relaxed) == before) return out;
  }
}

void LinkShared::SetConditions(const tcpip_link_conditions& conditions) {
  std::lock_guard<std::mutex> lock(mutex_);
  conditions_ = conditions;
  version_.fetch_add(1, std::memory_order_release);
}

void LinkShared::Refresh(tcpip_link_conditions* out, uint64_t* seen) {
  if (version_.load(std::memory_order_acquire) == *seen) return;
  std::lock_guard<std::mutex> lock(mutex_);
  *out = conditions_;
  *seen = version_.load(std::memory_order_relaxed);  // changes only under the mutex
}

LinkDirection::LinkDirection(std::shared_ptr<LinkShared> shared, int direction,
                             std::shared_ptr<Inbox> target, uint32_t target_interface,
                             uint32_t header_bytes, uint64_t seed)
    : shared_(std::move(shared)),
      counters_(shared_->counters[direction]),
      target_(std::move(target)),
      target_interface_(target_interface) {
  tcpip_link_conditions_init(&conditions_);
  tcpip_link_direction_init(&state_, header_bytes, seed, static_cast<unsigned>(direction));
  gathered_.reserve(kBatchPackets);
}

LinkDirection::~LinkDirection() { FreeDeliveries(gathered_); }

void LinkDirection::Sink(void* context, tcpip_packet* packet) {
  static_cast<LinkDirection*>(context)->Send(packet);
}

void LinkDirection::Flush() {
  if (!gathered_.empty()) target_->Deliver(gathered_);
}

void LinkDirection::Gather(tcpip_packet* packet, Clock::time_point due) {
  gathered_.push_back(LinkDelivery{due, target_interface_, packet});
  if (gathered_.size() >= kBatchPackets) Flush();
}

void LinkDirection::Send(tcpip_packet* packet) {
  shared_->Refresh(&conditions_, &conditions_seen_);
  size_t length = 0;
  tcpip_packet_bytes(packet, &length);
  // The unit's clock: milliseconds of the steady clock, as a double.
  using Milliseconds = std::chrono::duration<double, std::milli>;
  double now_ms = Milliseconds(Clock::now().time_since_epoch()).count();
  tcpip_link_verdict verdict;
  tcpip_link_decide(&state_, &conditions_, length, now_ms, &verdict);
  counters_.Publish(state_.counters);
  if (verdict.fate != TCPIP_LINK_SEND) {
    tcpip_packet_free(packet);
    return;
  }
  Clock::time_point due(std::chrono::duration_cast<Clock::duration>(Milliseconds(verdict.due_ms)));
  if (verdict.duplicate) {
    tcpip_packet* copy = tcpip_packet_copy(packet);
    if (copy != nullptr) Gather(copy, due);
  }
  Gather(packet, due);
}

}  // namespace tcpip
