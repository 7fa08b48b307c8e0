/* util.c - gw__strlcpy, gw__grow and gw__process_guard (util.h): libc
 * only, so a daemon that is not the gateway core (fdsoak-platformd) can
 * link them. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int gw__grow(void *arrp, size_t *cap, size_t need, size_t size, size_t first, size_t max) {
  void *arr, *p;
  size_t c;

  if (need <= *cap)
    return 0;
  c = *cap != 0 ? *cap : (first != 0 ? first : 1);
  while (c < need) {
    if (c > SIZE_MAX / 2)
      return -EOVERFLOW;
    c *= 2;
  }
  if (max != 0 && c > max)
    c = max;
  if (c < need || (size != 0 && c > SIZE_MAX / size))
    return -EOVERFLOW;
  /* The array pointer is read and written as bytes: arrp is a T ** for
   * any T, which a void ** may not alias. */
  memcpy(&arr, arrp, sizeof(arr));
  p = realloc(arr, c * size);
  if (p == NULL)
    return -ENOMEM;
  memcpy(arrp, &p, sizeof(p));
  *cap = c;
  return 0;
}

void gw__strlcpy(char *dst, const char *src, size_t size) {
  size_t n;

  if (size == 0)
    return;
  if (src == NULL)
    src = "";
  n = strlen(src);
  if (n >= size)
    n = size - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

int gw__process_guard(void) {
  int fd;

  /* A daemon started with stdin, stdout or stderr closed (`cmd <&- >&-`,
   * some supervisors) would get its next fds -- libuv's epoll, its signal
   * pipe, a client socket -- at 0, 1 and 2, and every log line would then be
   * written into one of them; libuv aborts when its own fd is clobbered.
   * /dev/null fills the holes before anything else is opened. */
  for (;;) {
    if (fcntl(0, F_GETFD) != -1 && fcntl(1, F_GETFD) != -1 && fcntl(2, F_GETFD) != -1)
      break;
    fd = open("/dev/null", O_RDWR);
    if (fd < 0)
      return -errno;
    if (fd > 2) {
      close(fd); /* cannot happen: the lowest free fd is one of 0..2 */
      break;
    }
  }
  /* A peer that closes while we write must be an EPIPE on that one
   * connection, not the death of the process. */
  if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
    return -errno;
  return 0;
}
