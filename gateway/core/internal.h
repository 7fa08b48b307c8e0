/* internal.h - private declarations shared by the gateway core's sources. */
#ifndef GW_INTERNAL_H
#define GW_INTERNAL_H

#include "gw.h"
#include "util.h" /* gw__strlcpy, gw__process_guard */

#include <stdarg.h>

#define GW_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Validation of the fields common to every kind; the kind checks the rest. */
int gw__config_validate_common(const gw_platform_config_t *cfg, char *err, size_t errlen);

#ifdef GW_REGRESS
int gw__regress_drops(gw_outcome_t outcome);
#endif




/* Runner hooks the adapter base calls (runner.c). */
void gw__runner_adapter_fatal(gw_runner_t *r, gw_adapter_t *a);
#endif /* GW_INTERNAL_H */
