// The native backend: a JS handle per stack. JS calls become commands for
// the stack's worker; the worker's events come back in batches through one
// uv_async_t and are handed to a JS dispatcher, one call per event inside one
// callback scope.
#include <napi.h>
#include <uv.h>

#include <chrono>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <cstdlib>
#include <cstring>
#include <memory>

#include "stack_worker.h"

namespace tcpip {
namespace {

class StackBinding : public Napi::ObjectWrap<StackBinding> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "NativeStack",
        {
            InstanceMethod<&StackBinding::CreateInterface>("createInterface"),
            InstanceMethod<&StackBinding::RemoveInterface>("removeInterface"),
            InstanceMethod<&StackBinding::InterfaceInput>("interfaceInput"),
            InstanceMethod<&StackBinding::InterfaceStats>("interfaceStats"),
            InstanceMethod<&StackBinding::CaptureStart>("captureStart"),
            InstanceMethod<&StackBinding::CaptureStop>("captureStop"),
            InstanceMethod<&StackBinding::AttachDevice>("attachDevice"),
            InstanceMethod<&StackBinding::Listen>("listen"),
            InstanceMethod<&StackBinding::Connect>("connect"),
            InstanceMethod<&StackBinding::Write>("write"),
            InstanceMethod<&StackBinding::Writev>("writev"),
            InstanceMethod<&StackBinding::Consumed>("consumed"),
            InstanceMethod<&StackBinding::Shutdown>("shutdown"),
            InstanceMethod<&StackBinding::Close>("close"),
            InstanceMethod<&StackBinding::Abort>("abort"),
            InstanceMethod<&StackBinding::SetChecksums>("setChecksums"),
            InstanceMethod<&StackBinding::SetNoDelay>("setNoDelay"),
            InstanceMethod<&StackBinding::SetKeepAlive>("setKeepAlive"),
            InstanceMethod<&StackBinding::Ref>("ref"),
            InstanceMethod<&StackBinding::Unref>("unref"),
            InstanceMethod<&StackBinding::HeapBytesInUse>("heapBytesInUse"),
            InstanceMethod<&StackBinding::Destroy>("destroy"),
        });
  }

  explicit StackBinding(const Napi::CallbackInfo& info) : Napi::ObjectWrap<StackBinding>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsFunction()) {
      Napi::TypeError::New(env, "dispatcher must be a function").ThrowAsJavaScriptException();
      return;
    }
    dispatcher_ = Napi::Persistent(info[0].As<Napi::Function>());
    async_resource_ = Napi::Persistent(Napi::Object::New(env));
    async_context_ = std::make_unique<Napi::AsyncContext>(env, "tcpip.Stack", async_resource_.Value());
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    channel_ = new EventChannel;
    channel_->async.data = this;
    uv_async_init(loop, &channel_->async, &StackBinding::OnAsync);
    uv_unref(reinterpret_cast<uv_handle_t*>(&channel_->async));
    env_ = env;
    try {
      worker_ = std::make_unique<StackWorker>([channel = channel_] { uv_async_send(&channel->async); });
    } catch (const std::exception& error) {
      CloseChannel();
      Napi::Error::New(env, std::string("cannot start the stack's worker: ") + error.what())
          .ThrowAsJavaScriptException();
      return;
    }
    // An async hook: the environment (a worker_thread's, say) waits for the
    // channel's close callback, which lives in this addon, before unloading.
    napi_add_async_cleanup_hook(env, &StackBinding::OnEnvCleanup, this, &channel_->cleanup_hook);
  }

  ~StackBinding() override { Teardown(); }

  // For links: the worker while the stack runs, else null.
  StackWorker* worker() const { return worker_.get(); }

 private:
  // The uv handle that wakes the JS thread, and the cleanup hook that must
  // outlive it; freed by the handle's close callback.
  struct EventChannel {
    uv_async_t async;
    napi_async_cleanup_hook_handle cleanup_hook = nullptr;
  };

  static void OnEnvCleanup(napi_async_cleanup_hook_handle, void* self) {
    static_cast<StackBinding*>(self)->Teardown();
  }

  void CloseChannel() {
    if (channel_ == nullptr) return;
    channel_->async.data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&channel_->async), [](uv_handle_t* handle) {
      auto* channel = reinterpret_cast<EventChannel*>(handle);
      if (channel->cleanup_hook != nullptr) napi_remove_async_cleanup_hook(channel->cleanup_hook);
      delete channel;
    });
    channel_ = nullptr;
  }

  void Teardown() {
    if (worker_ == nullptr) return;
    worker_->Stop();
    FreeEvents(pending_);
    worker_->TakeEvents(pending_);
    FreeEvents(pending_);
    worker_.reset();
    CloseChannel();
  }

  bool Alive(Napi::Env env) {
    if (worker_ != nullptr) return true;
    Napi::Error::New(env, "stack is destroyed").ThrowAsJavaScriptException();
    return false;
  }

  static uint32_t IdOf(const Napi::CallbackInfo& info) { return info[0].As<Napi::Number>().Uint32Value(); }

  static std::string StringOr(const Napi::Value& value) {
    return value.IsString() ? value.As<Napi::String>().Utf8Value() : std::string();
  }

  void PostCommand(Command&& command) {
    posted_++;
    worker_->Post(std::move(command));
  }

  void Post(Command::Type type, uint32_t id) {
    Command command;
    command.type = type;
    command.id = id;
    PostCommand(std::move(command));
  }

  // createInterface(id, kind, [cidr, ...], mtu, mac (6-byte buffer or
  // undefined), gateway (string or undefined), defaultRoute, [port id, ...])
  Napi::Value CreateInterface(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    Command command;
    command.type = Command::Type::kInterfaceCreate;
    command.id = IdOf(info);
    command.number = info[1].As<Napi::Number>().Int32Value();
    Napi::Array cidrs = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < cidrs.Length(); i++) command.cidrs.push_back(StringOr(cidrs.Get(i)));
    command.port = static_cast<uint16_t>(info[3].As<Napi::Number>().Uint32Value());
    if (info[4].IsTypedArray()) {
      Napi::Uint8Array mac = info[4].As<Napi::Uint8Array>();
      if (mac.ByteLength() == sizeof command.mac) std::memcpy(command.mac, mac.Data(), sizeof command.mac);
    }
    command.address = StringOr(info[5]);
    command.flag = info[6].ToBoolean();
    if (info[7].IsArray()) {
      Napi::Array ports = info[7].As<Napi::Array>();
      for (uint32_t i = 0; i < ports.Length(); i++) command.ports.push_back(ports.Get(i).As<Napi::Number>().Uint32Value());
    }
    PostCommand(std::move(command));
    return info.Env().Undefined();
  }

  Napi::Value RemoveInterface(const Napi::CallbackInfo& info) {
    if (Alive(info.Env())) Post(Command::Type::kInterfaceRemove, IdOf(info));
    return info.Env().Undefined();
  }

  // interfaceInput(id, bytes) -> false when dropped for a full queue
  Napi::Value InterfaceInput(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    Napi::Uint8Array packet = info[1].As<Napi::Uint8Array>();
    Command command;
    command.type = Command::Type::kInterfaceInput;
    command.id = IdOf(info);
    command.length = packet.ByteLength();
    command.data = std::malloc(command.length ? command.length : 1);
    if (command.data == nullptr) return Napi::Boolean::New(info.Env(), false);
    if (command.length) std::memcpy(command.data, packet.Data(), command.length);
    posted_++;
    return Napi::Boolean::New(info.Env(), worker_->PostInput(std::move(command)));
  }

  // captureStart(id, fd): the worker writes a pcap file to `fd` and owns it
  // from now on.
  Napi::Value CaptureStart(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    Command command;
    command.type = Command::Type::kCaptureStart;
    command.id = IdOf(info);
    command.number = info[1].As<Napi::Number>().Int32Value();
    PostCommand(std::move(command));
    return info.Env().Undefined();
  }

  // attachDevice(id, fd): the worker owns the kernel device's fd from now on.
  Napi::Value AttachDevice(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    Command command;
    command.type = Command::Type::kAttachDevice;
    command.id = IdOf(info);
    command.number = info[1].As<Napi::Number>().Int32Value();
    PostCommand(std::move(command));
    return info.Env().Undefined();
  }

  Napi::Value CaptureStop(const Napi::CallbackInfo& info) {
    if (Alive(info.Env())) Post(Command::Type::kCaptureStop, IdOf(info));
    return info.Env().Undefined();
  }

  Napi::Value InterfaceStats(const Napi::CallbackInfo& info) {
    if (Alive(info.Env())) Post(Command::Type::kInterfaceStats, IdOf(info));
    return info.Env().Undefined();
  }

  // listen(id, address, port, backlog, ipv6Only)
  Napi::Value Listen(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    Command command;
    command.type = Command::Type::kListen;
    command.id = IdOf(info);
    command.address = StringOr(info[1]);
    command.port = static_cast<uint16_t>(info[2].As<Napi::Number>().Uint32Value());
    command.number = info[3].As<Napi::Number>().Int32Value();
    command.flag = info[4].ToBoolean();
    PostCommand(std::move(command));
    return info.Env().Undefined();
  }

  // connect(id, address, port, localAddress, localPort)
  Napi::Value Connect(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    Command command;
    command.type = Command::Type::kConnect;
    command.id = IdOf(info);
    command.address = StringOr(info[1]);
    command.port = static_cast<uint16_t>(info[2].As<Napi::Number>().Uint32Value());
    command.local_address = StringOr(info[3]);
    command.local_port = static_cast<uint16_t>(info[4].As<Napi::Number>().Uint32Value());
    PostCommand(std::move(command));
    return info.Env().Undefined();
  }

  void PostWrite(uint32_t id, void* data, size_t length) {
    Command command;
    command.type = Command::Type::kWrite;
    command.id = id;
    command.data = data;
    command.length = length;
    PostCommand(std::move(command));
  }

  // write(id, buffer): the bytes are copied, so the caller may reuse it.
  Napi::Value Write(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    Napi::Uint8Array chunk = info[1].As<Napi::Uint8Array>();
    size_t length = chunk.ByteLength();
    if (length == 0) return info.Env().Undefined();
    void* data = std::malloc(length);
    if (data == nullptr) {
      Napi::Error::New(info.Env(), "out of memory").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    std::memcpy(data, chunk.Data(), length);
    PostWrite(IdOf(info), data, length);
    return info.Env().Undefined();
  }

  // writev(id, [buffer, ...]): one command for the whole batch.
  Napi::Value Writev(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    Napi::Array chunks = info[1].As<Napi::Array>();
    size_t total = 0;
    uint32_t count = chunks.Length();
    for (uint32_t i = 0; i < count; i++) total += chunks.Get(i).As<Napi::Uint8Array>().ByteLength();
    if (total == 0) return info.Env().Undefined();
    auto* data = static_cast<unsigned char*>(std::malloc(total));
    if (data == nullptr) {
      Napi::Error::New(info.Env(), "out of memory").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    size_t offset = 0;
    for (uint32_t i = 0; i < count; i++) {
      Napi::Uint8Array chunk = chunks.Get(i).As<Napi::Uint8Array>();
      size_t length = chunk.ByteLength();
      if (length == 0) continue;  // an empty view may have no backing store
      std::memcpy(data + offset, chunk.Data(), length);
      offset += length;
    }
    PostWrite(IdOf(info), data, total);
    return info.Env().Undefined();
  }

  // consumed(id, bytes): the application read this much; reopen the window.
  Napi::Value Consumed(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    Command command;
    command.type = Command::Type::kConsumed;
    command.id = IdOf(info);
    command.length = static_cast<size_t>(info[1].As<Napi::Number>().Int64Value());
    PostCommand(std::move(command));
    return info.Env().Undefined();
  }

  Napi::Value Shutdown(const Napi::CallbackInfo& info) {
    if (Alive(info.Env())) Post(Command::Type::kShutdown, IdOf(info));
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (Alive(info.Env())) Post(Command::Type::kClose, IdOf(info));
    return info.Env().Undefined();
  }

  Napi::Value Abort(const Napi::CallbackInfo& info) {
    if (Alive(info.Env())) Post(Command::Type::kAbort, IdOf(info));
    return info.Env().Undefined();
  }

  // setChecksums(id, enabled): for links whose ends no wire can corrupt.
  Napi::Value SetChecksums(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    Command command;
    command.type = Command::Type::kInterfaceChecksums;
    command.id = IdOf(info);
    command.flag = info[1].ToBoolean();
    PostCommand(std::move(command));
    return info.Env().Undefined();
  }

  Napi::Value SetNoDelay(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    Command command;
    command.type = Command::Type::kSetNoDelay;
    command.id = IdOf(info);
    command.flag = info[1].ToBoolean();
    PostCommand(std::move(command));
    return info.Env().Undefined();
  }

  Napi::Value SetKeepAlive(const Napi::CallbackInfo& info) {
    if (!Alive(info.Env())) return info.Env().Undefined();
    Command command;
    command.type = Command::Type::kSetKeepAlive;
    command.id = IdOf(info);
    command.flag = info[1].ToBoolean();
    command.number = info[2].As<Napi::Number>().Int32Value();
    PostCommand(std::move(command));
    return info.Env().Undefined();
  }

  // While referenced, the event channel keeps the event loop alive, as a
  // listening server or an open socket does in Node.
  Napi::Value Ref(const Napi::CallbackInfo& info) {
    if (channel_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(&channel_->async));
    return info.Env().Undefined();
  }

  Napi::Value Unref(const Napi::CallbackInfo& info) {
    if (channel_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(&channel_->async));
    return info.Env().Undefined();
  }

  // The process's C heap: the native engine has no heap of its own.
  Napi::Value HeapBytesInUse(const Napi::CallbackInfo& info);

  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    Teardown();
    return info.Env().Undefined();
  }

  static void OnAsync(uv_async_t* handle) {
    auto* self = static_cast<StackBinding*>(handle->data);
    if (self == nullptr || self->worker_ == nullptr) return;
    // Nothing may leave a libuv callback. N-API failures (a worker_thread
    // being terminated) leave pending exceptions, not C++ ones
    // (NAPI_DISABLE_CPP_EXCEPTIONS); this guards what the C++ library throws.
    try {
      self->Deliver();
    } catch (...) {
      FreeEvents(self->pending_);
    }
  }

  // Delivers event batches. When handlers posted commands (a reply to a
  // request, say), the answer usually follows within microseconds: wait for
  // it briefly instead of returning to the event loop, bounded in rounds.
  // While this runs the worker publishes without waking the event loop.
  void Deliver() {
    static constexpr int kMaxRounds = 32;
    static constexpr auto kReplyWait = std::chrono::microseconds(40);
    for (int round = 0; worker_ != nullptr; round++) {
      worker_->ConsumerActive();
      worker_->TakeEvents(pending_);
      if (!pending_.empty()) {
        uint64_t posted_before = posted_;
        DispatchPending();
        if (worker_ == nullptr) return;
        if (posted_ != posted_before && round < kMaxRounds &&
            worker_->SpinForEvents(kReplyWait)) {
          continue;
        }
      }
      if (!worker_->ConsumerInactive()) return;
      if (round >= kMaxRounds) {
        // Let the event loop breathe; the rest comes on its next turn.
        uv_async_send(&channel_->async);
        return;
      }
    }
  }

  static constexpr size_t kCopyBelow = 1024;

  void DispatchPending() {
    Napi::Env env = env_;
    Napi::HandleScope scope(env);
    Napi::CallbackScope callback_scope(env, *async_context_);
    Napi::Function dispatch = dispatcher_.Value();
    Napi::Value receiver = env.Undefined();
    for (size_t index = 0; index < pending_.size() && worker_ != nullptr; index++) {
      Event& event = pending_[index];
      Napi::HandleScope event_scope(env);
      napi_value args[8];
      size_t argc = 3;
      args[0] = Napi::Number::New(env, event.code);
      args[1] = Napi::Number::New(env, event.id);
      switch (event.code) {
        case TCPIP_EV_DATA: {
          // Small payloads are cheaper to copy than to hand over with a
          // finalizer; large ones become external buffers (or copies where
          // the runtime forbids those, as Electron does).
          if (event.count <= kCopyBelow) {
            args[2] = Napi::Buffer<unsigned char>::Copy(env, event.data, event.count);
          } else {
            args[2] = Napi::Buffer<unsigned char>::NewOrCopy(
                env, event.data, event.count,
                [](Napi::Env, unsigned char* bytes, void* held) { ReleaseEventData(bytes, held); },
                event.held);
            event.data = nullptr;
            event.held = nullptr;
          }
          break;
        }
        case TCPIP_EV_PACKET:
          args[2] = Napi::Buffer<unsigned char>::Copy(env, event.data, event.count);
          break;
        case TCPIP_EV_STATS: {
          const tcpip_interface_stats& stats = event.stats_copy;
          Napi::Object object = Napi::Object::New(env);
          object.Set("packetsIn", Napi::Number::New(env, static_cast<double>(stats.packets_in)));
          object.Set("bytesIn", Napi::Number::New(env, static_cast<double>(stats.bytes_in)));
          object.Set("packetsOut", Napi::Number::New(env, static_cast<double>(stats.packets_out)));
          object.Set("bytesOut", Napi::Number::New(env, static_cast<double>(stats.bytes_out)));
          Napi::Object dropped = Napi::Object::New(env);
          dropped.Set("malformed", Napi::Number::New(env, static_cast<double>(stats.dropped_malformed)));
          dropped.Set("oversize", Napi::Number::New(env, static_cast<double>(stats.dropped_oversize)));
          dropped.Set("down", Napi::Number::New(env, static_cast<double>(stats.dropped_down)));
          dropped.Set("noMemory", Napi::Number::New(env, static_cast<double>(stats.dropped_no_memory)));
          object.Set("dropped", dropped);
          args[2] = object;
          break;
        }
        case TCPIP_EV_WRITTEN:
          args[2] = Napi::Number::New(env, static_cast<double>(event.count));
          break;
        case kEventCaptureClosed:
          args[2] = Napi::Boolean::New(env, event.error == TCPIP_OK);
          break;
        case TCPIP_EV_ERROR:
          args[2] = Napi::String::New(env, tcpip_error_name(event.error));
          break;
        case TCPIP_EV_LISTENING:
          args[2] = Napi::String::New(env, event.local.address);
          args[3] = Napi::Number::New(env, event.local.port);
          argc = 4;
          break;
        case TCPIP_EV_CONNECTED:
          args[2] = Napi::String::New(env, event.local.address);
          args[3] = Napi::Number::New(env, event.local.port);
          args[4] = Napi::String::New(env, event.remote.address);
          args[5] = Napi::Number::New(env, event.remote.port);
          argc = 6;
          break;
        case TCPIP_EV_ACCEPTED:
          args[2] = Napi::Number::New(env, event.other_id);
          args[3] = Napi::String::New(env, event.local.address);
          args[4] = Napi::Number::New(env, event.local.port);
          args[5] = Napi::String::New(env, event.remote.address);
          args[6] = Napi::Number::New(env, event.remote.port);
          argc = 7;
          break;
        default:
          argc = 2;
          break;
      }
      napi_value result;
      napi_status status = napi_call_function(env, receiver, dispatch, argc, args, &result);
      if (status == napi_pending_exception) {
        // An exception in a user's event handler is an uncaught exception,
        // exactly as for Node's own sockets.
        napi_value error;
        napi_get_and_clear_last_exception(env, &error);
        napi_fatal_exception(env, error);
      }
    }
    FreeEvents(pending_);
  }

  Napi::Env env_ = nullptr;
  Napi::FunctionReference dispatcher_;
  Napi::ObjectReference async_resource_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
  EventChannel* channel_ = nullptr;
  std::unique_ptr<StackWorker> worker_;
  std::vector<Event> pending_;
  uint64_t posted_ = 0;  // commands posted from JS, to spot replies in Deliver
};

// A native link between interfaces of two stacks (see link.h). JS holds it;
// each stack's worker holds its sending direction until detached.
class LinkBinding : public Napi::ObjectWrap<LinkBinding> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeLink",
                       {
                           InstanceMethod<&LinkBinding::SetConditions>("setConditions"),
                           InstanceMethod<&LinkBinding::Stats>("stats"),
                           InstanceMethod<&LinkBinding::Detach>("detach"),
                       });
  }

  // new NativeLink(stackA, interfaceA, stackB, interfaceB, headerBytes, seed)
  explicit LinkBinding(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LinkBinding>(info) {
    Napi::Env env = info.Env();
    StackBinding* a = StackBinding::Unwrap(info[0].As<Napi::Object>());
    StackBinding* b = StackBinding::Unwrap(info[2].As<Napi::Object>());
    if (a == nullptr || b == nullptr || a->worker() == nullptr || b->worker() == nullptr) {
      Napi::Error::New(env, "both stacks must be running").ThrowAsJavaScriptException();
      return;
    }
    ends_[0] = {a, info[1].As<Napi::Number>().Uint32Value()};
    ends_[1] = {b, info[3].As<Napi::Number>().Uint32Value()};
    uint32_t header_bytes = info[4].As<Napi::Number>().Uint32Value();
    // A safe integer, checked by the JS layer: exact in a double.
    auto seed = static_cast<uint64_t>(info[5].As<Napi::Number>().DoubleValue());
    stacks_[0] = Napi::Persistent(info[0].As<Napi::Object>());
    stacks_[1] = Napi::Persistent(info[2].As<Napi::Object>());
    shared_ = std::make_shared<LinkShared>();
    for (int direction = 0; direction < 2; direction++) {
      const End& from = ends_[direction];
      const End& to = ends_[1 - direction];
      Command command;
      command.type = Command::Type::kAttachLink;
      command.id = from.interface_id;
      command.link = std::make_shared<LinkDirection>(shared_, direction, to.stack->worker()->inbox(),
                                                     to.interface_id, header_bytes, seed);
      from.stack->worker()->Post(std::move(command));
    }
  }

 private:
  struct End {
    StackBinding* stack = nullptr;
    uint32_t interface_id = 0;
  };

  static double NumberOr(const Napi::Object& object, const char* key, double fallback) {
    Napi::Value value = object.Get(key);
    return value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : fallback;
  }

  // setConditions({ latency, jitter, loss, duplicate, reorder, rate, mtu, queue, up }),
  // values checked by the JS layer.
  Napi::Value SetConditions(const Napi::CallbackInfo& info) {
    Napi::Object options = info[0].As<Napi::Object>();
    tcpip_link_conditions conditions;
    tcpip_link_conditions_init(&conditions);
    conditions.latency_ms = NumberOr(options, "latency", 0);
    conditions.jitter_ms = NumberOr(options, "jitter", 0);
    conditions.loss = NumberOr(options, "loss", 0);
    conditions.duplicate = NumberOr(options, "duplicate", 0);
    conditions.reorder = NumberOr(options, "reorder", 0);
    conditions.rate_bps = NumberOr(options, "rate", 0);
    conditions.mtu = static_cast<uint32_t>(NumberOr(options, "mtu", 0));
    conditions.queue_bytes = static_cast<uint32_t>(NumberOr(options, "queue", 0));
    conditions.up = options.Get("up").ToBoolean();
    shared_->SetConditions(conditions);
    return info.Env().Undefined();
  }

  static Napi::Object CountersObject(Napi::Env env, const LinkCounters& counters) {
    Napi::Object object = Napi::Object::New(env);
    auto set = [&](const char* key, const std::atomic<uint64_t>& value) {
      object.Set(key, Napi::Number::New(env, static_cast<double>(value.load())));
    };
    set("packets", counters.packets);
    set("bytes", counters.bytes);
    set("lost", counters.lost);
    set("duplicated", counters.duplicated);
    set("reordered", counters.reordered);
    set("droppedDown", counters.dropped_down);
    set("droppedMtu", counters.dropped_mtu);
    set("droppedQueue", counters.dropped_queue);
    return object;
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Object result = Napi::Object::New(info.Env());
    result.Set("aToB", CountersObject(info.Env(), shared_->counters[0]));
    result.Set("bToA", CountersObject(info.Env(), shared_->counters[1]));
    return result;
  }

  // Gives both interfaces back to JS hooks; a stack already gone is skipped.
  Napi::Value Detach(const Napi::CallbackInfo& info) {
    for (End& end : ends_) {
      if (end.stack != nullptr && end.stack->worker() != nullptr) {
        Command command;
        command.type = Command::Type::kDetachLink;
        command.id = end.interface_id;
        end.stack->worker()->Post(std::move(command));
      }
      end.stack = nullptr;
    }
    stacks_[0].Reset();
    stacks_[1].Reset();
    return info.Env().Undefined();
  }

  End ends_[2];
  Napi::ObjectReference stacks_[2];  // keeps the StackBindings alive while linked
  std::shared_ptr<LinkShared> shared_;
};

}  // namespace
}  // namespace tcpip

// Bytes the C heap holds for the whole process: what benchmarks compare to
// tell native memory per connection.
static Napi::Value ProcessHeapBytesInUse(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 usage = mallinfo2();
  return Napi::Number::New(info.Env(), static_cast<double>(usage.uordblks + usage.hblkhd));
#else
  return info.Env().Undefined();
#endif
}

// openKernelDevice(name, tap) -> [fd, ''] or [-errno, syscall]
static Napi::Value OpenKernelDevice(const Napi::CallbackInfo& info) {
  const char* syscall = "";
  int result = tcpip::OpenKernelDevice(info[0].As<Napi::String>().Utf8Value(), info[1].ToBoolean(), &syscall);
  Napi::Array pair = Napi::Array::New(info.Env(), 2);
  pair.Set(0u, Napi::Number::New(info.Env(), result));
  pair.Set(1u, Napi::String::New(info.Env(), result >= 0 ? "" : syscall));
  return pair;
}

Napi::Value tcpip::StackBinding::HeapBytesInUse(const Napi::CallbackInfo& info) {
  return ProcessHeapBytesInUse(info);
}

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  exports.Set("openKernelDevice", Napi::Function::New(env, OpenKernelDevice));
  exports.Set("heapBytesInUse", Napi::Function::New(env, ProcessHeapBytesInUse));
  exports.Set("NativeStack", tcpip::StackBinding::Define(env));
  exports.Set("NativeLink", tcpip::LinkBinding::Define(env));
  return exports;
}

NODE_API_MODULE(NODE_GYP_MODULE_NAME, InitAddon)
