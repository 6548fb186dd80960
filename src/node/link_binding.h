// NativeLink: a native link between interfaces of two stacks (see link.h).
// JS holds it; each stack's worker holds its sending direction until
// detached.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>

#include "link.h"

namespace tcpip {

class StackBinding;

class LinkBinding : public Napi::ObjectWrap<LinkBinding> {
 public:
  static Napi::Function Define(Napi::Env env);

  // new NativeLink(stackA, interfaceA, stackB, interfaceB, headerBytes)
  explicit LinkBinding(const Napi::CallbackInfo& info);

 private:
  struct End {
    StackBinding* stack = nullptr;
    uint32_t interface_id = 0;
  };

  Napi::Value SetConditions(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Detach(const Napi::CallbackInfo& info);

  End ends_[2];
  Napi::ObjectReference stacks_[2];  // keeps the StackBindings alive while linked
  std::shared_ptr<LinkShared> shared_;
};

}  // namespace tcpip
