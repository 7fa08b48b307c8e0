/* adapter_platform.c - the "platform" adapter kind: an outbound bot link.
 *
 * open    opens the delivery ledger (SQLite, WAL: db, -wal, -shm).
 * connect resolves cfg.host, connects over TCP and runs the handshake of
 *         codec.h.  How each failure is classed decides the watcher's path:
 *           peer answers "reject"                     fatal (non-retryable)
 *           EACCES/EPERM/EADDRNOTAVAIL/EAFNOSUPPORT    fatal: a configuration
 *                                                      error retried forever
 *                                                      was part of the outage
 *           ECONNREFUSED/ECONNRESET via the callback,  retryable
 *           EOF or reset before "ready"
 *           any other errno, a resolver failure,       exception
 *           a protocol violation
 *         A numeric host is resolved synchronously (AI_NUMERICHOST cannot
 *         block) so that, as with libuv itself, a connect errno other than
 *         ECONNREFUSED comes back from connect() and no callback follows.
 *         A host name is resolved on the threadpool; errors after that can
 *         only reach the runner through the callback, still as exceptions.
 * disconnect cancels the resolver, closes the TCP handle and the ledger, and
 *         completes once the resolver's callback has run too.
 */
#include "platform.h"

#include "internal.h"
#include "ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
  PLAT_IDLE = 0,  /* opened, never connected */
  PLAT_RESOLVING, /* getaddrinfo in flight */
  PLAT_CONNECTING,
  PLAT_HANDSHAKE, /* identify sent, waiting for ready */
  PLAT_CONNECTED,
  PLAT_DONE,  /* the attempt or the link ended; waiting to be disposed */
  PLAT_CLOSED /* disconnect ran */
} plat_phase_t;

typedef struct {
  gw_adapter_t base; /* first: the runner sees a gw_adapter_t */
  plat_phase_t phase;
  gw__ledger_t *ledger;
  uv_getaddrinfo_t gai;
  int gai_pending; /* the resolver's callback has yet to run */
  uv_tcp_t tcp;
  int tcp_init;
  uv_connect_t connect_req;
  uv_timer_t defer; /* completes a classified synchronous failure */
  int defer_init;
  gw_connect_result_t defer_result;
  int defer_err;
  gw__plat_linebuf_t lines;
  int read_paused; /* back-pressure: too many reply bytes unsent */
  char rbuf[16384];
} plat_adapter_t;

/*
 * Replies the peer has not read yet, per connection.  Past the cap the
 * adapter stops reading until the queue drains below half of it, so a peer
 * that floods messages and never reads replies costs at most the cap plus
 * one read buffer's worth of replies (each line of rbuf gives at most one
 * reply of at most GW_PLAT_LINE_MAX + 1 bytes), whatever it sends.
 */
#define PLAT_WRITE_QUEUE_MAX (64 * 1024)

typedef struct {
  uv_write_t req;
  size_t len;
  char data[];
} plat_write_t;

static void plat_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void plat_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* ------------------------------------------------------------------ */
/* Echo agent                                                         */
/* ------------------------------------------------------------------ */

int gw__plat_echo(const char *chat, const char *text, char *reply, size_t cap) {
  int n;

  (void)chat;
  /* Deterministic, and longer than its input: a test can predict it and
   * a soak can tell a reply from a reflected message. */
  n = snprintf(reply, cap, "echo: %s", text);
  if (n < 0 || (size_t)n >= cap)
    return UV_ENOBUFS;
  return n;
}

/* ------------------------------------------------------------------ */
/* Adapter                                                            */
/* ------------------------------------------------------------------ */

/* Configuration errors: retrying them forever helps nobody. */
static int errno_is_config(int err) {
  return err == UV_EACCES || err == UV_EPERM || err == UV_EADDRNOTAVAIL || err == UV_EAFNOSUPPORT;
}

static int plat_disposing(const plat_adapter_t *p) {
  return p->phase == PLAT_CLOSED || p->base.state == GW_ADAPTER_DISCONNECTING ||
         p->base.state == GW_ADAPTER_CLOSED;
}

/* End a connect attempt: no further I/O is interpreted for this attempt. */
static void plat_attempt_done(plat_adapter_t *p, gw_connect_result_t result, int err) {
  if (p->phase == PLAT_CLOSED || p->phase == PLAT_DONE || p->phase == PLAT_CONNECTED)
    return;
  if (result == GW_CONNECT_OK) {
    p->phase = PLAT_CONNECTED;
  } else {
    p->phase = PLAT_DONE;
    if (p->tcp_init)
      uv_read_stop((uv_stream_t *)&p->tcp);
  }
  gw_adapter_connect_done(&p->base, result, err);
}

/* A connected link ended: a runtime error the watcher retries at once. */
static void plat_link_lost(plat_adapter_t *p, const char *code, const char *fmt, int err) {
  if (p->phase != PLAT_CONNECTED)
    return;
  p->phase = PLAT_DONE;
  uv_read_stop((uv_stream_t *)&p->tcp);
  gw_adapter_set_failure(&p->base, 1, code, fmt, uv_strerror(err));
  gw_adapter_report_fatal(&p->base);
}

static void plat_write_cb(uv_write_t *req, int status) {
  plat_write_t *w = (plat_write_t *)req;
  plat_adapter_t *p = req->data;

  free(w);
  /* UV_ECANCELED: disconnect closed the handle; nothing to report. */
  if (status == UV_ECANCELED || plat_disposing(p))
    return;
  if (status == 0) {
    if (p->read_paused && p->phase == PLAT_CONNECTED &&
        uv_stream_get_write_queue_size((uv_stream_t *)&p->tcp) <= PLAT_WRITE_QUEUE_MAX / 2) {
      int rc = uv_read_start((uv_stream_t *)&p->tcp, plat_alloc_cb, plat_read_cb);

      p->read_paused = 0;
      if (rc != 0)
        plat_link_lost(p, "connection_lost", "resuming reads failed: %s", rc);
    }
    return;
  }
  if (p->phase == PLAT_HANDSHAKE) {
    if (status == UV_EPIPE || status == UV_ECONNRESET) {
      gw_adapter_set_failure(&p->base, 1, "connection_closed",
                             "peer closed the connection during the handshake: %s",
                             uv_strerror(status));
      plat_attempt_done(p, GW_CONNECT_FAILED, 0);
    } else {
      plat_attempt_done(p, GW_CONNECT_ERROR, status);
    }
  } else {
    plat_link_lost(p, "connection_lost", "write to the peer failed: %s", status);
  }
}

static int plat_send(plat_adapter_t *p, const gw__plat_msg_t *msg) {
  plat_write_t *w;
  char line[GW_PLAT_LINE_MAX + 2];
  uv_buf_t buf;
  int n, rc;

  /* Formatted on the stack and queued at its own size: a queued reply
   * costs its length, not a line's maximum. */
  n = gw__plat_format(msg, line, sizeof(line));
  if (n < 0)
    return n;
  w = malloc(sizeof(*w) + (size_t)n);
  if (w == NULL)
    return UV_ENOMEM;
  memcpy(w->data, line, (size_t)n);
  w->len = (size_t)n;
  w->req.data = p;
  buf = uv_buf_init(w->data, (unsigned)w->len);
  rc = uv_write(&w->req, (uv_stream_t *)&p->tcp, &buf, 1, plat_write_cb);
  if (rc != 0)
    free(w);
  return rc;
}

static int plat_on_message(plat_adapter_t *p, const gw__plat_msg_t *in) {
  gw__plat_msg_t out;
  int rc;

  /* The ledger is a record, not a gate: a full disk must not stop replies. */
  if (gw__ledger_record(p->ledger, "in", in->chat, in->text) != 0)
    gw_adapter_log(&p->base, GW_LOG_WARN, "ledger write failed");
  memset(&out, 0, sizeof(out));
  out.type = GW_PLAT_MSG_SEND;
  memcpy(out.chat, in->chat, sizeof(out.chat));
  if (gw__plat_echo(in->chat, in->text, out.text, sizeof(out.text)) < 0) {
    /* Too long to echo in full: say so rather than drop the message. */
    snprintf(out.text, sizeof(out.text), "echo: (%zu bytes)", strlen(in->text));
  }
  rc = plat_send(p, &out);
  if (rc != 0)
    return rc;
  gw__ledger_record(p->ledger, "out", out.chat, out.text);
  return 0;
}

/* Returns non-zero to stop the splitter: the attempt or the link is over. */
static int plat_line_cb(void *arg, const char *line, size_t len) {
  plat_adapter_t *p = arg;
  gw__plat_msg_t msg;
  int rc;

  if (plat_disposing(p) || p->phase == PLAT_DONE)
    return 1;
  rc = gw__plat_parse(line, len, &msg);

  if (p->phase == PLAT_HANDSHAKE) {
    if (rc != 0) {
      plat_attempt_done(p, GW_CONNECT_ERROR, UV_EPROTO);
      return 1;
    }
    switch (msg.type) {
    case GW_PLAT_MSG_READY:
      plat_attempt_done(p, GW_CONNECT_OK, 0);
      /* The connect callback may have disconnected us already. */
      return plat_disposing(p) ? 1 : 0;
    case GW_PLAT_MSG_REJECT:
      gw_adapter_set_failure(&p->base, 0, "invalid_token", "peer rejected the token%s%s",
                             msg.reason[0] ? ": " : "", msg.reason);
      plat_attempt_done(p, GW_CONNECT_FAILED, 0);
      return 1;
    default:
      /* A message before ready, or our own verbs echoed back. */
      plat_attempt_done(p, GW_CONNECT_ERROR, UV_EPROTO);
      return 1;
    }
  }

  /* PLAT_CONNECTED */
  if (rc != 0 || msg.type != GW_PLAT_MSG_MESSAGE) {
    plat_link_lost(p, "protocol_error", "peer broke the protocol: %s", UV_EPROTO);
    return 1;
  }
  rc = plat_on_message(p, &msg);
  if (rc != 0) {
    plat_link_lost(p, "connection_lost", "reply failed: %s", rc);
    return 1;
  }
  return 0;
}

static void plat_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  plat_adapter_t *p = h->data;

  (void)suggested;
  /* One read at a time per stream: the adapter's own buffer is enough. */
  *buf = uv_buf_init(p->rbuf, sizeof(p->rbuf));
}

static void plat_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  plat_adapter_t *p = s->data;
  int rc;

  if (nread == 0 || plat_disposing(p) || p->phase == PLAT_DONE)
    return;
  if (nread < 0) {
    int err = (int)nread;

    if (p->phase == PLAT_HANDSHAKE) {
      if (err == UV_EOF || err == UV_ECONNRESET) {
        gw_adapter_set_failure(&p->base, 1, "connection_closed",
                               "peer closed the connection before ready: %s", uv_strerror(err));
        plat_attempt_done(p, GW_CONNECT_FAILED, 0);
      } else {
        plat_attempt_done(p, GW_CONNECT_ERROR, err);
      }
    } else {
      plat_link_lost(p, "connection_lost", "peer closed the connection: %s", err);
    }
    return;
  }
  rc = gw__plat_linebuf_feed(&p->lines, buf->base, (size_t)nread, plat_line_cb, p);
  if (rc < 0 && !plat_disposing(p)) {
    if (p->phase == PLAT_HANDSHAKE)
      plat_attempt_done(p, GW_CONNECT_ERROR, rc);
    else
      plat_link_lost(p, "protocol_error", "peer broke the protocol: %s", rc);
    return;
  }
  /* Back-pressure: a peer that sends faster than it reads our replies
   * waits for them to drain (plat_write_cb resumes). */
  if (p->phase == PLAT_CONNECTED && !plat_disposing(p) &&
      uv_stream_get_write_queue_size(s) > PLAT_WRITE_QUEUE_MAX) {
    uv_read_stop(s);
    p->read_paused = 1;
  }
}

static void plat_connect_cb(uv_connect_t *req, int status) {
  plat_adapter_t *p = req->data;
  gw__plat_msg_t id;
  int rc;

  if (status == UV_ECANCELED || plat_disposing(p))
    return;
  if (status != 0) {
    if (status == UV_ECONNREFUSED || status == UV_ECONNRESET) {
      gw_adapter_set_failure(&p->base, 1, "connect_failed", "connect to %s:%d: %s",
                             p->base.cfg.host, p->base.cfg.port, uv_strerror(status));
      plat_attempt_done(p, GW_CONNECT_FAILED, 0);
    } else if (errno_is_config(status)) {
      gw_adapter_set_failure(&p->base, 0, "config_error", "connect to %s:%d: %s", p->base.cfg.host,
                             p->base.cfg.port, uv_strerror(status));
      plat_attempt_done(p, GW_CONNECT_FAILED, 0);
    } else {
      plat_attempt_done(p, GW_CONNECT_ERROR, status);
    }
    return;
  }

  p->phase = PLAT_HANDSHAKE;
  memset(&id, 0, sizeof(id));
  id.type = GW_PLAT_MSG_IDENTIFY;
  memcpy(id.token, p->base.cfg.token, sizeof(id.token));
  rc = uv_read_start((uv_stream_t *)&p->tcp, plat_alloc_cb, plat_read_cb);
  if (rc == 0)
    rc = plat_send(p, &id);
  if (rc != 0)
    plat_attempt_done(p, GW_CONNECT_ERROR, rc);
}

static void plat_defer_cb(uv_timer_t *t) {
  plat_adapter_t *p = t->data;

  plat_attempt_done(p, p->defer_result, p->defer_err);
}

/* Start the TCP connect.  Returns a negative errno the caller must treat as
 * synchronous, or 0 (the connect callback or the defer timer follows). */
static int plat_start_connect(plat_adapter_t *p, const struct addrinfo *ai) {
  const struct addrinfo *pick = ai;
  int rc;

  /* Prefer IPv4 among the results: "localhost" often lists ::1 first while
   * peers (fdsoak-platformd's default among them) listen on 127.0.0.1. */
  for (; ai != NULL; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET) {
      pick = ai;
      break;
    }
  }
  if (pick == NULL)
    return UV_EAI_NONAME;

  rc = uv_tcp_init(p->base.loop, &p->tcp);
  if (rc != 0)
    return rc;
  p->tcp_init = 1;
  p->tcp.data = p;
  p->connect_req.data = p;
  p->phase = PLAT_CONNECTING;
  rc = uv_tcp_connect(&p->connect_req, &p->tcp, pick->ai_addr, plat_connect_cb);
  if (rc == 0 || !errno_is_config(rc))
    return rc;

  /* A configuration errno is classified, so it must arrive as a callback:
   * a non-zero return from connect would be read as the exception path. */
  gw_adapter_set_failure(&p->base, 0, "config_error", "connect to %s:%d: %s", p->base.cfg.host,
                         p->base.cfg.port, uv_strerror(rc));
  p->defer_result = GW_CONNECT_FAILED;
  p->defer_err = 0;
  rc = uv_timer_init(p->base.loop, &p->defer);
  if (rc != 0)
    return rc;
  p->defer_init = 1;
  p->defer.data = p;
  return uv_timer_start(&p->defer, plat_defer_cb, 0, 0);
}

static void plat_gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  plat_adapter_t *p = req->data;
  int rc;

  p->gai_pending = 0;
  if (plat_disposing(p)) {
    uv_freeaddrinfo(res);
    /* Disconnect waited for us: the adapter may be freed past this line. */
    gw_adapter_release(&p->base);
    return;
  }
  if (status != 0) {
    uv_freeaddrinfo(res);
    plat_attempt_done(p, GW_CONNECT_ERROR, status);
    return;
  }
  rc = plat_start_connect(p, res);
  uv_freeaddrinfo(res);
  if (rc != 0)
    plat_attempt_done(p, GW_CONNECT_ERROR, rc);
}

static int plat_validate(const gw_platform_config_t *cfg, char *err, size_t errlen) {
  const char *missing = NULL;

  if (cfg->host[0] == '\0')
    missing = "host";
  else if (cfg->token[0] == '\0')
    missing = "token";
  else if (cfg->store_path[0] == '\0')
    missing = "store_path";
  if (missing != NULL) {
    snprintf(err, errlen, "platform '%s': field '%s' is required for kind 'platform'", cfg->name,
             missing);
    return GW_ECONFIG;
  }
  if (cfg->port < 1 || cfg->port > 65535) {
    snprintf(err, errlen,
             "platform '%s': field 'port' must be 1..65535 for kind 'platform', got %d", cfg->name,
             cfg->port);
    return GW_ECONFIG;
  }
  /* A newline in the token would split the identify line in two. */
  if (strpbrk(cfg->token, "\r\n") != NULL) {
    snprintf(err, errlen, "platform '%s': field 'token' must not contain a line break", cfg->name);
    return GW_ECONFIG;
  }
  return 0;
}

static int plat_create(gw_runner_t *r, const gw_platform_config_t *cfg, gw_adapter_t **out) {
  plat_adapter_t *p;

  p = calloc(1, sizeof(*p));
  if (p == NULL)
    return UV_ENOMEM;
  gw_adapter_init_base(&p->base, &gw_platform_adapter_vtable, r, cfg);
  gw__plat_linebuf_init(&p->lines);
  *out = &p->base;
  return 0;
}

static int plat_open(gw_adapter_t *a) {
  plat_adapter_t *p = (plat_adapter_t *)a;
  char msg[GW_MSG_MAX];
  int rc;

  msg[0] = '\0';
  rc = gw__ledger_open(a->cfg.store_path, &p->ledger, msg, sizeof(msg));
  if (rc != 0) {
    gw_adapter_log(a, GW_LOG_WARN, "ledger %s: %s", a->cfg.store_path,
                   msg[0] ? msg : uv_strerror(rc));
    return rc;
  }
  return 0;
}

static int plat_connect(gw_adapter_t *a) {
  plat_adapter_t *p = (plat_adapter_t *)a;
  struct addrinfo hints;
  unsigned char probe[sizeof(struct in6_addr)];
  char port[16];
  int numeric;
  int rc;

  if (p->phase != PLAT_IDLE)
    return UV_EALREADY; /* an adapter makes one attempt; the runner makes new ones */
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  snprintf(port, sizeof(port), "%d", a->cfg.port);
  numeric = uv_inet_pton(AF_INET, a->cfg.host, probe) == 0 ||
            uv_inet_pton(AF_INET6, a->cfg.host, probe) == 0;

  if (numeric) {
    struct addrinfo *res;

    /* Still through getaddrinfo (an injector may fail it), but synchronous:
     * a numeric lookup cannot block, and it keeps libuv's contract that a
     * connect errno other than ECONNREFUSED is returned, not called back. */
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    rc = uv_getaddrinfo(a->loop, &p->gai, NULL, a->cfg.host, port, &hints);
    if (rc != 0)
      return rc;
    res = p->gai.addrinfo;
    p->gai.addrinfo = NULL;
    rc = plat_start_connect(p, res);
    uv_freeaddrinfo(res);
    return rc;
  }

  hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
  p->gai.data = p;
  rc = uv_getaddrinfo(a->loop, &p->gai, plat_gai_cb, a->cfg.host, port, &hints);
  if (rc != 0)
    return rc;
  p->gai_pending = 1;
  p->phase = PLAT_RESOLVING;
  return 0;
}

static int plat_disconnect(gw_adapter_t *a) {
  plat_adapter_t *p = (plat_adapter_t *)a;

  if (p->phase == PLAT_CLOSED)
    return UV_EALREADY;
  p->phase = PLAT_CLOSED;
  if (p->gai_pending) {
    /* The resolver owns p->gai until its callback runs, cancelled or not
     * (a lookup already on a worker thread cannot be cancelled). */
    uv_cancel((uv_req_t *)&p->gai);
    gw_adapter_hold(a);
  }
  if (p->tcp_init) {
    p->tcp_init = 0;
    /* Pending writes and the connect request are cancelled before the
     * close callback runs, so the adapter outlives their callbacks. */
    gw_adapter_close_handle(a, (uv_handle_t *)&p->tcp);
  }
  if (p->defer_init) {
    p->defer_init = 0;
    gw_adapter_close_handle(a, (uv_handle_t *)&p->defer);
  }
  gw__ledger_close(p->ledger);
  p->ledger = NULL;
  return 0;
}

static void plat_destroy(gw_adapter_t *a) {
  plat_adapter_t *p = (plat_adapter_t *)a;

  /* The base lets only a closed or never-opened adapter get here: the
   * ledger is closed already (disconnect) or was never opened. */
  free(p);
}

const gw_adapter_vtable_t gw_platform_adapter_vtable = {
  "platform", plat_validate, plat_create, plat_open, plat_connect, plat_disconnect, plat_destroy,
};
