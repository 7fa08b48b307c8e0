/*
 * util.h - the libc-only helpers under the whole gateway: infra/ and the
 * core use them, and the daemons need them on their own.
 *
 * fdsoak-gateway and fdsoak-platformd include this and not internal.h:
 * internal.h is the core's private face, this is all a process's main()
 * needs from it.  util.c depends on libc alone, so fdsoak-platformd links
 * it (through gw_util) without the gateway core.
 */
#ifndef GW_UTIL_H
#define GW_UTIL_H

#include <stddef.h>

/* snprintf that never overflows and never leaves dst unterminated. */
void gw__strlcpy(char *dst, const char *src, size_t size);

/*
 * The one way to grow an array (ci/checksrc allows realloc nowhere else):
 * make room for `need` elements of `size` bytes in the array whose address
 * is arrp (a T **), of capacity *cap elements, doubling from `first` and
 * never past `max` (0: no bound; the caller has checked need <= max).
 * Returns 0, or -ENOMEM / -EOVERFLOW with the array and *cap unchanged.
 */
int gw__grow(void *arrp, size_t *cap, size_t need, size_t size, size_t first, size_t max);

/* For the daemons, first thing in main: fds 0-2 made valid (/dev/null
 * where closed) and SIGPIPE ignored.  0 or a negative errno. */
int gw__process_guard(void);

#endif /* GW_UTIL_H */
