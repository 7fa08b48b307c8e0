/*
 * http.h - a small HTTP/1.1 server on libuv, parsing with llhttp.
 *
 * Made for the api adapter, whose handlers are synchronous (an SQLite call
 * and the echo agent), so the contract is simple: the server parses a
 * complete request, calls the handler once, and writes what the handler put
 * in the response -- in request order, so keep-alive and pipelining work.
 *
 * Limits are enforced with the status a client can act on: a body over
 * max_body gets 413, a request line and headers over max_header_bytes or
 * more than max_headers headers get 431 (a request target alone over the
 * limit gets 414), a malformed request 400; then the connection is closed
 * after the error is written.  Over max_connections a client gets 503.
 * Deadlines: a request's line and headers must arrive within
 * header_timeout_ms of its first byte, and all of it within
 * request_timeout_ms (else 408 and the connection closes); a connection
 * with no request under way closes after idle_timeout_ms without a byte.
 * Memory: at most max_write_queue bytes of responses wait unsent per
 * connection before the server stops reading (and parsing) that client's
 * input; it resumes once half has drained.
 * Errors are JSON in the OpenAI shape {"error":{"message","type","code"}}.
 * A bad client only ever loses its own connection.
 *
 * Ownership follows libuv: the server lives in memory its owner provides;
 * gw__http_server_close() closes the listener and every connection, frees
 * the connections in their close callbacks and then calls cb.
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define GW_HTTP_MAX_BODY_DEFAULT (10u * 1024 * 1024)
#define GW_HTTP_MAX_HEADER_BYTES_DEFAULT (16u * 1024)
#define GW_HTTP_MAX_HEADERS_DEFAULT 100u
#define GW_HTTP_MAX_CONNECTIONS_DEFAULT 256u
#define GW_HTTP_IDLE_TIMEOUT_DEFAULT 30000u    /* ms */
#define GW_HTTP_HEADER_TIMEOUT_DEFAULT 10000u  /* ms, from a request's first byte */
#define GW_HTTP_REQUEST_TIMEOUT_DEFAULT 60000u /* ms, from a request's first byte */
#define GW_HTTP_EXTRA_HEADERS_MAX 512
#define GW_HTTP_READ_BUF 65536

typedef struct gw__http_server_s gw__http_server_t;
typedef struct gw__http_conn_s gw__http_conn_t;

typedef struct {
  size_t max_body;             /* bytes of body; more is 413 */
  size_t max_header_bytes;     /* request line + headers; more is 431 */
  unsigned max_headers;        /* header lines; more is 431 */
  unsigned max_connections;    /* concurrent clients; more get 503 */
  uint64_t idle_timeout_ms;    /* no byte from the client this long: close */
  size_t max_write_queue;      /* unsent response bytes before reading pauses */
  uint64_t header_timeout_ms;  /* request line + headers; 0 = default */
  uint64_t request_timeout_ms; /* the whole request; 0 = default */
} gw__http_limits_t;

typedef struct {
  const char *name;
  const char *value;
} gw__http_header_t;

/* Valid only during the handler call.  Strings are NUL-terminated. */
typedef struct {
  const char *method; /* "GET", "POST", ... */
  const char *target; /* the request target as sent: "/v1/x?y=1" */
  const char *path;   /* target up to '?' */
  const char *query;  /* after '?', or "" */
  const gw__http_header_t *headers;
  size_t nheaders;
  const char *body; /* NUL-terminated ("" when none) */
  size_t body_len;
  gw__http_conn_t *conn;
} gw__http_request_t;

/* What a handler fills in.  Status 0 (untouched) becomes a 500. */
typedef struct {
  int status;
  const char *content_type; /* a static string; default application/json */
  char *body;               /* malloc'd; the server frees it */
  size_t body_len;
  char extra_headers[GW_HTTP_EXTRA_HEADERS_MAX]; /* "Name: value\r\n" lines */
} gw__http_response_t;

typedef void (*gw__http_handler_cb)(gw__http_server_t *srv, const gw__http_request_t *req,
                                    gw__http_response_t *res);
typedef void (*gw__http_close_cb)(gw__http_server_t *srv);
/*
 * Out of fds: err is UV_EMFILE or UV_ENFILE, count how many times it was
 * met since the previous call.  Called at most once per
 * GW_HTTP_PRESSURE_REPORT_MS, so an owner can log each call without
 * flooding its log during a burst.
 */
typedef void (*gw__http_pressure_cb)(gw__http_server_t *srv, int err, uint64_t count);
#define GW_HTTP_PRESSURE_REPORT_MS 1000

struct gw__http_server_s {
  void *data;                       /* the owner's */
  gw__http_pressure_cb pressure_cb; /* the owner's; optional */
  /* private */
  uv_loop_t *loop;
  uv_tcp_t listener;
  int listener_init;
  int closing;
  gw__http_limits_t limits;
  gw__http_handler_cb handler;
  gw__http_close_cb close_cb;
  gw__http_conn_t *conns;
  unsigned nconns;   /* allocated connections, closing ones included */
  uint64_t requests; /* handled requests */
  uint64_t accepted;
  uint64_t rejected;    /* 503s */
  uint64_t errors;      /* 4xx written by the server itself */
  uint64_t fd_pressure; /* times accept met (or came to) the fd limit */
  uint64_t fd_pressure_reported;
  uint64_t fd_pressure_last_ms; /* uv_now of the last report; 0 = none */
  char rbuf[GW_HTTP_READ_BUF];  /* one loop thread: reads never overlap */
};

void gw__http_limits_default(gw__http_limits_t *limits);

/* No handle is opened here; limits NULL means the defaults. */
int gw__http_server_init(uv_loop_t *loop, gw__http_server_t *srv, const gw__http_limits_t *limits,
                         gw__http_handler_cb handler);

/*
 * Bind and listen.  EADDRINUSE may surface from either step in libuv (bind
 * defers it to listen); both come back from here.  After a failure the
 * listener handle may still hold its socket: gw__http_server_close() frees it.
 */
int gw__http_server_listen(gw__http_server_t *srv, const struct sockaddr *addr, int backlog);

/* The bound port, or a negative errno when not listening. */
int gw__http_server_port(const gw__http_server_t *srv);

/* Open connections (not yet closing). */
unsigned gw__http_server_connections(const gw__http_server_t *srv);

/*
 * Close the listener and every connection; cb runs once all handles have
 * closed -- synchronously if none was open.  A second call does nothing.
 */
void gw__http_server_close(gw__http_server_t *srv, gw__http_close_cb cb);

/* Case-insensitive header lookup; NULL when absent. */
const char *gw__http_header(const gw__http_request_t *req, const char *name);

/* Response helpers; 0 or UV_ENOMEM (then the server answers 500). */
int gw__http_respond(gw__http_response_t *res, int status, const char *content_type,
                     const char *body, size_t len);
/* {"error":{"message":..., "type":..., "code":...}}; code NULL gives null. */
int gw__http_respond_error(gw__http_response_t *res, int status, const char *type, const char *code,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int gw__http_add_header(gw__http_response_t *res, const char *name, const char *value);

const char *gw__http_reason(int status);
/* 1 when s is an RFC 9110 token (what a header name may be), else 0. */
int gw__http_is_token(const char *s);

#endif /* GW_HTTP_H */
