/*
 * output.c - the lowest floor of the result writers: files written whole
 * or not at all, and text from the target made safe for each kind of
 * output (UTF-8, a terminal, markdown, JSON).
 *
 * Both results.c (summary, CSV, XML, SVG) and finding.c (the groups, for
 * every output) write through these, so neither reaches up into the other.
 */
#include "fsk.h"
#include "results_internal.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Atomic files                                                        */
/* ------------------------------------------------------------------ */

int fsk__atomic_open(const char *file, fsk__atomic_t *a) {
  const char *slash, *base;
  int n;

  memset(a, 0, sizeof *a);
  if (file == NULL || *file == '\0')
    return -EINVAL;
  slash = strrchr(file, '/');
  base = slash ? slash + 1 : file;
  if (*base == '\0')
    return -EISDIR;
  /* The temporary sits in the same directory so rename() is atomic. */
  n = snprintf(a->tmp, sizeof a->tmp, "%.*s.%s.tmp", (int)(base - file), file, base);
  if (n < 0 || (size_t)n >= sizeof a->tmp)
    return -ENAMETOOLONG;
  n = snprintf(a->dst, sizeof a->dst, "%s", file);
  if (n < 0 || (size_t)n >= sizeof a->dst)
    return -ENAMETOOLONG;
  a->f = fopen(a->tmp, "w");
  if (a->f == NULL)
    return -errno;
  return 0;
}

int fsk__atomic_close(fsk__atomic_t *a, int err) {
  int r = err;

  if (a->f == NULL)
    return err ? err : -EBADF;
  if (r == 0 && (fflush(a->f) != 0 || ferror(a->f)))
    r = errno ? -errno : -EIO;
  /* Results are evidence for a release gate: make the data durable
   * before the name appears. */
  if (r == 0 && fsync(fileno(a->f)) != 0 && errno != EINVAL)
    r = -errno;
  if (fclose(a->f) != 0 && r == 0)
    r = errno ? -errno : -EIO;
  a->f = NULL;
  if (r == 0 && rename(a->tmp, a->dst) != 0)
    r = -errno;
  if (r != 0)
    unlink(a->tmp);
  return r;
}

/* ------------------------------------------------------------------ */
/* Text from outside                                                    */
/* ------------------------------------------------------------------ */

size_t fsk__utf8_len(const unsigned char *p) {
  unsigned c = p[0];
  size_t n, i;
  unsigned long cp;

  if (c < 0x80)
    return c ? 1 : 0;
  if (c >= 0xc2 && c <= 0xdf)
    n = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef)
    n = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4)
    n = 4, cp = c & 0x07;
  else
    return 0;
  for (i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (p[i] & 0x3f);
  }
  /* Overlong forms, UTF-16 surrogates and code points past U+10FFFF are
   * not UTF-8 either. */
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

size_t fsk__utf8_clean(const char *in, char *out, size_t cap) {
  const unsigned char *p = (const unsigned char *)(in ? in : "");
  size_t o = 0;

  if (cap == 0)
    return 0;
  while (*p) {
    size_t n = fsk__utf8_len(p);
    const unsigned char *src = p;

    if (n == 0) {
      src = (const unsigned char *)"\xef\xbf\xbd"; /* U+FFFD */
      n = 3;
      p++;
    } else {
      p += n;
    }
    if (o + n >= cap)
      break; /* cut on a character boundary */
    memcpy(out + o, src, n);
    o += n;
  }
  out[o] = '\0';
  return o;
}

cJSON *fsk__json_str(cJSON *o, const char *key, const char *v) {
  size_t len = strlen(v != NULL ? v : "");
  char small[512], *buf = len * 3 + 1 <= sizeof small ? small : malloc(len * 3 + 1);
  cJSON *r;

  /* Each byte that is not UTF-8 becomes three: U+FFFD. */
  if (buf == NULL)
    return NULL;
  fsk__utf8_clean(v, buf, len * 3 + 1);
  r = cJSON_AddStringToObject(o, key, buf);
  if (buf != small)
    free(buf);
  return r;
}

/* A C1 control (U+0080..U+009F) as UTF-8: terminals honour some of them. */
static int is_c1(const unsigned char *p, size_t n) {
  return n == 2 && p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
}

void fsk__term_put(FILE *f, const char *s) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");

  while (*p) {
    size_t n = fsk__utf8_len(p);

    if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f)) || is_c1(p, n)) {
      /* Shown, never obeyed: "\x1b[2J" in a file name stays text. */
      size_t k, m = n ? n : 1;

      for (k = 0; k < m; k++)
        fprintf(f, "\\x%02x", p[k]);
      p += m;
      continue;
    }
    fwrite(p, 1, n, f);
    p += n;
  }
}

size_t fsk__term_width(const char *s) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  size_t w = 0;

  while (*p) {
    size_t n = fsk__utf8_len(p);

    if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f)) || is_c1(p, n)) {
      w += 4 * (n ? n : 1);
      p += n ? n : 1;
      continue;
    }
    w++;
    p += n;
  }
  return w;
}

void fsk__md_put(FILE *f, const char *s) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");

  while (*p) {
    size_t n = fsk__utf8_len(p);

    if (n == 0) {
      fputs("\xef\xbf\xbd", f);
      p++;
      continue;
    }
    if (n == 1 && (*p < 0x20 || *p == 0x7f)) {
      fputc(' ', f); /* a newline would end the table row or start a block */
    } else if (n == 1 && *p == '<') {
      fputs("&lt;", f);
    } else if (n == 1 && *p == '>') {
      fputs("&gt;", f);
    } else if (n == 1 && *p == '&') {
      fputs("&amp;", f);
    } else if (n == 1 && *p == '|') {
      fputs("&#124;", f); /* a table cell separator even when escaped, in GFM */
    } else if (n == 1 && strchr("\\`*_[]#!~@$", *p) != NULL) {
      /* CommonMark lets any ASCII punctuation be escaped: none of these
       * can then start emphasis, a link, an autolink or a mention. */
      fputc('\\', f);
      fputc(*p, f);
    } else if (is_c1(p, n)) {
      fputc(' ', f);
    } else {
      fwrite(p, 1, n, f);
    }
    p += n;
  }
}
