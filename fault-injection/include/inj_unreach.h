/* inj_unreach.h - the wire format between the shim (faults.c) and fdsoak's
 * unreachable helper (harness unreachd.c): one request, one reply with the
 * socket passed by SCM_RIGHTS, on a fresh unix-socket connection per fault.
 * Kept in one place so the two sides cannot drift.  Not installed. */
#ifndef INJ_UNREACH_H
#define INJ_UNREACH_H

#include <stdint.h>

#define INJ_UNREACH_MAGIC 0x31554446u /* "FDU1" */

/* A socket of the helper's namespace like socket(AF_INET, type, protocol),
 * for an unreachable of this kind: 0 net, 1 host. */
typedef struct {
  uint32_t magic;
  int32_t type, protocol, kind;
} inj_unreach_req_t;

/* err 0: the socket comes with this reply, and addr (network order) is
 * where to send its SYN for the kernel to answer as on the real event. */
typedef struct {
  uint32_t magic;
  int32_t err;
  uint32_t addr;
} inj_unreach_rep_t;

/* A socket of the helper listening on the abstract unix socket name
 * ("@..."), for an unreachable of kind (0 net, 1 host) like
 * socket(AF_INET, type, proto), or -1; *addr gets where to connect it.
 * The connection to the helper gives up after 1 s. */
int inj_unreach_fetch(const char *name, int kind, int type, int proto, uint32_t *addr);
/* The options a program may set before connect that change what the
 * socket does, copied from its socket to the helper's where they differ
 * from the new socket's default (a buffer size is set to half the value
 * read: the kernel doubles what it is given). */
void inj_unreach_copy_opts(int from, int to);

#endif
