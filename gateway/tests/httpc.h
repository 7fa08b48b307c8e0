/*
 * httpc.h - a blocking loopback HTTP client for the api tests.
 *
 * The server runs on the test's libuv loop in the main thread; the client
 * runs in a second thread with plain sockets, so the bytes on the wire are
 * exactly what the test wrote (malformed on purpose when it wants).  Every
 * socket has a receive timeout, so a server that fails to answer fails the
 * test instead of hanging it.
 */
#ifndef GW_TEST_HTTPC_H
#define GW_TEST_HTTPC_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

#define HC_MAX 8
#define HC_BUF (1u << 20)

typedef struct {
  int status;
  char head[4096];
  char *body; /* malloc'd, NUL-terminated */
  size_t body_len;
} hc_resp_t;

static inline int hc_connect(int port) {
  struct sockaddr_in sin;
  struct timeval tv = {5, 0};
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -1;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_port = htons((uint16_t)port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static inline int hc_send(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Read n complete responses (Content-Length framed).  Returns how many were
 * read; fewer on EOF, timeout or garbage. */
typedef struct {
  char *buf;
  size_t len;
} hc_conn_buf_t;

static inline int hc_read(int fd, hc_resp_t *out, int n, hc_conn_buf_t *cb) {
  int got = 0;

  if (cb->buf == NULL) {
    cb->buf = malloc(HC_BUF);
    cb->len = 0;
  }
  while (got < n) {
    char *end = cb->len > 0 ? memmem(cb->buf, cb->len, "\r\n\r\n", 4) : NULL;
    if (end != NULL) {
      size_t hlen = (size_t)(end - cb->buf) + 4;
      const char *cl;
      size_t clen = 0;
      char save = cb->buf[hlen - 1];
      cb->buf[hlen - 1] = '\0';
      cl = strcasestr(cb->buf, "\r\nContent-Length:");
      if (cl != NULL)
        clen = strtoul(cl + 17, NULL, 10);
      cb->buf[hlen - 1] = save;
      if (strncmp(cb->buf, "HTTP/1.1 100", 12) == 0) {
        memmove(cb->buf, cb->buf + hlen, cb->len - hlen);
        cb->len -= hlen;
        continue;
      }
      if (cb->len >= hlen + clen) {
        hc_resp_t *r = &out[got++];
        size_t copy = hlen < sizeof(r->head) ? hlen : sizeof(r->head) - 1;
        memcpy(r->head, cb->buf, copy);
        r->head[copy] = '\0';
        r->status = atoi(cb->buf + 9);
        r->body = malloc(clen + 1);
        memcpy(r->body, cb->buf + hlen, clen);
        r->body[clen] = '\0';
        r->body_len = clen;
        memmove(cb->buf, cb->buf + hlen + clen, cb->len - hlen - clen);
        cb->len -= hlen + clen;
        continue;
      }
    }
    if (cb->len == HC_BUF)
      break;
    {
      ssize_t r = recv(fd, cb->buf + cb->len, HC_BUF - cb->len, 0);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      cb->len += (size_t)r;
    }
  }
  return got;
}

/* 1 when the server closed the connection (EOF or reset) within the
 * receive timeout, 0 if it stayed open or sent more. */
static inline int hc_closed(int fd) {
  char c;
  ssize_t r = recv(fd, &c, 1, 0);
  return r == 0 || (r < 0 && errno == ECONNRESET);
}

static inline void hc_free(hc_resp_t *r, int n) {
  for (int i = 0; i < n; i++) {
    free(r[i].body);
    r[i].body = NULL;
  }
}

/* One request on a fresh connection; the response in *out. 0 on success. */
static inline int hc_request(int port, const char *raw, size_t len, hc_resp_t *out) {
  hc_conn_buf_t cb = {NULL, 0};
  int fd = hc_connect(port);
  int got;

  if (fd < 0)
    return -1;
  if (hc_send(fd, raw, len) != 0) {
    close(fd);
    return -1;
  }
  got = hc_read(fd, out, 1, &cb);
  free(cb.buf);
  close(fd);
  return got == 1 ? 0 : -1;
}

/* Run fn(arg) in a thread while the loop runs; stop the loop when done. */
typedef struct {
  uv_async_t async;
  void (*fn)(void *);
  void *arg;
  int done;
} hc_job_t;

static inline void *hc_thread(void *p) {
  hc_job_t *j = p;
  j->fn(j->arg);
  uv_async_send(&j->async);
  return NULL;
}

static inline void hc_async_cb(uv_async_t *a) {
  hc_job_t *j = a->data;
  j->done = 1;
  uv_stop(a->loop);
}

static inline int hc_run(uv_loop_t *loop, void (*fn)(void *), void *arg) {
  hc_job_t j;
  pthread_t t;
  int i;

  memset(&j, 0, sizeof(j));
  j.fn = fn;
  j.arg = arg;
  if (uv_async_init(loop, &j.async, hc_async_cb) != 0)
    return -1;
  j.async.data = &j;
  if (pthread_create(&t, NULL, hc_thread, &j) != 0)
    return -1;
  /* Bounded: every client call times out within seconds. */
  for (i = 0; i < 1000 && !j.done; i++)
    uv_run(loop, UV_RUN_DEFAULT);
  pthread_join(t, NULL);
  uv_close((uv_handle_t *)&j.async, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return j.done ? 0 : -1;
}

/*
 * Run the loop until done(arg) or max_turns 1 ms ticks.  Used instead of
 * gw_clock_settle while a listener is open: settle's guard timer can fire in
 * the timers phase of its UV_RUN_ONCE, after which the poll phase blocks
 * with no timeout on the long-lived listener (see the api report).
 */
static inline void hc_tick_cb(uv_timer_t *t) { (void)t; }

static inline int hc_pump(uv_loop_t *loop, int (*done)(void *), void *arg, int max_turns) {
  uv_timer_t t;
  int i;
  int ok;

  uv_timer_init(loop, &t);
  uv_timer_start(&t, hc_tick_cb, 1, 1);
  for (i = 0; i < max_turns && !done(arg); i++)
    uv_run(loop, UV_RUN_ONCE);
  ok = done(arg);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return ok ? 0 : -1;
}

#endif
