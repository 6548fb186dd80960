#include "inline_stack.h"

namespace tcpip {

InlineStack::InlineStack(std::function<void()> wake)
    : wake_(std::move(wake)), inbox_(std::make_shared<Inbox>(this)) {}

InlineStack::~InlineStack() {
  Stop();
  FreeDeliveries(deliveries_);
}

bool InlineStack::Open() {
  context_.Enter();
  return core_.Open();
}

void InlineStack::Apply(Command&& command) {
  if (!core_.open()) return;  // the command gives back what it owns
  context_.Enter();
  Command applied = std::move(command);
  core_.Apply(applied);
}

void InlineStack::WriteTransient(uint32_t id, const void* bytes, size_t length) {
  if (!core_.open()) return;
  context_.Enter();
  core_.WriteTransient(id, bytes, length);
}

tcpip_error InlineStack::UdpSend(command::UdpSend& command) {
  if (!core_.open()) return TCPIP_EINVAL;
  context_.Enter();
  return core_.UdpSend(command);
}

tcpip_error InlineStack::UdpMembership(command::UdpMembership& command) {
  if (!core_.open()) return TCPIP_EINVAL;
  context_.Enter();
  return core_.UdpMembership(command);
}

tcpip_error InlineStack::IcmpEcho(command::IcmpEcho& command) {
  if (!core_.open()) return TCPIP_EINVAL;
  context_.Enter();
  return core_.IcmpEcho(command);
}

Clock::time_point InlineStack::Turn(std::vector<Event>& out) {
  if (!core_.open()) return Clock::time_point::max();
  {
    std::lock_guard<std::mutex> lock(deliveries_mutex_);
    arrived_.swap(deliveries_);
  }
  context_.Enter();
  core_.ReadDevices();  // commands were applied when JS made them
  Clock::time_point wake_at = core_.Turn(no_commands_, arrived_);
  std::vector<Event>& produced = core_.produced();
  if (out.empty()) {
    out.swap(produced);
  } else {
    out.insert(out.end(), std::make_move_iterator(produced.begin()),
               std::make_move_iterator(produced.end()));
    produced.clear();
  }
  return wake_at;
}

void InlineStack::Stop() {
  inbox_->Close();
  {
    std::lock_guard<std::mutex> lock(deliveries_mutex_);
    stopping_ = true;
  }
  if (!core_.open()) return;
  context_.Enter();
  core_.Close();
  // Lent writes given back: the binding lets go of their buffers itself.
  core_.produced().clear();
}

void InlineStack::PostDeliveries(std::vector<LinkDelivery>& batch) {
  {
    std::lock_guard<std::mutex> lock(deliveries_mutex_);
    if (stopping_) {
      FreeDeliveries(batch);
      return;
    }
    AppendDeliveries(deliveries_, batch);
  }
  wake_();
}

}  // namespace tcpip
