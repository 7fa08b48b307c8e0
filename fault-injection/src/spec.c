/*
 * spec.c — the FDSOAK_INJECT rule language: parser, matching, schedules.
 *
 * Pure code: no libc hooks, no global mutable state, no allocation, so the
 * shim can run it in its constructor (before the program's malloc is even
 * safe to call) and the harness can link it to validate a spec up front.
 *
 * Grammar (see README.md for the user-facing description):
 *
 *   spec  := rule { ';' rule }            empty rules are skipped
 *   rule  := op { sep field }             sep is ':' or ','
 *   field := key '=' value
 *
 * Separators inside (...) and [...] do not split, so "prob(0.5,7)" and
 * "addr=[::1]/128" are single fields.
 */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

/* ---- names ------------------------------------------------------------- */

static const char *const op_names[INJ_OP_COUNT] = {
  "connect", "bind", "socket", "getaddrinfo", "open",
};

const char *inj_op_name(int op) {
  if (op == INJ_REC_PIPE)
    return "pipe";
  if (op == INJ_REC_SOCKETPAIR)
    return "socketpair";
  if (op < 0 || op >= INJ_OP_COUNT)
    return "?";
  return op_names[op];
}

struct name_code {
  const char *name;
  int code;
};

#define E(x)                                                                                       \
  { #x, x }
static const struct name_code errno_table[] = {
  E(EPERM),           E(ENOENT),          E(EINTR),       E(EIO),         E(ENXIO),
  E(E2BIG),           E(EBADF),           E(EAGAIN),      E(ENOMEM),      E(EACCES),
  E(EFAULT),          E(EBUSY),           E(EEXIST),      E(ENODEV),      E(ENOTDIR),
  E(EISDIR),          E(EINVAL),          E(ENFILE),      E(EMFILE),      E(ETXTBSY),
  E(EFBIG),           E(ENOSPC),          E(ESPIPE),      E(EROFS),       E(EPIPE),
  E(ENAMETOOLONG),    E(ELOOP),           E(EDQUOT),      E(ENOBUFS),     E(EAFNOSUPPORT),
  E(EPROTONOSUPPORT), E(ESOCKTNOSUPPORT), E(EPROTOTYPE),  E(ENOTSOCK),    E(EADDRINUSE),
  E(EADDRNOTAVAIL),   E(ENETDOWN),        E(ENETUNREACH), E(ENETRESET),   E(ECONNABORTED),
  E(ECONNRESET),      E(EISCONN),         E(ENOTCONN),    E(ETIMEDOUT),   E(ECONNREFUSED),
  E(EHOSTDOWN),       E(EHOSTUNREACH),    E(EALREADY),    E(EINPROGRESS), E(EOPNOTSUPP),
  E(EPROTO),          E(ENOSYS),          E(EWOULDBLOCK), E(ESTALE),      E(EOVERFLOW),
  E(ECANCELED),
};
static const struct name_code eai_table[] = {
  E(EAI_AGAIN),  E(EAI_FAIL),       E(EAI_NONAME),   E(EAI_NODATA),
  E(EAI_MEMORY), E(EAI_FAMILY),     E(EAI_SERVICE),  E(EAI_SOCKTYPE),
  E(EAI_SYSTEM), E(EAI_ADDRFAMILY), E(EAI_BADFLAGS), E(EAI_OVERFLOW),
};
#undef E

static const char *code_name(const struct name_code *t, size_t n, int code) {
  for (size_t i = 0; i < n; i++)
    if (t[i].code == code)
      return t[i].name;
  return NULL;
}

const char *inj_errno_name(int e) {
  return code_name(errno_table, sizeof errno_table / sizeof *errno_table, e);
}

const char *inj_eai_name(int code) {
  return code_name(eai_table, sizeof eai_table / sizeof *eai_table, code);
}

/* ---- lexical helpers -------------------------------------------------- */

/* A slice of the spec text; never NUL-terminated in place (the spec is const). */
typedef struct {
  const char *p;
  size_t n;
} slice_t;

typedef struct {
  char *err;
  size_t errlen;
  unsigned rule_no;
} perr_t;

static int fail(perr_t *pe, const char *what, slice_t near) {
  size_t n = near.n > 60 ? 60 : near.n;
  if (pe->err && pe->errlen)
    snprintf(pe->err, pe->errlen, "rule %u: %s near '%.*s'", pe->rule_no, what, (int)n, near.p);
  return -EINVAL;
}

static slice_t trim(slice_t s) {
  while (s.n && isspace((unsigned char)s.p[0])) {
    s.p++;
    s.n--;
  }
  while (s.n && isspace((unsigned char)s.p[s.n - 1]))
    s.n--;
  return s;
}

static int slice_eq(slice_t s, const char *lit) {
  size_t n = strlen(lit);
  return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* Copy into a bounded buffer; -1 when it does not fit. */
static int slice_copy(slice_t s, char *buf, size_t len) {
  if (s.n + 1 > len)
    return -1;
  memcpy(buf, s.p, s.n);
  buf[s.n] = '\0';
  return 0;
}

/*
 * Split off the next item ending at any of the separator characters found at
 * nesting depth 0.  Returns 0, or a negative errno on unbalanced brackets.
 */
static int next_item(slice_t *rest, const char *seps, slice_t *item) {
  int paren = 0, brack = 0;
  size_t i;
  for (i = 0; i < rest->n; i++) {
    char c = rest->p[i];
    if (c == '(')
      paren++;
    else if (c == ')') {
      if (--paren < 0)
        return -EINVAL;
    } else if (c == '[')
      brack++;
    else if (c == ']') {
      if (--brack < 0)
        return -EINVAL;
    } else if (!paren && !brack && strchr(seps, c))
      break;
  }
  if (paren || brack)
    return -EINVAL;
  item->p = rest->p;
  item->n = i;
  if (i < rest->n) {
    rest->p += i + 1;
    rest->n -= i + 1;
  } else {
    rest->p += i;
    rest->n = 0;
  }
  return 0;
}

/* Unsigned decimal integer filling the whole slice. */
static int parse_u64(slice_t s, uint64_t *out) {
  uint64_t v = 0;
  s = trim(s);
  if (!s.n)
    return -EINVAL;
  for (size_t i = 0; i < s.n; i++) {
    if (!isdigit((unsigned char)s.p[i]))
      return -EINVAL;
    uint64_t d = (uint64_t)(s.p[i] - '0');
    if (v > (UINT64_MAX - d) / 10)
      return -ERANGE;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

/* Non-negative decimal number like "0.25", "30", "1.5"; exact enough for
   probabilities and seconds, and free of locale (strtod follows LC_NUMERIC). */
static int parse_decimal(slice_t s, double *out) {
  double v = 0, scale = 1;
  int seen_digit = 0, seen_dot = 0;
  s = trim(s);
  if (!s.n)
    return -EINVAL;
  for (size_t i = 0; i < s.n; i++) {
    char c = s.p[i];
    if (c == '.' && !seen_dot) {
      seen_dot = 1;
      continue;
    }
    if (!isdigit((unsigned char)c))
      return -EINVAL;
    seen_digit = 1;
    if (seen_dot) {
      scale /= 10;
      v += (c - '0') * scale;
    } else
      v = v * 10 + (c - '0');
    if (v > 1e12)
      return -ERANGE;
  }
  if (!seen_digit)
    return -EINVAL;
  *out = v;
  return 0;
}

/* Seconds with an optional unit: "30", "1.5s", "250ms". */
static int parse_duration_ns(slice_t s, uint64_t *out) {
  double v, mult = 1e9;
  s = trim(s);
  if (s.n > 2 && s.p[s.n - 2] == 'm' && s.p[s.n - 1] == 's') {
    mult = 1e6;
    s.n -= 2;
  } else if (s.n > 1 && s.p[s.n - 1] == 's')
    s.n -= 1;
  if (parse_decimal(s, &v) < 0)
    return -EINVAL;
  /* Nanoseconds in a uint64_t: converting a larger double is undefined
   * behaviour (found by fuzz_spec).  A year is far beyond any soak. */
  if (v * mult > 365.0 * 86400 * 1e9)
    return -ERANGE;
  *out = (uint64_t)(v * mult + 0.5);
  return 0;
}

/* "name(args)" → name, args.  A bare "name" gives args.p == NULL. */
static int split_call(slice_t s, slice_t *name, slice_t *args) {
  const char *lp = memchr(s.p, '(', s.n);
  if (!lp) {
    *name = s;
    args->p = NULL;
    args->n = 0;
    return 0;
  }
  if (s.p[s.n - 1] != ')')
    return -EINVAL;
  name->p = s.p;
  name->n = (size_t)(lp - s.p);
  args->p = lp + 1;
  args->n = s.n - name->n - 2;
  *name = trim(*name);
  return 0;
}

static int lookup_code(const struct name_code *t, size_t n, slice_t s, int *out) {
  uint64_t v;
  s = trim(s);
  for (size_t i = 0; i < n; i++)
    if (slice_eq(s, t[i].name)) {
      *out = t[i].code;
      return 0;
    }
  if (parse_u64(s, &v) == 0 && v > 0 && v < 4096) {
    *out = (int)v;
    return 0;
  }
  return -EINVAL;
}

/* ---- field parsers ---------------------------------------------------- */

static int parse_addr(perr_t *pe, slice_t v, inj_rule_t *r) {
  char buf[64];
  slice_t a = v, pfx = {NULL, 0};
  const char *slash = NULL;
  int family;
  unsigned maxbits;

  if (!v.n)
    return fail(pe, "empty address (write IPv6 in brackets, e.g. addr=[::1]/128)", v);
  if (v.p[0] == '[') {
    const char *rb = memchr(v.p, ']', v.n);
    if (!rb)
      return fail(pe, "missing ']' in IPv6 address", v);
    a.p = v.p + 1;
    a.n = (size_t)(rb - v.p) - 1;
    if ((size_t)(rb - v.p) + 1 < v.n) {
      if (rb[1] != '/')
        return fail(pe, "expected '/prefix' after ']'", v);
      pfx.p = rb + 2;
      pfx.n = v.n - (size_t)(rb - v.p) - 2;
    }
    family = AF_INET6;
  } else {
    slash = memchr(v.p, '/', v.n);
    if (slash) {
      a.n = (size_t)(slash - v.p);
      pfx.p = slash + 1;
      pfx.n = v.n - a.n - 1;
    }
    family = AF_INET;
  }
  if (slice_copy(a, buf, sizeof buf) < 0)
    return fail(pe, "address too long", v);
  memset(r->addr, 0, sizeof r->addr);
  if (inet_pton(family, buf, r->addr) != 1)
    return fail(pe, family == AF_INET6 ? "bad IPv6 address" : "bad IPv4 address", v);
  maxbits = family == AF_INET ? 32 : 128;
  if (pfx.p) {
    uint64_t bits;
    if (parse_u64(pfx, &bits) < 0 || bits > maxbits)
      return fail(
        pe, family == AF_INET ? "prefix length must be 0..32" : "prefix length must be 0..128", v);
    r->prefix = (uint8_t)bits;
  } else {
    r->prefix = (uint8_t)maxbits;
  }
  /* Keep the address masked so matching is a plain prefix compare. */
  for (unsigned i = 0; i < 16; i++) {
    unsigned lo = i * 8;
    if (lo >= r->prefix)
      r->addr[i] = 0;
    else if (lo + 8 > r->prefix)
      r->addr[i] &= (uint8_t)(0xff << (8 - (r->prefix - lo)));
  }
  r->addr_family = (uint16_t)family;
  r->has_addr = 1;
  return 0;
}

static int parse_port(perr_t *pe, slice_t v, inj_rule_t *r) {
  uint64_t lo, hi;
  const char *dash = memchr(v.p, '-', v.n);
  if (dash) {
    slice_t a = {v.p, (size_t)(dash - v.p)};
    slice_t b = {dash + 1, v.n - a.n - 1};
    if (parse_u64(a, &lo) < 0 || parse_u64(b, &hi) < 0 || lo > 65535 || hi > 65535)
      return fail(pe, "port range must be N-M with 0 <= N <= M <= 65535", v);
    if (lo > hi)
      return fail(pe, "port range is reversed", v);
  } else {
    if (parse_u64(v, &lo) < 0 || lo > 65535)
      return fail(pe, "port must be 0..65535", v);
    hi = lo;
  }
  r->port_lo = (uint16_t)lo;
  r->port_hi = (uint16_t)hi;
  r->has_port = 1;
  return 0;
}

static int parse_when(perr_t *pe, slice_t v, inj_rule_t *r) {
  slice_t name, args;
  uint64_t u;

  if (split_call(v, &name, &args) < 0)
    return fail(pe, "expected NAME(ARGS)", v);
  if (slice_eq(name, "always")) {
    if (args.p)
      return fail(pe, "always takes no argument", v);
    r->when = INJ_WHEN_ALWAYS;
    return 0;
  }
  if (!args.p)
    return fail(pe,
                "unknown schedule (always, first(K), after(K), every(N), "
                "prob(P[,SEED]), pattern(XO..), down(T), window(A,B))",
                v);
  if (slice_eq(name, "first") || slice_eq(name, "after") || slice_eq(name, "every")) {
    if (parse_u64(args, &u) < 0)
      return fail(pe, "expected a whole number", v);
    if (slice_eq(name, "every") && u == 0)
      return fail(pe, "every(N) needs N >= 1", v);
    r->k = u;
    r->when = slice_eq(name, "first")   ? INJ_WHEN_FIRST
              : slice_eq(name, "after") ? INJ_WHEN_AFTER
                                        : INJ_WHEN_EVERY;
    return 0;
  }
  if (slice_eq(name, "prob")) {
    const char *comma = memchr(args.p, ',', args.n);
    slice_t ps = args, ss = {NULL, 0};
    double p;
    if (comma) {
      ps.n = (size_t)(comma - args.p);
      ss.p = comma + 1;
      ss.n = args.n - ps.n - 1;
    }
    if (parse_decimal(ps, &p) < 0 || p > 1.0)
      return fail(pe, "probability must be a number in 0..1", v);
    r->seed = 1;
    if (ss.p && parse_u64(ss, &r->seed) < 0)
      return fail(pe, "seed must be a whole number", v);
    r->prob_always = p >= 1.0;
    r->prob_threshold = p >= 1.0 ? UINT64_MAX : (uint64_t)(p * 18446744073709551616.0);
    r->when = INJ_WHEN_PROB;
    return 0;
  }
  if (slice_eq(name, "pattern")) {
    args = trim(args);
    if (!args.n)
      return fail(pe, "empty outage pattern", v);
    if (args.n >= INJ_PATTERN_MAX)
      return fail(pe, "outage pattern longer than 63", v);
    for (size_t i = 0; i < args.n; i++)
      if (args.p[i] != 'X' && args.p[i] != 'O')
        return fail(pe, "outage pattern may hold only X (fail) and O (pass)", v);
    slice_copy(args, r->pattern, sizeof r->pattern);
    r->pattern_len = (uint32_t)args.n;
    r->when = INJ_WHEN_PATTERN;
    return 0;
  }
  if (slice_eq(name, "down")) {
    if (parse_duration_ns(args, &r->win_end_ns) < 0)
      return fail(pe, "down(T) needs a duration like 30, 1.5s or 250ms", v);
    r->win_start_ns = 0;
    r->when = INJ_WHEN_WINDOW;
    return 0;
  }
  if (slice_eq(name, "window")) {
    const char *comma = memchr(args.p, ',', args.n);
    slice_t a = args, b = {NULL, 0};
    if (comma) {
      a.n = (size_t)(comma - args.p);
      b.p = comma + 1;
      b.n = args.n - a.n - 1;
    }
    if (parse_duration_ns(a, &r->win_start_ns) < 0 || !b.n ||
        parse_duration_ns(b, &r->win_end_ns) < 0)
      return fail(pe, "window(A,B) needs two durations", v);
    if (r->win_end_ns < r->win_start_ns)
      return fail(pe, "window end before its start", v);
    r->when = INJ_WHEN_WINDOW;
    return 0;
  }
  return fail(pe,
              "unknown schedule (always, first(K), after(K), every(N), "
              "prob(P[,SEED]), pattern(XO..), down(T), window(A,B))",
              v);
}

/* The asynchronous errors that model a real network event, and the
   faithful action each one is (README: "real event -> rule"). */
static int async_action(int code) {
  switch (code) {
  case ECONNREFUSED:
    return INJ_DO_ASYNC;
  case ETIMEDOUT:
    return INJ_DO_HANG;
  case ENETUNREACH:
  case EHOSTUNREACH:
    return INJ_DO_UNREACH;
  default:
    return -1;
  }
}

static int parse_do(perr_t *pe, slice_t v, inj_rule_t *r) {
  slice_t name, args;
  int code;

  if (split_call(v, &name, &args) < 0)
    return fail(pe, "expected NAME(ARGS)", v);
  if (slice_eq(name, "refuse") || slice_eq(name, "hang") || slice_eq(name, "timeout")) {
    if (args.p)
      return fail(pe, "this action takes no argument", v);
    r->action = slice_eq(name, "refuse") ? INJ_DO_ASYNC : INJ_DO_HANG;
    r->code = slice_eq(name, "refuse") ? ECONNREFUSED : ETIMEDOUT;
    return 0;
  }
  if (slice_eq(name, "unreachable")) {
    slice_t a = trim(args);
    if (!args.p || !(slice_eq(a, "net") || slice_eq(a, "host")))
      return fail(pe, "unreachable(net) or unreachable(host)", v);
    r->action = INJ_DO_UNREACH;
    r->code = slice_eq(a, "net") ? ENETUNREACH : EHOSTUNREACH;
    return 0;
  }
  if (slice_eq(name, "reset")) {
    slice_t a = trim(args);
    uint64_t n = 0;
    if (args.p && slice_eq(a, "accept")) {
      /* The server that accepts and resets before the client speaks. */
      n = INJ_RESET_AT_ACCEPT;
    } else if (args.p) {
      char buf[24];
      char *end;
      if (!a.n || a.n >= sizeof buf)
        return fail(pe, "reset(N) needs a byte count (or reset(accept))", v);
      memcpy(buf, a.p, a.n);
      buf[a.n] = '\0';
      errno = 0;
      n = strtoull(buf, &end, 10);
      if (*end || errno || buf[0] == '-' || n > UINT32_MAX)
        return fail(pe, "reset(N) needs a byte count (or reset(accept))", v);
    }
    r->action = INJ_DO_RESET;
    r->code = ECONNRESET;
    r->arg = n;
    return 0;
  }
  if (slice_eq(name, "errno") || slice_eq(name, "async")) {
    if (!args.p ||
        lookup_code(errno_table, sizeof errno_table / sizeof *errno_table, args, &code) < 0)
      return fail(pe, "unknown errno (use a name such as ECONNREFUSED, or a number)", v);
    if (slice_eq(name, "errno")) {
      r->action = INJ_DO_ERRNO;
    } else {
      /* async(E) used to fail any E at once through SO_ERROR, which no
         network does for ECONNRESET and the like: only the errors a real
         event delivers asynchronously are accepted. */
      int a = async_action(code);
      if (a < 0)
        return fail(pe,
                    "async(E) models ECONNREFUSED, ETIMEDOUT, ENETUNREACH or "
                    "EHOSTUNREACH (reset for an accepted-then-reset peer, "
                    "errno(E) for a synchronous failure)",
                    v);
      r->action = (uint8_t)a;
    }
    r->code = code;
    return 0;
  }
  if (slice_eq(name, "pass")) {
    if (args.p)
      return fail(pe, "this action takes no argument", v);
    r->action = INJ_DO_PASS;
    r->code = 0;
    return 0;
  }
  if (slice_eq(name, "eai")) {
    slice_t a = trim(args), t = {NULL, 0};
    const char *comma = args.p ? memchr(a.p, ',', a.n) : NULL;
    int found = 0;
    if (comma) {
      t.p = comma + 1;
      t.n = a.n - (size_t)(comma - a.p) - 1;
      a.n = (size_t)(comma - a.p);
      a = trim(a);
    }
    if (args.p)
      for (size_t i = 0; i < sizeof eai_table / sizeof *eai_table; i++)
        if (slice_eq(a, eai_table[i].name)) {
          code = eai_table[i].code;
          found = 1;
        }
    if (!found)
      return fail(pe, "unknown EAI code (EAI_AGAIN, EAI_FAIL, EAI_NONAME, ...)", v);
    r->arg = 0;
    if (comma && (parse_duration_ns(t, &r->arg) < 0 || r->arg > 600000000000ull))
      return fail(pe, "eai(EAI_X,T): T is a delay up to 600 s, like 1, 1.5s or 250ms", v);
    r->action = INJ_DO_EAI;
    r->code = code;
    return 0;
  }
  return fail(pe,
              "unknown action (errno(E), refuse, hang, timeout, unreachable(net|host), "
              "reset[(N|accept)], async(E), eai(EAI_X[,T]), pass)",
              v);
}

enum {
  F_ADDR = 1,
  F_PORT = 2,
  F_PATH = 4,
  F_HOST = 8,
  F_FAMILY = 16,
  F_TYPE = 32,
  F_WHEN = 64,
  F_DO = 128
};

static int parse_rule(perr_t *pe, slice_t text, inj_rule_t *r) {
  slice_t rest = text, item;
  unsigned seen = 0;
  int op = -1;

  memset(r, 0, sizeof *r);
  r->win_end_ns = UINT64_MAX;
  {
    size_t n = text.n < sizeof r->text - 1 ? text.n : sizeof r->text - 1;
    memcpy(r->text, text.p, n);
    r->text[n] = '\0';
  }

  if (next_item(&rest, ":,", &item) < 0)
    return fail(pe, "unbalanced brackets or parentheses", text);
  item = trim(item);
  for (int i = 0; i < INJ_OP_COUNT; i++)
    if (slice_eq(item, op_names[i]))
      op = i;
  if (op < 0)
    return fail(pe, "unknown operation (connect, bind, socket, getaddrinfo, open)", item);
  r->op = (uint8_t)op;

  while (rest.n) {
    slice_t key, val;
    const char *eq;
    unsigned bit;
    int rc;

    if (next_item(&rest, ":,", &item) < 0)
      return fail(pe, "unbalanced brackets or parentheses", rest);
    item = trim(item);
    if (!item.n)
      return fail(pe, "empty field", rest.n ? rest : text);
    eq = memchr(item.p, '=', item.n);
    if (!eq)
      return fail(pe, "expected KEY=VALUE", item);
    key.p = item.p;
    key.n = (size_t)(eq - item.p);
    key = trim(key);
    val.p = eq + 1;
    val.n = item.n - (size_t)(eq - item.p) - 1;
    val = trim(val);

    if (slice_eq(key, "addr"))
      bit = F_ADDR;
    else if (slice_eq(key, "port"))
      bit = F_PORT;
    else if (slice_eq(key, "path"))
      bit = F_PATH;
    else if (slice_eq(key, "host"))
      bit = F_HOST;
    else if (slice_eq(key, "family"))
      bit = F_FAMILY;
    else if (slice_eq(key, "type"))
      bit = F_TYPE;
    else if (slice_eq(key, "when"))
      bit = F_WHEN;
    else if (slice_eq(key, "do"))
      bit = F_DO;
    else
      return fail(pe, "unknown key (addr, port, path, host, family, type, when, do)", item);
    if (seen & bit)
      return fail(pe, "key given twice", item);
    seen |= bit;
    if (!val.n && bit != F_ADDR)
      return fail(pe, "empty value", item);

    /* Which filters make sense for which operation. */
    if ((bit & (F_ADDR | F_PORT)) && op != INJ_OP_CONNECT && op != INJ_OP_BIND)
      return fail(pe, "addr/port apply only to connect and bind", item);
    if (bit == F_HOST && op != INJ_OP_GETADDRINFO)
      return fail(pe, "host applies only to getaddrinfo", item);
    if (bit == F_PATH && op != INJ_OP_OPEN && op != INJ_OP_CONNECT && op != INJ_OP_BIND)
      return fail(pe, "path applies only to open (and AF_UNIX connect/bind)", item);
    if ((bit & (F_FAMILY | F_TYPE)) && op != INJ_OP_SOCKET)
      return fail(pe, "family/type apply only to socket", item);

    switch (bit) {
    case F_ADDR:
      rc = parse_addr(pe, val, r);
      break;
    case F_PORT:
      rc = parse_port(pe, val, r);
      break;
    case F_PATH:
    case F_HOST:
      rc = slice_copy(val, r->glob, sizeof r->glob) < 0
             ? fail(pe, "pattern longer than 127 bytes", item)
             : 0;
      break;
    case F_FAMILY:
      if (slice_eq(val, "inet"))
        r->sock_family = AF_INET;
      else if (slice_eq(val, "inet6"))
        r->sock_family = AF_INET6;
      else if (slice_eq(val, "unix"))
        r->sock_family = AF_UNIX;
      else
        return fail(pe, "family must be inet, inet6 or unix", item);
      rc = 0;
      break;
    case F_TYPE:
      if (slice_eq(val, "stream"))
        r->sock_type = SOCK_STREAM;
      else if (slice_eq(val, "dgram"))
        r->sock_type = SOCK_DGRAM;
      else
        return fail(pe, "type must be stream or dgram", item);
      rc = 0;
      break;
    case F_WHEN:
      rc = parse_when(pe, val, r);
      break;
    default:
      rc = parse_do(pe, val, r);
      break;
    }
    if (rc < 0)
      return rc;
  }

  if ((seen & F_PATH) && (seen & (F_ADDR | F_PORT)))
    return fail(pe, "path (AF_UNIX) cannot be combined with addr/port", text);
  if (!(seen & F_DO))
    return fail(pe, "missing do=ACTION", text);
  switch (r->action) {
  case INJ_DO_ASYNC:
  case INJ_DO_HANG:
  case INJ_DO_UNREACH:
  case INJ_DO_RESET:
    if (op != INJ_OP_CONNECT)
      return fail(pe, "refuse/hang/timeout/unreachable/reset/async apply only to connect", text);
    break;
  case INJ_DO_EAI:
    if (op != INJ_OP_GETADDRINFO)
      return fail(pe, "eai(...) applies only to getaddrinfo", text);
    break;
  default:
    break;
  }
  return 0;
}

int inj_spec_parse(const char *text, inj_spec_t *out, char *err, size_t errlen) {
  perr_t pe = {err, errlen, 0};
  slice_t rest, item;

  if (err && errlen)
    err[0] = '\0';
  if (!text || !out)
    return -EINVAL;
  out->nrules = 0;
  out->opmask = 0;
  rest.p = text;
  rest.n = strlen(text);
  if (rest.n > INJ_SPEC_MAX) {
    slice_t s = {text, 20};
    pe.rule_no = 1;
    return fail(&pe, "spec longer than 8192 bytes", s);
  }
  while (rest.n) {
    int rc;
    pe.rule_no++;
    if (next_item(&rest, ";", &item) < 0)
      return fail(&pe, "unbalanced brackets or parentheses", rest);
    item = trim(item);
    if (!item.n) {
      pe.rule_no--; /* "a;;b" and a trailing ';' are not rules */
      continue;
    }
    if (out->nrules == INJ_MAX_RULES)
      return fail(&pe, "too many rules (at most 32)", item);
    rc = parse_rule(&pe, item, &out->rules[out->nrules]);
    if (rc < 0)
      return rc;
    out->opmask |= 1u << out->rules[out->nrules].op;
    out->nrules++;
  }
  return 0;
}

/* ---- matching and schedules ------------------------------------------- */

int inj_glob_match(const char *pat, const char *s) {
  const char *star_p = NULL, *star_s = NULL;

  for (;;) {
    if (*pat == '*') {
      star_p = ++pat;
      star_s = s;
      continue;
    }
    if (!*s)
      break;
    if (*pat == '?') {
      pat++;
      s++;
      continue;
    }
    if (*pat == '[') {
      const char *p = pat + 1;
      int neg = 0, hit = 0;
      if (*p == '!' || *p == '^') {
        neg = 1;
        p++;
      }
      /* The first member may be ']' (as in fnmatch); a set that never
       * closes must stop at the NUL, not read past it. */
      do {
        if (*p == '\0')
          break;
        if (p[1] == '-' && p[2] && p[2] != ']') {
          if ((unsigned char)*s >= (unsigned char)p[0] && (unsigned char)*s <= (unsigned char)p[2])
            hit = 1;
          p += 3;
        } else {
          if (*p == *s)
            hit = 1;
          p++;
        }
      } while (*p && *p != ']');
      if (*p == ']' && hit != neg) {
        pat = p + 1;
        s++;
        continue;
      }
      /* fall through to backtrack (also covers an unterminated '[') */
    } else if (*pat == *s) {
      pat++;
      s++;
      continue;
    }
    if (!star_p)
      return 0;
    pat = star_p;
    s = ++star_s;
  }
  while (*pat == '*')
    pat++;
  return *pat == '\0';
}

static int prefix_match(const uint8_t *a, const uint8_t *net, unsigned bits) {
  unsigned full = bits / 8, rem = bits % 8;
  if (memcmp(a, net, full))
    return 0;
  if (rem) {
    uint8_t mask = (uint8_t)(0xff << (8 - rem));
    if ((a[full] & mask) != net[full])
      return 0;
  }
  return 1;
}

int inj_match_sockaddr(const inj_rule_t *r, const void *sa_, size_t salen) {
  const struct sockaddr *sa = sa_;
  const uint8_t *addr;
  int family;
  uint16_t port;
  uint8_t v4[4];

  if (!sa || salen < sizeof(sa_family_t))
    return 0;
  if (sa->sa_family == AF_UNIX) {
    const struct sockaddr_un *un = sa_;
    char path[sizeof un->sun_path + 2];
    size_t n;
    if (!r->glob[0] || salen <= offsetof(struct sockaddr_un, sun_path))
      return 0;
    n = salen - offsetof(struct sockaddr_un, sun_path);
    if (n > sizeof un->sun_path)
      n = sizeof un->sun_path;
    /* Abstract sockets start with NUL; show them as "@name" like ss(8). */
    if (n && un->sun_path[0] == '\0') {
      path[0] = '@';
      memcpy(path + 1, un->sun_path + 1, n - 1);
      path[n] = '\0';
    } else {
      memcpy(path, un->sun_path, n);
      path[n] = '\0';
    }
    return inj_glob_match(r->glob, path);
  }
  if (r->glob[0])
    return 0; /* a path rule never matches an inet address */
  if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *in = sa_;
    addr = (const uint8_t *)&in->sin_addr;
    port = ntohs(in->sin_port);
    family = AF_INET;
  } else if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *in6 = sa_;
    addr = (const uint8_t *)&in6->sin6_addr;
    port = ntohs(in6->sin6_port);
    family = AF_INET6;
    /* An IPv4 rule also covers IPv4-mapped IPv6 (dual-stack sockets). */
    if (r->has_addr && r->addr_family == AF_INET && IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      memcpy(v4, addr + 12, 4);
      addr = v4;
      family = AF_INET;
    }
  } else {
    return 0;
  }
  if (r->has_addr && (family != r->addr_family || !prefix_match(addr, r->addr, r->prefix)))
    return 0;
  if (r->has_port && (port < r->port_lo || port > r->port_hi))
    return 0;
  return 1;
}

/* splitmix64: a counter-based generator, so the n-th decision depends only on
   (seed, n), never on which thread took it or on the order threads ran. */
static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

uint64_t inj__prob_draw(uint64_t seed, uint64_t n) {
  return mix64(seed + (n + 1) * UINT64_C(0x9e3779b97f4a7c15));
}

int inj_when_fires(const inj_rule_t *r, uint64_t n, uint64_t elapsed_ns) {
  switch (r->when) {
  case INJ_WHEN_ALWAYS:
    return 1;
  case INJ_WHEN_FIRST:
    return n < r->k;
  case INJ_WHEN_AFTER:
    return n >= r->k;
  case INJ_WHEN_EVERY:
    return (n + 1) % r->k == 0;
  case INJ_WHEN_PROB:
    return r->prob_always || inj__prob_draw(r->seed, n) < r->prob_threshold;
  case INJ_WHEN_PATTERN:
    return r->pattern[n % r->pattern_len] == 'X';
  case INJ_WHEN_WINDOW:
    return elapsed_ns >= r->win_start_ns && elapsed_ns < r->win_end_ns;
  default:
    return 0;
  }
}
