/* args.c - the flag-table parser of every fdsoak verb, its --help, and the
 * one error printer (see args.h). */
#include "args.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fsk.h"

int fsk__error(const char *verb, const char *fmt, ...) {
  va_list ap;

  fprintf(stderr, "fdsoak%s%s: ", verb != NULL ? " " : "", verb != NULL ? verb : "");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return FSK_EXIT_USAGE;
}

static int is_help(const char *a) { return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0; }

/* The flag a (up to len characters) names, or NULL. */
static const fsk__flag_t *find(const fsk__verb_t *v, const char *a, size_t len, int *idx) {
  const fsk__flag_t *f;

  for (f = v->flags; f->name != NULL; f++) {
    if ((strlen(f->name) == len && strncmp(f->name, a, len) == 0) ||
        (f->alias != NULL && strlen(f->alias) == len && strncmp(f->alias, a, len) == 0)) {
      *idx = (int)(f - v->flags);
      return f;
    }
  }
  return NULL;
}

/* A number in f's range: strtol for whole numbers, strtod otherwise. */
static int number(const fsk__verb_t *v, const fsk__flag_t *f, const char *s, double *x) {
  char *end;

  errno = 0;
  if (f->kind == FSK_ARG_LONG) {
    long l = strtol(s, &end, 10);

    *x = (double)l;
    if (errno != 0 || end == s || *end != '\0' || *x < f->lo || *x > f->hi)
      return fsk__error(v->verb, "%s: '%s' is not a whole number in %.0f..%.0f", f->name, s, f->lo,
                        f->hi);
    return 0;
  }
  *x = strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || !(*x >= f->lo && *x <= f->hi))
    return fsk__error(v->verb, "%s: '%s' is not a number in %.15g..%.15g", f->name, s, f->lo,
                      f->hi);
  return 0;
}

/* Store value s of flag f into opts. */
static int store(const fsk__verb_t *v, const fsk__flag_t *f, const char *s, void *opts) {
  char *at = (char *)opts + f->off, why[512];
  double x = 0;
  int rc;

  switch (f->kind) {
  case FSK_ARG_BOOL:
    *(int *)at = 1;
    return 0;
  case FSK_ARG_STR:
    *(const char **)at = s;
    return 0;
  case FSK_ARG_PATH:
    if (strlen(s) >= PATH_MAX - 64)
      return fsk__error(v->verb, "%s: path too long", f->name);
    memcpy(at, s, strlen(s) + 1);
    return 0;
  case FSK_ARG_CALL:
    why[0] = '\0';
    if (f->call(opts, s, why, sizeof why) != 0)
      return fsk__error(v->verb, "%s", why[0] ? why : "bad value");
    return 0;
  default:
    if ((rc = number(v, f, s, &x)) != 0)
      return rc;
    if (f->kind == FSK_ARG_REAL)
      *(double *)at = x;
    else
      *(long *)at = (long)x;
    return 0;
  }
}

/* The flag at argv[*i]: found, its value taken (`--f V` or `--f=V`), stored. */
static int one_flag(const fsk__verb_t *v, int argc, char **argv, int *i, void *opts,
                    fsk__args_t *out) {
  const char *a = argv[*i], *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL, *val;
  const fsk__flag_t *f;
  int idx = 0;

  f = find(v, a, eq != NULL ? (size_t)(eq - a) : strlen(a), &idx);
  if (f == NULL)
    return fsk__error(v->verb, "unknown flag '%.*s' (see fdsoak %s --help)",
                      eq != NULL ? (int)(eq - a) : (int)strlen(a), a, v->verb);
  out->seen |= (uint64_t)1 << idx;
  if (f->kind == FSK_ARG_BOOL) {
    if (eq != NULL)
      return fsk__error(v->verb, "%s takes no value", f->name);
    return store(v, f, NULL, opts);
  }
  val = eq != NULL ? eq + 1 : *i + 1 < argc ? argv[++*i] : NULL;
  if (val == NULL || val[0] == '\0')
    return fsk__error(v->verb, "%s needs a value (%s)", f->name, f->meta);
  return store(v, f, val, opts);
}

int fsk__args_parse(const fsk__verb_t *v, int argc, char **argv, void *opts, fsk__args_t *out) {
  int i, rc, flags = 1;

  memset(out, 0, sizeof *out);
  out->pos = argv;
  /* Help wins wherever it is, as long as it is not part of the command. */
  for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (is_help(argv[i])) {
      fsk__args_help(stdout, v);
      return 1;
    }
  }
  for (i = 0; i < argc; i++) {
    const char *a = argv[i];

    if (flags && strcmp(a, "--") == 0) {
      if (v->command) {
        out->cmd = argv + i + 1;
        out->ncmd = argc - i - 1;
        break;
      }
      flags = 0; /* everything after it is an operand */
    } else if (flags && a[0] == '-' && a[1] != '\0') {
      if ((rc = one_flag(v, argc, argv, &i, opts, out)) != 0)
        return rc;
    } else if (v->operands == NULL) {
      return fsk__error(v->verb, "unexpected '%s': %s takes no operands (see fdsoak %s --help)", a,
                        v->verb, v->verb);
    } else {
      /* Operands move to the front; a flag's value already read is behind. */
      argv[out->npos++] = argv[i];
    }
  }
  return 0;
}

int fsk__args_seen(const fsk__verb_t *v, const fsk__args_t *a, const char *name) {
  int idx = 0;

  return find(v, name, strlen(name), &idx) != NULL && (a->seen >> idx & 1) != 0;
}

/* One item of the synopsis, wrapped under the first at 80 columns. */
static void item(FILE *f, const char *s, size_t *col, size_t indent) {
  if (*col + 1 + strlen(s) > 80) {
    fprintf(f, "\n%*s", (int)indent, "");
    *col = indent;
  } else {
    fputc(' ', f);
    (*col)++;
  }
  fputs(s, f);
  *col += strlen(s);
}

void fsk__args_synopsis(FILE *f, const fsk__verb_t *v, const char *lead) {
  const fsk__flag_t *fl;
  size_t col = strlen(lead) + strlen("fdsoak ") + strlen(v->verb), indent = col + 1;
  char buf[128];

  fprintf(f, "%sfdsoak %s", lead, v->verb);
  for (fl = v->flags; fl->name != NULL; fl++) {
    if (fl->hidden)
      continue;
    if (fl->meta != NULL)
      snprintf(buf, sizeof buf, "[%s %s]", fl->alias != NULL ? fl->alias : fl->name, fl->meta);
    else
      snprintf(buf, sizeof buf, "[%s]", fl->alias != NULL ? fl->alias : fl->name);
    item(f, buf, &col, indent);
  }
  if (v->operands != NULL)
    item(f, v->operands, &col, indent);
  fputc('\n', f);
}

void fsk__args_help(FILE *f, const fsk__verb_t *v) {
  const fsk__flag_t *fl;
  char head[96];

  fsk__args_synopsis(f, v, "usage: ");
  if (v->about != NULL)
    fputs(v->about, f);
  for (fl = v->flags; fl->name != NULL; fl++) {
    const char *h = fl->help, *nl;

    snprintf(head, sizeof head, "%s%s%s%s%s", fl->alias != NULL ? fl->alias : "",
             fl->alias != NULL ? ", " : "", fl->name, fl->meta != NULL ? " " : "",
             fl->meta != NULL ? fl->meta : "");
    /* The first line beside the flag (under it when the flag is long),
     * the others under the first. */
    if (strlen(head) > 18) {
      fprintf(f, "  %s\n", head);
      head[0] = '\0';
    }
    do {
      nl = strchr(h, '\n');
      fprintf(f, "  %-18s %.*s\n", head, nl != NULL ? (int)(nl - h) : (int)strlen(h), h);
      head[0] = '\0';
      h = nl != NULL ? nl + 1 : NULL;
    } while (h != NULL);
  }
  fprintf(f, "  %-18s %s\n", "-h, --help", "this help");
  if (v->trailer != NULL)
    fputs(v->trailer, f);
}
