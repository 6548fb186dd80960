// Kernel TUN/TAP devices, as the addon offers them to JS.
#pragma once

#include <napi.h>

namespace tcpip {

// openKernelDevice(name, tap) -> [fd, ''] or [-errno, syscall]
Napi::Value OpenKernelDeviceFunction(const Napi::CallbackInfo& info);

}  // namespace tcpip
