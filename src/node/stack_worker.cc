#include "stack_worker.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
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

static void FreeCommand(Command& command) {
  std::free(command.data);
  command.data = nullptr;
}

StackWorker::~StackWorker() {
  Stop();
  FreeEvents(events_);
  for (Command& command : commands_) FreeCommand(command);
  FreeDeliveries(deliveries_);
  close(wake_pipe_[0]);
  close(wake_pipe_[1]);
}

void StackWorker::Post(Command&& command) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(commands_mutex_);
    if (stopping_) {
      FreeCommand(command);
      return;
    }
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

bool StackWorker::PostInput(Command&& command) {
  {
    std::lock_guard<std::mutex> lock(commands_mutex_);
    if (queued_input_bytes_ + command.length > kMaxQueuedInputBytes) {
      std::free(command.data);
      return false;
    }
    queued_input_bytes_ += command.length;
  }
  Post(std::move(command));
  return true;
}

void StackWorker::TakeEvents(std::vector<Event>& out) {
  FreeEvents(out);
  std::lock_guard<std::mutex> lock(events_mutex_);
  out.swap(events_);
  events_ready_.store(false, std::memory_order_relaxed);
}

bool StackWorker::SpinForEvents(std::chrono::microseconds limit) const {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    for (int i = 0; i < 64; i++) {
      if (events_ready_.load(std::memory_order_acquire)) return true;
      CpuRelax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
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
  static_cast<tcpip_event&>(copy) = *event;
  copy.code = event->type;
  copy.data_ = nullptr;  // the core's buffer is gone once this returns
  copy.stats = nullptr;
  copy.data = nullptr;
  copy.held = nullptr;
  if (event->type == TCPIP_EV_STATS) copy.stats_copy = *event->stats;
  if (event->type == TCPIP_EV_DATA || event->type == TCPIP_EV_PACKET) {
    const void* bytes = nullptr;
    copy.held = tcpip_event_hold_data(event, &bytes);
    if (copy.held != nullptr) {
      copy.data = static_cast<unsigned char*>(const_cast<void*>(bytes));
    } else {
      copy.data = static_cast<unsigned char*>(std::malloc(event->count));
      if (copy.data == nullptr) std::abort();
      tcpip_event_copy_data(event, copy.data);
    }
  }
  self->produced_.push_back(copy);
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
      events_.insert(events_.end(), produced_.begin(), produced_.end());
      produced_.clear();
    }
    events_ready_.store(true, std::memory_order_seq_cst);
  }
  if (wake && !consumer_active_.load(std::memory_order_seq_cst)) notify_();
}

void StackWorker::Apply(tcpip_stack* stack, Command& c) {
  switch (c.type) {
    case Command::Type::kInterfaceCreate: {
      std::vector<const char*> cidrs;
      for (const std::string& cidr : c.cidrs) cidrs.push_back(cidr.c_str());
      tcpip_interface_config config{};
      config.kind = static_cast<tcpip_interface_kind>(c.number);
      config.cidrs = cidrs.data();
      config.cidr_count = cidrs.size();
      config.mtu = c.port;
      std::memcpy(config.mac, c.mac, sizeof config.mac);
      config.gateway = c.address.c_str();
      config.default_route = c.flag;
      config.ports = c.ports.data();
      config.port_count = c.ports.size();
      tcpip_interface_create(stack, c.id, &config);
      break;
    }
    case Command::Type::kInterfaceRemove:
      // What the worker attached to the interface goes with it: a kernel
      // device's fd closes (and the kernel removes the device), a link
      // direction and a capture end.
      StopCapture(stack, c.id);
      tcpip_interface_remove(stack, c.id);
      devices_.erase(c.id);
      links_.erase(c.id);
      break;
    case Command::Type::kInterfaceChecksums:
      tcpip_interface_set_checksums(stack, c.id, c.flag);
      break;
    case Command::Type::kInterfaceInput:
      tcpip_interface_input(stack, c.id, c.data, c.length);
      break;
    case Command::Type::kInterfaceStats:
      tcpip_interface_request_stats(stack, c.id);
      break;
    case Command::Type::kAttachLink:
      // Nothing can corrupt a packet between two stacks: no checksums.
      tcpip_interface_set_checksums(stack, c.id, false);
      tcpip_interface_set_sink(stack, c.id, &LinkDirection::Sink, c.link.get());
      links_[c.id] = std::move(c.link);
      break;
    case Command::Type::kCaptureStart: {
      StopCapture(stack, c.id);
      auto writer = std::make_unique<PcapWriter>(c.number);
      writer->Start(stack, c.id);
      captures_[c.id] = std::move(writer);
      break;
    }
    case Command::Type::kCaptureStop:
      StopCapture(stack, c.id);
      break;
    case Command::Type::kAttachDevice: {
      auto device = std::make_unique<KernelDevice>(c.id, c.number);
      tcpip_interface_set_sink(stack, c.id, &KernelDevice::Sink, device.get());
      devices_[c.id] = std::move(device);
      break;
    }
    case Command::Type::kDetachLink:
      tcpip_interface_set_sink(stack, c.id, nullptr, nullptr);
      tcpip_interface_set_checksums(stack, c.id, true);
      links_.erase(c.id);
      break;
    case Command::Type::kListen:
      tcpip_tcp_listen(stack, c.id, c.address.c_str(), c.port, c.number, c.flag);
      break;
    case Command::Type::kConnect:
      tcpip_tcp_connect(stack, c.id, c.address.c_str(), c.port, c.local_address.c_str(),
                        c.local_port);
      break;
    case Command::Type::kWrite:
      tcpip_tcp_write(stack, c.id, c.data, c.length);
      c.data = nullptr;
      break;
    case Command::Type::kConsumed:
      tcpip_tcp_consumed(stack, c.id, c.length);
      break;
    case Command::Type::kShutdown:
      tcpip_tcp_shutdown(stack, c.id);
      break;
    case Command::Type::kClose:
      tcpip_tcp_close(stack, c.id);
      break;
    case Command::Type::kAbort:
      tcpip_tcp_abort(stack, c.id);
      break;
    case Command::Type::kSetNoDelay:
      tcpip_tcp_set_nodelay(stack, c.id, c.flag);
      break;
    case Command::Type::kSetKeepAlive:
      tcpip_tcp_set_keepalive(stack, c.id, c.flag, static_cast<uint32_t>(c.number));
      break;
  }
}

// After a busy turn the worker polls for commands this long before it
// sleeps: request/response traffic then never pays for a thread wake-up.
static constexpr auto kSpinBeforeSleep = std::chrono::microseconds(50);

void StackWorker::StopCapture(tcpip_stack* stack, uint32_t interface_id) {
  auto found = captures_.find(interface_id);
  if (found == captures_.end()) return;
  bool ok = found->second->Stop(stack, interface_id);
  captures_.erase(found);  // closes the file
  Event event{};
  event.code = kEventCaptureClosed;
  event.id = interface_id;
  event.error = ok ? TCPIP_OK : TCPIP_EINVAL;
  produced_.push_back(event);
}

void StackWorker::Receive(tcpip_stack* stack, std::vector<LinkDelivery>& arrived) {
  Clock::time_point now = Clock::now();
  for (LinkDelivery& delivery : arrived) {
    if (delivery.due <= now) {
      tcpip_interface_input_packet(stack, delivery.interface_id, delivery.packet);
    } else {
      timed_.push(TimedPacket{delivery.due, timed_order_++, delivery.interface_id, delivery.packet});
    }
  }
  arrived.clear();
}

Clock::time_point StackWorker::DeliverDue(tcpip_stack* stack) {
  Clock::time_point now = Clock::now();
  while (!timed_.empty() && timed_.top().due <= now) {
    TimedPacket next = timed_.top();
    timed_.pop();
    tcpip_interface_input_packet(stack, next.interface_id, next.packet);
  }
  return timed_.empty() ? Clock::time_point::max() : timed_.top().due;
}

void StackWorker::SleepUntil(Clock::time_point wake_at) {
  std::vector<struct pollfd> fds;
  fds.push_back({wake_pipe_[0], POLLIN, 0});
  for (auto& device : devices_) fds.push_back({device.second->fd(), POLLIN, 0});
  int timeout_ms = -1;
  if (wake_at != Clock::time_point::max()) {
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(wake_at - Clock::now()).count();
    timeout_ms = left <= 0 ? 0 : static_cast<int>(std::min<long long>((left + 999) / 1000, 1 << 30));
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
      for (int i = 1; !commands_posted_.load(std::memory_order_acquire); i++) {
        CpuRelax();
        if (i % 64 == 0 && Clock::now() >= deadline) break;
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
    for (Command& command : batch) {
      Apply(stack, command);
      FreeCommand(command);  // what the core did not take (input it copied)
    }
    batch.clear();
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
  tcpip_stack_destroy(stack);
  links_.clear();
  while (!timed_.empty()) {
    tcpip_packet_free(timed_.top().packet);
    timed_.pop();
  }
  FreeEvents(produced_);
}

void ReleaseEventData(unsigned char* data, void* held) {
  if (held != nullptr) tcpip_data_release(held);
  else std::free(data);
}

void FreeEvents(std::vector<Event>& events) {
  for (Event& event : events) ReleaseEventData(event.data, event.held);
  events.clear();
}

}  // namespace tcpip
