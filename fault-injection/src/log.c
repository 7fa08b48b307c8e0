/*
 * log.c — the JSONL decision log (FDSOAK_INJECT_LOG).
 */
#include "shim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int g_log_enabled;
static char g_log_path[PATH_MAX];

void inj__log_init(const char *path) {
  if (inj__strlcpy(g_log_path, path, sizeof g_log_path) < 0) {
    inj__say("fdsoak-inject: FDSOAK_INJECT_LOG path too long\n");
    _exit(2);
  }
  g_log_enabled = 1;
}

static size_t json_str(char *o, size_t cap, const char *s) {
  size_t n = 0;
  if (cap < 3)
    return 0;
  o[n++] = '"';
  for (; *s && n + 8 < cap; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') {
      o[n++] = '\\';
      o[n++] = (char)ch;
    } else if (ch < 0x20)
      n += (size_t)snprintf(o + n, cap - n, "\\u%04x", ch);
    else
      o[n++] = (char)ch;
  }
  o[n++] = '"';
  o[n] = '\0';
  return n;
}

static void format_dest(const inj__call_t *c, char *buf, size_t cap) {
  char a[INET6_ADDRSTRLEN];
  buf[0] = '\0';
  if (c->op == INJ_OP_CONNECT || c->op == INJ_OP_BIND) {
    const struct sockaddr *sa = c->sa;
    if (!sa)
      return;
    if (sa->sa_family == AF_INET && c->salen >= sizeof(struct sockaddr_in)) {
      const struct sockaddr_in *in = (const void *)sa;
      inet_ntop(AF_INET, &in->sin_addr, a, sizeof a);
      snprintf(buf, cap, "%s:%u", a, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6 && c->salen >= sizeof(struct sockaddr_in6)) {
      const struct sockaddr_in6 *in6 = (const void *)sa;
      inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof a);
      snprintf(buf, cap, "[%s]:%u", a, ntohs(in6->sin6_port));
    } else if (sa->sa_family == AF_UNIX) {
      const struct sockaddr_un *un = (const void *)sa;
      snprintf(buf, cap, "unix:%s", un->sun_path[0] ? un->sun_path : "@");
    } else {
      snprintf(buf, cap, "family:%d", sa->sa_family);
    }
  } else if (c->op == INJ_OP_SOCKET) {
    snprintf(buf, cap, "%s/%s",
             c->family == AF_INET    ? "inet"
             : c->family == AF_INET6 ? "inet6"
             : c->family == AF_UNIX  ? "unix"
                                     : "other",
             (c->type & 0xf) == SOCK_STREAM  ? "stream"
             : (c->type & 0xf) == SOCK_DGRAM ? "dgram"
                                             : "other");
  } else if (c->str) {
    snprintf(buf, cap, "%s", c->str);
  }
}

static const char *action_name(const inj_rule_t *r) {
  switch (r->action) {
  case INJ_DO_ERRNO:
    return "errno";
  case INJ_DO_ASYNC:
    return "refuse";
  case INJ_DO_HANG:
    return "hang";
  case INJ_DO_UNREACH:
    return "unreachable";
  case INJ_DO_RESET:
    return "reset";
  case INJ_DO_PASS:
    return "observe";
  default:
    return "eai";
  }
}

/*
 * One line per decision.  The log file is opened, appended to and closed for
 * each line (O_APPEND keeps lines from several threads and processes whole),
 * so the shim holds no fd between calls; this costs ~3 µs per matched call,
 * only when FDSOAK_INJECT_LOG is set.
 */
void inj__log_decision(const inj__call_t *c, const inj_rule_t *r, int fired, int rule_no,
                       uint64_t seq) {
  char line[PATH_MAX + 512], dest[PATH_MAX + 16];
  const char *ename = NULL;
  size_t n;
  int fd;

  if (!g_log_enabled)
    return;
  format_dest(c, dest, sizeof dest);
  if (fired)
    ename = r->action == INJ_DO_EAI    ? inj_eai_name(r->code)
            : r->action == INJ_DO_HANG ? NULL
                                       : inj_errno_name(r->code);
  n = (size_t)snprintf(line, sizeof line,
                       "{\"seq\":%llu,\"pid\":%d,\"tid\":%d,\"op\":\"%s\",\"dest\":",
                       (unsigned long long)seq, (int)getpid(), (int)gettid(), inj_op_name(c->op));
  n += json_str(line + n, sizeof line - n - 200, dest);
  n += (size_t)snprintf(line + n, sizeof line - n,
                        ",\"rule\":%d,\"action\":\"%s\",\"errno\":", rule_no + 1,
                        fired ? action_name(r) : "pass");
  if (ename)
    n += (size_t)snprintf(line + n, sizeof line - n, "\"%s\"", ename);
  else if (fired && r->action != INJ_DO_HANG)
    n += (size_t)snprintf(line + n, sizeof line - n, "%d", r->code);
  else
    n += (size_t)snprintf(line + n, sizeof line - n, "null");
  n += (size_t)snprintf(line + n, sizeof line - n, ",\"mono_ns\":%llu}\n",
                        (unsigned long long)inj__mono_ns(CLOCK_MONOTONIC));
  fd = inj__raw_open(g_log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return;
  if (write(fd, line, n) < 0) {
    /* Nothing sensible to do: the decision itself stands. */
  }
  close(fd);
}
