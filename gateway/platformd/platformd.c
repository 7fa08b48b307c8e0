/*
 * fdsoak-platformd - the peer a platform adapter connects to.
 *
 * A real libuv TCP server on loopback that speaks the newline-delimited JSON
 * protocol of gateway/adapters/platform/codec.h, with modes that drive every
 * path of the gateway's reconnect watcher:
 *
 *   accept          identify -> ready (or reject when --token is given and
 *                   differs); then sends messages (--message-every-ms) and
 *                   logs the gateway's replies; --drop-after-ms closes each
 *                   client that long after ready (the runtime error path)
 *   reject          identify -> reject, then close            (fatal)
 *   close-after=N   close once N bytes arrived from the client (retryable);
 *                   "close" is close-after=0: close right after accept
 *   reset           abort every connection with a TCP RST     (retryable)
 *   garbage         answer with bytes that are not the protocol (exception)
 *   silent          accept and read, never answer    (connect timeout)
 *
 * Prints the bound port on stdout (one line) and, with --port-file, writes
 * it there too (atomically: tests poll for the file).  SIGINT and SIGTERM
 * close everything and exit 0.  A bad flag or a --port-file that cannot be
 * written prints why and exits 2.  Started with fds 0-2 closed it opens
 * /dev/null in their place; SIGPIPE is ignored.  --version prints
 * "fdsoak-platformd VERSION" and --help the usage, both exiting 0.
 *
 * It links the codec (gw_platcodec) and util.c (gw_util), not gw: the peer
 * needs the protocol, and through gw it carried the runner, the adapters
 * and the store it never runs, and libsqlite3 with them.
 */
#include "codec.h"
#include "util.h"

#ifndef FDSOAK_VERSION
#define FDSOAK_VERSION "0.0.0" /* set by the build (platform.cmake) */
#endif

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

typedef enum {
  MODE_ACCEPT = 0,
  MODE_REJECT,
  MODE_CLOSE_AFTER,
  MODE_RESET,
  MODE_GARBAGE,
  MODE_SILENT
} mode_t_;

typedef struct {
  const char *host;
  int port;
  mode_t_ mode;
  long close_after;
  const char *token; /* NULL: any token is accepted */
  const char *port_file;
  long drop_after_ms;
  long message_every_ms;
  const char *chat;
  int quiet;
} options_t;

typedef struct client_s client_t;
struct client_s {
  uv_tcp_t tcp;
  uv_timer_t drop;
  uv_timer_t tick;
  int closing;
  int open_handles; /* close callbacks still to come; the last frees */
  int ready;
  unsigned id;
  unsigned long received;
  unsigned long sent_messages;
  gw__plat_linebuf_t lines;
  char rbuf[8192];
  client_t *prev, *next;
};

typedef struct {
  uv_write_t req;
  client_t *c;
  int close_after; /* close the client once this write is flushed */
  char data[];
} wreq_t;

static options_t opt;
static uv_loop_t loop;
static uv_tcp_t server;
static uv_signal_t sig_term, sig_int;
static client_t *clients;
static unsigned next_id = 1;
static int stopping;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...) {
  va_list ap;

  if (opt.quiet)
    return;
  va_start(ap, fmt);
  fputs("platformd: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static void usage(FILE *f) {
  fprintf(f, "usage: fdsoak-platformd [--host ADDR] [--port N] [--mode MODE] [--token TOKEN]\n"
             "                        [--port-file PATH] [--drop-after-ms N]\n"
             "                        [--message-every-ms N] [--chat ID] [-q]\n"
             "       fdsoak-platformd --version | --help\n"
             "  --host ADDR            listen address (default 127.0.0.1; loopback only)\n"
             "  --port N               listen port, 0 = ephemeral (default 0)\n"
             "  --mode MODE            accept | reject | close | close-after=N | reset |\n"
             "                         garbage | silent (default accept)\n"
             "  --token TOKEN          accept mode: the only token accepted (default any)\n"
             "  --port-file PATH       write the bound port to PATH\n"
             "  --drop-after-ms N      accept mode: close each client N ms after ready\n"
             "  --message-every-ms N   accept mode: send a message every N ms after ready\n"
             "  --chat ID              chat id of the messages sent (default chat-1)\n"
             "  -q                     no per-event log on stderr\n"
             "  --version              print the version and exit\n"
             "  -h, --help             print this help and exit\n");
}

static int parse_long(const char *s, long lo, long hi, long *out) {
  char *end;
  long v;

  if (s == NULL || *s == '\0')
    return -1;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

static int parse_mode(const char *s) {
  static const char close_after[] = "close-after=";

  if (strcmp(s, "accept") == 0)
    opt.mode = MODE_ACCEPT;
  else if (strcmp(s, "reject") == 0)
    opt.mode = MODE_REJECT;
  else if (strcmp(s, "close") == 0) {
    opt.mode = MODE_CLOSE_AFTER;
    opt.close_after = 0;
  } else if (strncmp(s, close_after, sizeof(close_after) - 1) == 0) {
    opt.mode = MODE_CLOSE_AFTER;
    if (parse_long(s + sizeof(close_after) - 1, 0, LONG_MAX, &opt.close_after) != 0)
      return -1;
  } else if (strcmp(s, "reset") == 0)
    opt.mode = MODE_RESET;
  else if (strcmp(s, "garbage") == 0)
    opt.mode = MODE_GARBAGE;
  else if (strcmp(s, "silent") == 0)
    opt.mode = MODE_SILENT;
  else
    return -1;
  return 0;
}

static int parse_args(int argc, char **argv) {
  static const char known[] = " --host --port --mode --token --port-file --drop-after-ms"
                              " --message-every-ms --chat ";
  char word[64];
  int i;
  long v;

  opt.host = "127.0.0.1";
  opt.chat = "chat-1";
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;

    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      exit(0);
    } else if (strcmp(a, "--version") == 0) {
      printf("fdsoak-platformd %s\n", FDSOAK_VERSION);
      exit(0);
    } else if (strcmp(a, "-q") == 0) {
      opt.quiet = 1;
      continue;
    }
    snprintf(word, sizeof(word), " %s ", a);
    if (strstr(known, word) == NULL) {
      fprintf(stderr, "fdsoak-platformd: unknown flag '%s'\n", a);
      return -1;
    }
    if (val == NULL) {
      fprintf(stderr, "fdsoak-platformd: %s: missing value\n", a);
      return -1;
    }
    i++;
    if (strcmp(a, "--host") == 0) {
      opt.host = val;
    } else if (strcmp(a, "--port") == 0) {
      if (parse_long(val, 0, 65535, &v) != 0) {
        fprintf(stderr, "fdsoak-platformd: --port: '%s' is not a port 0..65535\n", val);
        return -1;
      }
      opt.port = (int)v;
    } else if (strcmp(a, "--mode") == 0) {
      if (parse_mode(val) != 0) {
        fprintf(stderr, "fdsoak-platformd: --mode: unknown mode '%s'\n", val);
        return -1;
      }
    } else if (strcmp(a, "--token") == 0) {
      opt.token = val;
    } else if (strcmp(a, "--port-file") == 0) {
      opt.port_file = val;
    } else if (strcmp(a, "--drop-after-ms") == 0) {
      if (parse_long(val, 1, 86400000L, &opt.drop_after_ms) != 0) {
        fprintf(stderr, "fdsoak-platformd: --drop-after-ms: '%s' is not 1..86400000\n", val);
        return -1;
      }
    } else if (strcmp(a, "--message-every-ms") == 0) {
      if (parse_long(val, 1, 86400000L, &opt.message_every_ms) != 0) {
        fprintf(stderr, "fdsoak-platformd: --message-every-ms: '%s' is not 1..86400000\n", val);
        return -1;
      }
    } else if (strcmp(a, "--chat") == 0) {
      if (strlen(val) >= GW_NAME_MAX) {
        fprintf(stderr, "fdsoak-platformd: --chat: longer than %d bytes\n", GW_NAME_MAX - 1);
        return -1;
      }
      opt.chat = val;
    } else {
      fprintf(stderr, "fdsoak-platformd: unknown flag '%s'\n", a);
      return -1;
    }
  }
  return 0;
}

/* ------------------------------------------------------------------ */

static void client_free_cb(uv_handle_t *h) {
  client_t *c = h->data;

  /* libuv does not promise to run close callbacks in the order uv_close
   * was called (a tcp with a pending write or shutdown finishes later than
   * a timer), so whichever callback comes last frees the client. */
  if (--c->open_handles == 0)
    free(c);
}

static void client_close(client_t *c, int reset) {
  if (c->closing)
    return;
  c->closing = 1;
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    clients = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  uv_close((uv_handle_t *)&c->drop, client_free_cb);
  uv_close((uv_handle_t *)&c->tick, client_free_cb);
  if (!reset || uv_tcp_close_reset(&c->tcp, client_free_cb) != 0)
    uv_close((uv_handle_t *)&c->tcp, client_free_cb);
}

static void write_cb(uv_write_t *req, int status) {
  wreq_t *w = (wreq_t *)req;
  client_t *c = w->c;
  int close_after = w->close_after;

  free(w);
  if (status == UV_ECANCELED)
    return;
  if (status != 0 || close_after)
    client_close(c, 0);
}

static int client_write(client_t *c, const char *data, size_t len, int close_after) {
  wreq_t *w;
  uv_buf_t buf;
  int rc;

  w = malloc(sizeof(*w) + len);
  if (w == NULL)
    return UV_ENOMEM;
  memcpy(w->data, data, len);
  w->c = c;
  w->close_after = close_after;
  buf = uv_buf_init(w->data, (unsigned)len);
  rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, write_cb);
  if (rc != 0)
    free(w);
  return rc;
}

static int client_send(client_t *c, const gw__plat_msg_t *m, int close_after) {
  char line[GW_PLAT_LINE_MAX + 2];
  int n = gw__plat_format(m, line, sizeof(line));

  if (n < 0)
    return n;
  return client_write(c, line, (size_t)n, close_after);
}

static void drop_cb(uv_timer_t *t) {
  client_t *c = t->data;

  logf_("client %u: dropping after %ld ms", c->id, opt.drop_after_ms);
  client_close(c, 0);
}

/* A client that does not read must not grow our write queue without bound:
 * past this many unsent bytes its messages are skipped, not queued. */
#define CLIENT_WRITE_QUEUE_MAX (64 * 1024)

static void tick_cb(uv_timer_t *t) {
  client_t *c = t->data;
  gw__plat_msg_t m;

  if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > CLIENT_WRITE_QUEUE_MAX)
    return;
  memset(&m, 0, sizeof(m));
  m.type = GW_PLAT_MSG_MESSAGE;
  snprintf(m.chat, sizeof(m.chat), "%s", opt.chat);
  snprintf(m.text, sizeof(m.text), "ping %lu", ++c->sent_messages);
  logf_("client %u: message chat=%s text=%s", c->id, m.chat, m.text);
  if (client_send(c, &m, 0) != 0)
    client_close(c, 0);
}

static int line_cb(void *arg, const char *line, size_t len) {
  client_t *c = arg;
  gw__plat_msg_t m, reply;

  if (gw__plat_parse(line, len, &m) != 0) {
    logf_("client %u: not the protocol: %.*s", c->id, (int)(len > 80 ? 80 : len), line);
    client_close(c, 0);
    return 1;
  }
  memset(&reply, 0, sizeof(reply));
  if (!c->ready) {
    if (m.type != GW_PLAT_MSG_IDENTIFY) {
      logf_("client %u: expected identify", c->id);
      client_close(c, 0);
      return 1;
    }
    if (opt.mode == MODE_REJECT || (opt.token != NULL && strcmp(opt.token, m.token) != 0)) {
      logf_("client %u: reject", c->id);
      reply.type = GW_PLAT_MSG_REJECT;
      snprintf(reply.reason, sizeof(reply.reason), "invalid token");
      if (client_send(c, &reply, 1) != 0)
        client_close(c, 0);
      return 1;
    }
    logf_("client %u: ready", c->id);
    c->ready = 1;
    reply.type = GW_PLAT_MSG_READY;
    if (client_send(c, &reply, 0) != 0) {
      client_close(c, 0);
      return 1;
    }
    if (opt.drop_after_ms > 0)
      uv_timer_start(&c->drop, drop_cb, (uint64_t)opt.drop_after_ms, 0);
    if (opt.message_every_ms > 0)
      uv_timer_start(&c->tick, tick_cb, (uint64_t)opt.message_every_ms,
                     (uint64_t)opt.message_every_ms);
    return 0;
  }
  if (m.type == GW_PLAT_MSG_SEND)
    logf_("client %u: send chat=%s text=%s", c->id, m.chat, m.text);
  else
    logf_("client %u: unexpected message after ready", c->id);
  return 0;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  client_t *c = h->data;

  (void)suggested;
  *buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  client_t *c = s->data;

  if (c->closing || nread == 0)
    return;
  if (nread < 0) {
    logf_("client %u: closed by the gateway (%s)", c->id, uv_err_name((int)nread));
    client_close(c, 0);
    return;
  }
  if (opt.mode == MODE_CLOSE_AFTER) {
    c->received += (unsigned long)nread;
    if (c->received >= (unsigned long)opt.close_after) {
      logf_("client %u: closing after %lu bytes", c->id, c->received);
      client_close(c, 0);
    }
    return;
  }
  if (opt.mode == MODE_SILENT)
    return;
  if (gw__plat_linebuf_feed(&c->lines, buf->base, (size_t)nread, line_cb, c) < 0 && !c->closing) {
    logf_("client %u: overlong line or NUL byte", c->id);
    client_close(c, 0);
  }
}

static void connection_cb(uv_stream_t *srv, int status) {
  static const char garbage[] = "HTTP/1.1 400 Bad Request\r\nthis is not the protocol\r\n";
  client_t *c;

  if (status != 0) {
    logf_("accept: %s", uv_strerror(status));
    return;
  }
  c = calloc(1, sizeof(*c));
  if (c == NULL)
    return; /* the connection stays in the backlog; the next accept retries */
  uv_tcp_init(&loop, &c->tcp);
  uv_timer_init(&loop, &c->drop);
  uv_timer_init(&loop, &c->tick);
  c->tcp.data = c->drop.data = c->tick.data = c;
  c->open_handles = 3;
  c->id = next_id++;
  gw__plat_linebuf_init(&c->lines);
  c->next = clients;
  if (clients != NULL)
    clients->prev = c;
  clients = c;

  if (uv_accept(srv, (uv_stream_t *)&c->tcp) != 0) {
    client_close(c, 0);
    return;
  }
  logf_("client %u: accepted", c->id);
  switch (opt.mode) {
  case MODE_RESET:
    logf_("client %u: reset", c->id);
    client_close(c, 1);
    return;
  case MODE_CLOSE_AFTER:
    if (opt.close_after == 0) {
      logf_("client %u: closing at once", c->id);
      client_close(c, 0);
      return;
    }
    break;
  case MODE_GARBAGE:
    logf_("client %u: garbage", c->id);
    if (client_write(c, garbage, sizeof(garbage) - 1, 0) != 0) {
      client_close(c, 0);
      return;
    }
    break;
  default:
    break;
  }
  if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0)
    client_close(c, 0);
}

static void stop(void) {
  if (stopping)
    return;
  stopping = 1;
  while (clients != NULL)
    client_close(clients, 0);
  uv_close((uv_handle_t *)&server, NULL);
  uv_close((uv_handle_t *)&sig_term, NULL);
  uv_close((uv_handle_t *)&sig_int, NULL);
}

static void signal_cb(uv_signal_t *s, int signum) {
  logf_("signal %d: shutting down", signum);
  stop();
}

static int write_port_file(const char *path, int port) {
  char tmp[PATH_MAX];
  FILE *f;
  int rc = 0;

  if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
    return UV_ENAMETOOLONG;
  f = fopen(tmp, "w");
  if (f == NULL)
    return -errno;
  if (fprintf(f, "%d\n", port) < 0)
    rc = UV_EIO;
  if (fclose(f) != 0 && rc == 0)
    rc = -errno;
  /* rename: a poller never reads a half-written port. */
  if (rc == 0 && rename(tmp, path) != 0)
    rc = -errno;
  if (rc != 0)
    unlink(tmp);
  return rc;
}

int main(int argc, char **argv) {
  struct sockaddr_storage ss;
  int namelen = sizeof(ss);
  int port = 0;
  int rc;
  int exit_code = 1;

  rc = gw__process_guard();
  if (rc != 0) {
    fprintf(stderr, "fdsoak-platformd: stdio or SIGPIPE set-up: %s\n", uv_strerror(rc));
    return 2;
  }
  if (parse_args(argc, argv) != 0) {
    usage(stderr);
    return 2;
  }
  if (uv_ip4_addr(opt.host, opt.port, (struct sockaddr_in *)&ss) != 0 &&
      uv_ip6_addr(opt.host, opt.port, (struct sockaddr_in6 *)&ss) != 0) {
    fprintf(stderr, "fdsoak-platformd: --host: '%s' is not an IP address\n", opt.host);
    return 2;
  }
  /* A test peer has no business listening beyond this machine. */
  if (strncmp(opt.host, "127.", 4) != 0 && strcmp(opt.host, "::1") != 0) {
    fprintf(stderr, "fdsoak-platformd: --host: '%s' is not a loopback address\n", opt.host);
    return 2;
  }

  rc = uv_loop_init(&loop);
  if (rc != 0) {
    fprintf(stderr, "fdsoak-platformd: uv_loop_init: %s\n", uv_strerror(rc));
    return 1;
  }
  uv_tcp_init(&loop, &server);
  uv_signal_init(&loop, &sig_term);
  uv_signal_init(&loop, &sig_int);
  uv_signal_start(&sig_term, signal_cb, SIGTERM);
  uv_signal_start(&sig_int, signal_cb, SIGINT);

  rc = uv_tcp_bind(&server, (const struct sockaddr *)&ss, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&server, 128, connection_cb);
  if (rc == 0)
    rc = uv_tcp_getsockname(&server, (struct sockaddr *)&ss, &namelen);
  if (rc != 0) {
    fprintf(stderr, "fdsoak-platformd: listen on %s:%d: %s\n", opt.host, opt.port, uv_strerror(rc));
    goto out;
  }
  port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                        : ((struct sockaddr_in *)&ss)->sin_port);
  printf("%d\n", port);
  fflush(stdout);
  if (opt.port_file != NULL) {
    rc = write_port_file(opt.port_file, port);
    if (rc != 0) {
      fprintf(stderr, "fdsoak-platformd: --port-file %s: %s\n", opt.port_file, uv_strerror(rc));
      exit_code = 2; /* an environment error, like a bad flag */
      goto out;
    }
  }
  logf_("listening on %s:%d", opt.host, port);
  exit_code = 0;

out:
  if (exit_code != 0)
    stop();
  uv_run(&loop, UV_RUN_DEFAULT);
  rc = uv_loop_close(&loop);
  if (rc != 0) {
    fprintf(stderr, "fdsoak-platformd: uv_loop_close: %s\n", uv_strerror(rc));
    exit_code = 1;
  }
  if (opt.port_file != NULL && port != 0)
    unlink(opt.port_file);
  return exit_code;
}
