/*
 * results_internal.h - helpers shared by results.c and svg.c (private to
 * the result writers).
 */
#ifndef FSK_RESULTS_INTERNAL_H
#define FSK_RESULTS_INTERNAL_H

#include <limits.h>
#include <stdio.h>

#include "fsk.h"

#include <cJSON.h>

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

/* Text that came from the target (file names, stacks, its command line)
 * made safe for each kind of output (finding.c).  The length of the valid
 * UTF-8 sequence at p, 0 when it is not one (or at the end). */
size_t fsk__utf8_len(const unsigned char *p);
/* in as valid UTF-8 (each stray byte becomes U+FFFD) in out, at most cap-1
 * bytes, cut on a character boundary; returns the length. */
size_t fsk__utf8_clean(const char *in, char *out, size_t cap);
/* cJSON_AddStringToObject with the value made valid UTF-8. */
cJSON *fsk__json_str(cJSON *o, const char *key, const char *v);
/* For a terminal: control characters and stray bytes shown as \xNN. */
void fsk__term_put(FILE *f, const char *s);
/* The columns fsk__term_put takes for s (a character each, four for an
 * escaped byte): for tables that line up. */
size_t fsk__term_width(const char *s);
/* Markdown inline text: escaped so nothing becomes markup, HTML, a link or
 * a mention; newlines become spaces. */
void fsk__md_put(FILE *f, const char *s);

#endif
