/*
 * verdict_internal.h - statistics helpers of verdict.c, exposed to its unit
 * test only (not part of the public fsk.h contract).
 */
#ifndef FSK_VERDICT_INTERNAL_H
#define FSK_VERDICT_INTERNAL_H

#include <stddef.h>

/* One-sided 99.9 % quantile of Student's t with df degrees of freedom. */
double fsk__t999(double df);
/* The t value with P(T > t) = tail, df degrees of freedom. */
double fsk__tq(double df, double tail);

/* Least-squares fit of y[i] against i (i = 0..n-1): slope, intercept and
 * the lower 99.9 % one-sided bound of the slope.  -EINVAL when n < 3. */
int fsk__ols(const int *y, size_t n, double *slope, double *intercept, double *slope_lo);

/* A least-squares fit of y against x, with the lag-1 autocorrelation of its
 * residuals and the slope's bound corrected for it. */
typedef struct {
  double slope, intercept;
  double se;       /* standard error of the slope, inflated by (1+r1)/(1-r1) */
  double slope_lo; /* lower 99.9 % one-sided bound with n_eff - 2 df */
  double r1;       /* lag-1 autocorrelation of the residuals, in [0, 0.98] */
  double n_eff;    /* n (1-r1)/(1+r1), at least 3 */
} fsk__fit_t;

/* -EINVAL when n < 3, -EDOM when every x is the same. */
int fsk__olsx(const double *x, const int *y, size_t n, fsk__fit_t *f);

#endif
