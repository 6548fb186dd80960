#include "device_binding.h"

#include "device.h"

namespace tcpip {

Napi::Value OpenKernelDeviceFunction(const Napi::CallbackInfo& info) {
  const char* syscall = "";
  int result = OpenKernelDevice(info[0].As<Napi::String>().Utf8Value(), info[1].ToBoolean(),
                                &syscall);
  Napi::Array pair = Napi::Array::New(info.Env(), 2);
  pair.Set(0u, Napi::Number::New(info.Env(), result));
  pair.Set(1u, Napi::String::New(info.Env(), result >= 0 ? "" : syscall));
  return pair;
}

}  // namespace tcpip
