// The JS-thread driver: a stack whose core runs on the thread that made it
// (the JS thread), as the wasm engine's does, with no hand-off to a worker.
// Commands run in the core when they are applied; their events wait in the
// core until the next turn takes them. The binding (stack_binding.cc)
// schedules turns with the JS thread's event loop and dispatches events.
//
// Several stacks can share the thread: each has its own lwIP state (a
// TlsContext), entered before every call into its core.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "commands.h"
#include "link.h"
#include "stack_core.h"
#include "tls_context.h"

namespace tcpip {

class InlineStack final : public DeliveryTarget {
 public:
  // `wake` asks for a turn; it runs on whichever thread delivered packets
  // over a link (this stack's, or another stack's worker).
  explicit InlineStack(std::function<void()> wake);
  ~InlineStack();
  InlineStack(const InlineStack&) = delete;
  InlineStack& operator=(const InlineStack&) = delete;

  // Creates the core, in a lwIP state of its own; false if it cannot.
  bool Open();
  // Runs a command in the core now.
  void Apply(Command&& command);
  // Writes bytes the caller keeps: TCP takes what it can now, the core
  // copies the rest.
  void WriteTransient(uint32_t id, const void* bytes, size_t length);
  // Sends a datagram now, and says how that went.
  tcpip_error UdpSend(command::UdpSend& command);
  // Sends an echo request now, and says how that went.
  tcpip_error IcmpEcho(command::IcmpEcho& command);
  // Joins or leaves a multicast group now, and says how that went.
  tcpip_error UdpMembership(command::UdpMembership& command);
  // One turn: what kernel devices sent (up to 256 packets each: the rest
  // leaves their fds readable, which asks for the next turn), link packets
  // that arrived or came due, a poll of the core,
  // links and captures flushed. Appends the events to `out`; returns when
  // the next turn is due (time_point::max(): only when something arrives).
  Clock::time_point Turn(std::vector<Event>& out);
  // Tears the core down; links stop delivering. Idempotent.
  void Stop();
  std::shared_ptr<Inbox> inbox() const { return inbox_; }
  // The kernel devices attached to the core: the binding watches their fds
  // with the event loop, and each turn reads them.
  const std::map<uint32_t, std::unique_ptr<KernelDevice>>& devices() const {
    return core_.devices();
  }
  // Packets from a link (the Inbox's batch, which this empties).
  void PostDeliveries(std::vector<LinkDelivery>& batch) override;

 private:
  TlsContext context_;
  StackCore core_;
  std::function<void()> wake_;
  std::shared_ptr<Inbox> inbox_;
  std::mutex deliveries_mutex_;  // links may deliver from a worker thread
  std::vector<LinkDelivery> deliveries_;
  bool stopping_ = false;  // under deliveries_mutex_
  std::vector<LinkDelivery> arrived_;
  std::vector<Command> no_commands_;
};

}  // namespace tcpip
