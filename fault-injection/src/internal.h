/*
 * internal.h — private declarations shared by spec.c and stats.c (the pure
 * inj_spec library) and the shim's units.
 */
#ifndef INJ_INTERNAL_H
#define INJ_INTERNAL_H

#include "inj.h"

#if defined(__GNUC__)
#define INJ_LIKELY(x) __builtin_expect(!!(x), 1)
#define INJ_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define INJ_LIKELY(x) (x)
#define INJ_UNLIKELY(x) (x)
#endif

/* The 64-bit draw behind prob(P,SEED) for the n-th matching call. */
uint64_t inj__prob_draw(uint64_t seed, uint64_t n);

/* ---- stats page writer (stats.c; pure, so inj_spec carries it) ----------------------------------------- */

int inj__page_matches_spec(const inj_stats_page_t *pg, const inj_spec_t *s);
/* Map path and either attach to a page with the same spec or initialise it
   (init_cb runs with the file locked, before the magic is published).
   Returns 0 or a negative errno; *out is the mapped page. */
int inj__stats_attach(const char *path, const inj_spec_t *s, inj_stats_page_t **out,
                      void (*init_cb)(inj_stats_page_t *pg, int fresh));

#endif /* INJ_INTERNAL_H */
