/*
 * finding.c - the one renderer of a leak finding.
 *
 * A leak of hundreds of fds comes from a handful of places.  A person
 * wants to read one line per place, the way LeakSanitizer and valgrind
 * report leaks: "117 x file store.db, opened in attempts 3 to 342, at
 * Store.__init__ (leaky.py:6)", then the stack once.  The terminal (run,
 * watch, report, bisect), report.md, the job summary, gate and SARIF all
 * print through here, so they cannot disagree.
 *
 * Everything printed here came from the target: file names, function
 * names, a command line.  None of it may reach a terminal as an escape
 * sequence, become markup in markdown, or make a file invalid UTF-8, so
 * each output has its own escaping.
 */
#include "fsk.h"
#include "results_internal.h"

#include <cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Frames                                                               */
/* ------------------------------------------------------------------ */

/* Code that is not the program's own: the interpreter, the C library,
 * installed packages, fdsoak's own hooks. */
static int runtime_file(const char *file) {
  static const char *const prefix[] = {
    "/usr/", "/lib/", "/opt/", "<", "node:", "internal/", "../", "./", "/build/"};
  static const char *const inside[] = {"/site-packages/", "/dist-packages/", "/node_modules/",
                                       "/lib/python3",    "/harness/lang/",  "fdsoak-origins.js"};
  size_t i;

  if (file[0] == '\0')
    return 1;
  for (i = 0; i < sizeof prefix / sizeof prefix[0]; i++)
    if (strncmp(file, prefix[i], strlen(prefix[i])) == 0)
      return 1;
  for (i = 0; i < sizeof inside / sizeof inside[0]; i++)
    if (strstr(file, inside[i]) != NULL)
      return 1;
  return 0;
}

/* "fn (file:line)", "fn" or "object+0xoff", from s to e. */
static void parse_frame(const char *s, const char *e, int lang, fsk_frame_t *fr) {
  const char *open = NULL, *p, *colon;
  size_t len;

  memset(fr, 0, sizeof *fr);
  fr->lang = lang;
  while (s < e && *s == ' ')
    s++;
  while (e > s && e[-1] == ' ')
    e--;
  if (e > s && e[-1] == ')')
    for (p = e - 1; p > s; p--)
      if (p[-1] == ' ' && p[0] == '(') {
        open = p;
        break;
      }
  if (open != NULL) {
    colon = NULL;
    for (p = e - 1; p > open; p--)
      if (*p == ':') {
        colon = p;
        break;
      }
    len = (size_t)(open - 1 - s);
    snprintf(fr->fn, sizeof fr->fn, "%.*s", (int)len, s);
    if (colon != NULL) {
      char *end;
      long l = strtol(colon + 1, &end, 10);

      if (end == e - 1 && l > 0 && l < INT_MAX) {
        fr->line = (int)l;
        snprintf(fr->file, sizeof fr->file, "%.*s", (int)(colon - open - 1), open + 1);
      }
    }
    if (fr->line == 0)
      snprintf(fr->fn, sizeof fr->fn, "%.*s", (int)(e - s), s);
  } else {
    snprintf(fr->fn, sizeof fr->fn, "%.*s", (int)(e - s), s);
  }
  /* A native frame's source is the user's when it is an absolute path:
   * a distribution's libraries were compiled elsewhere, and their debug
   * info names relative paths (Objects/call.c). */
  fr->user = fr->line > 0 && !runtime_file(fr->file) && (lang || fr->file[0] == '/');
}

/* The frames of "F <- F <- F" from s to e, appended to out. */
static void parse_chain(const char *s, const char *e, int lang, fsk_frame_t *out, size_t max,
                        size_t *n) {
  while (s < e && *n < max) {
    const char *sep = strstr(s, " <- ");

    if (sep == NULL || sep > e)
      sep = e;
    if (sep > s)
      parse_frame(s, sep, lang, &out[(*n)++]);
    s = sep + (sep < e ? 4 : 0);
    if (sep == e)
      break;
  }
}

void fsk_origin_frames(const char *origin, fsk_frame_t *out, size_t max, size_t *n) {
  const char *p = origin != NULL ? origin : "";
  size_t i, lang = 0;

  *n = 0;
  /* "context; by LANG; opened by OP() at NATIVE": parts split at "; ". */
  while (*p) {
    const char *end = strstr(p, "; "), *at;

    if (end == NULL)
      end = p + strlen(p);
    if (strncmp(p, "by ", 3) == 0) {
      parse_chain(p + 3, end, 1, out, max, n);
    } else if (strncmp(p, "opened by ", 10) == 0 && (at = strstr(p, ") at ")) != NULL && at < end) {
      parse_chain(at + 5, end, 0, out, max, n);
    }
    p = *end ? end + 2 : end;
  }
  /* With a program's language frames, the native ones are its
   * interpreter's, wherever that was built (a pyenv build under /tmp). */
  for (i = 0; i < *n; i++)
    lang += out[i].lang;
  for (i = 0; lang > 0 && i < *n; i++)
    if (!out[i].lang)
      out[i].user = 0;
}

/* ------------------------------------------------------------------ */
/* Groups                                                               */
/* ------------------------------------------------------------------ */

#define FRAMES_MAX 48

/* Sockets, pipes and anonymous inodes differ only by inode: one group. */
static void group_target(const fsk_leak_t *l, char *out, size_t len) {
  const char *br = strstr(l->target, ":[");

  if (l->cls != FSK_FD_FILE && l->cls != FSK_FD_DEVICE && br != NULL &&
      strncmp(l->target, "anon_inode:", 11) != 0)
    snprintf(out, len, "%.*s", (int)(br - l->target), l->target);
  else
    snprintf(out, len, "%s", l->target);
}

/* A program that names a file per attempt (store-3.db, store-6.db) leaks
 * one thing, not one per name: digit runs are one '*'. */
static void target_key(const char *t, char *out, size_t len) {
  size_t o = 0;

  for (; *t && o + 1 < len; t++) {
    if (*t >= '0' && *t <= '9') {
      if (o == 0 || out[o - 1] != '*')
        out[o++] = '*';
      continue;
    }
    out[o++] = *t;
  }
  out[o] = '\0';
}

/* The place of a leak: its first frame in the program's own code, else
 * its first frame at all. */
static void leak_where(const fsk_leak_t *l, fsk_frame_t *where) {
  fsk_frame_t fr[FRAMES_MAX];
  size_t n, i;

  memset(where, 0, sizeof *where);
  fsk_origin_frames(l->origin, fr, FRAMES_MAX, &n);
  for (i = 0; i < n; i++)
    if (fr[i].user) {
      *where = fr[i];
      return;
    }
  /* No frame of the program's own (a stack cut short inside a library):
   * the first with a name says more than an offset. */
  for (i = 0; i < n; i++)
    if (strstr(fr[i].fn, "+0x") == NULL) {
      *where = fr[i];
      return;
    }
  if (n > 0)
    *where = fr[0];
}

static int same_where(const fsk_frame_t *a, const fsk_frame_t *b) {
  return a->line == b->line && strcmp(a->fn, b->fn) == 0 && strcmp(a->file, b->file) == 0;
}

static int group_cmp(const void *pa, const void *pb) {
  const fsk_group_t *a = pa, *b = pb;

  if (a->count != b->count)
    return a->count > b->count ? -1 : 1;
  if (a->first != b->first)
    return a->first < b->first ? -1 : 1;
  return a->sample < b->sample ? -1 : a->sample > b->sample;
}

/* Common prefix and suffix of a and b, never ending (starting) inside a
 * run of digits: store-3.db and store-30.db share "store-" and ".db". */
static void common_ends(const char *a, const char *b, size_t *pre, size_t *suf) {
  size_t la = strlen(a), lb = strlen(b), p = 0, q = 0;

  while (p < la && p < lb && p < *pre && a[p] == b[p])
    p++;
  while (p > 0 && a[p - 1] >= '0' && a[p - 1] <= '9')
    p--;
  while (q < la - p && q < lb - p && q < *suf && a[la - 1 - q] == b[lb - 1 - q])
    q++;
  while (q > 0 && a[la - q] >= '0' && a[la - q] <= '9')
    q--;
  *pre = p;
  *suf = q;
}

int fsk_group_leaks(const fsk_scenario_t *s, fsk_group_t **out, size_t *n) {
  fsk_group_t *g = NULL;
  size_t ng = 0, i, j, *ends;

  *out = NULL;
  *n = 0;
  if (s == NULL || s->leaked == NULL || s->nleaked == 0)
    return 0;
  g = calloc(s->nleaked, sizeof *g);
  ends = calloc(s->nleaked * 2, sizeof *ends);
  if (g == NULL || ends == NULL) {
    free(g);
    free(ends);
    return -ENOMEM;
  }
  for (i = 0; i < s->nleaked; i++) {
    const fsk_leak_t *l = &s->leaked[i];
    fsk_group_t c;

    memset(&c, 0, sizeof c);
    c.cls = l->cls;
    group_target(l, c.target, sizeof c.target);
    target_key(c.target, c.key, sizeof c.key);
    leak_where(l, &c.where);
    for (j = 0; j < ng; j++)
      if (g[j].cls == c.cls && strcmp(g[j].key, c.key) == 0 && same_where(&g[j].where, &c.where))
        break;
    if (j == ng) {
      c.first = c.last = l->opened_cycle;
      c.exact = 1;
      c.pid = l->pid;
      c.pids = 1;
      c.sample = i;
      ends[2 * ng] = ends[2 * ng + 1] = SIZE_MAX;
      g[ng++] = c;
    }
    g[j].count++;
    if (strcmp(g[j].target, c.target) != 0)
      common_ends(g[j].target, c.target, &ends[2 * j], &ends[2 * j + 1]);
    if (l->opened_cycle < g[j].first)
      g[j].first = l->opened_cycle;
    if (l->opened_cycle > g[j].last)
      g[j].last = l->opened_cycle;
    g[j].exact &= l->opened_exact != 0;
    if (l->pid != g[j].pid)
      g[j].pids = 2;
  }
  /* Names that differ: what they share, with a '*' for the rest. */
  for (j = 0; j < ng; j++) {
    if (ends[2 * j] == SIZE_MAX)
      continue;
    {
      char t[FSK_TARGET_MAX];
      size_t len = strlen(g[j].target);

      snprintf(t, sizeof t, "%.*s*%s", (int)ends[2 * j], g[j].target,
               g[j].target + len - ends[2 * j + 1]);
      snprintf(g[j].target, sizeof g[j].target, "%s", t);
    }
  }
  free(ends);
  qsort(g, ng, sizeof *g, group_cmp);
  *out = g;
  *n = ng;
  return 0;
}

/* How many places the groups come from (a place may open a file and its
 * -wal: two groups). */
static size_t places_of(const fsk_group_t *g, size_t n) {
  size_t i, j, k = 0;

  for (i = 0; i < n; i++) {
    for (j = 0; j < i; j++)
      if (same_where(&g[i].where, &g[j].where))
        break;
    k += j == i;
  }
  return k;
}

/* "12 leaked fds from 3 places", or "in 4 groups from 3 places". */
static void count_line(FILE *f, const fsk_scenario_t *s, const fsk_group_t *g, size_t n) {
  size_t p = places_of(g, n);

  fprintf(f, "%zu leaked fd%s ", s->nleaked, s->nleaked == 1 ? "" : "s");
  if (p != n)
    fprintf(f, "in %zu groups ", n);
  fprintf(f, "from %zu place%s:\n", p, p == 1 ? "" : "s");
}

/* ------------------------------------------------------------------ */
/* The words                                                            */
/* ------------------------------------------------------------------ */

/* A file as a person reads it: relative to the working directory when
 * inside it. */
static const char *short_file(const char *file) {
  static char cwd[PATH_MAX];
  size_t n;

  if (cwd[0] == '\0' && getcwd(cwd, sizeof cwd) == NULL)
    cwd[0] = '/';
  n = strlen(cwd);
  if (n > 1 && strncmp(file, cwd, n) == 0 && file[n] == '/')
    return file + n + 1;
  return file;
}

static void frame_text(const fsk_frame_t *fr, char *buf, size_t len) {
  if (fr->line > 0)
    snprintf(buf, len, "%s (%s:%d)", fr->fn, short_file(fr->file), fr->line);
  else
    snprintf(buf, len, "%s", fr->fn[0] ? fr->fn : "an unknown place");
}

/* "attempts 3 to 342", "attempt 7", "seconds 1 to 30"... and whether it
 * is exact: a sample's attempt is later than the fd's own. */
static void when_text(const fsk_scenario_t *s, const fsk_group_t *g, char *buf, size_t len) {
  const char *u = s->unit == NULL                 ? "cycle"
                  : strcmp(s->unit, "hour") == 0  ? "second"
                  : strcmp(s->unit, "cycle") == 0 ? "cycle"
                                                  : s->unit;
  int n;

  if (g->first == g->last)
    n = snprintf(buf, len, "%s %s %ld", g->exact ? "opened in" : "first seen at", u, g->first);
  else
    n = snprintf(buf, len, "%s %ss %ld to %ld", g->exact ? "opened in" : "first seen at", u,
                 g->first, g->last);
  if (!g->exact && n > 0 && (size_t)n < len)
    snprintf(buf + n, len - (size_t)n, " (sampled, not exact)");
}

static void head_text(const fsk_scenario_t *s, const fsk_group_t *g, char *buf, size_t len) {
  char where[FSK_FRAME_FN_MAX + FSK_FRAME_FILE_MAX + 32], when[160];
  const char *tgt = g->cls == FSK_FD_FILE ? short_file(g->target) : g->target;

  frame_text(&g->where, where, sizeof where);
  when_text(s, g, when, sizeof when);
  snprintf(buf, len, "%zu x %s %s, %s, at %s", g->count, fsk_fdclass_name(g->cls), tgt, when,
           where);
}

/* The frames worth reading: the program's own and the one each enters the
 * runtime at; runs of runtime frames are counted, not printed. */
typedef void (*frame_put_cb)(FILE *f, const char *text, int lang, int index, size_t hidden);

static void stack_walk(FILE *f, const fsk_leak_t *l, frame_put_cb put) {
  fsk_frame_t fr[FRAMES_MAX];
  size_t n, i, hidden = 0, any_lang = 0, any_user = 0;
  int k = 0;

  fsk_origin_frames(l->origin, fr, FRAMES_MAX, &n);
  for (i = 0; i < n; i++) {
    any_lang += fr[i].lang;
    any_user += fr[i].user;
  }
  for (i = 0; i < n; i++) {
    char text[FSK_FRAME_FN_MAX + FSK_FRAME_FILE_MAX + 32];
    /* With language frames the native ones are the interpreter's: one
     * count says so.  Else the runtime frames around the program's own
     * (libc's open, SQLite's) are counted, not printed; with no frame of
     * the program's own, the first few are the best there is. */
    int show = any_lang ? fr[i].lang && (fr[i].user || !any_user) : any_user ? fr[i].user : k < 8;

    if (!show) {
      hidden++;
      continue;
    }
    frame_text(&fr[i], text, sizeof text);
    put(f, text, fr[i].lang, k++, hidden);
    hidden = 0;
  }
  if (hidden > 0 || n == 0)
    put(f, NULL, 0, k, n == 0 ? 0 : hidden);
}

static void term_frame(FILE *f, const char *text, int lang, int index, size_t hidden) {
  (void)lang;
  if (hidden > 0)
    fprintf(f, "          (%zu frame%s of the runtime)\n", hidden, hidden == 1 ? "" : "s");
  if (text == NULL) {
    if (index == 0 && hidden == 0)
      fputs("          (no stack: the fd's creation was not recorded)\n", f);
    return;
  }
  fprintf(f, "        #%d ", index);
  fsk__term_put(f, text);
  fputc('\n', f);
}

static void md_frame(FILE *f, const char *text, int lang, int index, size_t hidden) {
  (void)lang;
  if (hidden > 0)
    fprintf(f, "   - (%zu frame%s of the runtime)\n", hidden, hidden == 1 ? "" : "s");
  if (text == NULL) {
    if (index == 0 && hidden == 0)
      fputs("   - (no stack: the fd's creation was not recorded)\n", f);
    return;
  }
  fprintf(f, "   - %d\\. ", index);
  fsk__md_put(f, text);
  fputc('\n', f);
}

static void context_of(const fsk_scenario_t *s, const fsk_group_t *g, char *buf, size_t len) {
  const char *o = s->leaked[g->sample].origin, *semi = strstr(o, "; ");

  /* The part before the first "; " says where (the process, the
   * scenario): the stack follows it. */
  if (strncmp(o, "by ", 3) == 0 || strncmp(o, "opened by ", 10) == 0)
    semi = o;
  snprintf(buf, len, "%.*s", (int)(semi != NULL ? semi - o : (ptrdiff_t)strlen(o)), o);
  if (g->pids > 1) {
    size_t n = strlen(buf);

    snprintf(buf + n, len - n, "%s", n ? " and other processes" : "several processes");
  }
}

void fsk_findings_print(FILE *out, const fsk_scenario_t *s, size_t max_groups) {
  fsk_group_t *g;
  size_t n, i;
  char line[FSK_TARGET_MAX + FSK_FRAME_FN_MAX + FSK_FRAME_FILE_MAX + 256];

  if (out == NULL || s == NULL || fsk_group_leaks(s, &g, &n) != 0 || n == 0)
    return;
  fputs("    ", out);
  count_line(out, s, g, n);
  for (i = 0; i < n && i < max_groups; i++) {
    head_text(s, &g[i], line, sizeof line);
    fprintf(out, "    %zu) ", i + 1);
    fsk__term_put(out, line);
    fputc('\n', out);
    context_of(s, &g[i], line, sizeof line);
    if (line[0]) {
      fputs("        in ", out);
      fsk__term_put(out, line);
      fputc('\n', out);
    }
    stack_walk(out, &s->leaked[g[i].sample], term_frame);
  }
  if (n > max_groups)
    fprintf(out, "    ... and %zu more group%s (every one in summary.json)\n", n - max_groups,
            n - max_groups == 1 ? "" : "s");
  free(g);
}

void fsk_findings_markdown(FILE *out, const fsk_scenario_t *s, size_t max_groups) {
  fsk_group_t *g;
  size_t n, i;
  char line[FSK_TARGET_MAX + FSK_FRAME_FN_MAX + FSK_FRAME_FILE_MAX + 256];

  if (out == NULL || s == NULL || fsk_group_leaks(s, &g, &n) != 0 || n == 0)
    return;
  count_line(out, s, g, n);
  fputc('\n', out);
  for (i = 0; i < n && i < max_groups; i++) {
    head_text(s, &g[i], line, sizeof line);
    fprintf(out, "%zu. **", i + 1);
    fsk__md_put(out, line);
    fputs("**", out);
    context_of(s, &g[i], line, sizeof line);
    if (line[0]) {
      fputs(" in ", out);
      fsk__md_put(out, line);
    }
    fputc('\n', out);
    stack_walk(out, &s->leaked[g[i].sample], md_frame);
  }
  if (n > max_groups)
    fprintf(out, "\n... and %zu more group%s (every one in `summary.json`)\n", n - max_groups,
            n - max_groups == 1 ? "" : "s");
  fputc('\n', out);
  free(g);
}

/* ------------------------------------------------------------------ */
/* SARIF 2.1.0                                                          */
/* ------------------------------------------------------------------ */

static cJSON *add_str(cJSON *o, const char *key, const char *v) { return fsk__json_str(o, key, v); }

/* A URI reference for a file: repository-relative when under root (what
 * code scanning annotates), else an absolute file: URI.  Percent-encoded
 * outside RFC 3986's unreserved characters and '/'. */
static void file_uri(const char *file, const char *root, char *buf, size_t len, int *relative) {
  const unsigned char *p = (const unsigned char *)file;
  size_t rl = root != NULL ? strlen(root) : 0, o = 0;

  while (rl > 1 && root[rl - 1] == '/')
    rl--;
  *relative = 0;
  if (rl > 0 && strncmp(file, root, rl) == 0 && file[rl] == '/') {
    p += rl + 1;
    *relative = 1;
  } else if (file[0] == '/') {
    o = (size_t)snprintf(buf, len, "file://");
  } else {
    *relative = 1; /* already relative: to where the program ran */
  }
  for (; *p && o + 4 < len; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        strchr("-._~/", *p) != NULL)
      buf[o++] = (char)*p;
    else
      o += (size_t)snprintf(buf + o, len - o, "%%%02X", *p);
  }
  buf[o] = '\0';
}

/* A frame's location; a file only where it is the program's own (a
 * runtime's sources are not in the repository) or where told to. */
static cJSON *location(const fsk_frame_t *fr, const char *root, const char *message, int file) {
  cJSON *loc = cJSON_CreateObject(), *phys, *art, *reg, *m;
  char uri[FSK_FRAME_FILE_MAX * 3 + 16];
  int rel;

  if (loc == NULL)
    return NULL;
  if (fr->line > 0 && fr->file[0] && (file || fr->user)) {
    phys = cJSON_AddObjectToObject(loc, "physicalLocation");
    art = cJSON_AddObjectToObject(phys, "artifactLocation");
    file_uri(fr->file, root, uri, sizeof uri, &rel);
    cJSON_AddStringToObject(art, "uri", uri);
    if (rel && root != NULL && root[0])
      cJSON_AddStringToObject(art, "uriBaseId", "SRCROOT");
    reg = cJSON_AddObjectToObject(phys, "region");
    cJSON_AddNumberToObject(reg, "startLine", fr->line);
  }
  if (fr->fn[0]) {
    cJSON *ll = cJSON_AddArrayToObject(loc, "logicalLocations"), *one = cJSON_CreateObject();

    add_str(one, "fullyQualifiedName", fr->fn);
    add_str(one, "kind", "function");
    cJSON_AddItemToArray(ll, one);
  }
  if (message != NULL) {
    m = cJSON_AddObjectToObject(loc, "message");
    add_str(m, "text", message);
  }
  return loc;
}

static void add_result(cJSON *results, const fsk_scenario_t *s, const fsk_group_t *g,
                       const char *root) {
  cJSON *r = cJSON_CreateObject(), *m, *locs, *flows, *flow, *tfs, *tf, *tlocs, *props;
  char head[FSK_TARGET_MAX + FSK_FRAME_FN_MAX + FSK_FRAME_FILE_MAX + 256], fp[64];
  fsk_frame_t fr[FRAMES_MAX];
  size_t n, i;
  unsigned long h = 5381;
  const char *c;

  if (r == NULL)
    return;
  head_text(s, g, head, sizeof head);
  cJSON_AddStringToObject(r, "ruleId", "fd-leak");
  cJSON_AddNumberToObject(r, "ruleIndex", 0);
  cJSON_AddStringToObject(r, "level", "error");
  m = cJSON_AddObjectToObject(r, "message");
  add_str(m, "text", head);
  locs = cJSON_AddArrayToObject(r, "locations");
  cJSON_AddItemToArray(locs, location(&g->where, root, NULL, 1));
  /* The same place and target is the same finding on the next run: code
   * scanning matches results across runs by this. */
  for (c = g->where.file; *c; c++)
    h = h * 33 + (unsigned char)*c;
  for (c = g->where.fn; *c; c++)
    h = h * 33 + (unsigned char)*c;
  for (c = g->target; *c; c++)
    h = h * 33 + (unsigned char)*c;
  h = h * 33 + (unsigned long)g->where.line;
  snprintf(fp, sizeof fp, "%016lx", h);
  props = cJSON_AddObjectToObject(r, "partialFingerprints");
  cJSON_AddStringToObject(props, "fdsoakPlace/v1", fp);
  fsk_origin_frames(s->leaked[g->sample].origin, fr, FRAMES_MAX, &n);
  if (n > 0) {
    flows = cJSON_AddArrayToObject(r, "codeFlows");
    flow = cJSON_CreateObject();
    cJSON_AddItemToArray(flows, flow);
    tfs = cJSON_AddArrayToObject(flow, "threadFlows");
    tf = cJSON_CreateObject();
    cJSON_AddItemToArray(tfs, tf);
    tlocs = cJSON_AddArrayToObject(tf, "locations");
    /* Outermost first: a code flow reads in the order it ran. */
    for (i = n; i-- > 0;) {
      cJSON *tl = cJSON_CreateObject();
      char text[FSK_FRAME_FN_MAX + FSK_FRAME_FILE_MAX + 32];

      frame_text(&fr[i], text, sizeof text);
      cJSON_AddItemToObject(tl, "location", location(&fr[i], root, text, 0));
      cJSON_AddNumberToObject(tl, "nestingLevel", (double)(n - 1 - i));
      cJSON_AddItemToArray(tlocs, tl);
    }
  }
  props = cJSON_AddObjectToObject(r, "properties");
  cJSON_AddNumberToObject(props, "count", (double)g->count);
  add_str(props, "class", fsk_fdclass_name(g->cls));
  add_str(props, "target", g->target);
  cJSON_AddNumberToObject(props, "firstOpened", (double)g->first);
  cJSON_AddNumberToObject(props, "lastOpened", (double)g->last);
  cJSON_AddBoolToObject(props, "exact", g->exact);
  add_str(props, "scenario", s->path);
  cJSON_AddItemToArray(results, r);
}

#define SARIF_MAX_GROUPS 1000

int fsk_write_sarif(const char *file, const fsk_run_t *run, const char *root) {
  cJSON *doc, *runs, *r, *tool, *drv, *rules, *rule, *results, *t;
  fsk__atomic_t a;
  char *text;
  size_t i, j;
  int rc = 0;

  if (file == NULL || run == NULL || (run->scen == NULL && run->nscen > 0))
    return -EINVAL;
  if ((doc = cJSON_CreateObject()) == NULL)
    return -ENOMEM;
  cJSON_AddStringToObject(doc, "$schema", "https://json.schemastore.org/sarif-2.1.0.json");
  cJSON_AddStringToObject(doc, "version", "2.1.0");
  runs = cJSON_AddArrayToObject(doc, "runs");
  r = cJSON_CreateObject();
  cJSON_AddItemToArray(runs, r);
  tool = cJSON_AddObjectToObject(r, "tool");
  drv = cJSON_AddObjectToObject(tool, "driver");
  cJSON_AddStringToObject(drv, "name", "fdsoak");
  rules = cJSON_AddArrayToObject(drv, "rules");
  rule = cJSON_CreateObject();
  cJSON_AddItemToArray(rules, rule);
  cJSON_AddStringToObject(rule, "id", "fd-leak");
  cJSON_AddStringToObject(rule, "name", "FileDescriptorLeak");
  t = cJSON_AddObjectToObject(rule, "shortDescription");
  cJSON_AddStringToObject(t, "text", "File descriptors opened here are never closed");
  t = cJSON_AddObjectToObject(rule, "fullDescription");
  cJSON_AddStringToObject(t, "text",
                          "fdsoak soaked the program and these fds kept accumulating: each "
                          "one outlived the attempt that opened it, and the count grew without "
                          "bound. The program will run out of file descriptors.");
  t = cJSON_AddObjectToObject(rule, "defaultConfiguration");
  cJSON_AddStringToObject(t, "level", "error");
  if (root != NULL && root[0]) {
    char uri[PATH_MAX * 3 + 16];
    int rel;
    cJSON *bases = cJSON_AddObjectToObject(r, "originalUriBaseIds"), *src;

    file_uri(root, NULL, uri, sizeof uri - 1, &rel);
    if (uri[strlen(uri) - 1] != '/')
      snprintf(uri + strlen(uri), sizeof uri - strlen(uri), "/");
    src = cJSON_AddObjectToObject(bases, "SRCROOT");
    cJSON_AddStringToObject(src, "uri", uri);
  }
  results = cJSON_AddArrayToObject(r, "results");
  for (i = 0; i < run->nscen; i++) {
    const fsk_scenario_t *s = &run->scen[i];
    fsk_group_t *g;
    size_t n;

    if (s->verdict != FSK_VERDICT_LEAK)
      continue;
    if ((rc = fsk_group_leaks(s, &g, &n)) != 0)
      break;
    /* Code scanning takes at most 25,000 results a run (and 10 MB); a
     * scenario's largest groups say what there is to fix. */
    for (j = 0; j < n && j < SARIF_MAX_GROUPS; j++)
      add_result(results, s, &g[j], root);
    free(g);
  }
  text = rc == 0 ? cJSON_Print(doc) : NULL;
  cJSON_Delete(doc);
  if (text == NULL)
    return rc ? rc : -ENOMEM;
  rc = fsk__atomic_open(file, &a);
  if (rc == 0) {
    fputs(text, a.f);
    fputc('\n', a.f);
    rc = fsk__atomic_close(&a, 0);
  }
  cJSON_free(text);
  return rc;
}
