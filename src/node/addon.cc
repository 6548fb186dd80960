// The addon's exports: NativeStack, NativeLink, and the functions that need
// no stack.
#include <napi.h>

#include "device_binding.h"
#include "link_binding.h"
#include "stack_binding.h"
#include "tls_context.h"

namespace {

// heapBytesInUse(): the process's C heap (what bench/memory.js compares).
Napi::Value HeapBytesInUseFunction(const Napi::CallbackInfo& info) {
  return tcpip::HeapBytesInUse(info.Env());
}

Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  exports.Set("openKernelDevice", Napi::Function::New(env, tcpip::OpenKernelDeviceFunction));
  exports.Set("heapBytesInUse", Napi::Function::New(env, HeapBytesInUseFunction));
  exports.Set("NativeStack", tcpip::StackBinding::Define(env));
  exports.Set("NativeLink", tcpip::LinkBinding::Define(env));
  exports.Set("jsThreadSupported", Napi::Boolean::New(env, tcpip::TlsContext::Supported()));
  return exports;
}

}  // namespace

NODE_API_MODULE(NODE_GYP_MODULE_NAME, InitAddon)
