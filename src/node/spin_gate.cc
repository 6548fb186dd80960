#include "spin_gate.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sched.h>

namespace tcpip {

namespace {

using Clock = std::chrono::steady_clock;

// How long the gate stays closed after a spinner lost its core: short at
// first (a passing burst of other work), doubling while it keeps happening.
constexpr int64_t kFirstBackoffNs = 10'000'000;
constexpr int64_t kMaxBackoffNs = 1'000'000'000;

// Contention within this long of the gate's reopening counts as the same
// spell of it.
constexpr int64_t kSpellNs = 1'000'000'000;

std::atomic<int64_t> closed_until_ns{0};
std::atomic<int64_t> backoff_ns{kFirstBackoffNs};

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// TCPIP_NATIVE_SPIN=0: never spin, for machines whose cores are always busy
// or where a core spinning for microseconds costs power that matters.
bool SpinningAllowed() {
  static const bool allowed = [] {
    const char* setting = std::getenv("TCPIP_NATIVE_SPIN");
    return setting == nullptr || std::strcmp(setting, "0") != 0;
  }();
  return allowed;
}

}  // namespace

bool SpinGate::Open() {
  return SpinningAllowed() && NowNs() >= closed_until_ns.load(std::memory_order_relaxed);
}

void SpinGate::Yield() { sched_yield(); }

void SpinGate::Contended() {
  int64_t now = NowNs();
  bool same_spell = now - closed_until_ns.load(std::memory_order_relaxed) < kSpellNs;
  int64_t backoff = same_spell
                        ? std::min(2 * backoff_ns.load(std::memory_order_relaxed), kMaxBackoffNs)
                        : kFirstBackoffNs;
  backoff_ns.store(backoff, std::memory_order_relaxed);
  closed_until_ns.store(now + backoff, std::memory_order_relaxed);
}

}  // namespace tcpip
