/*
 * http.c - HTTP/1.1 connections on libuv, parsed by llhttp.  See http.h.
 *
 * One connection is a uv_tcp_t, a uv_timer_t (idle and linger deadline) and
 * an llhttp parser.  Request line and headers accumulate in one buffer
 * bounded by max_header_bytes, the body in another bounded by max_body, so a
 * client controls at most limits' worth of our memory.  A complete request
 * is handled at once and its response queued with uv_write; libuv writes
 * in queue order, which is all pipelining needs.
 *
 * Closing after an error: closing a socket that still has unread input makes
 * the kernel send RST, and the client may lose our 413 before reading it.
 * So after the last response we shut down our side and keep reading (and
 * discarding) until the client closes or a short linger deadline passes --
 * what nginx calls lingering close.
 *
 * What a message is made of -- status reasons, a response's body and
 * headers, the JSON error body, the request's header lookup -- is in
 * http_message.c; this file is the connection and the server.
 */
#include "http.h"
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <llhttp.h>

#define LINGER_MS 1000
#define DEFAULT_WRITE_QUEUE (256u * 1024)

struct gw__http_conn_s {
  gw__http_server_t *srv;
  gw__http_conn_t *prev, *next;
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_shutdown_t shutdown_req;
  llhttp_t parser;
  unsigned open_handles; /* close callbacks still to come */

  /* The message being parsed: "target\0name\0value\0name\0value\0..." */
  char *hbuf;
  size_t hlen, hcap;
  size_t cur; /* where the element being parsed starts */
  int in_target;
  struct {
    uint32_t name, value;
  } * hdr;
  unsigned nhdr;
  char *body;
  size_t blen, bcap;
  int err_status; /* set by a callback that rejects the request */
  const char *err_code;
  const char *err_msg;

  unsigned writes; /* uv_write requests in flight */
  size_t queued;   /* their bytes, bookkeeping included: what they cost us */
  char *pending;   /* input after the message that paused reading */
  size_t plen;
  uint64_t msg_start; /* uv_now when the current request's first byte came */
  int headers_done;   /* the current request is past its headers */
  int in_message;
  int closing;     /* uv_close started */
  int draining;    /* no more requests: close once writes are done */
  int lingering;   /* shut down, discarding input until EOF */
  int read_paused; /* backpressure: too much unsent */
  int eof;         /* the client closed its side */
};

typedef struct {
  uv_write_t req;
  gw__http_conn_t *conn;
  size_t len;
  char data[];
} http_write_t;

static llhttp_settings_t parser_settings;
static int parser_settings_ready;

static void conn_close(gw__http_conn_t *c);
static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void conn_error(gw__http_conn_t *c, int status, const char *code, const char *msg);
static void conn_parse(gw__http_conn_t *c, const char *data, size_t len);
static void idle_timer_cb(uv_timer_t *t);

void gw__http_limits_default(gw__http_limits_t *l) {
  l->max_body = GW_HTTP_MAX_BODY_DEFAULT;
  l->max_header_bytes = GW_HTTP_MAX_HEADER_BYTES_DEFAULT;
  l->max_headers = GW_HTTP_MAX_HEADERS_DEFAULT;
  l->max_connections = GW_HTTP_MAX_CONNECTIONS_DEFAULT;
  l->idle_timeout_ms = GW_HTTP_IDLE_TIMEOUT_DEFAULT;
  l->header_timeout_ms = GW_HTTP_HEADER_TIMEOUT_DEFAULT;
  l->request_timeout_ms = GW_HTTP_REQUEST_TIMEOUT_DEFAULT;
  l->max_write_queue = DEFAULT_WRITE_QUEUE;
}

/* ------------------------------------------------------------------ */
/* Writing                                                            */
/* ------------------------------------------------------------------ */

static void conn_finish_if_done(gw__http_conn_t *c);

static void shutdown_cb(uv_shutdown_t *req, int status) {
  gw__http_conn_t *c = req->data;

  /* ECANCELED when the connection closed first; c is still alive then
   * (libuv runs it before the close callback). */
  if (status != 0 && !c->closing)
    conn_close(c);
}

static void linger_timer_cb(uv_timer_t *t) { conn_close(t->data); }

/* Every response is out and no more will come: close, or shut down and
 * linger while the client still has its side open. */
static void conn_finish_if_done(gw__http_conn_t *c) {
  int rc;

  if (c->closing || !c->draining || c->writes != 0)
    return;
  if (c->eof) {
    conn_close(c);
    return;
  }
  if (c->lingering)
    return;
  c->lingering = 1;
  c->shutdown_req.data = c;
  rc = uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, shutdown_cb);
  if (rc != 0) {
    conn_close(c);
    return;
  }
  /* Keep reading (discarding) so the client's unread input does not turn
   * our close into an RST that could destroy the response. */
  if (c->read_paused) {
    c->read_paused = 0;
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0) {
      conn_close(c);
      return;
    }
  }
  uv_timer_start(&c->timer, linger_timer_cb, LINGER_MS, 0);
}

static void write_cb(uv_write_t *req, int status) {
  http_write_t *w = (http_write_t *)req;
  gw__http_conn_t *c = w->conn;

  c->queued -= sizeof(*w) + w->len;
  free(w);
  c->writes--;
  if (c->closing)
    return;
  if (status != 0) {
    conn_close(c);
    return;
  }
  /* Resume below half the cap, not just under it: one response per resume
   * would make a read syscall per response. */
  if (c->read_paused && !c->draining && c->queued <= c->srv->limits.max_write_queue / 2) {
    size_t n = c->plen;

    c->read_paused = 0;
    llhttp_resume(&c->parser);
    if (n > 0) {
      /* The requests that arrived behind the one that paused us; parsing
       * them may pause again, keeping the rest (conn_parse moves it). */
      c->plen = 0;
      conn_parse(c, c->pending, n);
      if (c->closing)
        return;
    }
    if (c->plen == 0) {
      free(c->pending);
      c->pending = NULL;
    }
    if (!c->read_paused && !c->draining &&
        uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0) {
      conn_close(c);
      return;
    }
  }
  conn_finish_if_done(c);
}

/* Queue head then body (either may be empty) as one write of their own
 * copy, counted against the connection's queue cap. */
static int conn_write_parts(gw__http_conn_t *c, const char *head, size_t hlen, const char *body,
                            size_t blen) {
  http_write_t *w;
  uv_buf_t buf;
  int rc;

  w = malloc(sizeof(*w) + hlen + blen);
  if (w == NULL)
    return UV_ENOMEM;
  w->conn = c;
  w->len = hlen + blen;
  if (hlen > 0)
    memcpy(w->data, head, hlen);
  if (blen > 0)
    memcpy(w->data + hlen, body, blen);
  buf = uv_buf_init(w->data, (unsigned)w->len);
  rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, write_cb);
  if (rc != 0) {
    free(w);
    return rc;
  }
  c->writes++;
  c->queued += sizeof(*w) + w->len;
  return 0;
}

static int conn_write_raw(gw__http_conn_t *c, const char *data, size_t len) {
  return conn_write_parts(c, data, len, NULL, 0);
}

/* Serialize and queue one response; the response's body is consumed. */
static int conn_write_response(gw__http_conn_t *c, gw__http_response_t *res, int head_only,
                               int keep_alive) {
  char head[256 + GW_HTTP_EXTRA_HEADERS_MAX];
  size_t body_len = head_only ? 0 : res->body_len;
  int hn;

  hn = snprintf(head, sizeof(head),
                "HTTP/1.1 %d %s\r\n"
                "Content-Type: %s\r\n"
                "Content-Length: %zu\r\n"
                "%s"
                "Connection: %s\r\n"
                "\r\n",
                res->status, gw__http_reason(res->status),
                res->content_type != NULL ? res->content_type : "application/json", res->body_len,
                res->extra_headers, keep_alive ? "keep-alive" : "close");
  if (hn < 0 || (size_t)hn >= sizeof(head))
    return UV_EINVAL;
  return conn_write_parts(c, head, (size_t)hn, res->body, body_len);
}

/* The server's own 4xx/5xx: written, then the connection drains and closes
 * (after an error the parser cannot find the next request's start). */
static void conn_error(gw__http_conn_t *c, int status, const char *code, const char *msg) {
  gw__http_response_t res;

  if (c->closing || c->draining)
    return;
  memset(&res, 0, sizeof(res));
  c->srv->errors++;
  c->draining = 1;
  if (gw__http_respond_error(&res, status, "invalid_request_error", code, "%s", msg) != 0 ||
      conn_write_response(c, &res, 0, 0) != 0) {
    free(res.body);
    conn_close(c);
    return;
  }
  free(res.body);
  conn_finish_if_done(c);
}

/* ------------------------------------------------------------------ */
/* Parsing                                                            */
/* ------------------------------------------------------------------ */

static int reject(gw__http_conn_t *c, int status, const char *code, const char *msg) {
  c->err_status = status;
  c->err_code = code;
  c->err_msg = msg;
  return -1;
}

/*
 * Append len bytes to a growable buffer, keeping room for a NUL.  It grows
 * by doubling from `first`, never past `cap_max` (the caller has checked
 * that len fits under it), so memory follows what arrives, not what a
 * client claims.  UV_ENOMEM leaves the buffer as it was.
 */
static int buf_append(char **buf, size_t *len, size_t *cap, size_t first, size_t cap_max,
                      const char *at, size_t n) {
  if (gw__grow(buf, cap, *len + n + 1, 1, first, cap_max) != 0)
    return UV_ENOMEM;
  memcpy(*buf + *len, at, n);
  *len += n;
  return 0;
}

static int hbuf_append(gw__http_conn_t *c, const char *at, size_t len) {
  size_t max = c->srv->limits.max_header_bytes;

  if (c->hlen + len + 1 > max) {
    if (c->in_target)
      return reject(c, 414, "uri_too_long", "request target too long");
    return reject(c, 431, "request_header_fields_too_large", "request headers too large");
  }
  if (buf_append(&c->hbuf, &c->hlen, &c->hcap, 1024, max, at, len) != 0)
    return reject(c, 500, "server_error", "out of memory");
  return 0;
}

static int on_message_begin(llhttp_t *p) {
  gw__http_conn_t *c = p->data;

  c->in_message = 1;
  c->hlen = 0;
  c->cur = 0;
  c->nhdr = 0;
  c->blen = 0;
  c->in_target = 1;
  c->headers_done = 0;
  c->msg_start = uv_now(c->srv->loop);
  return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len) { return hbuf_append(p->data, at, len); }

static int on_url_complete(llhttp_t *p) {
  gw__http_conn_t *c = p->data;
  int rc = hbuf_append(c, "", 1);

  c->in_target = 0;
  c->cur = c->hlen;
  return rc;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
  gw__http_conn_t *c = p->data;

  if (c->nhdr >= c->srv->limits.max_headers)
    return reject(c, 431, "request_header_fields_too_large", "too many request headers");
  return hbuf_append(c, at, len);
}

static int on_header_field_complete(llhttp_t *p) {
  gw__http_conn_t *c = p->data;

  if (c->nhdr >= c->srv->limits.max_headers)
    return reject(c, 431, "request_header_fields_too_large", "too many request headers");
  if (hbuf_append(c, "", 1) != 0)
    return -1;
  /* "Name : value" is not a header (RFC 9112 5.1: no whitespace between
   * name and colon), and servers that strip it disagree with proxies that
   * do not about which header it is -- a request smuggling vector. */
  if (!gw__http_is_token(c->hbuf + c->cur))
    return reject(c, 400, "bad_request", "invalid header name");
  c->hdr[c->nhdr].name = (uint32_t)c->cur;
  c->cur = c->hlen;
  return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
  return hbuf_append(p->data, at, len);
}

static int on_header_value_complete(llhttp_t *p) {
  gw__http_conn_t *c = p->data;

  if (hbuf_append(c, "", 1) != 0)
    return -1;
  c->hdr[c->nhdr].value = (uint32_t)c->cur;
  c->nhdr++;
  c->cur = c->hlen;
  return 0;
}

static const char *conn_header(gw__http_conn_t *c, const char *name) {
  unsigned i;

  for (i = 0; i < c->nhdr; i++) {
    if (strcasecmp(c->hbuf + c->hdr[i].name, name) == 0)
      return c->hbuf + c->hdr[i].value;
  }
  return NULL;
}

/* How many times a header occurs in the current request. */
static unsigned conn_header_count(gw__http_conn_t *c, const char *name) {
  unsigned i, n = 0;

  for (i = 0; i < c->nhdr; i++)
    n += strcasecmp(c->hbuf + c->hdr[i].name, name) == 0;
  return n;
}

static int on_headers_complete(llhttp_t *p) {
  gw__http_conn_t *c = p->data;
  const char *expect;
  int has_body = (p->flags & F_CHUNKED) != 0 || p->content_length > 0;
  unsigned hosts = conn_header_count(c, "Host");

  c->headers_done = 1;
  /* RFC 9112 3.2: an HTTP/1.1 request has exactly one Host; one without it
   * or with two is answered 400. */
  if ((p->http_major == 1 && p->http_minor >= 1 && hosts == 0) || hosts > 1)
    return reject(c, 400, "bad_request",
                  hosts == 0 ? "missing Host header" : "more than one Host header");
  /* Two credentials: which one a proxy checked and which one we would use
   * could differ, so neither is used. */
  if (conn_header_count(c, "Authorization") > 1)
    return reject(c, 400, "bad_request", "more than one Authorization header");

  /* Refuse before reading a byte of an oversized body. */
  if ((p->flags & F_CONTENT_LENGTH) && p->content_length > c->srv->limits.max_body)
    return reject(c, 413, "request_too_large", "request body exceeds the limit");
  expect = conn_header(c, "Expect");
  if (expect != NULL && has_body) {
    if (strcasecmp(expect, "100-continue") != 0)
      return reject(c, 417, "expectation_failed", "unsupported Expect");
    /* curl and others wait for this before sending a large body. */
    if (conn_write_raw(c, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 0)
      return reject(c, 500, "server_error", "write failed");
  }
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  gw__http_conn_t *c = p->data;
  size_t max = c->srv->limits.max_body;

  if (c->blen + len > max)
    return reject(c, 413, "request_too_large", "request body exceeds the limit");
  /* Grow with what arrives, not with what Content-Length promises, so a
   * client that only claims 10 MB costs nothing. */
  if (buf_append(&c->body, &c->blen, &c->bcap, 4096, max + 1, at, len) != 0)
    return reject(c, 500, "server_error", "out of memory");
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  gw__http_conn_t *c = p->data;
  gw__http_server_t *srv = c->srv;
  gw__http_header_t hdrs[c->nhdr > 0 ? c->nhdr : 1];
  gw__http_request_t req;
  gw__http_response_t res;
  char path[c->hlen + 1];
  const char *q;
  int keep_alive = llhttp_should_keep_alive(p);
  int head_only;
  unsigned i;
  int rc;

  c->in_message = 0;
  memset(&req, 0, sizeof(req));
  memset(&res, 0, sizeof(res));
  for (i = 0; i < c->nhdr; i++) {
    hdrs[i].name = c->hbuf + c->hdr[i].name;
    hdrs[i].value = c->hbuf + c->hdr[i].value;
  }
  req.method = llhttp_method_name((llhttp_method_t)p->method);
  req.target = c->hlen > 0 ? c->hbuf : "";
  q = strchr(req.target, '?');
  if (q != NULL) {
    memcpy(path, req.target, (size_t)(q - req.target));
    path[q - req.target] = '\0';
    req.query = q + 1;
  } else {
    snprintf(path, sizeof(path), "%s", req.target);
    req.query = "";
  }
  req.path = path;
  req.headers = hdrs;
  req.nheaders = c->nhdr;
  if (c->body != NULL)
    c->body[c->blen] = '\0';
  req.body = c->body != NULL ? c->body : "";
  req.body_len = c->blen;
  req.conn = c;

  srv->requests++;
  srv->handler(srv, &req, &res);
  if (res.status < 100 || res.status > 599) {
    free(res.body);
    memset(&res, 0, sizeof(res));
    gw__http_respond_error(&res, 500, "server_error", "server_error", "no response");
  }
  head_only = p->method == HTTP_HEAD;
  rc = conn_write_response(c, &res, head_only, keep_alive);
  free(res.body);

  /* A large body's buffer goes back now; an idle keep-alive connection
   * should not pin 10 MB. */
  if (c->bcap > 65536) {
    free(c->body);
    c->body = NULL;
    c->bcap = 0;
  }
  c->blen = 0;
  if (rc != 0)
    return reject(c, 500, "server_error", "write failed");
  if (!keep_alive || p->upgrade) {
    c->draining = 1;
    return HPE_PAUSED; /* nothing after this request is read */
  }
  /* Back-pressure per request, not per read: a 64 KiB read of pipelined
   * requests could otherwise queue thousands of responses past the cap.
   * conn_parse keeps what follows until write_cb resumes. */
  if (c->queued >= srv->limits.max_write_queue) {
    c->read_paused = 1;
    return HPE_PAUSED;
  }
  return 0;
}

static void settings_init(void) {
  if (parser_settings_ready)
    return;
  llhttp_settings_init(&parser_settings);
  parser_settings.on_message_begin = on_message_begin;
  parser_settings.on_url = on_url;
  parser_settings.on_url_complete = on_url_complete;
  parser_settings.on_header_field = on_header_field;
  parser_settings.on_header_field_complete = on_header_field_complete;
  parser_settings.on_header_value = on_header_value;
  parser_settings.on_header_value_complete = on_header_value_complete;
  parser_settings.on_headers_complete = on_headers_complete;
  parser_settings.on_body = on_body;
  parser_settings.on_message_complete = on_message_complete;
  parser_settings_ready = 1;
}

/* ------------------------------------------------------------------ */
/* Connections                                                        */
/* ------------------------------------------------------------------ */

static void server_maybe_done(gw__http_server_t *srv) {
  gw__http_close_cb cb;

  if (!srv->closing || srv->nconns != 0 || srv->listener_init)
    return;
  cb = srv->close_cb;
  srv->close_cb = NULL;
  if (cb != NULL)
    cb(srv);
}

static void conn_handle_closed_cb(uv_handle_t *h) {
  gw__http_conn_t *c = h->data;
  gw__http_server_t *srv = c->srv;

  if (--c->open_handles != 0)
    return;
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    srv->conns = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  srv->nconns--;
  free(c->hbuf);
  free(c->hdr);
  free(c->body);
  free(c->pending);
  free(c);
  server_maybe_done(srv);
}

static void conn_close(gw__http_conn_t *c) {
  if (c->closing)
    return;
  c->closing = 1;
  uv_close((uv_handle_t *)&c->tcp, conn_handle_closed_cb);
  uv_close((uv_handle_t *)&c->timer, conn_handle_closed_cb);
}

/*
 * One timer per connection, three deadlines: idle_timeout_ms since the last
 * byte between requests; and, once a request's first byte is in,
 * header_timeout_ms for its request line and headers and request_timeout_ms
 * for all of it, counted from that first byte.  A byte a minute restarts the
 * idle wait but never moves a request's deadline, so a slowloris client
 * holds its slot for header_timeout_ms at most.
 */
static void conn_arm_timer(gw__http_conn_t *c) {
  const gw__http_limits_t *l = &c->srv->limits;
  uint64_t t = l->idle_timeout_ms;

  if (c->in_message) {
    uint64_t now = uv_now(c->srv->loop);
    uint64_t end = c->msg_start + (c->headers_done ? l->request_timeout_ms : l->header_timeout_ms);
    uint64_t left = end > now ? end - now : 0;

    if (left < t)
      t = left;
  }
  uv_timer_start(&c->timer, idle_timer_cb, t, 0);
}

static void idle_timer_cb(uv_timer_t *t) {
  gw__http_conn_t *c = t->data;

  /* Half-way through a request: say why, then linger and close; an idle
   * (or draining) connection just gives up its slot. */
  if (c->in_message && !c->draining && !c->lingering) {
    conn_error(c, 408, "request_timeout",
               c->headers_done ? "request not complete within its deadline"
                               : "request headers not complete within their deadline");
    /* The 408 may never be read: close at the linger deadline regardless. */
    if (!c->closing && !c->lingering)
      uv_timer_start(&c->timer, linger_timer_cb, LINGER_MS, 0);
    return;
  }
  conn_close(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  gw__http_conn_t *c = h->data;

  *buf = uv_buf_init(c->srv->rbuf, sizeof(c->srv->rbuf));
}

/* Feed input to the parser and act on the outcome. */
static void conn_parse(gw__http_conn_t *c, const char *data, size_t len) {
  llhttp_errno_t err;

  c->err_status = 0;
  err = llhttp_execute(&c->parser, data, len);
  if (c->closing)
    return;
  if (err == HPE_PAUSED && c->read_paused && !c->draining) {
    /* Too much unsent: keep what follows the paused request (it lives in
     * the shared read buffer, or in c->pending itself) and stop reading. */
    const char *rest = llhttp_get_error_pos(&c->parser);
    size_t n = rest != NULL && rest >= data && rest <= data + len ? (size_t)(data + len - rest) : 0;

    if (n > 0) {
      if (c->pending == NULL) {
        c->pending = malloc(GW_HTTP_READ_BUF);
        if (c->pending == NULL) {
          conn_close(c);
          return;
        }
      }
      memmove(c->pending, rest, n);
    }
    c->plen = n;
    uv_read_stop((uv_stream_t *)&c->tcp);
    conn_arm_timer(c);
    return;
  }
  if (err == HPE_OK || (err == HPE_PAUSED && c->draining) || err == HPE_PAUSED_UPGRADE) {
    if (err == HPE_PAUSED_UPGRADE)
      c->draining = 1; /* we speak no other protocol */
    if (c->draining) {
      conn_finish_if_done(c);
      return;
    }
    conn_arm_timer(c);
    return;
  }
  if (c->err_status != 0)
    conn_error(c, c->err_status, c->err_code, c->err_msg);
  else
    conn_error(c, 400, "bad_request",
               llhttp_get_error_reason(&c->parser) != NULL ? llhttp_get_error_reason(&c->parser)
                                                           : "malformed request");
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  gw__http_conn_t *c = s->data;
  llhttp_errno_t err;

  if (c->closing)
    return;
  if (nread < 0) {
    if (nread != UV_EOF) {
      conn_close(c);
      return;
    }
    c->eof = 1;
    if (!c->draining && c->in_message) {
      /* The client half-closed mid-request (a truncated body): it can
       * still read our answer. */
      err = llhttp_finish(&c->parser);
      if (err != HPE_OK) {
        conn_error(c, 400, "truncated_request", "request ended before it was complete");
        return;
      }
    }
    /* Pipelined responses may still be going out: finish them first. */
    c->draining = 1;
    conn_finish_if_done(c);
    return;
  }
  if (nread == 0)
    return;
  /* Lingering: discarded (see conn_finish_if_done).  Draining: no more
   * requests are read, and input does not extend the drain's deadline. */
  if (c->lingering || c->draining)
    return;
  conn_parse(c, buf->base, (size_t)nread);
}

/* A connection with its handles initialized and linked into srv, its
 * socket not yet attached; conn_close() undoes it. */
static gw__http_conn_t *conn_new(gw__http_server_t *srv) {
  gw__http_conn_t *c;

  c = calloc(1, sizeof(*c));
  if (c != NULL && srv->limits.max_headers > 0)
    c->hdr = calloc(srv->limits.max_headers, sizeof(*c->hdr));
  if (c == NULL || c->hdr == NULL) {
    free(c);
    return NULL;
  }
  c->srv = srv;
  if (uv_tcp_init(srv->loop, &c->tcp) != 0) {
    free(c->hdr);
    free(c);
    return NULL;
  }
  uv_timer_init(srv->loop, &c->timer); /* cannot fail */
  c->tcp.data = c;
  c->timer.data = c;
  c->open_handles = 2;
  c->next = srv->conns;
  if (srv->conns != NULL)
    srv->conns->prev = c;
  srv->conns = c;
  srv->nconns++;
  llhttp_init(&c->parser, HTTP_REQUEST, &parser_settings);
  c->parser.data = c;
  return c;
}

/* Start serving a connection whose socket is attached. */
static void conn_start(gw__http_conn_t *c) {
  gw__http_server_t *srv = c->srv;

  srv->accepted++;
  uv_tcp_nodelay(&c->tcp, 1);
  if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0) {
    conn_close(c);
    return;
  }
  conn_arm_timer(c);
  if (srv->nconns > srv->limits.max_connections) {
    srv->rejected++;
    /* Past twice the limit even the 503 costs too much: just hang up. */
    if (srv->nconns > 2 * srv->limits.max_connections) {
      conn_close(c);
      return;
    }
    conn_error(c, 503, "too_many_connections", "too many concurrent connections");
  }
}

/* Count an fd-limit event and tell the owner, at most once per report
 * interval: a burst of clients against RLIMIT_NOFILE makes thousands of
 * these a second, and a log line each would be a second outage. */
static void fd_pressure(gw__http_server_t *srv, int err) {
  uint64_t now = uv_now(srv->loop);

  srv->fd_pressure++;
  if (srv->pressure_cb == NULL)
    return;
  if (srv->fd_pressure_last_ms != 0 && now - srv->fd_pressure_last_ms < GW_HTTP_PRESSURE_REPORT_MS)
    return;
  srv->fd_pressure_last_ms = now != 0 ? now : 1;
  srv->pressure_cb(srv, err, srv->fd_pressure - srv->fd_pressure_reported);
  srv->fd_pressure_reported = srv->fd_pressure;
}

/*
 * libuv meets EMFILE in accept itself and sheds the waiting clients with
 * its reserve-fd trick, silently: connection_cb runs only if the trick
 * failed too.  fds are allocated lowest first, so an accepted socket at
 * the top of the limit means every fd is in use and the next accept will
 * shed; that is the moment to report.
 */
static void check_fd_headroom(gw__http_server_t *srv, const gw__http_conn_t *c) {
  struct rlimit rl;
  uv_os_fd_t fd;

  if (uv_fileno((const uv_handle_t *)&c->tcp, &fd) != 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0 ||
      rl.rlim_cur == RLIM_INFINITY)
    return;
  /* The last two: libuv's reserve fd may hold the one below. */
  if ((rlim_t)fd + 2 >= rl.rlim_cur)
    fd_pressure(srv, UV_EMFILE);
}

static void connection_cb(uv_stream_t *server, int status) {
  gw__http_server_t *srv = server->data;
  gw__http_conn_t *c;

  if (status == UV_EMFILE || status == UV_ENFILE)
    fd_pressure(srv, status); /* the reserve-fd trick failed as well */
  if (status != 0 || srv->closing)
    return;
  c = conn_new(srv);
  if (c == NULL)
    return;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c);
    return;
  }
  check_fd_headroom(srv, c);
  conn_start(c);
}

/* ------------------------------------------------------------------ */
/* Server                                                             */
/* ------------------------------------------------------------------ */

int gw__http_server_init(uv_loop_t *loop, gw__http_server_t *srv, const gw__http_limits_t *limits,
                         gw__http_handler_cb handler) {
  if (loop == NULL || srv == NULL || handler == NULL)
    return UV_EINVAL;
  memset(srv, 0, sizeof(*srv) - sizeof(srv->rbuf));
  srv->loop = loop;
  srv->handler = handler;
  if (limits != NULL)
    srv->limits = *limits;
  else
    gw__http_limits_default(&srv->limits);
  if (srv->limits.max_write_queue == 0)
    srv->limits.max_write_queue = DEFAULT_WRITE_QUEUE;
  if (srv->limits.max_header_bytes == 0 || srv->limits.max_header_bytes > UINT32_MAX ||
      srv->limits.max_headers == 0 || srv->limits.idle_timeout_ms == 0)
    return UV_EINVAL;
  if (srv->limits.header_timeout_ms == 0)
    srv->limits.header_timeout_ms = GW_HTTP_HEADER_TIMEOUT_DEFAULT;
  if (srv->limits.request_timeout_ms == 0)
    srv->limits.request_timeout_ms = GW_HTTP_REQUEST_TIMEOUT_DEFAULT;
  settings_init();
  return 0;
}

static void listener_closed_cb(uv_handle_t *h) {
  gw__http_server_t *srv = h->data;

  srv->listener_init = 0;
  server_maybe_done(srv);
}

int gw__http_server_listen(gw__http_server_t *srv, const struct sockaddr *addr, int backlog) {
  int rc;

  if (srv->closing)
    return UV_EINVAL;
  if (srv->listener_init)
    return UV_EALREADY;
  rc = uv_tcp_init(srv->loop, &srv->listener);
  if (rc != 0)
    return rc;
  srv->listener_init = 1;
  srv->listener.data = srv;
  rc = uv_tcp_bind(&srv->listener, addr, 0);
  if (rc != 0)
    return rc;
  return uv_listen((uv_stream_t *)&srv->listener, backlog > 0 ? backlog : 128, connection_cb);
}

int gw__http_server_port(const gw__http_server_t *srv) {
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  int rc;

  if (!srv->listener_init || srv->closing)
    return UV_ENOTCONN;
  rc = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len);
  if (rc != 0)
    return rc;
  if (ss.ss_family == AF_INET)
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  if (ss.ss_family == AF_INET6)
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return UV_EAFNOSUPPORT;
}

unsigned gw__http_server_connections(const gw__http_server_t *srv) {
  const gw__http_conn_t *c;
  unsigned n = 0;

  for (c = srv->conns; c != NULL; c = c->next)
    n += !c->closing;
  return n;
}

void gw__http_server_close(gw__http_server_t *srv, gw__http_close_cb cb) {
  gw__http_conn_t *c;

  if (srv == NULL || srv->closing)
    return;
  srv->closing = 1;
  srv->close_cb = cb;
  if (srv->listener_init && !uv_is_closing((uv_handle_t *)&srv->listener))
    uv_close((uv_handle_t *)&srv->listener, listener_closed_cb);
  for (c = srv->conns; c != NULL; c = c->next)
    conn_close(c);
  server_maybe_done(srv);
}
