/* internal.h - private declarations shared by the gateway core's sources. */
#ifndef GW_INTERNAL_H
#define GW_INTERNAL_H

#include "gw.h"
#include "util.h" /* gw__strlcpy, gw__process_guard */

#include <stdarg.h>

#define GW_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* RLIMIT_NOFILE's soft and hard limits, -1 when unlimited or unknown
 * (fdcount.c): the api adapter reports them in /health/detailed and
 * /metrics, and quotes the soft one when clients are shed at the limit. */
void gw__fd_limits(long *soft, long *hard);

/* Validation of the fields common to every kind; the kind checks the rest. */
int gw__config_validate_common(const gw_platform_config_t *cfg, char *err, size_t errlen);

#ifdef GW_REGRESS
int gw__regress_drops(gw_outcome_t outcome);
#endif

/*
 * What the adapter base needs from whoever runs its adapters: the loop, a
 * log, and where a connected adapter's runtime fatal error goes.  The runner
 * embeds one as its first member (runner_base.h), so the base (adapter.c) knows
 * this interface and not the runner: the runner calls the base, never the
 * other way round.
 */
typedef struct gw__host_s gw__host_t;
struct gw__host_s {
  uv_loop_t *loop;
  void (*log)(gw__host_t *host, gw_log_level_t level, const char *msg);
  gw_log_level_t log_level; /* lines below it are not even formatted */
  void (*adapter_fatal)(gw__host_t *host, gw_adapter_t *a);
};
#endif /* GW_INTERNAL_H */
