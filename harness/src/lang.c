/* lang.c - leak origins in the program's own language.
 *
 * The native frames of a leak in an interpreted program are the
 * interpreter's C functions (`_io_FileIO___init__ <- type_call <- ...`):
 * true, and no help to the person who has to fix the Python or JavaScript.
 * Each runtime gets its frames without a change to the program
 * (harness/lang/):
 *
 *   python  nothing in the program at all: the preloaded shim notices a
 *           CPython 3.11 process (Py_Version) and loads libfdsoak-py311.so,
 *           which reads the creating thread's frames from C, without the
 *           GIL, right after each tracked fd is created (issue 23: a hook
 *           that entered the interpreter there deadlocked SQLite users and
 *           swallowed signal handlers' exceptions; a sitecustomize on
 *           PYTHONPATH shadowed the program's own); the stack is kept in
 *           the shim's page beside the fd's native record (watch.c reads
 *           it, fsk__lang_stack_json formats it);
 *   node    fdsoak-origins.js through NODE_OPTIONS=--require wraps the fs,
 *           net and child_process calls that create fds and logs the
 *           JavaScript stack once the fd is known.
 *
 * Node appends JSON lines {pid, fd, t, lang, kind, stack:[{fn, file,
 * line}]} to FDSOAK_LANG_LOG; a leaked fd (pid, fd) takes the last line
 * for it, since an fd number still open cannot have been given out again.
 * Both runtimes' notes, {pid, note}, say why a process gives no frames.
 */
#include "lang.h"
#include "driver.h"
#include "grow.h"

#include <cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FSK_LANG_SRC_DIR
#define FSK_LANG_SRC_DIR ""
#endif

int fsk__origins_parse(const char *s) {
  if (s == NULL)
    return -1;
  if (strcmp(s, "off") == 0)
    return FSK_ORIGINS_OFF;
  if (strcmp(s, "native") == 0)
    return FSK_ORIGINS_NATIVE;
  if (strcmp(s, "lang") == 0)
    return FSK_ORIGINS_LANG;
  return -1;
}

/* The hooks: FDSOAK_LANG_DIR, the install layout (bin/../share/fdsoak/lang),
 * else the source tree this fdsoak was built from. */
static int lang_dir(char *buf, size_t len, char *err, size_t errlen) {
  const char *env = getenv("FDSOAK_LANG_DIR");
  char exe[PATH_MAX], probe[PATH_MAX + 64];

  if (env != NULL && env[0] != '\0') {
    snprintf(buf, len, "%s", env);
  } else {
    buf[0] = '\0';
    if (fsk__exe_dir(exe, sizeof exe) == 0) {
      snprintf(probe, sizeof probe, "%s/../share/fdsoak/lang/node/fdsoak-origins.js", exe);
      /* probe ends in the 23 bytes of "/node/fdsoak-origins.js":
       * what is left is the directory. */
      if (access(probe, R_OK) == 0 && strlen(probe) - 23 < len)
        snprintf(buf, len, "%.*s", (int)(strlen(probe) - 23), probe);
    }
    if (buf[0] == '\0')
      snprintf(buf, len, "%s", FSK_LANG_SRC_DIR);
  }
  snprintf(probe, sizeof probe, "%s/node/fdsoak-origins.js", buf);
  if (buf[0] == '\0' || access(probe, R_OK) != 0) {
    snprintf(err, errlen, "the language hooks are not at '%s' (set FDSOAK_LANG_DIR)", buf);
    return -ENOENT;
  }
  return 0;
}

/* Prepend item to the variable name, separated by sep. */
static int prepend_env(const char *name, const char *item, const char *sep) {
  const char *old = getenv(name);
  size_t n = strlen(item) + (old != NULL ? strlen(old) + strlen(sep) : 0) + 1;
  char *v = malloc(n);
  int rc;

  if (v == NULL)
    return -ENOMEM;
  if (old != NULL && old[0] != '\0')
    snprintf(v, n, "%s%s%s", item, sep, old);
  else
    snprintf(v, n, "%s", item);
  rc = setenv(name, v, 1) == 0 ? 0 : -errno;
  free(v);
  return rc;
}

int fsk__lang_setup(const char *log, char *err, size_t errlen) {
  char dir[PATH_MAX], item[PATH_MAX + 64];
  int rc;

  if ((rc = lang_dir(dir, sizeof dir, err, errlen)) != 0)
    return rc;
  if (strchr(dir, ' ') != NULL || strchr(dir, '"') != NULL) {
    /* NODE_OPTIONS splits on spaces; quoting rules differ across versions. */
    snprintf(err, errlen, "the language hooks' path '%s' holds a space or a quote", dir);
    return -EINVAL;
  }
  /* Python needs nothing here: the shim finds CPython 3.11 by itself and
   * PYTHONPATH stays the program's. */
  snprintf(item, sizeof item, "--require=%s/node/fdsoak-origins.js", dir);
  if ((rc = prepend_env("NODE_OPTIONS", item, " ")) != 0)
    return rc;
  return setenv("FDSOAK_LANG_LOG", log, 1) == 0 ? 0 : -errno;
}

/* ------------------------------------------------------------------ */
/* The log                                                             */
/* ------------------------------------------------------------------ */

typedef struct {
  pid_t pid;
  int fd;
  uint64_t t; /* CLOCK_MONOTONIC ns when written; 0 if the line has none */
  cJSON *stack;
} lang_rec_t;

struct fsk__lang_log {
  lang_rec_t *r;
  size_t n;
  char note[256]; /* the first {"pid","note"} line: a hook that stopped */
};

fsk__lang_log_t *fsk__lang_load(const char *log) {
  fsk__lang_log_t *l;
  char *line = NULL;
  size_t cap = 0, rcap = 0;
  ssize_t len;
  FILE *f;

  if (log == NULL || (f = fopen(log, "re")) == NULL)
    return NULL;
  if ((l = calloc(1, sizeof *l)) == NULL) {
    fclose(f);
    return NULL;
  }
  while ((len = getline(&line, &cap, f)) > 0) {
    cJSON *j = cJSON_Parse(line), *pid, *fd, *st, *t;

    pid = cJSON_GetObjectItem(j, "pid");
    fd = cJSON_GetObjectItem(j, "fd");
    st = cJSON_GetObjectItem(j, "stack");
    if (cJSON_IsNumber(pid) && cJSON_IsString(cJSON_GetObjectItem(j, "note")) && l->note[0] == '\0')
      snprintf(l->note, sizeof l->note, "process %d: %s", pid->valueint,
               cJSON_GetObjectItem(j, "note")->valuestring);
    /* A line cut short by a process killed mid-write is skipped. */
    if (!cJSON_IsNumber(pid) || !cJSON_IsNumber(fd) || !cJSON_IsArray(st)) {
      cJSON_Delete(j);
      continue;
    }
    if (fsk__grow(&l->r, &rcap, l->n + 1, sizeof *l->r, 256) != 0) {
      cJSON_Delete(j);
      break;
    }
    l->r[l->n].pid = (pid_t)pid->valueint;
    l->r[l->n].fd = fd->valueint;
    t = cJSON_GetObjectItem(j, "t");
    l->r[l->n].t = cJSON_IsNumber(t) && t->valuedouble > 0 ? (uint64_t)t->valuedouble : 0;
    l->r[l->n].stack = cJSON_DetachItemFromObject(j, "stack");
    l->n++;
    cJSON_Delete(j);
  }
  free(line);
  fclose(f);
  return l;
}

const char *fsk__lang_note(const fsk__lang_log_t *l) {
  return l != NULL && l->note[0] ? l->note : NULL;
}

void fsk__lang_free(fsk__lang_log_t *l) {
  size_t i;

  if (l == NULL)
    return;
  for (i = 0; i < l->n; i++)
    cJSON_Delete(l->r[i].stack);
  free(l->r);
  free(l);
}

/* A stack (JSON array of {fn, file, line}) as "fn (file:line) <- ...";
 * the number of frames written. */
static int format_stack(const cJSON *stack, char *out, size_t len) {
  size_t used = 0;
  cJSON *fr;
  int k = 0;

  out[0] = '\0';
  cJSON_ArrayForEach(fr, stack) {
    cJSON *fn = cJSON_GetObjectItem(fr, "fn"), *file = cJSON_GetObjectItem(fr, "file");
    cJSON *line = cJSON_GetObjectItem(fr, "line");

    if (used >= len)
      break;
    used += (size_t)snprintf(out + used, len - used, "%s%s (%s:%d)", k++ ? " <- " : "",
                             cJSON_IsString(fn) ? fn->valuestring : "?",
                             /* The whole path: the report shortens it for reading, and
                              * SARIF needs it to find the file. */
                             cJSON_IsString(file) ? file->valuestring : "?",
                             cJSON_IsNumber(line) ? line->valueint : 0);
  }
  return k;
}

int fsk__lang_stack_json(const char *json, size_t n, char *out, size_t len) {
  cJSON *j;
  int k = 0;

  if (json == NULL || len == 0 || (j = cJSON_ParseWithLength(json, n)) == NULL)
    return 0;
  if (cJSON_IsArray(j))
    k = format_stack(j, out, len);
  cJSON_Delete(j);
  return k > 0;
}

int fsk__lang_stack(const fsk__lang_log_t *l, pid_t pid, int fd, uint64_t born_ns, char *out,
                    size_t len) {
  size_t i;

  if (l == NULL || len == 0)
    return 0;
  for (i = l->n; i-- > 0;) {
    if (l->r[i].pid != pid || l->r[i].fd != fd)
      continue;
    /* The last line for this number is older than the fd itself: the
     * runtime's hook never saw this one (an accepted socket, a native
     * addon's file).  A stale stack would be worse than none. */
    if (born_ns != 0 && l->r[i].t != 0 && l->r[i].t < born_ns)
      return 0;
    return format_stack(l->r[i].stack, out, len) > 0;
  }
  return 0;
}
