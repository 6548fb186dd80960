// One lwIP state per stack on a thread that drives several stacks (the JS
// thread). lwIP keeps its state in thread-locals (deps/patches/0001), which
// are this addon's TLS block; a TlsContext is a saved copy of that block,
// and Enter() swaps it in: the current owner's block is copied out to its
// save area and this one's copied in. Pointers into the block (lwIP's
// tcp_pcb_lists[] holds &tcp_active_pcbs) stay valid since the block does
// not move on its thread, and a stack never changes threads.
//
// Who is loaded is kept per thread outside the swapped block (a pthread
// key), and switching is lazy: entering the loaded stack costs one lookup.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace tcpip {

class TlsContext {
 public:
  // A context whose state is the block's initial image (.tdata, then zeros
  // for .tbss), as a new thread's would be.
  TlsContext();
  // Forgets the context if it is loaded: the block then belongs to nobody.
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // Whether this platform lets the addon find its TLS block (Linux, glibc
  // or musl with dl_iterate_phdr's dlpi_tls_data). Without it only one
  // stack per thread can run.
  static bool Supported();
  // Loads this context on the calling thread, if it is not loaded already.
  void Enter();

 private:
  std::unique_ptr<uint8_t[]> image_;
};

}  // namespace tcpip
