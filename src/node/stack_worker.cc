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
    AppendDeliveries(deliveries_, batch);
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

void StackWorker::PublishEvents() {
  std::vector<Event>& produced_ = core_.produced();
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

// After a busy turn the worker polls for commands this long before it
// sleeps: request/response traffic then never pays for a thread wake-up.
static constexpr auto kSpinBeforeSleep = std::chrono::microseconds(50);

void StackWorker::SleepUntil(Clock::time_point wake_at) {
  std::vector<struct pollfd> fds;
  fds.push_back({wake_pipe_[0], POLLIN, 0});
  for (auto& device : core_.devices()) fds.push_back({device.second->fd(), POLLIN, 0});
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
  if (!core_.Open()) std::abort();
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
    core_.ReceiveDevices(256);
    busy = !batch.empty() || !arrived.empty();
    wake_at = core_.Turn(batch, arrived);
    PublishEvents();
  }
  core_.Close();
  PublishEvents();
}

}  // namespace tcpip
