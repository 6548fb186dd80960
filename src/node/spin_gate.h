// Whether a thread waiting for the other side of a hand-off (the JS thread
// for a worker's reply, a worker for the next command) should busy-wait or
// sleep. Spinning answers in microseconds when the other thread has a core,
// or shares this one with nothing else (a yield hands it over). When other
// work competes for the cores, a spinner that yields waits behind it for a
// whole scheduler slice, while a sleeper woken by the kernel runs at once:
// then both sides must sleep. The gate is shared by every stack of the
// process: contention is a property of the machine, not of one stack.
#pragma once

#include <chrono>

namespace tcpip {

class SpinGate {
 public:
  // Whether spinning pays now: no spinner lost its core to other work
  // lately.
  static bool Open();
  // Busy-waits until `ready()` or `limit` passes, unless the gate is closed;
  // true when `ready()`. A spinner that finds it lost its core meanwhile
  // closes the gate for a while (longer each time it keeps happening).
  template <typename Ready>
  static bool SpinUntil(Ready ready, std::chrono::microseconds limit) {
    if (!Open()) return ready();
    using Clock = std::chrono::steady_clock;
    auto last = Clock::now();
    const auto deadline = last + limit;
    for (int step = 1;; step++) {
      if (ready()) return true;
      if (step % 64 != 0) {
        Pause();
        continue;
      }
      // When the other thread shares this core (one CPU), a wake-up made it
      // runnable here, and only giving the core up lets it run now.
      Yield();
      auto now = Clock::now();
      if (now - last > kPreempted) {
        Contended();
        return ready();
      }
      if (now >= deadline) return ready();
      last = now;
    }
  }

 private:
  // Between two clock reads a spinner pauses 64 times and yields once: a
  // microsecond or two, or the other side's short turn when it shares the
  // core. A gap this long means that someone else had the core, for a
  // scheduler slice: other work competes for the cores.
  static constexpr auto kPreempted = std::chrono::microseconds(500);
  static void Contended();
  static void Yield();
  static void Pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
};

}  // namespace tcpip
