/*
 * fuzz_http.c - libFuzzer target for the HTTP server (infra/http.c).
 *
 * Each input is everything one client sends on one connection.  The bytes
 * go through the real connection code -- libuv reads, llhttp, the header,
 * header-count and body limits, Expect handling, pipelining, backpressure,
 * lingering close -- because the server adopts one end of a socketpair as
 * if it had accepted it; the other end is the client.  Limits are set low
 * so that short inputs reach every rejection path.
 *
 * The handler stands in for the api adapter's router: it reads every field
 * of the request (so an unterminated or dangling string is an ASan report),
 * checks what http.h promises about them, and answers with request data in
 * the places a router does -- a header value, an error message, a body.
 *
 * Oracle beyond "no crash": what the server writes back must parse as a
 * sequence of HTTP/1.1 responses (so no request byte can forge a header or
 * break the framing), and the connection must close with nothing leaked.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <llhttp.h>
#include <uv.h>

/* The server's source itself, so the target can hand it one end of a
 * socketpair as an accepted client (conn_new, conn_start are static): the
 * product has no use for that entry, so it lives here. */
#include "http.c"

/* Serve a connected stream socket exactly as an accepted client, limits
 * included.  On success the server owns sock; on failure the caller. */
static int fuzz_adopt(gw__http_server_t *srv, uv_os_sock_t sock) {
  gw__http_conn_t *c;
  int rc;

  if (srv == NULL || srv->closing)
    return UV_EINVAL;
  c = conn_new(srv);
  if (c == NULL)
    return UV_ENOMEM;
  /* libuv attaches the socket only on success, so on failure closing the
   * handle leaves the caller's socket alone. */
  rc = uv_tcp_open(&c->tcp, sock);
  if (rc != 0) {
    conn_close(c);
    return rc;
  }
  conn_start(c);
  return 0;
}

#define OUT_MAX (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
  uv_poll_t poll;
  int fd;
  const uint8_t *in;
  size_t in_len, in_off;
  int shut; /* our write side is shut down */
  int eof;  /* the server closed its side */
  char *out;
  size_t out_len;
  int saw_head; /* HEAD responses carry no body: no framing check */
} client_t;

static uv_loop_t loop;
static gw__http_server_t *srv;
static client_t *cur;
static char *out_buf; /* OUT_MAX, allocated once: a fresh 1 MiB per input
                         costs more syscalls than the input itself */

static void fail(const char *what) {
  fprintf(stderr, "fuzz_http: %s\n", what);
  abort();
}

static void fuzz_handler(gw__http_server_t *s, const gw__http_request_t *req,
                         gw__http_response_t *res) {
  size_t i, tlen, plen;
  const char *v;
  char name[64];

  (void)s;
  /* Everything http.h says about a request, checked. */
  tlen = strlen(req->target);
  plen = strlen(req->path);
  if (plen > tlen || memcmp(req->path, req->target, plen) != 0)
    fail("path is not a prefix of target");
  if (req->target[plen] == '?' ? strcmp(req->query, req->target + plen + 1) != 0
                               : req->query[0] != '\0')
    fail("query does not follow the '?'");
  if (req->body[req->body_len] != '\0')
    fail("body not NUL-terminated at body_len");
  for (i = 0; i < req->nheaders; i++)
    (void)(strlen(req->headers[i].name) + strlen(req->headers[i].value));
  if (strcmp(req->method, "HEAD") == 0)
    cur->saw_head = 1;

  /* Request bytes in the places the api router puts them. */
  if (strcmp(req->path, "/echo") == 0) {
    v = gw__http_header(req, "Content-Type");
    gw__http_respond(res, 200, "text/plain", req->body, req->body_len);
    (void)v;
  } else if (strcmp(req->path, "/header") == 0) {
    v = gw__http_header(req, "X-Name");
    snprintf(name, sizeof(name), "%s", v != NULL ? v : "X-Echo");
    v = gw__http_header(req, "X-Value");
    (void)gw__http_add_header(res, name, v != NULL ? v : req->query);
    (void)gw__http_add_header(res, "X-Query", req->query);
    gw__http_respond(res, 200, NULL, "{}", 2);
  } else if (strncmp(req->path, "/v1/", 4) == 0) {
    gw__http_respond_error(res, 404, NULL, req->query[0] != '\0' ? req->query : NULL,
                           "no route %s %s (%zu headers, body %.*s)", req->method, req->path,
                           req->nheaders, (int)(req->body_len < 64 ? req->body_len : 64),
                           req->body);
  } else if (strcmp(req->path, "/none") == 0) {
    /* untouched: the server must turn it into a 500 */
  } else {
    gw__http_respond_error(res, 404, "invalid_request_error", "not_found", "no route %s",
                           req->target);
  }
}

static void client_poll_cb(uv_poll_t *h, int status, int events) {
  client_t *c = h->data;
  ssize_t n;
  char buf[16384];

  if (status < 0) {
    c->eof = 1;
    uv_poll_stop(h);
    return;
  }
  if ((events & UV_WRITABLE) && !c->shut) {
    if (c->in_off < c->in_len) {
      n = send(c->fd, c->in + c->in_off, c->in_len - c->in_off, MSG_NOSIGNAL);
      if (n > 0)
        c->in_off += (size_t)n;
      else if (n < 0 && errno != EAGAIN && errno != EINTR)
        c->in_off = c->in_len; /* the server hung up: the rest is moot */
    }
    if (c->in_off == c->in_len) {
      shutdown(c->fd, SHUT_WR);
      c->shut = 1;
    }
  }
  if (events & UV_READABLE) {
    for (;;) {
      n = recv(c->fd, buf, sizeof(buf), 0);
      if (n > 0) {
        if (c->out_len + (size_t)n > OUT_MAX)
          fail("server wrote more than 1 MiB for one input");
        memcpy(c->out + c->out_len, buf, (size_t)n);
        c->out_len += (size_t)n;
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EINTR))
        c->eof = 1;
      break;
    }
  }
  if (c->eof)
    uv_poll_stop(h);
  else
    uv_poll_start(h, c->shut ? UV_READABLE : UV_READABLE | UV_WRITABLE, client_poll_cb);
}

static void check_responses(const client_t *c) {
  llhttp_settings_t settings;
  llhttp_t p;
  llhttp_errno_t err;

  if (c->out_len == 0 || c->saw_head)
    return;
  if (c->out_len < 9 || memcmp(c->out, "HTTP/1.1 ", 9) != 0)
    fail("output does not start with a status line");
  llhttp_settings_init(&settings);
  llhttp_init(&p, HTTP_RESPONSE, &settings);
  err = llhttp_execute(&p, c->out, c->out_len);
  if (err != HPE_OK) {
    fprintf(stderr, "fuzz_http: response stream: %s\n", llhttp_errno_name(err));
    fail("server output is not a sequence of HTTP responses");
  }
}

static void poll_closed_cb(uv_handle_t *h) { (void)h; }

static void init_once(void) {
  gw__http_limits_t limits;

  if (srv != NULL)
    return;
  if (uv_loop_init(&loop) != 0)
    fail("uv_loop_init");
  srv = malloc(sizeof(*srv));
  out_buf = malloc(OUT_MAX);
  if (srv == NULL || out_buf == NULL)
    fail("out of memory");
  gw__http_limits_default(&limits);
  limits.max_body = 2048;
  limits.max_header_bytes = 1024;
  limits.max_headers = 8;
  limits.max_connections = 4;
  limits.idle_timeout_ms = 10000; /* never reached: the client always ends */
  limits.max_write_queue = 4096;  /* small, so pipelining hits backpressure */
  if (gw__http_server_init(&loop, srv, &limits, fuzz_handler) != 0)
    fail("gw__http_server_init");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  client_t c;
  int sv[2];

  init_once();
  memset(&c, 0, sizeof(c));
  c.in = data;
  c.in_len = size;
  c.out = out_buf;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
    fail("socketpair");
  if (fuzz_adopt(srv, sv[0]) != 0)
    fail("fuzz_adopt");
  c.fd = sv[1];
  cur = &c;
  if (uv_poll_init(&loop, &c.poll, c.fd) != 0)
    fail("uv_poll_init");
  c.poll.data = &c;
  uv_poll_start(&c.poll, UV_READABLE | UV_WRITABLE, client_poll_cb);

  /* Until the server has closed the connection (it always does: we shut
   * down our side) and we have read all it wrote. */
  while (!c.eof || gw__http_server_connections(srv) != 0)
    uv_run(&loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&c.poll, poll_closed_cb);
  /* Close callbacks of the connection and the poll handle: after this no
   * memory of this input is left (LeakSanitizer checks). */
  while (uv_run(&loop, UV_RUN_NOWAIT) != 0)
    ;
  close(c.fd);
  cur = NULL;

  check_responses(&c);
  return 0;
}
