/* unreachd.h - the namespace helper for unreachable over IPv4, non-blocking
 * (issue 22 item 1).  fdsoak starts it as its own child (never the
 * target's); it lives in a network namespace of its own where a SYN sent to
 * a reserved address is answered by a real ICMP net or host unreachable
 * while connect() still holds the socket, and it hands sockets made there
 * to the shim over a unix socket.  See unreachd.c for the namespace and
 * fault-injection/src/faults.c (fault_unreach_ns) for the shim's side. */
#ifndef FSK_UNREACHD_H
#define FSK_UNREACHD_H

#include <stddef.h>
#include <sys/types.h>

/* The environment variable that names the helper's socket to the shim. */
#define FSK_UNREACH_ENV "FDSOAK_UNREACH"

typedef struct {
  pid_t pid;     /* the helper, fdsoak's child; 0 when not running */
  char name[64]; /* its abstract unix socket name, as FSK_UNREACH_ENV holds it */
} fsk__unreachd_t;

/* Start the helper and wait until its namespace answers a probe SYN with
 * the real event.  0, or -errno with the reason in err (no user
 * namespaces, no veth, ...): the caller then leaves the shim to its
 * approximation and says why. */
int fsk__unreachd_start(fsk__unreachd_t *u, char *err, size_t cap);
/* Kill and reap the helper (by its pid). */
void fsk__unreachd_stop(fsk__unreachd_t *u);
/* `fdsoak __unreachd`: the helper in the foreground, for tests that preload
 * the shim by hand.  Prints "FDSOAK_UNREACH=NAME" once it is ready and
 * serves until its stdin reaches end of file; exit 2 when it cannot. */
int fsk__unreachd_main(int argc, char **argv);

#endif
