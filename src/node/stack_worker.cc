#include "stack_worker.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <system_error>
#include <unistd.h>

namespace tcpip {

static inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// One step of waiting for the other thread of a hand-off. A pause first:
// when the other thread has a core of its own it answers within
// microseconds. Every 64th step yields: when it shares this core (one CPU,
// or every core busy), a wake-up made it runnable here, and only giving up
// the core lets it run before this thread's slice ends.
static inline void SpinStep(int step) {
  if (step % 64 == 0) {
    sched_yield();
  } else {
    CpuRelax();
  }
}

static void MakeWakePipe(int fds[2]) {
  if (pipe(fds) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  for (int i = 0; i < 2; i++) {
    fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    fcntl(fds[i], F_SETFD, FD_CLOEXEC);
  }
}

StackWorker::StackWorker(std::function<void()> notify)
    : notify_(std::move(notify)), inbox_(std::make_shared<Inbox>(this)) {
  MakeWakePipe(wake_pipe_);
  thread_ = std::thread([this] { Run(); });
}

void StackWorker::Wake() {
  char byte = 1;
  ssize_t ignored = write(wake_pipe_[1], &byte, 1);  // a full pipe wakes as well
  (void)ignored;
}

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

StackWorker::~StackWorker() {
  Stop();
  FreeDeliveries(deliveries_);
  close(wake_pipe_[0]);
  close(wake_pipe_[1]);
}

void StackWorker::Post(Command&& command) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(commands_mutex_);
    if (stopping_) return;  // the command gives back what it owns
    commands_.push_back(std::move(command));
    commands_posted_.store(true, std::memory_order_release);
    wake = sleeping_;
    sleeping_ = false;
  }
  // Only a sleeping worker needs a wake-up; a running or spinning one takes
  // the whole queue at once on its next turn.
  if (wake) Wake();
}

// Packets waiting for the worker, in bytes, before injection drops them.
static constexpr size_t kMaxQueuedInputBytes = 8 * 1024 * 1024;

bool StackWorker::InputFits(size_t length) {
  std::lock_guard<std::mutex> lock(commands_mutex_);
  return queued_input_bytes_ + length <= kMaxQueuedInputBytes;
}

bool StackWorker::PostInput(Command&& command, size_t length) {
  {
    std::lock_guard<std::mutex> lock(commands_mutex_);
    if (queued_input_bytes_ + length > kMaxQueuedInputBytes) return false;
    queued_input_bytes_ += length;
  }
  Post(std::move(command));
  return true;
}

void StackWorker::TakeEvents(std::vector<Event>& out) {
  out.clear();
  std::lock_guard<std::mutex> lock(events_mutex_);
  out.swap(events_);
  events_ready_.store(false, std::memory_order_relaxed);
}

bool StackWorker::SpinForEvents(std::chrono::microseconds limit) const {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (int step = 1;; step++) {
    if (events_ready_.load(std::memory_order_acquire)) return true;
    SpinStep(step);
    if (step % 64 == 0 && std::chrono::steady_clock::now() >= deadline) return false;
  }
}

void StackWorker::PostDeliveries(std::vector<LinkDelivery>& batch) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(commands_mutex_);
    if (stopping_) {
      FreeDeliveries(batch);
      return;
    }
    if (deliveries_.empty()) {
      deliveries_.swap(batch);  // the sender keeps the empty one's capacity
    } else {
      deliveries_.insert(deliveries_.end(), batch.begin(), batch.end());
      batch.clear();
    }
    commands_posted_.store(true, std::memory_order_release);
    wake = sleeping_;
    sleeping_ = false;
  }
  if (wake) Wake();
}

void StackWorker::Stop() {
  inbox_->Close();
  {
    std::lock_guard<std::mutex> lock(commands_mutex_);
    stopping_ = true;
  }
  Wake();
  if (thread_.joinable()) thread_.join();
}

void StackWorker::OnCoreEvent(void* context, const tcpip_event* event) {
  auto* self = static_cast<StackWorker*>(context);
  Event copy;
  copy.code = event->type;
  copy.id = event->id;
  copy.other_id = event->other_id;
  copy.error = event->error;
  copy.count = event->count;
  copy.local = event->local;
  copy.remote = event->remote;
  if (event->type == TCPIP_EV_STATS) copy.stats = *event->stats;
  if (event->type == TCPIP_EV_DATA) {
    // Received bytes in one piece are held as they are; the JS thread then
    // makes the only copy, or none.
    const void* bytes = nullptr;
    void* held = tcpip_event_hold_data(event, &bytes);
    if (held != nullptr) {
      copy.bytes = EventBytes::Held(held, bytes, event->count);
    } else {
      PacketPtr packet(tcpip_event_copy_packet(event));
      if (packet == nullptr) std::abort();  // a hole in the stream is no option
      copy.bytes = EventBytes::Packet(std::move(packet));
    }
  } else if (event->type == TCPIP_EV_PACKET) {
    // lwIP keeps what it sent (TCP may resend it): one copy, which the JS
    // thread can take over as it is.
    PacketPtr packet(tcpip_event_copy_packet(event));
    if (packet == nullptr) return;  // lost, as on a wire: TCP resends
    copy.bytes = EventBytes::Packet(std::move(packet));
  }
  self->produced_.push_back(std::move(copy));
}

void StackWorker::OnLeaseReleased(void* context) {
  std::unique_ptr<Lease> lease(static_cast<Lease*>(context));
  Event event;
  event.code = kEventWriteReleased;
  event.lease = lease->id;
  lease->worker->produced_.push_back(std::move(event));
}

void StackWorker::PublishEvents() {
  if (produced_.empty()) return;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(events_mutex_);
    wake = events_.empty();
    if (wake) {
      events_.swap(produced_);
    } else {
      events_.insert(events_.end(), std::make_move_iterator(produced_.begin()),
                     std::make_move_iterator(produced_.end()));
      produced_.clear();
    }
    events_ready_.store(true, std::memory_order_seq_cst);
  }
  if (wake && !consumer_active_.load(std::memory_order_seq_cst)) notify_();
}

// Applies one command; what the core does not take goes with the command.
struct StackWorker::Applier {
  StackWorker& worker;
  tcpip_stack* stack;

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
    tcpip_interface_create(stack, c.id, &config);
  }
  void operator()(command::InterfaceRemove& c) const {
    // What the worker attached to the interface goes with it: a kernel
    // device's fd closes (and the kernel removes the device), a link
    // direction and a capture end.
    worker.StopCapture(stack, c.id);
    tcpip_interface_remove(stack, c.id);
    worker.devices_.erase(c.id);
    worker.links_.erase(c.id);
  }
  void operator()(command::InterfaceChecksums& c) const {
    tcpip_interface_set_checksums(stack, c.id, c.enabled);
  }
  void operator()(command::InterfaceInput& c) const {
    tcpip_interface_input_packet(stack, c.id, c.packet.release());
  }
  void operator()(command::InterfaceInputOversize& c) const {
    tcpip_interface_input(stack, c.id, c.bytes.data(), c.bytes.size());
  }
  void operator()(command::InterfaceStats& c) const { tcpip_interface_request_stats(stack, c.id); }
  void operator()(command::AttachLink& c) const {
    // Nothing can corrupt a packet between two stacks: no checksums.
    tcpip_interface_set_checksums(stack, c.id, false);
    tcpip_interface_set_sink(stack, c.id, &LinkDirection::Sink, c.link.get());
    worker.links_[c.id] = std::move(c.link);
  }
  void operator()(command::CaptureStart& c) const {
    worker.StopCapture(stack, c.id);
    auto writer = std::make_unique<PcapWriter>(c.fd.Release());
    writer->Start(stack, c.id);
    worker.captures_[c.id] = std::move(writer);
  }
  void operator()(command::CaptureStop& c) const { worker.StopCapture(stack, c.id); }
  void operator()(command::AttachDevice& c) const {
    auto device = std::make_unique<KernelDevice>(c.id, c.fd.Release());
    tcpip_interface_set_sink(stack, c.id, &KernelDevice::Sink, device.get());
    worker.devices_[c.id] = std::move(device);
  }
  void operator()(command::DetachLink& c) const {
    tcpip_interface_set_sink(stack, c.id, nullptr, nullptr);
    tcpip_interface_set_checksums(stack, c.id, true);
    worker.links_.erase(c.id);
  }
  void operator()(command::Listen& c) const {
    tcpip_tcp_listen(stack, c.id, c.address.c_str(), c.port, c.backlog, c.ipv6_only);
  }
  void operator()(command::Connect& c) const {
    tcpip_tcp_connect(stack, c.id, c.address.c_str(), c.port, c.local_address.c_str(),
                      c.local_port);
  }
  void operator()(command::Write& c) const {
    for (command::WritePiece& piece : c.pieces) {
      if (auto* copied = std::get_if<command::CopiedBytes>(&piece)) {
        tcpip_tcp_write(stack, c.id, copied->bytes.release(), copied->length);
      } else {
        auto& lent = std::get<command::LentBytes>(piece);
        auto lease = std::make_unique<Lease>(Lease{&worker, lent.lease});
        tcpip_tcp_write_borrowed(stack, c.id, lent.bytes, lent.length,
                                 &StackWorker::OnLeaseReleased, lease.release());
      }
    }
  }
  void operator()(command::Consumed& c) const { tcpip_tcp_consumed(stack, c.id, c.bytes); }
  void operator()(command::Shutdown& c) const { tcpip_tcp_shutdown(stack, c.id); }
  void operator()(command::Close& c) const { tcpip_tcp_close(stack, c.id); }
  void operator()(command::Abort& c) const { tcpip_tcp_abort(stack, c.id); }
  void operator()(command::SetNoDelay& c) const { tcpip_tcp_set_nodelay(stack, c.id, c.enabled); }
  void operator()(command::SetKeepAlive& c) const {
    tcpip_tcp_set_keepalive(stack, c.id, c.enabled, c.idle_ms);
  }
};

void StackWorker::Apply(tcpip_stack* stack, Command& command) {
  std::visit(Applier{*this, stack}, command);
}

// After a busy turn the worker polls for commands this long before it
// sleeps: request/response traffic then never pays for a thread wake-up.
static constexpr auto kSpinBeforeSleep = std::chrono::microseconds(50);

void StackWorker::StopCapture(tcpip_stack* stack, uint32_t interface_id) {
  auto found = captures_.find(interface_id);
  if (found == captures_.end()) return;
  bool ok = found->second->Stop(stack, interface_id);
  captures_.erase(found);  // closes the file
  Event event;
  event.code = kEventCaptureClosed;
  event.id = interface_id;
  event.error = ok ? TCPIP_OK : TCPIP_EINVAL;
  produced_.push_back(std::move(event));
}

void StackWorker::Receive(tcpip_stack* stack, std::vector<LinkDelivery>& arrived) {
  Clock::time_point now = Clock::now();
  for (LinkDelivery& delivery : arrived) {
    if (delivery.due <= now) {
      tcpip_interface_input_packet(stack, delivery.interface_id, delivery.packet);
    } else {
      timed_.push(TimedPacket{delivery.due, timed_order_++, delivery.interface_id,
                              PacketPtr(delivery.packet)});
    }
  }
  arrived.clear();
}

Clock::time_point StackWorker::DeliverDue(tcpip_stack* stack) {
  Clock::time_point now = Clock::now();
  while (!timed_.empty() && timed_.top().due <= now) {
    // The packet is not part of the order: taking it leaves the heap intact.
    PacketPtr packet = std::move(const_cast<TimedPacket&>(timed_.top()).packet);
    uint32_t interface_id = timed_.top().interface_id;
    timed_.pop();
    tcpip_interface_input_packet(stack, interface_id, packet.release());
  }
  return timed_.empty() ? Clock::time_point::max() : timed_.top().due;
}

void StackWorker::SleepUntil(Clock::time_point wake_at) {
  std::vector<struct pollfd> fds;
  fds.push_back({wake_pipe_[0], POLLIN, 0});
  for (auto& device : devices_) fds.push_back({device.second->fd(), POLLIN, 0});
  int timeout_ms = -1;
  if (wake_at != Clock::time_point::max()) {
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(wake_at - Clock::now())
                    .count();
    timeout_ms = left <= 0 ? 0
                           : static_cast<int>(std::min<long long>((left + 999) / 1000, 1 << 30));
  }
  poll(fds.data(), fds.size(), timeout_ms);
  char drain[64];
  while (read(wake_pipe_[0], drain, sizeof drain) > 0) {
  }
}

void StackWorker::Run() {
  tcpip_stack* stack = tcpip_stack_create(&StackWorker::OnCoreEvent, this);
  if (stack == nullptr) std::abort();
  std::vector<Command> batch;
  std::vector<LinkDelivery> arrived;
  Clock::time_point wake_at = Clock::now();
  // After a turn that applied commands more usually follow within
  // microseconds (a reply's reply): spin briefly before sleeping then, but
  // not after a timer-only turn.
  bool busy = false;
  for (;;) {
    if (busy && wake_at > Clock::now()) {
      auto deadline = std::min(wake_at, Clock::now() + kSpinBeforeSleep);
      for (int step = 1; !commands_posted_.load(std::memory_order_acquire); step++) {
        SpinStep(step);
        if (step % 64 == 0 && Clock::now() >= deadline) break;
      }
    }
    {
      std::unique_lock<std::mutex> lock(commands_mutex_);
      if (commands_.empty() && deliveries_.empty() && !stopping_ && wake_at > Clock::now()) {
        // Sleep until the next lwIP timeout, link delivery, device packet or
        // command: no tick.
        sleeping_ = true;
        lock.unlock();
        SleepUntil(wake_at);
        lock.lock();
        sleeping_ = false;
      }
      if (stopping_) break;
      batch.swap(commands_);
      arrived.swap(deliveries_);
      queued_input_bytes_ = 0;
      commands_posted_.store(false, std::memory_order_relaxed);
    }
    for (auto& device : devices_) device.second->Receive(stack, 256);
    busy = !batch.empty() || !arrived.empty();
    for (Command& command : batch) Apply(stack, command);
    batch.clear();  // commands give back what the core did not take
    Receive(stack, arrived);
    Clock::time_point next_delivery = DeliverDue(stack);
    uint32_t sleep_ms = tcpip_stack_poll(stack);
    // What this turn sent over links goes to the other stacks in one batch each.
    for (auto& entry : links_) entry.second->Flush();
    // Captures reach their files before the worker rests.
    for (auto& capture : captures_) capture.second->Flush();
    PublishEvents();
    wake_at = sleep_ms == TCPIP_SLEEP_FOREVER ? Clock::time_point::max()
                                              : Clock::now() + std::chrono::milliseconds(sleep_ms);
    wake_at = std::min(wake_at, next_delivery);
  }
  // Interfaces go with the stack: their links must stop sending into it,
  // and their captures end.
  for (auto& entry : links_) tcpip_interface_set_sink(stack, entry.first, nullptr, nullptr);
  for (auto& entry : captures_) tcpip_interface_set_capture(stack, entry.first, nullptr, nullptr);
  captures_.clear();
  for (auto& entry : devices_) tcpip_interface_set_sink(stack, entry.first, nullptr, nullptr);
  devices_.clear();  // closes them: the kernel removes non-persistent devices
  // Destroying the stack gives back every lent write: those releases reach
  // the JS thread like any event, since only it may let go of JS buffers.
  tcpip_stack_destroy(stack);
  links_.clear();
  timed_ = {};
  PublishEvents();
}

}  // namespace tcpip
