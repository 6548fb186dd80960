// The worker thread that drives one stack's core (StackCore), and the two
// queues that connect it to the JS thread: the thread driver. Nothing here
// touches N-API: the binding (stack_binding.cc) turns JS calls into commands
// and events into JS calls.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "link.h"
#include "stack_core.h"

namespace tcpip {

class StackWorker final : public DeliveryTarget {
 public:
  // `notify` runs on the worker thread when events become available after
  // the queue was empty; it must only wake the JS thread.
  explicit StackWorker(std::function<void()> notify);
  ~StackWorker();
  StackWorker(const StackWorker&) = delete;
  StackWorker& operator=(const StackWorker&) = delete;

  void Post(Command&& command);
  // Whether `length` more bytes of input would still fit the queue: lets the
  // JS thread drop a flood before it copies anything.
  bool InputFits(size_t length);
  // Posts `length` bytes of packets for an interface unless too many bytes
  // of them wait already: a flood is dropped here (false), never queued
  // without bound.
  bool PostInput(Command&& command, size_t length);
  // Moves all pending events into `out` (which it clears first).
  void TakeEvents(std::vector<Event>& out);
  // Waits up to `limit` for events; true if some are ready. Used right after
  // the JS thread posted commands, when the answer is microseconds away and
  // a trip through the event loop would cost more. It spins while a core is
  // free for the worker (SpinGate), and otherwise sleeps until the worker
  // publishes: on one CPU or a busy machine, a sleeper woken by the kernel
  // runs sooner than a spinner.
  bool WaitForEvents(std::chrono::microseconds limit);
  // While the JS thread is taking events it needs no wake-up for new ones.
  // Clearing the flag returns whether events arrived meanwhile, which the
  // caller must then take itself.
  void ConsumerActive() { consumer_active_.store(true, std::memory_order_seq_cst); }
  bool ConsumerInactive() {
    consumer_active_.store(false, std::memory_order_seq_cst);
    return events_ready_.load(std::memory_order_seq_cst);
  }
  // Stops the thread, tears the stack down, and joins. Idempotent.
  void Stop();
  // Where links deliver to this stack.
  std::shared_ptr<Inbox> inbox() const { return inbox_; }
  // Packets from a link (the Inbox's batch, which this empties).
  void PostDeliveries(std::vector<LinkDelivery>& batch) override;

 private:
  void Run();
  void PublishEvents();
  // Sleeps until a command, a link delivery, a kernel device's packet or
  // `wake_at`. Called and returns with `lock` (commands_mutex_) held.
  void SleepUntil(std::unique_lock<std::mutex>& lock, Clock::time_point wake_at);
  // Waits in poll() for the wake pipe, a kernel device, or `wake_at`.
  void PollUntil(Clock::time_point wake_at);
  // Marks the worker awake and wakes it the way it sleeps. Called with
  // commands_mutex_ held; the wake-up itself happens after it is released.
  enum class Sleep { kAwake, kCondition, kPoll };
  Sleep TakeSleep();
  void Wake(Sleep how);

  std::function<void()> notify_;

  std::mutex commands_mutex_;
  int wake_pipe_[2] = {-1, -1};
  std::vector<Command> commands_;
  std::vector<LinkDelivery> deliveries_;  // from links, under commands_mutex_ too
  bool stopping_ = false;
  // How the worker sleeps, if it does: posting must wake it. Without kernel
  // devices it waits on commands_ready_ (a futex, with a timeout to the
  // microsecond); with them it polls their descriptors and the wake pipe.
  Sleep sleeping_ = Sleep::kAwake;
  std::condition_variable commands_ready_;
  size_t queued_input_bytes_ = 0;
  std::atomic<bool> commands_posted_{false};
  std::atomic<bool> events_ready_{false};
  std::atomic<bool> consumer_active_{false};

  std::mutex events_mutex_;
  std::vector<Event> events_;
  bool consumer_waiting_ = false;  // under events_mutex_: WaitForEvents sleeps
  std::condition_variable events_published_;

  std::shared_ptr<Inbox> inbox_;
  StackCore core_;  // worker thread only
  std::thread thread_;
};

}  // namespace tcpip
