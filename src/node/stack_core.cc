#include "stack_core.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace tcpip {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.Release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) close(fd_);
}

EventBytes EventBytes::Held(void* handle, const void* bytes, size_t length) {
  EventBytes held;
  held.held_ = handle;
  held.data_ = static_cast<const uint8_t*>(bytes);
  held.size_ = length;
  return held;
}

EventBytes EventBytes::Packet(PacketPtr packet) {
  EventBytes copied;
  copied.data_ = tcpip_packet_bytes(packet.get(), &copied.size_);
  copied.packet_ = packet.release();
  return copied;
}

EventBytes& EventBytes::operator=(EventBytes&& other) noexcept {
  if (this != &other) {
    Reset();
    held_ = other.held_;
    packet_ = other.packet_;
    data_ = other.data_;
    size_ = other.size_;
    other.held_ = nullptr;
    other.packet_ = nullptr;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

void EventBytes::Reset() {
  tcpip_data_release(held_);
  tcpip_packet_free(packet_);
  held_ = nullptr;
  packet_ = nullptr;
  data_ = nullptr;
  size_ = 0;
}

void StackCore::OnCoreEvent(void* context, const tcpip_event* event) {
  auto* self = static_cast<StackCore*>(context);
  Event copy;
  copy.code = event->type;
  copy.id = event->id;
  copy.other_id = event->other_id;
  copy.error = event->error;
  copy.count = event->count;
  copy.local = event->local;
  copy.remote = event->remote;
  if (event->type == TCPIP_EV_STATS) copy.stats = *event->stats;
  if (event->type == TCPIP_EV_DATA || event->type == TCPIP_EV_DATAGRAM) {
    // Received bytes in one piece are held as they are; the JS thread then
    // makes the only copy, or none.
    const void* bytes = nullptr;
    void* held = tcpip_event_hold_data(event, &bytes);
    if (held != nullptr) {
      copy.bytes = EventBytes::Held(held, bytes, event->count);
    } else {
      PacketPtr packet(tcpip_event_copy_packet(event));
      if (packet == nullptr && event->type == TCPIP_EV_DATAGRAM) {
        // Lost like a datagram the receive buffer had no room for.
        tcpip_udp_consumed(self->stack_, event->id, event->count + TCPIP_UDP_DATAGRAM_OVERHEAD);
        return;
      }
      if (packet == nullptr) std::abort();  // a hole in the stream is no option
      copy.bytes = EventBytes::Packet(std::move(packet));
    }
  } else if (event->type == TCPIP_EV_PACKET || event->type == TCPIP_EV_LEASE ||
             event->type == TCPIP_EV_ADDRESS) {
    // lwIP keeps what it sent (TCP may resend it): one copy, which the JS
    // thread can take over as it is.
    PacketPtr packet(tcpip_event_copy_packet(event));
    if (packet == nullptr) return;  // lost, as on a wire: TCP resends
    copy.bytes = EventBytes::Packet(std::move(packet));
  }
  self->produced_.push_back(std::move(copy));
}

void StackCore::OnLeaseReleased(void* context) {
  std::unique_ptr<Lease> lease(static_cast<Lease*>(context));
  Event event;
  event.code = kEventWriteReleased;
  event.lease = lease->id;
  lease->core->produced_.push_back(std::move(event));
}

// Applies one command; what the core does not take goes with the command.
struct StackCore::Applier {
  StackCore& core;

  void operator()(command::InterfaceCreate& c) const {
    std::vector<const char*> cidrs;
    for (const std::string& cidr : c.cidrs) cidrs.push_back(cidr.c_str());
    tcpip_interface_config config{};
    config.kind = c.kind;
    config.cidrs = cidrs.data();
    config.cidr_count = cidrs.size();
    config.mtu = c.mtu;
    std::memcpy(config.mac, c.mac.data(), sizeof config.mac);
    config.gateway = c.gateway.c_str();
    config.default_route = c.default_route;
    config.ports = c.ports.data();
    config.port_count = c.ports.size();
    tcpip_interface_create(core.stack_, c.id, &config);
  }
  void operator()(command::InterfaceRemove& c) const {
    // What the worker attached to the interface goes with it: a kernel
    // device's fd closes (and the kernel removes the device), a link
    // direction and a capture end.
    core.StopCapture(c.id);
    tcpip_interface_remove(core.stack_, c.id);
    core.devices_.erase(c.id);
    core.links_.erase(c.id);
  }
  void operator()(command::InterfaceChecksums& c) const {
    tcpip_interface_set_checksums(core.stack_, c.id, c.enabled);
  }
  void operator()(command::InterfaceDhcp& c) const {
    tcpip_interface_dhcp(core.stack_, c.id, c.flags);
  }
  void operator()(command::InterfaceSlaac& c) const {
    tcpip_interface_slaac(core.stack_, c.id, c.enabled);
  }
  void operator()(command::InterfaceInput& c) const {
    tcpip_interface_input_packet(core.stack_, c.id, c.packet.release());
  }
  void operator()(command::InterfaceInputOversize& c) const {
    tcpip_interface_input(core.stack_, c.id, c.bytes.data(), c.bytes.size());
  }
  void operator()(command::InterfaceStats& c) const {
    tcpip_interface_request_stats(core.stack_, c.id);
  }
  void operator()(command::AttachLink& c) const {
    // Nothing can corrupt a packet between two stacks: no checksums.
    tcpip_interface_set_checksums(core.stack_, c.id, false);
    tcpip_interface_set_sink(core.stack_, c.id, &LinkDirection::Sink, c.link.get());
    core.links_[c.id] = std::move(c.link);
  }
  void operator()(command::CaptureStart& c) const {
    core.StopCapture(c.id);
    auto writer = std::make_unique<PcapWriter>(c.fd.Release());
    writer->Start(core.stack_, c.id);
    core.captures_[c.id] = std::move(writer);
  }
  void operator()(command::CaptureStop& c) const { core.StopCapture(c.id); }
  void operator()(command::AttachDevice& c) const {
    auto device = std::make_unique<KernelDevice>(c.id, c.fd.Release());
    tcpip_interface_set_sink(core.stack_, c.id, &KernelDevice::Sink, device.get());
    core.devices_[c.id] = std::move(device);
  }
  void operator()(command::DetachLink& c) const {
    tcpip_interface_set_sink(core.stack_, c.id, nullptr, nullptr);
    tcpip_interface_set_checksums(core.stack_, c.id, true);
    core.links_.erase(c.id);
  }
  void operator()(command::Listen& c) const {
    tcpip_tcp_listen(core.stack_, c.id, c.address.c_str(), c.port, c.backlog, c.ipv6_only);
  }
  void operator()(command::Connect& c) const {
    tcpip_tcp_connect(core.stack_, c.id, c.address.c_str(), c.port, c.local_address.c_str(),
                      c.local_port);
  }
  void operator()(command::Write& c) const {
    for (command::WritePiece& piece : c.pieces) {
      if (auto* copied = std::get_if<command::CopiedBytes>(&piece)) {
        tcpip_tcp_write(core.stack_, c.id, copied->bytes.release(), copied->length);
      } else {
        auto& lent = std::get<command::LentBytes>(piece);
        auto lease = std::make_unique<Lease>(Lease{&core, lent.lease});
        tcpip_tcp_write_borrowed(core.stack_, c.id, lent.bytes, lent.length,
                                 &StackCore::OnLeaseReleased, lease.release());
      }
    }
  }
  void operator()(command::Consumed& c) const { tcpip_tcp_consumed(core.stack_, c.id, c.bytes); }
  void operator()(command::Shutdown& c) const { tcpip_tcp_shutdown(core.stack_, c.id); }
  void operator()(command::Close& c) const { tcpip_tcp_close(core.stack_, c.id); }
  void operator()(command::Abort& c) const { tcpip_tcp_abort(core.stack_, c.id); }
  void operator()(command::ListenForeign& c) const {
    tcpip_tcp_listen_foreign(core.stack_, c.id, c.interface_id);
  }
  void operator()(command::AcceptSyn& c) const { tcpip_tcp_accept_syn(core.stack_, c.id); }
  void operator()(command::SetNoDelay& c) const {
    tcpip_tcp_set_nodelay(core.stack_, c.id, c.enabled);
  }
  void operator()(command::SetKeepAlive& c) const {
    tcpip_tcp_set_keepalive(core.stack_, c.id, c.enabled, c.idle_ms);
  }
  void operator()(command::UdpBind& c) const {
    tcpip_udp_bind(core.stack_, c.id, c.address.c_str(), c.port, c.flags);
  }
  void operator()(command::UdpConnect& c) const {
    tcpip_udp_connect(core.stack_, c.id, c.address.c_str(), c.port);
  }
  void operator()(command::UdpDisconnect& c) const { tcpip_udp_disconnect(core.stack_, c.id); }
  void operator()(command::UdpSend& c) const {
    // The result comes back as an event, the worker's way to answer later.
    tcpip_error error = core.UdpSend(c);
    // Without a callback, Node drops a send's error too.
    if (!c.report) return;
    Event done;
    done.code = TCPIP_EV_DONE;
    done.id = c.id;
    done.other_id = c.tag;
    done.error = error;
    done.count = error == TCPIP_OK ? c.bytes.length : 0;
    core.produced_.push_back(std::move(done));
  }
  void operator()(command::UdpConsumed& c) const { tcpip_udp_consumed(core.stack_, c.id, c.bytes); }
  void operator()(command::UdpSetOption& c) const {
    tcpip_udp_set_option(core.stack_, c.id, c.option, c.value);
  }
  void operator()(command::UdpClose& c) const { tcpip_udp_close(core.stack_, c.id); }
  // A worker's: JS checked what it could at the call; the rest is the core's.
  void operator()(command::UdpMembership& c) const { core.UdpMembership(c); }
  void operator()(command::IcmpEcho& c) const {
    tcpip_error error = core.IcmpEcho(c);
    if (error == TCPIP_OK) return;
    // A request that could not leave: its ping hears it as a reply would come.
    Event failed;
    failed.code = TCPIP_EV_ECHO_REPLY;
    failed.id = c.identifier;
    failed.other_id = c.sequence;
    failed.error = error;
    core.produced_.push_back(std::move(failed));
  }
};

void StackCore::Apply(Command& command) { std::visit(Applier{*this}, command); }

tcpip_error StackCore::UdpMembership(command::UdpMembership& c) {
  if (stack_ == nullptr) return TCPIP_EINVAL;
  return tcpip_udp_membership(stack_, c.id, c.group.c_str(), c.interface_address.c_str(), c.join);
}

tcpip_error StackCore::IcmpEcho(command::IcmpEcho& c) {
  if (stack_ == nullptr) return TCPIP_EINVAL;
  return tcpip_icmp_echo(stack_, c.identifier, c.sequence, c.address.c_str(), c.size);
}

void StackCore::WriteTransient(uint32_t id, const void* bytes, size_t length) {
  if (stack_ != nullptr) tcpip_tcp_write_transient(stack_, id, bytes, length);
}

tcpip_error StackCore::UdpSend(command::UdpSend& c) {
  if (stack_ == nullptr) return TCPIP_EINVAL;
  return tcpip_udp_send(stack_, c.id, c.address.c_str(), c.port, c.bytes.bytes.get(),
                        c.bytes.length);
}

void StackCore::StopCapture(uint32_t interface_id) {
  auto found = captures_.find(interface_id);
  if (found == captures_.end()) return;
  bool ok = found->second->Stop(stack_, interface_id);
  captures_.erase(found);  // closes the file
  Event event;
  event.code = kEventCaptureClosed;
  event.id = interface_id;
  event.error = ok ? TCPIP_OK : TCPIP_EINVAL;
  produced_.push_back(std::move(event));
}

void StackCore::Receive(std::vector<LinkDelivery>& arrived) {
  Clock::time_point now = Clock::now();
  for (LinkDelivery& delivery : arrived) {
    if (delivery.due <= now) {
      tcpip_interface_input_packet(stack_, delivery.interface_id, delivery.packet);
    } else {
      timed_.push(TimedPacket{delivery.due, timed_order_++, delivery.interface_id,
                              PacketPtr(delivery.packet)});
    }
  }
  arrived.clear();
}

Clock::time_point StackCore::DeliverDue() {
  Clock::time_point now = Clock::now();
  while (!timed_.empty() && timed_.top().due <= now) {
    // The packet is not part of the order: taking it leaves the heap intact.
    PacketPtr packet = std::move(const_cast<TimedPacket&>(timed_.top()).packet);
    uint32_t interface_id = timed_.top().interface_id;
    timed_.pop();
    tcpip_interface_input_packet(stack_, interface_id, packet.release());
  }
  return timed_.empty() ? Clock::time_point::max() : timed_.top().due;
}

bool StackCore::Open() {
  if (stack_ == nullptr) stack_ = tcpip_stack_create(&StackCore::OnCoreEvent, this);
  return stack_ != nullptr;
}

void StackCore::ReadDevices() {
  for (auto& device : devices_) device.second->Read(256);
}

Clock::time_point StackCore::Turn(std::vector<Command>& batch, std::vector<LinkDelivery>& arrived) {
  for (Command& command : batch) Apply(command);
  batch.clear();  // commands give back what the core did not take
  for (auto& device : devices_) device.second->Deliver(stack_);
  Receive(arrived);
  Clock::time_point next_delivery = DeliverDue();
  uint32_t sleep_ms = tcpip_stack_poll(stack_);
  // What this turn sent over links goes to the other stacks in one batch each.
  for (auto& entry : links_) entry.second->Flush();
  // Captures reach their files before the stack rests.
  for (auto& capture : captures_) capture.second->Flush();
  Clock::time_point wake_at = sleep_ms == TCPIP_SLEEP_FOREVER
                                  ? Clock::time_point::max()
                                  : Clock::now() + std::chrono::milliseconds(sleep_ms);
  return std::min(wake_at, next_delivery);
}

void StackCore::Close() {
  if (stack_ == nullptr) return;
  // Interfaces go with the stack: their links must stop sending into it,
  // and their captures end.
  for (auto& entry : links_) tcpip_interface_set_sink(stack_, entry.first, nullptr, nullptr);
  for (auto& entry : captures_) tcpip_interface_set_capture(stack_, entry.first, nullptr, nullptr);
  captures_.clear();
  for (auto& entry : devices_) tcpip_interface_set_sink(stack_, entry.first, nullptr, nullptr);
  devices_.clear();  // closes them: the kernel removes non-persistent devices
  // Destroying the stack gives back every lent write: those releases reach
  // the JS thread like any event, since only it may let go of JS buffers.
  tcpip_stack_destroy(stack_);
  stack_ = nullptr;
  links_.clear();
  timed_ = {};
}

}  // namespace tcpip
