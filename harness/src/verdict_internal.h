/*
 * verdict_internal.h - statistics helpers of verdict.c, exposed to its unit
 * test only (not part of the public fsk.h contract).
 */
#ifndef FSK_VERDICT_INTERNAL_H
#define FSK_VERDICT_INTERNAL_H

#include <stddef.h>

/* One-sided 99.9 % quantile of Student's t with df degrees of freedom. */
double fsk__t999(double df);

/* Least-squares fit of y[i] against i (i = 0..n-1): slope, intercept and
 * the lower 99.9 % one-sided bound of the slope.  -EINVAL when n < 3. */
int fsk__ols(const int *y, size_t n, double *slope, double *intercept, double *slope_lo);

#endif
