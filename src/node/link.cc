#include "link.h"

#include <algorithm>

#include "stack_worker.h"

namespace tcpip {

void Inbox::Deliver(uint32_t interface_id, tcpip_packet* packet, Clock::time_point due) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (worker_ == nullptr) {
    tcpip_packet_free(packet);
    return;
  }
  worker_->PostDelivery(interface_id, packet, due);
}

void Inbox::Close() {
  std::lock_guard<std::mutex> lock(mutex_);
  worker_ = nullptr;
}

LinkDirection::LinkDirection(std::shared_ptr<LinkShared> shared, int direction,
                             std::shared_ptr<Inbox> target, uint32_t target_interface,
                             uint32_t header_bytes)
    : shared_(std::move(shared)),
      counters_(shared_->counters[direction]),
      target_(std::move(target)),
      target_interface_(target_interface),
      header_bytes_(header_bytes),
      random_(std::random_device{}()) {}

void LinkDirection::Sink(void* context, tcpip_packet* packet) {
  static_cast<LinkDirection*>(context)->Send(packet);
}

static Clock::duration Milliseconds(double ms) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(ms));
}

void LinkDirection::Send(tcpip_packet* packet) {
  LinkConditions conditions = shared_->Conditions();
  size_t length = 0;
  tcpip_packet_bytes(packet, &length);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  if (!conditions.up) {
    counters_.dropped_down++;
    tcpip_packet_free(packet);
    return;
  }
  if (conditions.mtu != 0 && length > conditions.mtu + header_bytes_) {
    counters_.dropped_mtu++;
    tcpip_packet_free(packet);
    return;
  }
  if (conditions.loss > 0 && uniform(random_) < conditions.loss) {
    counters_.lost++;
    tcpip_packet_free(packet);
    return;
  }
  Clock::time_point now = Clock::now();
  Clock::time_point sent = now;
  if (conditions.rate_bps > 0) {
    // A wire of this rate: each packet waits for the ones before it, and a
    // full queue drops, as a router's would.
    double queue_bytes = conditions.queue_bytes != 0
                             ? conditions.queue_bytes
                             : std::max(256.0 * 1024, conditions.rate_bps / 8 * 0.05);
    Clock::time_point start = std::max(now, next_free_);
    double backlog_bytes = std::chrono::duration<double>(start - now).count() * conditions.rate_bps / 8;
    if (backlog_bytes + length > queue_bytes) {
      counters_.dropped_queue++;
      tcpip_packet_free(packet);
      return;
    }
    next_free_ = start + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(length * 8.0 / conditions.rate_bps));
    sent = next_free_;
  }
  Clock::time_point due = sent + Milliseconds(conditions.latency_ms);
  if (conditions.jitter_ms > 0) due += Milliseconds(conditions.jitter_ms * uniform(random_));
  if (conditions.reorder > 0 && uniform(random_) < conditions.reorder) {
    // Held back long enough for later packets to overtake it.
    due += Milliseconds(std::max(1.0, conditions.latency_ms / 2 + conditions.jitter_ms));
    counters_.reordered++;
  }
  counters_.packets++;
  counters_.bytes += length;
  if (conditions.duplicate > 0 && uniform(random_) < conditions.duplicate) {
    tcpip_packet* copy = tcpip_packet_copy(packet);
    if (copy != nullptr) {
      counters_.duplicated++;
      target_->Deliver(target_interface_, copy, due);
    }
  }
  target_->Deliver(target_interface_, packet, due);
}

}  // namespace tcpip
