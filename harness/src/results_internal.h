/*
 * results_internal.h - helpers shared by results.c and svg.c (private to
 * the result writers).
 */
#ifndef FSK_RESULTS_INTERNAL_H
#define FSK_RESULTS_INTERNAL_H

#include <limits.h>
#include <stdio.h>

#include "fsk.h"

/* A file written under a temporary name and renamed into place. */
typedef struct {
  FILE *f;
  char tmp[PATH_MAX]; /* DIR/.NAME.tmp */
  char dst[PATH_MAX]; /* DIR/NAME */
} fsk__atomic_t;

int fsk__atomic_open(const char *file, fsk__atomic_t *a);
/* Flush, fsync, close and rename when err == 0 and the stream is clean;
 * else remove the temporary.  Returns err or the first I/O error. */
int fsk__atomic_close(fsk__atomic_t *a, int err);

/* Text and attribute values. */
void fsk__xml_escape(FILE *f, const char *s);

/* First and last post-warm-up count; -ENODATA when the run never got
 * past warm-up. */
/* mkdir -p: every missing directory of dir, 0755; -ENOTDIR when a part is
 * not a directory. */
int fsk__mkdir_p(const char *dir);
int fsk__scenario_ends(const fsk_scenario_t *s, int *first, int *last);

#endif
