#include "link_binding.h"

#include <atomic>

#include "stack_binding.h"

namespace tcpip {

Napi::Function LinkBinding::Define(Napi::Env env) {
  return DefineClass(env, "NativeLink",
                     {
                         InstanceMethod<&LinkBinding::SetConditions>("setConditions"),
                         InstanceMethod<&LinkBinding::Stats>("stats"),
                         InstanceMethod<&LinkBinding::Detach>("detach"),
                     });
}

LinkBinding::LinkBinding(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LinkBinding>(info) {
  Napi::Env env = info.Env();
  StackBinding* a = StackBinding::Unwrap(info[0].As<Napi::Object>());
  StackBinding* b = StackBinding::Unwrap(info[2].As<Napi::Object>());
  if (a == nullptr || b == nullptr || !a->running() || !b->running()) {
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
    from.stack->PostCommand(
        command::AttachLink{from.interface_id,
                            std::make_shared<LinkDirection>(shared_, direction, to.stack->inbox(),
                                                            to.interface_id, header_bytes, seed)});
  }
}

static double NumberOr(const Napi::Object& object, const char* key, double fallback) {
  Napi::Value value = object.Get(key);
  return value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : fallback;
}

// setConditions({ latency, jitter, loss, duplicate, reorder, rate, mtu, queue, up }),
// values checked by the JS layer.
Napi::Value LinkBinding::SetConditions(const Napi::CallbackInfo& info) {
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

static Napi::Object CountersObject(Napi::Env env, const LinkCounters& published) {
  tcpip_link_counters counters = published.Read();
  Napi::Object object = Napi::Object::New(env);
  auto set = [&](const char* key, uint64_t value) {
    object.Set(key, Napi::Number::New(env, static_cast<double>(value)));
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

Napi::Value LinkBinding::Stats(const Napi::CallbackInfo& info) {
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("aToB", CountersObject(info.Env(), shared_->counters[0]));
  result.Set("bToA", CountersObject(info.Env(), shared_->counters[1]));
  return result;
}

// Gives both interfaces back to JS hooks; a stack already gone is skipped.
Napi::Value LinkBinding::Detach(const Napi::CallbackInfo& info) {
  for (End& end : ends_) {
    if (end.stack != nullptr && end.stack->running()) {
      end.stack->PostCommand(command::DetachLink{end.interface_id});
    }
    end.stack = nullptr;
  }
  stacks_[0].Reset();
  stacks_[1].Reset();
  return info.Env().Undefined();
}

}  // namespace tcpip
