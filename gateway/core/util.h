/*
 * util.h - the two helpers of the core that a daemon needs on its own.
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

/* For the daemons, first thing in main: fds 0-2 made valid (/dev/null
 * where closed) and SIGPIPE ignored.  0 or a negative errno. */
int gw__process_guard(void);

#endif /* GW_UTIL_H */
