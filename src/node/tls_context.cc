#include "tls_context.h"

#include <cstring>
#if defined(__linux__)
#include <dlfcn.h>
#include <link.h>
#endif
#include <pthread.h>

namespace tcpip {

namespace {

// A variable in the block, to find the calling thread's block from its
// address: its offset in the block is the same on every thread.
thread_local volatile char tls_marker;

struct TlsModule {
  bool found = false;
  const uint8_t* initial = nullptr;  // the initial image, p_filesz bytes
  size_t initial_size = 0;
  size_t size = 0;  // p_memsz
  ptrdiff_t marker_offset = 0;
};

#if defined(__linux__)
struct Search {
  uintptr_t code;  // an address inside this addon
  TlsModule* module;
};

int FindModule(struct dl_phdr_info* info, size_t, void* data) {
  auto* search = static_cast<Search*>(data);
  bool ours = false;
  const ElfW(Phdr)* tls = nullptr;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& header = info->dlpi_phdr[i];
    uintptr_t start = info->dlpi_addr + header.p_vaddr;
    if (header.p_type == PT_LOAD && search->code >= start && search->code < start + header.p_memsz)
      ours = true;
    if (header.p_type == PT_TLS) tls = &header;
  }
  if (!ours) return 0;
  if (tls != nullptr && info->dlpi_tls_data != nullptr) {
    TlsModule* module = search->module;
    module->initial = reinterpret_cast<const uint8_t*>(info->dlpi_addr + tls->p_vaddr);
    module->initial_size = tls->p_filesz;
    module->size = tls->p_memsz;
    module->marker_offset = const_cast<const char*>(&tls_marker) -
                            static_cast<const char*>(info->dlpi_tls_data);
    module->found = module->marker_offset >= 0 &&
                    static_cast<size_t>(module->marker_offset) < module->size;
  }
  return 1;
}
#endif

TlsModule FindTlsModule() {
  TlsModule module;
#if defined(__linux__)
  tls_marker = 1;  // the calling thread's block exists from now on
  Search search{reinterpret_cast<uintptr_t>(&FindTlsModule), &module};
  dl_iterate_phdr(&FindModule, &search);
#endif
  return module;
}

const TlsModule& Module() {
  static const TlsModule module = FindTlsModule();
  return module;
}

pthread_key_t LoadedKey() {
  static const pthread_key_t key = [] {
    pthread_key_t created;
    pthread_key_create(&created, nullptr);
    return created;
  }();
  return key;
}

uint8_t* CurrentBlock() {
  return reinterpret_cast<uint8_t*>(const_cast<char*>(&tls_marker)) - Module().marker_offset;
}

}  // namespace

bool TlsContext::Supported() { return Module().found; }

TlsContext::TlsContext() {
  const TlsModule& module = Module();
  if (!module.found) return;
  image_.reset(new uint8_t[module.size]);
  std::memcpy(image_.get(), module.initial, module.initial_size);
  std::memset(image_.get() + module.initial_size, 0, module.size - module.initial_size);
}

TlsContext::~TlsContext() {
  if (pthread_getspecific(LoadedKey()) == this) pthread_setspecific(LoadedKey(), nullptr);
}

void TlsContext::Enter() {
  if (image_ == nullptr) return;
  pthread_key_t key = LoadedKey();
  auto* loaded = static_cast<TlsContext*>(pthread_getspecific(key));
  if (loaded == this) return;
  size_t size = Module().size;
  uint8_t* block = CurrentBlock();
  if (loaded != nullptr) std::memcpy(loaded->image_.get(), block, size);
  std::memcpy(block, image_.get(), size);
  pthread_setspecific(key, this);
}

}  // namespace tcpip
