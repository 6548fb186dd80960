#include "stack_binding.h"

#include "tls_context.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <pthread.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace tcpip {

Napi::Value HeapBytesInUse(Napi::Env env) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 usage = mallinfo2();
  return Napi::Number::New(env, static_cast<double>(usage.uordblks + usage.hblkhd));
#else
  return env.Undefined();
#endif
}

namespace {

uint32_t IdOf(const Napi::CallbackInfo& info) { return info[0].As<Napi::Number>().Uint32Value(); }

std::string StringOr(const Napi::Value& value) {
  return value.IsString() ? value.As<Napi::String>().Utf8Value() : std::string();
}

// Write chunks from this size on are lent to the core rather than copied on
// the JS thread. A lent chunk's write calls back only once TCP has taken it
// (the caller may reuse the buffer then), a round trip to the worker that a
// stream waits for before its next write: lent 64 KiB chunks halved one-stack
// bulk throughput (28 to 15 Gbit/s). From 256 KiB on the round trip costs
// about what the copy would, and the JS thread never copies more than this.
constexpr size_t kLendFrom = 256 * 1024;

// This thread's queue of handed turns (defined with RequestTurn).
struct HandedTurns;
HandedTurns& ThisThreadsHandedTurns(napi_env env);

// Event payloads up to this size are copied into a JS buffer; larger ones
// become external buffers over the bytes the event owns (or copies where the
// runtime forbids those, as Electron does).
constexpr size_t kCopyBelow = 1024;

// The receive pool's size, and the largest payload copied into it: Node's
// Buffer.poolSize and Buffer.allocUnsafe()'s bound, so a view holding its
// pool holds what a pooled Buffer in Node would.
constexpr size_t kReceivePoolSize = 8 * 1024;
constexpr size_t kPooledUpTo = kReceivePoolSize / 2 - 1;

// `copy`: every payload is copied and its bytes given back at once. On the
// JS thread the core allocates from the same heap as JS: a received segment
// held by an external buffer stays until the garbage collector finds the
// buffer and its finalizer runs on a later task, so each new segment landed
// in fresh, cold pages (bulk transfers: a third of the time in page faults,
// twice the resident memory). Given back now, the next segment reuses the
// same warm memory, and the copy costs less than the faults did.
Napi::Value BufferOf(Napi::Env env, EventBytes& bytes, bool copy) {
  if (copy || bytes.size() <= kCopyBelow) {
    Napi::Value copied = Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
    bytes.Reset();
    return copied;
  }
  auto* owner = new EventBytes(std::move(bytes));
  return Napi::Buffer<uint8_t>::NewOrCopy(
      env, const_cast<uint8_t*>(owner->data()), owner->size(),
      [](Napi::Env, uint8_t*, EventBytes* held) { delete held; }, owner);
}

// How far DispatchPending looks ahead in a batch for more DATA of a socket,
// and the most it merges: 64 KiB, what a read of Node's own sockets gives.
constexpr size_t kMergeLookahead = 512;
constexpr size_t kMergeUpTo = 64 * 1024;

// Takes the bytes of the DATA events after `first` in `events` that belong
// to the same socket, up to the next event of that socket that is not DATA
// (its order against that one must hold), and marks them kEventMerged. A
// bulk flow's segments come a DATA event each (1460 bytes at the usual MTU,
// the gateway's case), and each would cost JS a stream push, a 'data' event
// and a write: one Buffer for the batch costs it one of each. Returns the
// merged bytes (at most kMergeUpTo, unless the first event alone has more),
// or an empty value when no other DATA event was taken.
Napi::Value MergeData(Napi::Env env, std::vector<Event>& events, size_t first) {
  Event& head = events[first];
  size_t total = head.bytes.size();
  size_t last = first;
  size_t end = std::min(events.size(), first + kMergeLookahead);
  for (size_t index = first + 1; index < end; index++) {
    const Event& event = events[index];
    if (event.id != head.id && event.other_id != head.id) continue;
    if (event.code != TCPIP_EV_DATA || event.id != head.id) break;
    if (total + event.bytes.size() > kMergeUpTo) break;
    total += event.bytes.size();
    last = index;
  }
  if (last == first) return Napi::Value();
  Napi::Buffer<uint8_t> merged = Napi::Buffer<uint8_t>::New(env, total);
  uint8_t* out = merged.Data();
  for (size_t index = first; index <= last; index++) {
    Event& event = events[index];
    if (event.code != TCPIP_EV_DATA || event.id != head.id) continue;
    if (event.bytes.size() != 0) std::memcpy(out, event.bytes.data(), event.bytes.size());
    out += event.bytes.size();
    event.bytes.Reset();
    if (index != first) event.code = kEventMerged;
  }
  return merged;
}

}  // namespace

Napi::Function StackBinding::Define(Napi::Env env) {
  return DefineClass(env, "NativeStack",
                     {
                         InstanceMethod<&StackBinding::CreateInterface>("createInterface"),
                         InstanceMethod<&StackBinding::RemoveInterface>("removeInterface"),
                         InstanceMethod<&StackBinding::InterfaceInput>("interfaceInput"),
                         InstanceMethod<&StackBinding::InterfaceStats>("interfaceStats"),
                         InstanceMethod<&StackBinding::SetChecksums>("setChecksums"),
                         InstanceMethod<&StackBinding::Dhcp>("dhcp"),
                         InstanceMethod<&StackBinding::Slaac>("slaac"),
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
                         InstanceMethod<&StackBinding::ListenForeign>("listenForeign"),
                         InstanceMethod<&StackBinding::AcceptSyn>("acceptSyn"),
                         InstanceMethod<&StackBinding::SetNoDelay>("setNoDelay"),
                         InstanceMethod<&StackBinding::SetKeepAlive>("setKeepAlive"),
                         InstanceMethod<&StackBinding::UdpBind>("udpBind"),
                         InstanceMethod<&StackBinding::UdpConnect>("udpConnect"),
                         InstanceMethod<&StackBinding::UdpDisconnect>("udpDisconnect"),
                         InstanceMethod<&StackBinding::UdpSend>("udpSend"),
                         InstanceMethod<&StackBinding::UdpConsumed>("udpConsumed"),
                         InstanceMethod<&StackBinding::UdpSetOption>("udpSetOption"),
                         InstanceMethod<&StackBinding::UdpClose>("udpClose"),
                         InstanceMethod<&StackBinding::IcmpEcho>("icmpEcho"),
                         InstanceMethod<&StackBinding::UdpMembership>("udpMembership"),
                         InstanceMethod<&StackBinding::Ref>("ref"),
                         InstanceMethod<&StackBinding::Unref>("unref"),
                         InstanceMethod<&StackBinding::HeapBytesInUseMethod>("heapBytesInUse"),
                         InstanceMethod<&StackBinding::Destroy>("destroy"),
                     });
}

StackBinding::StackBinding(const Napi::CallbackInfo& info) : Napi::ObjectWrap<StackBinding>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) {
    Napi::TypeError::New(env, "dispatcher must be a function").ThrowAsJavaScriptException();
    return;
  }
  dispatcher_ = Napi::Persistent(info[0].As<Napi::Function>());
  async_resource_ = Napi::Persistent(Napi::Object::New(env));
  async_context_ = std::make_unique<Napi::AsyncContext>(env, "tcpip.Stack",
                                                        async_resource_.Value());
  bool on_js_thread = info[1].IsObject() &&
                      StringOr(info[1].As<Napi::Object>().Get("thread")) == "js";
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  channel_ = new EventChannel;
  channel_->async.data = this;
  uv_async_init(loop, &channel_->async, &StackBinding::OnAsync);
  uv_unref(reinterpret_cast<uv_handle_t*>(&channel_->async));
  channel_->open = 1;
  env_ = env;
  if (on_js_thread && !TlsContext::Supported()) {
    // Without its own lwIP state a second stack on this thread would share
    // the first one's: refused, never silently shared.
    CloseChannel();
    Napi::Error error = Napi::Error::New(env,
                                         "native stacks on the JS thread need Linux "
                                         "(dl_iterate_phdr's TLS data); use thread: 'worker'");
    error.Set("code", Napi::String::New(env, "ERR_TCPIP_NOT_SUPPORTED"));
    error.ThrowAsJavaScriptException();
    return;
  }
  if (on_js_thread) {
    // Turns run as setImmediate's callbacks do: a check handle after I/O,
    // and an idle handle so the loop does not block in I/O meanwhile. The
    // timer alone never holds the process open.
    uv_check_init(loop, &channel_->check);
    uv_idle_init(loop, &channel_->idle);
    uv_timer_init(loop, &channel_->timer);
    uv_unref(reinterpret_cast<uv_handle_t*>(&channel_->timer));
    channel_->check.data = this;
    channel_->timer.data = this;
    channel_->inline_handles = true;
    channel_->open = 4;
    std::thread::id js_thread = std::this_thread::get_id();
    inline_ = std::make_unique<InlineStack>([this, channel = channel_, js_thread] {
      if (std::this_thread::get_id() == js_thread) {
        RequestTurn();
      } else {
        uv_async_send(&channel->async);
      }
    });
    ThisThreadsHandedTurns(env);
    if (!inline_->Open()) {
      inline_.reset();
      CloseChannel();
      Napi::Error::New(env, "cannot create a stack on this thread").ThrowAsJavaScriptException();
      return;
    }
  } else {
    try {
      worker_ = std::make_unique<StackWorker>(
          [channel = channel_] { uv_async_send(&channel->async); });
    } catch (const std::exception& error) {
      CloseChannel();
      Napi::Error::New(env, std::string("cannot start the stack's worker: ") + error.what())
          .ThrowAsJavaScriptException();
      return;
    }
  }
  // An async hook: the environment (a worker_thread's, say) waits for the
  // channel's close callback, which lives in this addon, before unloading.
  napi_add_async_cleanup_hook(env, &StackBinding::OnEnvCleanup, this, &channel_->cleanup_hook);
}

void StackBinding::OnEnvCleanup(napi_async_cleanup_hook_handle, void* self) {
  static_cast<StackBinding*>(self)->Teardown();
}

// One of the channel's handles (or a device poll) is closed: the last one
// frees the channel.
void StackBinding::ChannelHandleClosed(EventChannel* channel) {
  if (--channel->open > 0) return;
  if (channel->cleanup_hook != nullptr) napi_remove_async_cleanup_hook(channel->cleanup_hook);
  delete channel;
}

void StackBinding::CloseChannel() {
  if (channel_ == nullptr) return;
  auto closed = [](uv_handle_t* handle) {
    ChannelHandleClosed(static_cast<EventChannel*>(handle->data));
  };
  // No callback runs after uv_close(): data now names the channel.
  channel_->async.data = channel_;
  uv_close(reinterpret_cast<uv_handle_t*>(&channel_->async), closed);
  if (channel_->inline_handles) {
    channel_->check.data = channel_;
    channel_->idle.data = channel_;
    channel_->timer.data = channel_;
    uv_close(reinterpret_cast<uv_handle_t*>(&channel_->check), closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&channel_->idle), closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&channel_->timer), closed);
  }
  channel_ = nullptr;
  turn_scheduled_ = false;
}

void StackBinding::Teardown() {
  if (inline_ != nullptr) {
    Unqueue();
    UnwatchDevices();  // before Stop() closes the devices' fds
    inline_->Stop();
    inline_.reset();
    pending_.clear();
    leases_.clear();
    receive_pool_.Reset();
    CloseChannel();
    return;
  }
  if (worker_ == nullptr) return;
  worker_->Stop();
  pending_.clear();
  worker_->TakeEvents(pending_);
  pending_.clear();
  worker_.reset();
  // The stack is gone, and nothing reads lent bytes any more.
  leases_.clear();
  receive_pool_.Reset();
  CloseChannel();
}

bool StackBinding::Alive(Napi::Env env) {
  if (running()) return true;
  Napi::Error::New(env, "stack is destroyed").ThrowAsJavaScriptException();
  return false;
}

std::shared_ptr<Inbox> StackBinding::inbox() const {
  return inline_ != nullptr ? inline_->inbox() : worker_->inbox();
}

void StackBinding::PostCommand(Command&& command) {
  posted_++;
  if (inline_ != nullptr) {
    // Removing an interface closes its kernel device's fd: the poll on it
    // closes first.
    if (auto* remove = std::get_if<command::InterfaceRemove>(&command)) UnwatchDevice(remove->id);
    // Runs now; its events wait for the turn.
    inline_->Apply(std::move(command));
    RequestTurn();
    return;
  }
  worker_->Post(std::move(command));
}

// createInterface(id, kind, [cidr, ...], mtu, mac (6-byte buffer or
// undefined), gateway (string or undefined), defaultRoute, [port id, ...])
Napi::Value StackBinding::CreateInterface(const Napi::CallbackInfo& info) {
  if (!Alive(info.Env())) return info.Env().Undefined();
  command::InterfaceCreate command{};
  command.id = IdOf(info);
  command.kind = static_cast<tcpip_interface_kind>(info[1].As<Napi::Number>().Int32Value());
  Napi::Array cidrs = info[2].As<Napi::Array>();
  for (uint32_t i = 0; i < cidrs.Length(); i++) command.cidrs.push_back(StringOr(cidrs.Get(i)));
  command.mtu = static_cast<uint16_t>(info[3].As<Napi::Number>().Uint32Value());
  if (info[4].IsTypedArray()) {
    Napi::Uint8Array mac = info[4].As<Napi::Uint8Array>();
    if (mac.ByteLength() == command.mac.size())
      std::memcpy(command.mac.data(), mac.Data(), command.mac.size());
  }
  command.gateway = StringOr(info[5]);
  command.default_route = info[6].ToBoolean();
  if (info[7].IsArray()) {
    Napi::Array ports = info[7].As<Napi::Array>();
    for (uint32_t i = 0; i < ports.Length(); i++)
      command.ports.push_back(ports.Get(i).As<Napi::Number>().Uint32Value());
  }
  PostCommand(std::move(command));
  return info.Env().Undefined();
}

Napi::Value StackBinding::RemoveInterface(const Napi::CallbackInfo& info) {
  if (Alive(info.Env())) PostCommand(command::InterfaceRemove{IdOf(info)});
  return info.Env().Undefined();
}

// interfaceInput(id, bytes) -> false when dropped for a full queue. The
// bytes are copied once, into the packet the core takes as it is.
Napi::Value StackBinding::InterfaceInput(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Alive(env)) return env.Undefined();
  uint32_t id = IdOf(info);
  Napi::Uint8Array input = info[1].As<Napi::Uint8Array>();
  size_t length = input.ByteLength();
  if (inline_ != nullptr) {
    // The core takes it now: nothing queues.
    if (length > TCPIP_PACKET_MAX) {
      PostCommand(command::InterfaceInputOversize{id, std::vector<uint8_t>(input.Data(),
                                                                           input.Data() + length)});
      return Napi::Boolean::New(env, true);
    }
    uint8_t* bytes = nullptr;
    PacketPtr packet(tcpip_packet_alloc(length, &bytes));
    if (packet == nullptr) return Napi::Boolean::New(env, false);
    if (length != 0) std::memcpy(bytes, input.Data(), length);
    PostCommand(command::InterfaceInput{id, std::move(packet)});
    return Napi::Boolean::New(env, true);
  }
  if (!worker_->InputFits(length)) return Napi::Boolean::New(env, false);
  posted_++;
  if (length > TCPIP_PACKET_MAX) {
    command::InterfaceInputOversize command{id, std::vector<uint8_t>(input.Data(),
                                                                     input.Data() + length)};
    return Napi::Boolean::New(env, worker_->PostInput(std::move(command), length));
  }
  uint8_t* bytes = nullptr;
  PacketPtr packet(tcpip_packet_alloc(length, &bytes));
  if (packet == nullptr) return Napi::Boolean::New(env, false);
  if (length != 0) std::memcpy(bytes, input.Data(), length);
  return Napi::Boolean::New(env, worker_->PostInput(command::InterfaceInput{id, std::move(packet)},
                                                    length));
}

// captureStart(id, fd): the worker writes a pcap file to `fd` and owns it
// from now on.
Napi::Value StackBinding::CaptureStart(const Napi::CallbackInfo& info) {
  if (!Alive(info.Env())) return info.Env().Undefined();
  PostCommand(command::CaptureStart{IdOf(info), UniqueFd(info[1].As<Napi::Number>().Int32Value())});
  return info.Env().Undefined();
}

// attachDevice(id, fd): the core owns the kernel device's fd from now on.
// A worker polls it itself; on the JS thread the event loop watches it, and
// an fd the loop cannot watch is refused (closed) before the core takes it.
Napi::Value StackBinding::AttachDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Alive(env)) return env.Undefined();
  uint32_t id = IdOf(info);
  int raw_fd = info[1].As<Napi::Number>().Int32Value();
  UniqueFd fd(raw_fd);
  if (inline_ != nullptr) {
    // A device attached in place of another closes the other's fd.
    UnwatchDevice(id);
    int error = WatchDevice(id, raw_fd);
    if (error != 0) {
      Napi::Error thrown = Napi::Error::New(env, std::string("uv_poll_init ") + uv_err_name(error) +
                                                     ": " + uv_strerror(error) +
                                                     " (kernel device fd " +
                                                     std::to_string(raw_fd) + ")");
      thrown.Set("code", Napi::String::New(env, uv_err_name(error)));
      thrown.Set("errno", Napi::Number::New(env, error));
      thrown.Set("syscall", Napi::String::New(env, "uv_poll_init"));
      thrown.ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  PostCommand(command::AttachDevice{id, std::move(fd)});
  return env.Undefined();
}

Napi::Value StackBinding::CaptureStop(const Napi::CallbackInfo& info) {
  if (Alive(info.Env())) PostCommand(command::CaptureStop{IdOf(info)});
  return info.Env().Undefined();
}

Napi::Value StackBinding::InterfaceStats(const Napi::CallbackInfo& info) {
  if (Alive(info.Env())) PostCommand(command::InterfaceStats{IdOf(info)});
  return info.Env().Undefined();
}

// listen(id, address, port, backlog, ipv6Only)
Napi::Value StackBinding::Listen(const Napi::CallbackInfo& info) {
  if (!Alive(info.Env())) return info.Env().Undefined();
  PostCommand(command::Listen{IdOf(info), StringOr(info[1]),
                              static_cast<uint16_t>(info[2].As<Napi::Number>().Uint32Value()),
                              info[3].As<Napi::Number>().Int32Value(), info[4].ToBoolean()});
  return info.Env().Undefined();
}

// connect(id, address, port, localAddress, localPort)
Napi::Value StackBinding::Connect(const Napi::CallbackInfo& info) {
  if (!Alive(info.Env())) return info.Env().Undefined();
  PostCommand(command::Connect{IdOf(info), StringOr(info[1]),
                               static_cast<uint16_t>(info[2].As<Napi::Number>().Uint32Value()),
                               StringOr(info[3]),
                               static_cast<uint16_t>(info[4].As<Napi::Number>().Uint32Value())});
  return info.Env().Undefined();
}

command::Write StackBinding::WriteOf(uint32_t id, const std::vector<Napi::Uint8Array>& chunks) {
  command::Write write{id, {}};
  size_t next = 0;
  while (next < chunks.size()) {
    const Napi::Uint8Array& chunk = chunks[next];
    if (chunk.ByteLength() >= kLendFrom) {
      LeaseId lease = next_lease_++;
      leases_.emplace(lease, Napi::Persistent(chunk));
      write.pieces.emplace_back(command::LentBytes{chunk.Data(), chunk.ByteLength(), lease});
      next++;
      continue;
    }
    size_t end = next;
    size_t total = 0;
    while (end < chunks.size() && chunks[end].ByteLength() < kLendFrom)
      total += chunks[end++].ByteLength();
    if (total != 0) {
      // Without memory the bytes stay behind and the core fails the socket.
      MallocBytes bytes(static_cast<unsigned char*>(std::malloc(total)));
      if (bytes != nullptr) {
        size_t offset = 0;
        for (; next < end; next++) {
          size_t length = chunks[next].ByteLength();
          if (length == 0) continue;  // an empty view may have no backing store
          std::memcpy(bytes.get() + offset, chunks[next].Data(), length);
          offset += length;
        }
      }
      write.pieces.emplace_back(command::CopiedBytes{std::move(bytes), total});
    }
    next = end;
  }
  return write;
}

// Whether the write reads some of the caller's bytes in place.
static bool Lends(const command::Write& write) {
  for (const command::WritePiece& piece : write.pieces) {
    if (std::holds_alternative<command::LentBytes>(piece)) return true;
  }
  return false;
}

// write(id, buffer) -> held: small buffers are copied, so the caller may
// reuse them at once (false); large ones are read in place until TCP has
// taken them (true: the caller must leave them alone until WRITTEN says so).
Napi::Value StackBinding::Write(const Napi::CallbackInfo& info) {
  if (!Alive(info.Env())) return info.Env().Undefined();
  Napi::Uint8Array chunk = info[1].As<Napi::Uint8Array>();
  if (inline_ != nullptr && chunk.ByteLength() < kLendFrom) {
    // The core runs now: TCP copies what its send buffer takes straight
    // from the caller's bytes, and only the rest is copied to wait.
    posted_++;
    if (chunk.ByteLength() != 0)
      inline_->WriteTransient(IdOf(info), chunk.Data(), chunk.ByteLength());
    RequestTurn();
    return Napi::Boolean::New(info.Env(), false);
  }
  command::Write write = WriteOf(IdOf(info), {chunk});
  bool held = Lends(write);
  if (!write.pieces.empty()) PostCommand(std::move(write));
  return Napi::Boolean::New(info.Env(), held);
}

// writev(id, [buffer, ...]) -> held: one command for the whole batch, each
// chunk copied or lent as write() does.
Napi::Value StackBinding::Writev(const Napi::CallbackInfo& info) {
  if (!Alive(info.Env())) return info.Env().Undefined();
  Napi::Array array = info[1].As<Napi::Array>();
  std::vector<Napi::Uint8Array> chunks;
  chunks.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++)
    chunks.push_back(array.Get(i).As<Napi::Uint8Array>());
  command::Write write = WriteOf(IdOf(info), chunks);
  bool held = Lends(write);
  if (!write.pieces.empty()) PostCommand(std::move(write));
  return Napi::Boolean::New(info.Env(), held);
}

// consumed(id, bytes): the application read this much; reopen the window.
Napi::Value StackBinding::Consumed(const Napi::CallbackInfo& info) {
  if (!Alive(info.Env())) return info.Env().Undefined();
  PostCommand(
      command::Consumed{IdOf(info), static_cast<size_t>(info[1].As<Napi::Number>().Int64Value())});
  return info.Env().Undefined();
}

Napi::Value StackBinding::Shutdown(const Napi::CallbackInfo& info) {
  if (Alive(info.Env())) PostCommand(command::Shutdown{IdOf(info)});
  return info.Env().Undefined();
}

Napi::Value StackBinding::Close(const Napi::CallbackInfo& info) {
  if (Alive(info.Env())) PostCommand(command::Close{IdOf(info)});
  return info.Env().Undefined();
}

Napi::Value StackBinding::Abort(const Napi::CallbackInfo& info) {
  if (Alive(info.Env())) PostCommand(command::Abort{IdOf(info)});
  return info.Env().Undefined();
}

// listenForeign(id, interfaceId)
Napi::Value StackBinding::ListenForeign(const Napi::CallbackInfo& info) {
  if (Alive(info.Env())) {
    PostCommand(command::ListenForeign{IdOf(info), info[1].As<Napi::Number>().Uint32Value()});
  }
  return info.Env().Undefined();
}

Napi::Value StackBinding::AcceptSyn(const Napi::CallbackInfo& info) {
  if (Alive(info.Env())) PostCommand(command::AcceptSyn{IdOf(info)});
  return info.Env().Undefined();
}

// dhcp(id, flags): starts (TCPIP_DHCP_START) or stops the interface's DHCP client.
Napi::Value StackBinding::Dhcp(const Napi::CallbackInfo& info) {
  if (Alive(info.Env()))
    PostCommand(command::InterfaceDhcp{IdOf(info), info[1].As<Napi::Number>().Uint32Value()});
  return info.Env().Undefined();
}

// slaac(id, enabled): IPv6 addresses from router advertisements, or not.
Napi::Value StackBinding::Slaac(const Napi::CallbackInfo& info) {
  if (Alive(info.Env()))
    PostCommand(command::InterfaceSlaac{IdOf(info), info[1].As<Napi::Boolean>().Value()});
  return info.Env().Undefined();
}

// setChecksums(id, enabled): for links whose ends no wire can corrupt.
Napi::Value StackBinding::SetChecksums(const Napi::CallbackInfo& info) {
  if (Alive(info.Env())) PostCommand(command::InterfaceChecksums{IdOf(info), info[1].ToBoolean()});
  return info.Env().Undefined();
}

Napi::Value StackBinding::SetNoDelay(const Napi::CallbackInfo& info) {
  if (Alive(info.Env())) PostCommand(command::SetNoDelay{IdOf(info), info[1].ToBoolean()});
  return info.Env().Undefined();
}

Napi::Value StackBinding::SetKeepAlive(const Napi::CallbackInfo& info) {
  if (!Alive(info.Env())) return info.Env().Undefined();
  PostCommand(
      command::SetKeepAlive{IdOf(info), info[1].ToBoolean(),
                            static_cast<uint32_t>(info[2].As<Napi::Number>().Int32Value())});
  return info.Env().Undefined();
}

namespace {
uint16_t PortOf(const Napi::Value& value) {
  return static_cast<uint16_t>(value.As<Napi::Number>().Uint32Value());
}
uint32_t Uint32Of(const Napi::Value& value) { return value.As<Napi::Number>().Uint32Value(); }
}  // namespace

// udpBind(id, address, port, flags)
Napi::Value StackBinding::UdpBind(const Napi::CallbackInfo& info) {
  if (Alive(info.Env())) {
    PostCommand(
        command::UdpBind{IdOf(info), StringOr(info[1]), PortOf(info[2]), Uint32Of(info[3])});
  }
  return info.Env().Undefined();
}

// udpConnect(id, address, port)
Napi::Value StackBinding::UdpConnect(const Napi::CallbackInfo& info) {
  if (Alive(info.Env())) {
    PostCommand(command::UdpConnect{IdOf(info), StringOr(info[1]), PortOf(info[2])});
  }
  return info.Env().Undefined();
}

Napi::Value StackBinding::UdpDisconnect(const Napi::CallbackInfo& info) {
  if (Alive(info.Env())) PostCommand(command::UdpDisconnect{IdOf(info)});
  return info.Env().Undefined();
}

// udpSend(id, bytes, address, port, tag, report): the bytes are copied now,
// so the caller may reuse its buffer at once, as with Node's send(). On the
// JS thread the datagram leaves now and the result says how ('OK' or the
// error's name); a worker answers with a DONE event (undefined here).
Napi::Value StackBinding::UdpSend(const Napi::CallbackInfo& info) {
  if (!Alive(info.Env())) return info.Env().Undefined();
  Napi::Uint8Array chunk = info[1].As<Napi::Uint8Array>();
  size_t length = chunk.ByteLength();
  // Without memory the bytes stay behind and the core fails the send.
  MallocBytes bytes(static_cast<unsigned char*>(std::malloc(length != 0 ? length : 1)));
  if (bytes != nullptr && length != 0) std::memcpy(bytes.get(), chunk.Data(), length);
  command::UdpSend send{IdOf(info),        StringOr(info[2]),
                        PortOf(info[3]),   command::CopiedBytes{std::move(bytes), length},
                        Uint32Of(info[4]), info[5].ToBoolean()};
  if (inline_ != nullptr) {
    tcpip_error error = inline_->UdpSend(send);
    RequestTurn();
    return Napi::String::New(info.Env(), tcpip_error_name(error));
  }
  PostCommand(std::move(send));
  return info.Env().Undefined();
}

Napi::Value StackBinding::UdpConsumed(const Napi::CallbackInfo& info) {
  if (!Alive(info.Env())) return info.Env().Undefined();
  PostCommand(command::UdpConsumed{IdOf(info),
                                   static_cast<size_t>(info[1].As<Napi::Number>().Int64Value())});
  return info.Env().Undefined();
}

// udpSetOption(id, option, value)
Napi::Value StackBinding::UdpSetOption(const Napi::CallbackInfo& info) {
  if (Alive(info.Env())) {
    PostCommand(command::UdpSetOption{IdOf(info), static_cast<tcpip_udp_option>(Uint32Of(info[1])),
                                      Uint32Of(info[2])});
  }
  return info.Env().Undefined();
}

Napi::Value StackBinding::UdpClose(const Napi::CallbackInfo& info) {
  if (Alive(info.Env())) PostCommand(command::UdpClose{IdOf(info)});
  return info.Env().Undefined();
}

// udpMembership(id, group, interfaceAddress, join): the result now on the
// JS thread ('OK' or the error's name); a worker applies it later, and
// undefined says so.
Napi::Value StackBinding::UdpMembership(const Napi::CallbackInfo& info) {
  if (!Alive(info.Env())) return info.Env().Undefined();
  command::UdpMembership membership{IdOf(info), StringOr(info[1]), StringOr(info[2]),
                                    info[3].ToBoolean()};
  if (inline_ != nullptr) {
    tcpip_error error = inline_->UdpMembership(membership);
    RequestTurn();
    return Napi::String::New(info.Env(), tcpip_error_name(error));
  }
  PostCommand(std::move(membership));
  return info.Env().Undefined();
}

// icmpEcho(identifier, sequence, address, size): as udpSend, the result now
// on the JS thread, an ECHO_REPLY with the error later from a worker.
Napi::Value StackBinding::IcmpEcho(const Napi::CallbackInfo& info) {
  if (!Alive(info.Env())) return info.Env().Undefined();
  command::IcmpEcho echo{static_cast<uint16_t>(Uint32Of(info[0])),
                         static_cast<uint16_t>(Uint32Of(info[1])), StringOr(info[2]),
                         static_cast<uint16_t>(Uint32Of(info[3]))};
  if (inline_ != nullptr) {
    tcpip_error error = inline_->IcmpEcho(echo);
    RequestTurn();
    return Napi::String::New(info.Env(), tcpip_error_name(error));
  }
  PostCommand(std::move(echo));
  return info.Env().Undefined();
}

// While referenced, the event channel keeps the event loop alive, as a
// listening server or an open socket does in Node.
Napi::Value StackBinding::Ref(const Napi::CallbackInfo& info) {
  if (channel_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(&channel_->async));
  return info.Env().Undefined();
}

Napi::Value StackBinding::Unref(const Napi::CallbackInfo& info) {
  if (channel_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(&channel_->async));
  return info.Env().Undefined();
}

// heapBytesInUse(): the process's C heap, which every native stack shares.
Napi::Value StackBinding::HeapBytesInUseMethod(const Napi::CallbackInfo& info) {
  return HeapBytesInUse(info.Env());
}

Napi::Value StackBinding::Destroy(const Napi::CallbackInfo& info) {
  Teardown();
  return info.Env().Undefined();
}

void StackBinding::OnAsync(uv_async_t* handle) {
  auto* self = static_cast<StackBinding*>(handle->data);
  if (self->inline_ != nullptr) {
    // A worker stack delivered packets over a link.
    self->RequestTurn();
    return;
  }
  if (self->worker_ == nullptr) return;
  // Nothing may leave a libuv callback. N-API failures (a worker_thread
  // being terminated) leave pending exceptions, not C++ ones
  // (NAPI_DISABLE_CPP_EXCEPTIONS); this guards what the C++ library throws.
  try {
    self->Deliver();
  } catch (...) {
    self->pending_.clear();
  }
}

// Delivers event batches. When handlers posted commands (a reply to a
// request, say), the answer usually follows within microseconds: wait for
// it briefly instead of returning to the event loop, bounded in rounds.
// While this runs the worker publishes without waking the event loop.
void StackBinding::Deliver() {
  static constexpr int kMaxRounds = 32;
  static constexpr auto kReplyWait = std::chrono::microseconds(40);
  for (int round = 0; worker_ != nullptr; round++) {
    worker_->ConsumerActive();
    worker_->TakeEvents(pending_);
    if (!pending_.empty()) {
      uint64_t posted_before = posted_;
      DispatchPending();
      if (worker_ == nullptr) return;
      if (posted_ != posted_before && round < kMaxRounds && worker_->WaitForEvents(kReplyWait)) {
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

// Copies `bytes` into the receive pool (a fresh one when the current is
// full) and returns the pool, `offset` saying where they start; nullptr
// when no pool can be made (a worker_thread being terminated). Offsets are
// 8-byte aligned, as in Node's pool.
napi_value StackBinding::PooledCopy(const EventBytes& bytes, size_t& offset) {
  size_t size = bytes.size();
  if (receive_pool_.IsEmpty() || receive_pool_used_ + size > kReceivePoolSize) {
    receive_pool_.Reset();
    receive_pool_data_ = nullptr;
    void* data = nullptr;
    napi_value pool = nullptr;
    if (napi_create_buffer(env_, kReceivePoolSize, &data, &pool) != napi_ok || data == nullptr) {
      return nullptr;
    }
    receive_pool_.Reset(Napi::Buffer<uint8_t>(env_, pool), 1);
    receive_pool_data_ = static_cast<uint8_t*>(data);
    receive_pool_used_ = 0;
  }
  offset = receive_pool_used_;
  if (size > 0) std::memcpy(receive_pool_data_ + offset, bytes.data(), size);
  receive_pool_used_ = (offset + size + 7) & ~static_cast<size_t>(7);
  return receive_pool_.Value();
}

// Puts a received payload in args[2...]: a view's pool, offset and length
// under `pooled_code` when it fits the pool, else a Buffer of its own.
// Returns the argument count so far; 0 when no pool can be made.
size_t StackBinding::PayloadArgs(Event& event, int pooled_code, napi_value* args) {
  if (event.bytes.size() > kPooledUpTo) {
    args[2] = BufferOf(env_, event.bytes, inline_ != nullptr);
    return 3;
  }
  size_t offset = 0;
  args[2] = PooledCopy(event.bytes, offset);
  if (args[2] == nullptr) return 0;
  args[0] = Napi::Number::New(env_, pooled_code);
  args[3] = Napi::Number::New(env_, static_cast<double>(offset));
  args[4] = Napi::Number::New(env_, static_cast<double>(event.bytes.size()));
  event.bytes.Reset();
  return 5;
}

void StackBinding::DispatchPending() {
  Napi::Env env = env_;
  Napi::HandleScope scope(env);
  Napi::CallbackScope callback_scope(env, *async_context_);
  Napi::Function dispatch = dispatcher_.Value();
  Napi::Value receiver = env.Undefined();
  for (size_t index = 0; index < pending_.size() && running(); index++) {
    Event& event = pending_[index];
    if (event.code == kEventWriteReleased) {
      // The core is done with a lent buffer: JS may collect it.
      leases_.erase(event.lease);
      continue;
    }
    if (event.code == kEventMerged) continue;
    Napi::HandleScope event_scope(env);
    napi_value args[8];
    size_t argc = 3;
    args[0] = Napi::Number::New(env, event.code);
    args[1] = Napi::Number::New(env, event.id);
    switch (event.code) {
      case TCPIP_EV_DATA: {
        Napi::Value merged = MergeData(env, pending_, index);
        if (!merged.IsEmpty()) {
          args[2] = merged;
          break;
        }
        argc = PayloadArgs(event, kEventPooledData, args);
        if (argc == 0) continue;
        break;
      }
      case TCPIP_EV_PACKET:
      case TCPIP_EV_LEASE:
      case TCPIP_EV_ADDRESS:
        args[2] = BufferOf(env, event.bytes, inline_ != nullptr);
        break;
      case TCPIP_EV_STATS: {
        const tcpip_interface_stats& stats = event.stats;
        Napi::Object object = Napi::Object::New(env);
        object.Set("packetsIn", Napi::Number::New(env, static_cast<double>(stats.packets_in)));
        object.Set("bytesIn", Napi::Number::New(env, static_cast<double>(stats.bytes_in)));
        object.Set("packetsOut", Napi::Number::New(env, static_cast<double>(stats.packets_out)));
        object.Set("bytesOut", Napi::Number::New(env, static_cast<double>(stats.bytes_out)));
        Napi::Object dropped = Napi::Object::New(env);
        dropped.Set("malformed",
                    Napi::Number::New(env, static_cast<double>(stats.dropped_malformed)));
        dropped.Set("oversize",
                    Napi::Number::New(env, static_cast<double>(stats.dropped_oversize)));
        dropped.Set("down", Napi::Number::New(env, static_cast<double>(stats.dropped_down)));
        dropped.Set("noMemory",
                    Napi::Number::New(env, static_cast<double>(stats.dropped_no_memory)));
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
      case TCPIP_EV_DATAGRAM:
        argc = PayloadArgs(event, kEventPooledDatagram, args);
        if (argc == 0) continue;
        args[argc++] = Napi::String::New(env, event.remote.address);
        args[argc++] = Napi::Number::New(env, event.remote.port);
        break;
      case TCPIP_EV_DONE:
        args[2] = Napi::Number::New(env, event.other_id);
        args[3] = Napi::String::New(env, tcpip_error_name(event.error));
        args[4] = Napi::Number::New(env, static_cast<double>(event.count));
        argc = 5;
        break;
      case TCPIP_EV_ECHO_REPLY:
        args[2] = Napi::Number::New(env, event.other_id);
        args[3] = Napi::String::New(env, event.remote.address);
        args[4] = Napi::Number::New(env, static_cast<double>(event.count));
        args[5] = Napi::String::New(env, tcpip_error_name(event.error));
        argc = 6;
        break;
      case TCPIP_EV_BOUND:
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
  pending_.clear();
}

// Packets a JS-thread stack's turn hands to another stack on the same thread
// (a native link) are taken by that stack's turn right after, in the same
// callback of the event loop, not on the loop's next iteration: a round trip
// between two such stacks then costs no loop iterations. Bounded, so that
// two stacks talking without end still let the loop run; what is left waits
// for the stacks' own check handles, which RequestTurn starts as well.
namespace {
struct HandedTurns {
  int depth = 0;  // turns running on this thread
  std::deque<StackBinding*> queue;
};
constexpr int kMaxHandedTurns = 16;

// One queue per JS thread. Not a thread_local: the addon's TLS block is
// swapped with each JS-thread stack's lwIP state (TlsContext), so a
// thread_local here would be one per stack. A pthread key's value lives
// with the thread itself. It is freed by an environment cleanup hook, not
// by a key destructor: a worker_thread unloads the addon before its thread
// exits, and the destructor would run from unmapped code. The thread's
// first JS-thread stack makes it before registering its own hook, and hooks
// run in reverse order: every stack is torn down before the queue goes.
pthread_key_t handed_turns_key;
pthread_once_t handed_turns_once = PTHREAD_ONCE_INIT;

HandedTurns& ThisThreadsHandedTurns(napi_env env) {
  pthread_once(&handed_turns_once, [] { pthread_key_create(&handed_turns_key, nullptr); });
  auto* turns = static_cast<HandedTurns*>(pthread_getspecific(handed_turns_key));
  if (turns == nullptr) {
    turns = new HandedTurns;
    pthread_setspecific(handed_turns_key, turns);
    napi_add_env_cleanup_hook(
        env,
        [](void* made) {
          pthread_setspecific(handed_turns_key, nullptr);
          delete static_cast<HandedTurns*>(made);
        },
        turns);
  }
  return *turns;
}
}  // namespace

void StackBinding::RequestTurn() {
  turn_wanted_ = true;
  if (inline_ != nullptr && !in_turns_ && !queued_) {
    HandedTurns& turns = ThisThreadsHandedTurns(env_);
    if (turns.depth > 0) {
      queued_ = true;
      turns.queue.push_back(this);
    }
  }
  if (turn_scheduled_ || channel_ == nullptr) return;
  turn_scheduled_ = true;
  uv_check_start(&channel_->check, &StackBinding::OnCheck);
  uv_idle_start(&channel_->idle, [](uv_idle_t*) {});
}

void StackBinding::OnCheck(uv_check_t* handle) {
  static_cast<StackBinding*>(handle->data)->RunTurns();
}

void StackBinding::OnTimer(uv_timer_t* handle) {
  static_cast<StackBinding*>(handle->data)->RunTurns();
}

// Turns of a JS-thread stack, as the wasm engine's _run: poll the core and
// dispatch its events while there are some, bounded in rounds per task so
// the event loop's other work gets its turn; then rest until lwIP's next
// timeout, a command or a delivery.
void StackBinding::RunTurns() {
  HandedTurns& turns = ThisThreadsHandedTurns(env_);
  turns.depth++;
  RunOwnTurns();
  turns.depth--;
  if (turns.depth == 0) RunHandedTurns(env_);
}

void StackBinding::RunHandedTurns(napi_env env) {
  HandedTurns& turns = ThisThreadsHandedTurns(env);
  turns.depth++;
  for (int ran = 0; ran < kMaxHandedTurns && !turns.queue.empty(); ran++) {
    StackBinding* next = turns.queue.front();
    turns.queue.pop_front();
    next->queued_ = false;
    next->RunOwnTurns();
  }
  for (StackBinding* left : turns.queue) left->queued_ = false;
  turns.queue.clear();
  turns.depth--;
}

// A stack torn down (or collected) while its turn waits in the queue.
void StackBinding::Unqueue() {
  if (!queued_) return;
  auto& queue = ThisThreadsHandedTurns(env_).queue;
  queue.erase(std::remove(queue.begin(), queue.end(), this), queue.end());
  queued_ = false;
}

void StackBinding::RunOwnTurns() {
  static constexpr int kMaxRounds = 64;
  if (in_turns_ || inline_ == nullptr) return;
  in_turns_ = true;
  Clock::time_point wake_at = Clock::time_point::max();
  try {
    for (int round = 0; round < kMaxRounds && inline_ != nullptr; round++) {
      turn_wanted_ = false;
      wake_at = inline_->Turn(pending_);
      if (pending_.empty()) {
        if (!turn_wanted_ && wake_at > Clock::now()) break;
        continue;
      }
      DispatchPending();
    }
  } catch (...) {
    // Nothing may leave a libuv callback (see OnAsync).
    pending_.clear();
  }
  in_turns_ = false;
  if (inline_ == nullptr || channel_ == nullptr) return;
  if (turn_wanted_ || wake_at <= Clock::now()) {
    turn_wanted_ = false;
    RequestTurn();
    return;
  }
  if (turn_scheduled_) {
    uv_check_stop(&channel_->check);
    uv_idle_stop(&channel_->idle);
    turn_scheduled_ = false;
  }
  if (wake_at == Clock::time_point::max()) {
    uv_timer_stop(&channel_->timer);
    return;
  }
  auto left = std::chrono::duration_cast<std::chrono::microseconds>(wake_at - Clock::now()).count();
  uv_timer_start(&channel_->timer, &StackBinding::OnTimer,
                 static_cast<uint64_t>((left + 999) / 1000), 0);
}

// Watches a JS-thread stack's kernel device: readable asks for a turn, which
// reads it (up to 256 packets: level-triggered, the poll fires again while
// more wait). Returns 0 or a libuv error (an fd epoll cannot watch, or one
// the loop already watches).
int StackBinding::WatchDevice(uint32_t id, int fd) {
  if (channel_ == nullptr) return UV_EINVAL;
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env_, &loop);
  auto* poll = new DevicePoll;
  int error = uv_poll_init(loop, &poll->handle, fd);
  if (error != 0) {
    delete poll;  // a failed init leaves no handle in the loop
    return error;
  }
  poll->channel = channel_;
  poll->handle.data = this;
  channel_->open++;  // the channel outlives the poll's close callback
  // Never holds the process open: the stack's async handle does, while ref()ed.
  uv_unref(reinterpret_cast<uv_handle_t*>(&poll->handle));
  uv_poll_start(&poll->handle, UV_READABLE, &StackBinding::OnDeviceReadable);
  device_polls_[id] = poll;
  return 0;
}

// Stops and closes a device's poll; call before the core closes its fd.
void StackBinding::UnwatchDevice(uint32_t id) {
  auto found = device_polls_.find(id);
  if (found == device_polls_.end()) return;
  DevicePoll* poll = found->second;
  device_polls_.erase(found);
  // No callback runs after uv_close(): data now names the poll.
  poll->handle.data = poll;
  uv_close(reinterpret_cast<uv_handle_t*>(&poll->handle), [](uv_handle_t* handle) {
    auto* closed = static_cast<DevicePoll*>(handle->data);
    EventChannel* channel = closed->channel;
    delete closed;
    ChannelHandleClosed(channel);
  });
}

void StackBinding::UnwatchDevices() {
  while (!device_polls_.empty()) UnwatchDevice(device_polls_.begin()->first);
}

void StackBinding::OnDeviceReadable(uv_poll_t* handle, int status, int) {
  if (status < 0) {
    // The fd failed for the loop: stop watching rather than spin; the
    // interface's turns still read it.
    uv_poll_stop(handle);
    return;
  }
  static_cast<StackBinding*>(handle->data)->RequestTurn();
}

}  // namespace tcpip
