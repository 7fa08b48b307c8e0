/*
 * fid_uv.c — a libuv client for the fidelity suite: connect, send an HTTP
 * request, read the reply, with the caller's own timeout (a uv timer).
 *   fid_uv HOST PORT TIMEOUT_S
 * HOST is an address, or a name resolved with uv_getaddrinfo (the thread
 * pool's getaddrinfo, as Node's dns.lookup).
 * Prints "ok" or "error <uv error name> <where>"; exit 0 / 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static uv_tcp_t tcp;
static uv_timer_t timer;
static uv_connect_t creq;
static uv_write_t wreq;
static uv_getaddrinfo_t greq;
static int done, rc = 1;
static char rbuf[65536];

static void finish(const char *msg, int code) {
  if (done)
    return;
  done = 1;
  printf("%s\n", msg);
  rc = code;
  uv_close((uv_handle_t *)&tcp, NULL);
  uv_close((uv_handle_t *)&timer, NULL);
}

static void fail(int err, const char *where) {
  char m[128];
  snprintf(m, sizeof m, "error %s %s", uv_err_name(err), where);
  finish(m, 1);
}

static void on_timeout(uv_timer_t *t) {
  (void)t;
  finish("error timeout", 1);
}

static void on_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  (void)h;
  (void)s;
  *b = uv_buf_init(rbuf, sizeof rbuf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)s;
  (void)b;
  if (n > 0)
    finish("ok", 0);
  else if (n < 0)
    fail((int)n, n == UV_EOF ? "eof" : "read");
}

static void on_write(uv_write_t *w, int status) {
  (void)w;
  if (status < 0)
    fail(status, "write");
}

static void on_connect(uv_connect_t *c, int status) {
  static char req[] = "GET / HTTP/1.0\r\nHost: x\r\n\r\n";
  uv_buf_t b = uv_buf_init(req, sizeof req - 1);
  (void)c;
  if (status < 0) {
    fail(status, "connect");
    return;
  }
  uv_write(&wreq, (uv_stream_t *)&tcp, &b, 1, on_write);
  uv_read_start((uv_stream_t *)&tcp, on_alloc, on_read);
}

static void start_connect(const struct sockaddr *sa) {
  int r;
  if ((r = uv_tcp_connect(&creq, &tcp, sa, on_connect)) < 0)
    fail(r, "connect-sync");
}

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *res) {
  (void)g;
  if (done) {
    uv_freeaddrinfo(res);
    return;
  }
  if (status < 0)
    fail(status, "getaddrinfo");
  else
    start_connect(res->ai_addr);
  uv_freeaddrinfo(res);
}

int main(int argc, char **argv) {
  struct sockaddr_storage ss;
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
  uint64_t t0;
  int r;
  if (argc < 4)
    return 2;
  t0 = uv_hrtime();
  uv_tcp_init(uv_default_loop(), &tcp);
  uv_timer_init(uv_default_loop(), &timer);
  uv_timer_start(&timer, on_timeout, (uint64_t)(atof(argv[3]) * 1000), 0);
  if (uv_ip6_addr(argv[1], atoi(argv[2]), (struct sockaddr_in6 *)&ss) == 0 ||
      uv_ip4_addr(argv[1], atoi(argv[2]), (struct sockaddr_in *)&ss) == 0)
    start_connect((struct sockaddr *)&ss);
  else if ((r = uv_getaddrinfo(uv_default_loop(), &greq, on_resolved, argv[1], argv[2], &hints)) <
           0)
    fail(r, "getaddrinfo-sync");
  uv_run(uv_default_loop(), UV_RUN_DEFAULT);
  uv_loop_close(uv_default_loop());
  /* The client's own clock: the suite compares it, not wall time. */
  fprintf(stderr, "elapsed %.3f\n", (double)(uv_hrtime() - t0) / 1e9);
  return rc;
}
