/* lwIP's assertions in wasm (deps/port/arch/cc.h): the message goes out in
 * one WASI fd_write to stderr, which the host prints, then abort() traps.
 * No stdio: printf would add a few KB to the module. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

__attribute__((noreturn, cold)) void tcpip_wasm_assert_failed(const char *message, const char *file,
                                                              int line);

void tcpip_wasm_assert_failed(const char *message, const char *file, int line) {
  char digits[12];
  char *first = digits + sizeof digits;
  unsigned n = line > 0 ? (unsigned)line : 0u;
  do {
    *--first = (char)('0' + n % 10u);
    n /= 10u;
  } while (n != 0u);
  const char *parts[] = {"tcpip: lwIP assertion \"", message, "\" failed at ", file, ":"};
  __wasi_ciovec_t iov[7];
  for (int i = 0; i < 5; i++) {
    iov[i].buf = (const uint8_t *)parts[i];
    iov[i].buf_len = strlen(parts[i]);
  }
  iov[5].buf = (const uint8_t *)first;
  iov[5].buf_len = (size_t)(digits + sizeof digits - first);
  iov[6].buf = (const uint8_t *)"\n";
  iov[6].buf_len = 1;
  __wasi_size_t written;
  (void)__wasi_fd_write(2, iov, 7, &written);
  abort();
}
