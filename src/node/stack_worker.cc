#include "stack_worker.h"

#include "spin_gate.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <system_error>
#include <unistd.h>

namespace tcpip {

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

StackWorker::Sleep StackWorker::TakeSleep() {
  Sleep how = sleeping_;
  sleeping_ = Sleep::kAwake;
  return how;
}

void StackWorker::Wake(Sleep how) {
  if (how == Sleep::kCondition) {
    commands_ready_.notify_one();
  } else if (how == Sleep::kPoll) {
    char byte = 1;
    ssize_t ignored = write(wake_pipe_[1], &byte, 1);  // a full pipe wakes as well
    (void)ignored;
  }
}

StackWorker::~StackWorker() {
  Stop();
  FreeDeliveries(deliveries_);
  close(wake_pipe_[0]);
  close(wake_pipe_[1]);
}

void StackWorker::Post(Command&& command) {
  Sleep how;
  {
    std::lock_guard<std::mutex> lock(commands_mutex_);
    if (stopping_) return;  // the command gives back what it owns
    commands_.push_back(std::move(command));
    commands_posted_.store(true, std::memory_order_release);
    how = TakeSleep();
  }
  // Only a sleeping worker needs a wake-up; a running or spinning one takes
  // the whole queue at once on its next turn.
  Wake(how);
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

bool StackWorker::WaitForEvents(std::chrono::microseconds limit) {
  if (SpinGate::Open()) {
    return SpinGate::SpinUntil([this] { return events_ready_.load(std::memory_order_acquire); },
                               limit);
  }
  std::unique_lock<std::mutex> lock(events_mutex_);
  consumer_waiting_ = true;
  bool ready = events_published_.wait_for(lock, limit, [this] { return !events_.empty(); });
  consumer_waiting_ = false;
  return ready;
}

void StackWorker::PostDeliveries(std::vector<LinkDelivery>& batch) {
  Sleep how;
  {
    std::lock_guard<std::mutex> lock(commands_mutex_);
    if (stopping_) {
      FreeDeliveries(batch);
      return;
    }
    AppendDeliveries(deliveries_, batch);
    commands_posted_.store(true, std::memory_order_release);
    how = TakeSleep();
  }
  Wake(how);
}

void StackWorker::Stop() {
  inbox_->Close();
  Sleep how;
  {
    std::lock_guard<std::mutex> lock(commands_mutex_);
    stopping_ = true;
    how = TakeSleep();
  }
  Wake(how);
  if (thread_.joinable()) thread_.join();
}

void StackWorker::PublishEvents() {
  std::vector<Event>& produced_ = core_.produced();
  if (produced_.empty()) return;
  bool wake;
  bool waiting;
  {
    std::lock_guard<std::mutex> lock(events_mutex_);
    waiting = consumer_waiting_;
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
  if (waiting) events_published_.notify_one();
  if (wake && !consumer_active_.load(std::memory_order_seq_cst)) notify_();
}

// After a busy turn the worker polls for commands this long before it
// sleeps: request/response traffic then never pays for a thread wake-up.
static constexpr auto kSpinBeforeSleep = std::chrono::microseconds(50);

void StackWorker::SleepUntil(std::unique_lock<std::mutex>& lock, Clock::time_point wake_at) {
  if (core_.devices().empty()) {
    sleeping_ = Sleep::kCondition;
    auto woken = [this] { return sleeping_ == Sleep::kAwake; };
    // time_point::max() would overflow the timespec a timed wait makes.
    if (wake_at == Clock::time_point::max()) {
      commands_ready_.wait(lock, woken);
    } else {
      commands_ready_.wait_until(lock, wake_at, woken);
    }
  } else {
    sleeping_ = Sleep::kPoll;
    lock.unlock();
    PollUntil(wake_at);
    lock.lock();
  }
  sleeping_ = Sleep::kAwake;
}

void StackWorker::PollUntil(Clock::time_point wake_at) {
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
  size_t taken_input_bytes = 0;
  for (;;) {
    auto now = Clock::now();
    if (busy && wake_at > now) {
      auto limit = std::chrono::duration_cast<std::chrono::microseconds>(
          std::min<Clock::duration>(wake_at - now, kSpinBeforeSleep));
      SpinGate::SpinUntil([this] { return commands_posted_.load(std::memory_order_acquire); },
                          limit);
    }
    {
      std::unique_lock<std::mutex> lock(commands_mutex_);
      if (commands_.empty() && deliveries_.empty() && !stopping_ && wake_at > Clock::now()) {
        // Sleep until the next lwIP timeout, link delivery, device packet or
        // command: no tick.
        SleepUntil(lock, wake_at);
      }
      if (stopping_) break;
    }
    // Before the commands are taken: every command posted before a packet
    // the devices hold arrived is then in the batch the turn applies first.
    core_.ReadDevices();
    {
      std::lock_guard<std::mutex> lock(commands_mutex_);
      batch.swap(commands_);
      arrived.swap(deliveries_);
      taken_input_bytes = queued_input_bytes_;
      commands_posted_.store(false, std::memory_order_relaxed);
    }
    busy = !batch.empty() || !arrived.empty();
    wake_at = core_.Turn(batch, arrived);
    if (taken_input_bytes != 0) {
      // Counted until the turn gave them to lwIP, not only while queued:
      // else the JS thread fills the queue again while the worker still
      // holds what it took, and twice the bound is in memory.
      std::lock_guard<std::mutex> lock(commands_mutex_);
      queued_input_bytes_ -= taken_input_bytes;
    }
    PublishEvents();
  }
  core_.Close();
  PublishEvents();
}

}  // namespace tcpip
