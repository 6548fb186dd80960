// NativeStack: a JS handle per stack. JS calls become commands for the
// stack's worker; the worker's events come back in batches through one
// uv_async_t and are handed to a JS dispatcher, one call per event inside one
// callback scope. With { thread: 'js' } the stack's core runs on the JS
// thread instead (InlineStack): commands run in it when JS calls, and turns
// run on later tasks of the event loop (a uv_check and uv_idle pair, as
// setImmediate), with a uv_timer for lwIP's next timeout.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "inline_stack.h"
#include "stack_worker.h"

namespace tcpip {

// Bytes the C heap holds for the whole process (undefined where the C
// library cannot tell): what benchmarks compare to tell native memory per
// connection.
Napi::Value HeapBytesInUse(Napi::Env env);

class StackBinding : public Napi::ObjectWrap<StackBinding> {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit StackBinding(const Napi::CallbackInfo& info);
  ~StackBinding() override { Teardown(); }

  // For links: whether the stack runs; then commands and the link inbox.
  bool running() const { return worker_ != nullptr || inline_ != nullptr; }
  void PostCommand(Command&& command);
  std::shared_ptr<Inbox> inbox() const;

 private:
  // The uv handle that wakes the JS thread, and the cleanup hook that must
  // outlive it; freed by the handle's close callback.
  // A JS-thread stack's turns use three more handles; the channel goes
  // when all of its handles are closed.
  struct EventChannel {
    uv_async_t async;
    uv_check_t check;
    uv_idle_t idle;
    uv_timer_t timer;
    bool inline_handles = false;
    int open = 0;
    napi_async_cleanup_hook_handle cleanup_hook = nullptr;
  };

  // A JS-thread stack's watch on a kernel device's fd (readable: a turn is
  // wanted). Closed before the core closes the fd; freed by its close
  // callback, which the channel waits for like its own handles.
  struct DevicePoll {
    uv_poll_t handle;  // first: the close callback's uv_handle_t* is the DevicePoll*
    EventChannel* channel;
  };

  static void OnEnvCleanup(napi_async_cleanup_hook_handle, void* self);
  static void ChannelHandleClosed(EventChannel* channel);
  void CloseChannel();
  void Teardown();
  bool Alive(Napi::Env env);
  // The pieces of a write: runs of small chunks copied into one, large
  // chunks lent (held until the core releases them).
  command::Write WriteOf(uint32_t id, const std::vector<Napi::Uint8Array>& chunks);

  Napi::Value CreateInterface(const Napi::CallbackInfo& info);
  Napi::Value RemoveInterface(const Napi::CallbackInfo& info);
  Napi::Value InterfaceInput(const Napi::CallbackInfo& info);
  Napi::Value InterfaceStats(const Napi::CallbackInfo& info);
  Napi::Value CaptureStart(const Napi::CallbackInfo& info);
  Napi::Value CaptureStop(const Napi::CallbackInfo& info);
  Napi::Value AttachDevice(const Napi::CallbackInfo& info);
  Napi::Value Listen(const Napi::CallbackInfo& info);
  Napi::Value Connect(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Writev(const Napi::CallbackInfo& info);
  Napi::Value Consumed(const Napi::CallbackInfo& info);
  Napi::Value Shutdown(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Abort(const Napi::CallbackInfo& info);
  Napi::Value ListenForeign(const Napi::CallbackInfo& info);
  Napi::Value AcceptSyn(const Napi::CallbackInfo& info);
  Napi::Value SetChecksums(const Napi::CallbackInfo& info);
  Napi::Value Dhcp(const Napi::CallbackInfo& info);
  Napi::Value Slaac(const Napi::CallbackInfo& info);
  Napi::Value SetNoDelay(const Napi::CallbackInfo& info);
  Napi::Value SetKeepAlive(const Napi::CallbackInfo& info);
  Napi::Value UdpBind(const Napi::CallbackInfo& info);
  Napi::Value UdpConnect(const Napi::CallbackInfo& info);
  Napi::Value UdpDisconnect(const Napi::CallbackInfo& info);
  Napi::Value UdpSend(const Napi::CallbackInfo& info);
  Napi::Value UdpConsumed(const Napi::CallbackInfo& info);
  Napi::Value UdpSetOption(const Napi::CallbackInfo& info);
  Napi::Value UdpClose(const Napi::CallbackInfo& info);
  Napi::Value IcmpEcho(const Napi::CallbackInfo& info);
  Napi::Value UdpMembership(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  Napi::Value HeapBytesInUseMethod(const Napi::CallbackInfo& info);
  Napi::Value Destroy(const Napi::CallbackInfo& info);

  static void OnAsync(uv_async_t* handle);
  void Deliver();
  void DispatchPending();
  // The JS-thread mode's turns.
  static void OnCheck(uv_check_t* handle);
  static void OnTimer(uv_timer_t* handle);
  void RequestTurn();
  // This stack's turns, then those of the stacks on this thread that they
  // handed packets to.
  void RunTurns();
  void RunOwnTurns();
  static void RunHandedTurns(napi_env env);
  void Unqueue();
  // Kernel devices of a JS-thread stack: each attached fd is watched with a
  // uv_poll_t on the JS thread's loop, never referenced (the stack's async
  // handle says whether the process stays alive).
  static void OnDeviceReadable(uv_poll_t* handle, int status, int events);
  int WatchDevice(uint32_t id, int fd);
  void UnwatchDevice(uint32_t id);
  void UnwatchDevices();

  Napi::Env env_ = nullptr;
  Napi::FunctionReference dispatcher_;
  Napi::ObjectReference async_resource_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
  EventChannel* channel_ = nullptr;
  std::unique_ptr<StackWorker> worker_;
  std::unique_ptr<InlineStack> inline_;  // instead of worker_, on the JS thread
  bool turn_wanted_ = false;             // a command ran or packets arrived
  bool turn_scheduled_ = false;          // check and idle are started
  bool in_turns_ = false;
  bool queued_ = false;                           // in this thread's queue of handed turns
  std::map<uint32_t, DevicePoll*> device_polls_;  // by interface id
  std::vector<Event> pending_;
  // Small payloads are copied into this buffer one after another, each
  // delivered as a view of it, as Node's Buffer.allocUnsafe() pools: two
  // allocations per event (a backing store and its record) cost a
  // 1-byte round trip a tenth of its time. A view keeps its pool alive.
  Napi::Reference<Napi::Buffer<uint8_t>> receive_pool_;
  uint8_t* receive_pool_data_ = nullptr;
  size_t receive_pool_used_ = 0;
  napi_value PooledCopy(const EventBytes& bytes, size_t& offset);
  size_t PayloadArgs(Event& event, int pooled_code, napi_value* args);
  uint64_t posted_ = 0;  // commands posted from JS, to spot replies in Deliver
  // JS buffers the core reads from (lent writes), until it releases them.
  // Only the JS thread touches them; the worker only sees their ids.
  std::unordered_map<LeaseId, Napi::Reference<Napi::Uint8Array>> leases_;
  LeaseId next_lease_ = 1;
};

}  // namespace tcpip
