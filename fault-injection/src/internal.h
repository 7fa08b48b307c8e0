/*
 * internal.h — private declarations shared by spec.c, stats.c and shim.c.
 */
#ifndef INJ_INTERNAL_H
#define INJ_INTERNAL_H

#include "inj.h"

#if defined(__GNUC__)
#define INJ_LIKELY(x)   __builtin_expect(!!(x), 1)
#define INJ_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define INJ_LIKELY(x)   (x)
#define INJ_UNLIKELY(x) (x)
#endif

/* The 64-bit draw behind prob(P,SEED) for the n-th matching call. */
uint64_t inj__prob_draw(uint64_t seed, uint64_t n);

#endif /* INJ_INTERNAL_H */
