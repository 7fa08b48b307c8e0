/*
 * test_http.c - request handling of the api adapter's HTTP server, driven
 * by a real client over loopback: every status code the API promises,
 * keep-alive, pipelining, malformed requests (bad request line, header
 * flood, truncated body, invalid JSON) -- and after each bad client the
 * server keeps serving the next one.  Ends every test with all handles
 * closed, uv_loop_close() == 0 and the fd count it started with.
 */
#include <time.h>

#include "fixture.h"
#include "httpc.h"

#include "api.h"
#include "http.h"

typedef struct {
  fx_t fx;
  gw_adapter_t *api;
  int port;
} ctx_t;

static ctx_t *ctx;

/* Every first attempt finished and every failed one disposed of. */
static int started(void *arg) {
  gw_runner_t *r = arg;
  gw_platform_status_t st;
  size_t i;

  for (i = 0; i < gw_runner_platform_count(r); i++) {
    if (gw_runner_status_at(r, i, &st) != 0 || st.in_flight || st.state == GW_PLATFORM_PENDING ||
        st.state == GW_PLATFORM_CONNECTING)
      return 0;
  }
  return gw_runner_disposing(r) == 0;
}

/* The api platform (and optionally a flaky test platform) on a runner. */
static void start(const char *key, int with_flaky) {
  gw_platform_config_t cfg;
  char err[256];

  ctx = calloc(1, sizeof(*ctx));
  assert_non_null(ctx);
  fx_setup(&ctx->fx);
  assert_int_equal(gw_runner_register_kind(ctx->fx.r, &gw_api_adapter_vtable), 0);
  memset(&cfg, 0, sizeof(cfg));
  snprintf(cfg.name, sizeof(cfg.name), "api");
  snprintf(cfg.kind, sizeof(cfg.kind), "api");
  snprintf(cfg.host, sizeof(cfg.host), "127.0.0.1");
  snprintf(cfg.key, sizeof(cfg.key), "%s", key != NULL ? key : "");
  snprintf(cfg.store_path, sizeof(cfg.store_path), "%s/responses.db", ctx->fx.dir);
  cfg.max_responses = 10;
  assert_int_equal(gw_runner_add_platform(ctx->fx.r, &cfg, err, sizeof(err)), 0);
  if (with_flaky)
    fx_add(&ctx->fx, "flaky", "R");
  assert_int_equal(gw_runner_start(ctx->fx.r), 0);
  assert_int_equal(hc_pump(&ctx->fx.loop, started, ctx->fx.r, 5000), 0);
  ctx->api = gw_runner_adapter(ctx->fx.r, "api");
  assert_non_null(ctx->api);
  ctx->port = gw_api_adapter_port(ctx->api);
  assert_true(ctx->port > 0);
}

static void stop(void) {
  fx_teardown(&ctx->fx);
  free(ctx);
  ctx = NULL;
}

/* ---------------------------------------------------------------- */

typedef struct {
  const char *raw[HC_MAX];
  size_t len[HC_MAX]; /* 0: strlen */
  int shut_wr;        /* shutdown(SHUT_WR) after sending */
  int expect;         /* responses to read */
  int one_write;      /* all requests in one send: pipelining */
  hc_resp_t r[HC_MAX];
  int got;
  int closed; /* server closed after the responses */
  int check_closed;
} exch_t;

/* One connection: send, read, optionally see whether the server closed. */
static void exch_fn(void *p) {
  exch_t *e = p;
  hc_conn_buf_t cb = {NULL, 0};
  char *all = NULL;
  size_t total = 0;
  int fd = hc_connect(ctx->port);
  int i;

  if (fd < 0)
    return;
  for (i = 0; i < HC_MAX && e->raw[i] != NULL; i++) {
    size_t l = e->len[i] != 0 ? e->len[i] : strlen(e->raw[i]);
    if (e->one_write) {
      all = realloc(all, total + l);
      memcpy(all + total, e->raw[i], l);
      total += l;
    } else if (hc_send(fd, e->raw[i], l) != 0) {
      break;
    } else if (!e->shut_wr && e->expect > 1) {
      /* keep-alive: one request, one response, same connection */
      e->got += hc_read(fd, &e->r[e->got], 1, &cb);
    }
  }
  if (e->one_write && all != NULL)
    hc_send(fd, all, total);
  free(all);
  if (e->shut_wr)
    shutdown(fd, SHUT_WR);
  if (e->got < e->expect)
    e->got += hc_read(fd, &e->r[e->got], e->expect - e->got, &cb);
  if (e->check_closed)
    e->closed = hc_closed(fd);
  free(cb.buf);
  close(fd);
}

static void exchange(exch_t *e) { assert_int_equal(hc_run(&ctx->fx.loop, exch_fn, e), 0); }

/* A single request on a fresh connection. */
static hc_resp_t one(const char *raw) {
  exch_t e;

  memset(&e, 0, sizeof(e));
  e.raw[0] = raw;
  e.expect = 1;
  exchange(&e);
  assert_int_equal(e.got, 1);
  return e.r[0];
}

static void assert_health_ok(void) {
  hc_resp_t r = one("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "\"status\":\"ok\""));
  hc_free(&r, 1);
}

static void assert_error(hc_resp_t *r, int status, const char *code) {
  char want[128];

  if (r->status != status)
    fail_msg("want %d, got %d: %s", status, r->status, r->body);
  assert_non_null(strstr(r->body, "{\"error\":{\"message\":"));
  assert_non_null(strstr(r->body, "\"type\":"));
  snprintf(want, sizeof(want), "\"code\":\"%s\"", code);
  if (strstr(r->body, want) == NULL)
    fail_msg("want %s in %s", want, r->body);
}

static char *post(const char *path, const char *json, const char *key) {
  char *raw = malloc(strlen(json) + 512);
  char auth[300] = "";

  if (key != NULL)
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", key);
  sprintf(raw,
          "POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\n"
          "Content-Length: %zu\r\n\r\n%s",
          path, auth, strlen(json), json);
  return raw;
}

/* ---------------------------------------------------------------- */

static void test_keep_alive(void **state) {
  exch_t e;
  int i;

  start(NULL, 0);
  memset(&e, 0, sizeof(e));
  for (i = 0; i < 3; i++)
    e.raw[i] = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  e.expect = 3;
  exchange(&e);
  assert_int_equal(e.got, 3);
  for (i = 0; i < 3; i++) {
    assert_int_equal(e.r[i].status, 200);
    assert_non_null(strstr(e.r[i].head, "Connection: keep-alive"));
  }
  hc_free(e.r, 3);

  /* HTTP/1.0 without keep-alive, and Connection: close, end the connection. */
  memset(&e, 0, sizeof(e));
  e.raw[0] = "GET /health HTTP/1.0\r\n\r\n";
  e.expect = 1;
  e.check_closed = 1;
  exchange(&e);
  assert_int_equal(e.got, 1);
  assert_int_equal(e.r[0].status, 200);
  assert_non_null(strstr(e.r[0].head, "Connection: close"));
  assert_true(e.closed);
  hc_free(e.r, 1);

  memset(&e, 0, sizeof(e));
  e.raw[0] = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  e.expect = 1;
  e.check_closed = 1;
  exchange(&e);
  assert_int_equal(e.r[0].status, 200);
  assert_true(e.closed);
  hc_free(e.r, 1);
  stop();
}

static void test_pipelining(void **state) {
  exch_t e;
  char *p1 = post("/v1/responses", "{\"input\":\"one\"}", NULL);
  char *p2 =
    post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"two\"}]}", NULL);

  start(NULL, 0);
  memset(&e, 0, sizeof(e));
  e.raw[0] = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  e.raw[1] = p1;
  e.raw[2] = "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n";
  e.raw[3] = p2;
  e.raw[4] = "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n";
  e.raw[5] = "HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n";
  e.raw[6] = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  e.one_write = 1;
  e.expect = 6; /* the HEAD answer has a Content-Length but no body */
  exchange(&e);
  assert_int_equal(e.got, 6);
  assert_int_equal(e.r[0].status, 200);
  assert_int_equal(e.r[1].status, 200);
  assert_non_null(strstr(e.r[1].body, "\"output_text\":\"echo: one\""));
  assert_int_equal(e.r[2].status, 200);
  assert_non_null(strstr(e.r[2].body, "fdsoak-echo"));
  assert_int_equal(e.r[3].status, 200);
  assert_non_null(strstr(e.r[3].body, "\"content\":\"echo: two\""));
  assert_int_equal(e.r[4].status, 404);
  assert_int_equal(e.r[5].status, 200);
  hc_free(e.r, 6);
  free(p1);
  free(p2);
  stop();
}

static void test_status_codes(void **state) {
  hc_resp_t r;
  char *raw;
  char *big;
  size_t i;

  start(NULL, 0);

  r = one("GET /v1/nope HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_error(&r, 404, "not_found");
  hc_free(&r, 1);

  r = one("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  assert_error(&r, 405, "method_not_allowed");
  assert_non_null(strstr(r.head, "Allow: GET"));
  hc_free(&r, 1);
  r = one("GET /v1/responses HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_error(&r, 405, "method_not_allowed");
  hc_free(&r, 1);

  raw = post("/v1/responses", "{\"input\": ", NULL);
  r = one(raw);
  assert_error(&r, 400, "invalid_json");
  hc_free(&r, 1);
  free(raw);
  raw = post("/v1/responses", "[1,2]", NULL);
  r = one(raw);
  assert_error(&r, 400, "invalid_json");
  hc_free(&r, 1);
  free(raw);
  /* Not JSON, although cJSON alone would take each of them: invalid UTF-8
   * (it would be echoed into a response that is not JSON either), a
   * \u0000 (it would silently cut the stored input short) and bytes after
   * the object. */
  {
    static const char *const bad[] = {
      "{\"input\":\"caf\xc3\"}",      /* truncated sequence */
      "{\"input\":\"\xff\xfe\"}",     /* never valid */
      "{\"input\":\"\xc0\xaf\"}",     /* overlong '/' */
      "{\"input\":\"\xed\xa0\x80\"}", /* a UTF-16 surrogate */
      "{\"input\":\"ab\\u0000cd\"}",  /* NUL in a string */
      "{\"input\":\"x\"} trailing",   "{\"input\":\"x\"}{}",
    };
    size_t k;

    for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
      raw = post("/v1/responses", bad[k], NULL);
      r = one(raw);
      if (r.status != 400)
        fail_msg("body %zu (%s): want 400, got %d: %s", k, bad[k], r.status, r.body);
      assert_error(&r, 400, "invalid_json");
      hc_free(&r, 1);
      free(raw);
    }
    /* Valid UTF-8, an escaped backslash before "u0000", trailing
     * whitespace: all fine. */
    raw =
      post("/v1/responses", "{\"input\":\"caf\xc3\xa9 \\\\u0000 \xf0\x9f\x98\x80\"} \r\n", NULL);
    r = one(raw);
    if (r.status != 200)
      fail_msg("valid UTF-8: want 200, got %d: %s", r.status, r.body);
    assert_non_null(strstr(r.body, "caf\xc3\xa9 \\\\u0000 \xf0\x9f\x98\x80"));
    hc_free(&r, 1);
    free(raw);
  }
  raw = post("/v1/responses", "{\"model\":\"x\"}", NULL);
  r = one(raw);
  assert_error(&r, 400, "missing_required_parameter");
  assert_non_null(strstr(r.body, "input"));
  hc_free(&r, 1);
  free(raw);
  raw = post("/v1/chat/completions", "{\"model\":\"x\"}", NULL);
  r = one(raw);
  assert_error(&r, 400, "missing_required_parameter");
  hc_free(&r, 1);
  free(raw);
  raw = post("/v1/chat/completions", "{\"messages\":\"hi\"}", NULL);
  r = one(raw);
  assert_error(&r, 400, "invalid_value");
  hc_free(&r, 1);
  free(raw);

  /* 413 is decided from Content-Length, before any of the body is read. */
  r = one("POST /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Length: 10485761\r\n\r\n");
  assert_error(&r, 413, "request_too_large");
  hc_free(&r, 1);
  assert_health_ok();

  /* 431: too many header lines, and too many header bytes. */
  big = malloc(64 * 1024);
  strcpy(big, "GET /health HTTP/1.1\r\nHost: x\r\n");
  for (i = 0; i < 150; i++)
    sprintf(big + strlen(big), "X-Flood-%zu: y\r\n", i);
  strcat(big, "\r\n");
  r = one(big);
  assert_error(&r, 431, "request_header_fields_too_large");
  hc_free(&r, 1);
  assert_health_ok();
  strcpy(big, "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ");
  memset(big + strlen(big), 'a', 20000);
  strcpy(big + strlen("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ") + 20000, "\r\n\r\n");
  r = one(big);
  assert_error(&r, 431, "request_header_fields_too_large");
  hc_free(&r, 1);
  assert_health_ok();
  free(big);

  /* Malformed request line. */
  r = one("GARBAGE\r\n\r\n");
  assert_error(&r, 400, "bad_request");
  hc_free(&r, 1);
  assert_health_ok();
  r = one("GET /health HTTP/9.9\r\n\r\n");
  assert_int_equal(r.status, 400);
  hc_free(&r, 1);
  assert_health_ok();

  /* Invalid response ids are refused before they reach the store. */
  r = one("GET /v1/responses/not-an-id HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_error(&r, 400, "invalid_response_id");
  hc_free(&r, 1);
  r = one("GET /v1/responses/resp_'%20OR%201=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_error(&r, 400, "invalid_response_id");
  hc_free(&r, 1);
  r = one("DELETE /v1/responses/resp_doesnotexist HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_error(&r, 404, "response_not_found");
  hc_free(&r, 1);
  assert_health_ok();
  stop();
}

/* The api adapter holds no client connection (closing ones included). */
static int no_api_conns(void *arg) { return gw_test_api_connections(arg) == 0; }

static void test_truncated_body(void **state) {
  exch_t e;

  start(NULL, 0);
  memset(&e, 0, sizeof(e));
  e.raw[0] = "POST /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"input\":";
  e.shut_wr = 1;
  e.expect = 1;
  e.check_closed = 1;
  exchange(&e);
  assert_int_equal(e.got, 1);
  assert_error(&e.r[0], 400, "truncated_request");
  assert_true(e.closed);
  hc_free(e.r, 1);

  /* Chunked body over the limit is caught while it streams. */
  memset(&e, 0, sizeof(e));
  e.raw[0] = "POST /v1/responses HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5\r\n{\"inp\r\nzz\r\n";
  e.expect = 1;
  exchange(&e);
  assert_int_equal(e.got, 1);
  assert_int_equal(e.r[0].status, 400);
  hc_free(e.r, 1);
  assert_health_ok();
  assert_int_equal(hc_pump(&ctx->fx.loop, no_api_conns, ctx->api, 2000), 0);
  assert_int_equal(gw_test_api_connections(ctx->api), 0);
  stop();
}

/* Framing the RFC requires: exactly one Host in HTTP/1.1, no whitespace
 * between a header's name and its colon. */
static void test_request_framing(void **state) {
  hc_resp_t r;

  start(NULL, 0);
  r = one("GET /health HTTP/1.1\r\n\r\n");
  assert_error(&r, 400, "bad_request");
  assert_non_null(strstr(r.body, "Host"));
  hc_free(&r, 1);
  r = one("GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  assert_error(&r, 400, "bad_request");
  hc_free(&r, 1);
  r = one("GET /health HTTP/1.1\r\nHost : x\r\n\r\n");
  assert_error(&r, 400, "bad_request");
  hc_free(&r, 1);
  /* The same with a proper Host, so that only the space can be the reason. */
  r = one("GET /health HTTP/1.1\r\nHost: x\r\nX-Pad : y\r\n\r\n");
  assert_error(&r, 400, "bad_request");
  assert_non_null(strstr(r.body, "invalid header name"));
  hc_free(&r, 1);
  r = one("GET /health HTTP/1.0\r\nAuthorization : Bearer x\r\n\r\n");
  assert_error(&r, 400, "bad_request");
  hc_free(&r, 1);
  r = one("GET /health HTTP/1.1\r\nHost: x\r\nX-Pad\t: y\r\n\r\n");
  assert_error(&r, 400, "bad_request");
  hc_free(&r, 1);
  /* HTTP/1.0 has no Host requirement. */
  r = one("GET /health HTTP/1.0\r\n\r\n");
  assert_int_equal(r.status, 200);
  hc_free(&r, 1);
  assert_health_ok();
  stop();
}

/* A client that vanishes mid-body gets nothing and costs nothing: its
 * connection is gone as soon as the server sees the EOF, not at the idle
 * timeout (30 s, far beyond this bound).  (It once ended with "at most one
 * connection left", which a leaked connection passed.) */
static void test_client_vanishes_mid_body(void **state) {
  exch_t e;

  start(NULL, 0);
  memset(&e, 0, sizeof(e));
  e.raw[0] = "POST /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"in";
  e.expect = 0;
  exchange(&e);
  assert_int_equal(hc_pump(&ctx->fx.loop, no_api_conns, ctx->api, 2000), 0);
  assert_health_ok();
  assert_int_equal(hc_pump(&ctx->fx.loop, no_api_conns, ctx->api, 2000), 0);
  stop();
}

static void test_auth(void **state) {
  hc_resp_t r;
  const char *key = "s3cret-key-123";
  char *raw;

  start(key, 0);
  /* /health is open. */
  assert_health_ok();
  /* Two credentials (the right one first): neither is used. */
  r = one("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-key-123\r\n"
          "Authorization: Bearer wrong-key-9999\r\n\r\n");
  assert_error(&r, 400, "bad_request");
  assert_non_null(strstr(r.body, "Authorization"));
  hc_free(&r, 1);
  r = one("GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_error(&r, 401, "invalid_api_key");
  assert_non_null(strstr(r.head, "WWW-Authenticate: Bearer"));
  hc_free(&r, 1);
  r = one("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-key-124\r\n\r\n");
  assert_error(&r, 401, "invalid_api_key");
  hc_free(&r, 1);
  r = one("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-key-1234\r\n\r\n");
  assert_error(&r, 401, "invalid_api_key");
  hc_free(&r, 1);
  r = one("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Basic czNjcmV0\r\n\r\n");
  assert_error(&r, 401, "invalid_api_key");
  hc_free(&r, 1);
  /* Unknown paths too: no key, no map of the API. */
  r = one("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_error(&r, 401, "invalid_api_key");
  hc_free(&r, 1);
  r = one("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 401);
  hc_free(&r, 1);
  r = one("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-key-123\r\n\r\n");
  assert_int_equal(r.status, 200);
  hc_free(&r, 1);
  r = one("GET /v1/models HTTP/1.1\r\nHost: x\r\nauthorization: bearer s3cret-key-123\r\n\r\n");
  assert_int_equal(r.status, 200);
  hc_free(&r, 1);
  raw = post("/v1/responses", "{\"input\":\"hi\"}", key);
  r = one(raw);
  assert_int_equal(r.status, 200);
  hc_free(&r, 1);
  free(raw);
  stop();
}

/* "id":"resp_..." of a response body, copied into id. */
static void response_id(const char *body, char *id, size_t cap) {
  const char *p = strstr(body, "\"id\":\"resp_");
  size_t n;

  assert_non_null(p);
  p += 6;
  n = strcspn(p, "\"");
  assert_true(n < cap);
  memcpy(id, p, n);
  id[n] = '\0';
}

static void test_responses(void **state) {
  hc_resp_t r;
  char id1[128], id2[128], json[512], path[256];
  char *raw;

  start(NULL, 0);
  raw = post("/v1/responses", "{\"model\":\"m1\",\"input\":\"hello\"}", NULL);
  r = one(raw);
  free(raw);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "\"object\":\"response\""));
  assert_non_null(strstr(r.body, "\"model\":\"m1\""));
  assert_non_null(strstr(r.body, "\"output_text\":\"echo: hello\""));
  assert_non_null(strstr(r.body, "\"previous_response_id\":null"));
  response_id(r.body, id1, sizeof(id1));
  hc_free(&r, 1);

  /* Chained through previous_response_id: the agent knows the turn. */
  snprintf(json, sizeof(json), "{\"input\":\"again\",\"previous_response_id\":\"%s\"}", id1);
  raw = post("/v1/responses", json, NULL);
  r = one(raw);
  free(raw);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "\"output_text\":\"echo (turn 2): again\""));
  response_id(r.body, id2, sizeof(id2));
  hc_free(&r, 1);

  snprintf(path, sizeof(path), "GET /v1/responses/%s HTTP/1.1\r\nHost: x\r\n\r\n", id2);
  r = one(path);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, id2));
  assert_non_null(strstr(r.body, "echo (turn 2): again"));
  hc_free(&r, 1);

  /* Unknown previous id. */
  raw = post("/v1/responses", "{\"input\":\"x\",\"previous_response_id\":\"resp_nope\"}", NULL);
  r = one(raw);
  free(raw);
  assert_error(&r, 404, "previous_response_not_found");
  hc_free(&r, 1);

  /* Named conversations continue from their latest response. */
  raw = post("/v1/responses", "{\"input\":\"a\",\"conversation\":\"chat-1\"}", NULL);
  r = one(raw);
  free(raw);
  assert_non_null(strstr(r.body, "\"output_text\":\"echo: a\""));
  hc_free(&r, 1);
  raw =
    post("/v1/responses",
         "{\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"b\"}]}],"
         "\"conversation\":\"chat-1\"}",
         NULL);
  r = one(raw);
  free(raw);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "\"output_text\":\"echo (turn 2): b\""));
  hc_free(&r, 1);

  /* store:false answers but keeps nothing. */
  raw = post("/v1/responses", "{\"input\":\"ephemeral\",\"store\":false}", NULL);
  r = one(raw);
  free(raw);
  response_id(r.body, id1, sizeof(id1));
  hc_free(&r, 1);
  snprintf(path, sizeof(path), "GET /v1/responses/%s HTTP/1.1\r\nHost: x\r\n\r\n", id1);
  r = one(path);
  assert_error(&r, 404, "response_not_found");
  hc_free(&r, 1);

  /* Delete, then it is gone. */
  snprintf(path, sizeof(path), "DELETE /v1/responses/%s HTTP/1.1\r\nHost: x\r\n\r\n", id2);
  r = one(path);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "\"deleted\":true"));
  hc_free(&r, 1);
  r = one(path);
  assert_error(&r, 404, "response_not_found");
  hc_free(&r, 1);

  /* Chat completions: OpenAI shape, reply to the last user message. */
  raw = post("/v1/chat/completions",
             "{\"model\":\"gpt-x\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"},"
             "{\"role\":\"user\",\"content\":\"first\"},{\"role\":\"assistant\",\"content\":\"x\"},"
             "{\"role\":\"user\",\"content\":\"second\"}]}",
             NULL);
  r = one(raw);
  free(raw);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "\"object\":\"chat.completion\""));
  assert_non_null(strstr(r.body, "\"content\":\"echo (turn 2): second\""));
  assert_non_null(strstr(r.body, "\"finish_reason\":\"stop\""));
  hc_free(&r, 1);
  stop();
}

static void test_detailed_metrics_admin(void **state) {
  hc_resp_t r;

  start(NULL, 1);
  r = one("GET /health/detailed HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "\"fds\":{\"open\":"));
  assert_non_null(strstr(r.body, "\"limit\":"));
  assert_non_null(strstr(r.body, "\"name\":\"flaky\""));
  assert_non_null(strstr(r.body, "\"state\":\"retrying\""));
  assert_non_null(strstr(r.body, "\"queued\":true"));
  assert_non_null(strstr(r.body, "\"next_retry_in_ms\":30000"));
  assert_non_null(strstr(r.body, "\"name\":\"api\""));
  assert_non_null(strstr(r.body, "\"state\":\"connected\""));
  hc_free(&r, 1);

  r = one("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.head, "text/plain; version=0.0.4"));
  assert_non_null(strstr(r.body, "\nprocess_open_fds "));
  assert_non_null(strstr(r.body, "\nprocess_max_fds "));
  assert_non_null(
    strstr(r.body, "gw_reconnect_attempts_total{platform=\"flaky\",outcome=\"retryable\"} 1\n"));
  assert_non_null(
    strstr(r.body, "gw_reconnect_attempts_total{platform=\"api\",outcome=\"success\"} 1\n"));
  assert_non_null(strstr(r.body, "gw_platform_state{platform=\"flaky\",state=\"retrying\"} 1\n"));
  assert_non_null(strstr(r.body, "gw_platform_state{platform=\"flaky\",state=\"paused\"} 0\n"));
  hc_free(&r, 1);

  r = one("POST /admin/platforms/flaky/pause HTTP/1.1\r\nHost: x\r\nContent-Length: 21\r\n\r\n"
          "{\"reason\":\"maint-42\"}");
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "\"state\":\"paused\""));
  hc_free(&r, 1);
  r = one("GET /health/detailed HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_non_null(strstr(r.body, "\"paused\":true"));
  assert_non_null(strstr(r.body, "\"pause_reason\":\"maint-42\""));
  assert_non_null(strstr(r.body, "\"next_retry_in_ms\":null"));
  hc_free(&r, 1);
  r = one("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_non_null(strstr(r.body, "gw_platform_state{platform=\"flaky\",state=\"paused\"} 1\n"));
  hc_free(&r, 1);

  r = one("POST /admin/platforms/flaky/resume HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "\"state\":\"retrying\""));
  hc_free(&r, 1);
  r = one("POST /admin/platforms/flaky/resume HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  assert_int_equal(r.status, 409);
  hc_free(&r, 1);
  /* The connected api platform is not in the retry queue. */
  r = one("POST /admin/platforms/api/pause HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  assert_error(&r, 409, "platform_not_queued");
  hc_free(&r, 1);
  r = one("POST /admin/platforms/ghost/pause HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  assert_error(&r, 404, "platform_not_found");
  hc_free(&r, 1);
  r = one("GET /admin/platforms/flaky/pause HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(r.status, 405);
  hc_free(&r, 1);
  r = one("POST /admin/platforms/fl%2Fky/pause HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  assert_int_equal(r.status, 404);
  hc_free(&r, 1);
  stop();
}

/* ---------------------------------------------------------------- */
/* The HTTP server alone, with small limits                         */
/* ---------------------------------------------------------------- */

static void echo_handler(gw__http_server_t *srv, const gw__http_request_t *req,
                         gw__http_response_t *res) {
  char buf[64];
  int n = snprintf(buf, sizeof(buf), "{\"len\":%zu}", req->body_len);
  gw__http_respond(res, 200, "application/json", buf, (size_t)n);
}

typedef struct {
  int fds[4];
  hc_resp_t r[4];
  int got[4];
  int chunked_got;
  hc_resp_t chunked;
} limits_t;

static void limits_fn(void *p) {
  limits_t *l = p;
  hc_conn_buf_t cb[4];
  int i;

  memset(cb, 0, sizeof(cb));
  /* Three clients at once against max_connections = 2. */
  for (i = 0; i < 3; i++)
    l->fds[i] = hc_connect(ctx->port);
  for (i = 0; i < 3; i++) {
    if (l->fds[i] >= 0) {
      hc_send(l->fds[i], "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
      l->got[i] = hc_read(l->fds[i], &l->r[i], 1, &cb[i]);
    }
  }
  for (i = 0; i < 3; i++) {
    free(cb[i].buf);
    if (l->fds[i] >= 0)
      close(l->fds[i]);
  }
}

static void chunked_fn(void *p) {
  limits_t *l = p;

  /* A chunked body is bounded as it streams (max_body = 16). */
  {
    hc_conn_buf_t c = {NULL, 0};
    int fd = hc_connect(ctx->port);
    const char *raw = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n";
    hc_send(fd, raw, strlen(raw));
    l->chunked_got = hc_read(fd, &l->chunked, 1, &c);
    free(c.buf);
    close(fd);
  }
}

static int no_conns(void *arg) { return ((gw__http_server_t *)arg)->nconns == 0; }

static void server_closed_cb(gw__http_server_t *srv) { *(int *)srv->data = 1; }

/* A raw server with small limits for the tests below; stop_raw closes it. */
static gw__http_server_t *start_raw(const gw__http_limits_t *lim, int *closed) {
  gw__http_server_t *srv = malloc(sizeof(*srv));
  struct sockaddr_in sin;

  assert_non_null(srv);
  ctx = calloc(1, sizeof(*ctx));
  fx_setup(&ctx->fx);
  assert_int_equal(gw__http_server_init(&ctx->fx.loop, srv, lim, echo_handler), 0);
  srv->data = closed;
  uv_ip4_addr("127.0.0.1", 0, &sin);
  assert_int_equal(gw__http_server_listen(srv, (struct sockaddr *)&sin, 64), 0);
  ctx->port = gw__http_server_port(srv);
  assert_true(ctx->port > 0);
  return srv;
}

static void stop_raw(gw__http_server_t *srv, int *closed) {
  int i;

  gw__http_server_close(srv, server_closed_cb);
  for (i = 0; i < 100 && !*closed; i++)
    uv_run(&ctx->fx.loop, UV_RUN_ONCE);
  assert_true(*closed);
  free(srv);
  stop();
}

#define BP_REQUESTS 3000

typedef struct {
  int got, in_order;
} bp_t;

/* Send every request before reading a byte: the server must pause parsing
 * at its write-queue cap, keep the unparsed rest, and resume as we read. */
static void backpressure_fn(void *p) {
  bp_t *b = p;
  hc_conn_buf_t cb = {NULL, 0};
  static char all[BP_REQUESTS * 64];
  size_t len = 0;
  int fd = hc_connect(ctx->port);
  int i;

  if (fd < 0)
    return;
  for (i = 0; i < BP_REQUESTS; i++)
    len += (size_t)sprintf(all + len, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%*s",
                           i % 10, i % 10, "");
  if (hc_send(fd, all, len) != 0)
    goto out;
  b->in_order = 1;
  for (i = 0; i < BP_REQUESTS; i++) {
    hc_resp_t r;
    char want[32];

    if (hc_read(fd, &r, 1, &cb) != 1)
      break;
    snprintf(want, sizeof(want), "{\"len\":%d}", i % 10);
    if (r.status != 200 || strcmp(r.body, want) != 0)
      b->in_order = 0;
    hc_free(&r, 1);
    b->got++;
  }
out:
  free(cb.buf);
  close(fd);
}

static void test_pipelining_backpressure(void **state) {
  gw__http_limits_t lim;
  gw__http_server_t *srv;
  int closed = 0;
  bp_t b;

  gw__http_limits_default(&lim);
  lim.max_write_queue = 4096; /* a few dozen responses */
  srv = start_raw(&lim, &closed);
  memset(&b, 0, sizeof(b));
  assert_int_equal(hc_run(&ctx->fx.loop, backpressure_fn, &b), 0);
  assert_int_equal(b.got, BP_REQUESTS);
  assert_true(b.in_order);
  stop_raw(srv, &closed);
}

/* Slow clients: one trickles its headers, one its body, one is idle.  The
 * header and request deadlines run from a request's first byte, however
 * often bytes come; an idle connection is left to the idle timeout. */
typedef struct {
  int status[2];  /* what the two slow clients got (0: nothing) */
  int closed[2];  /* and whether they were then closed */
  double took[2]; /* seconds until the answer */
  int health;     /* a normal client meanwhile */
  int idle_open;  /* the idle client still open after both deadlines */
} slow_t;

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void slow_fn(void *p) {
  slow_t *sl = p;
  static const char *slow[2] = {
    "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"};
  hc_conn_buf_t cb = {NULL, 0};
  double t0 = mono_s();
  int fd[3], sent[2] = {0, 0};
  int i, k;

  for (i = 0; i < 3; i++)
    fd[i] = hc_connect(ctx->port);
  /* The body's client sends its headers at once, then the body a byte at
   * a time; the header client a byte at a time from the start.  20 ms a
   * byte is 50 bytes a second: never idle, never done. */
  sent[1] = (int)(strstr(slow[1], "\r\n\r\n") - slow[1]) + 4;
  hc_send(fd[1], slow[1], (size_t)sent[1]);
  for (k = 0; k < 60; k++) {
    for (i = 0; i < 2; i++) {
      if (sl->status[i] == 0 && slow[i][sent[i]] != '\0' && fd[i] >= 0) {
        if (send(fd[i], slow[i] + sent[i], 1, MSG_NOSIGNAL) == 1)
          sent[i]++;
      }
    }
    usleep(20000);
  }
  for (i = 0; i < 2; i++) {
    hc_resp_t r;
    if (fd[i] >= 0 && hc_read(fd[i], &r, 1, &cb) == 1) {
      sl->status[i] = r.status;
      sl->took[i] = mono_s() - t0;
      hc_free(&r, 1);
      sl->closed[i] = hc_closed(fd[i]);
    }
    free(cb.buf);
    cb.buf = NULL;
    cb.len = 0;
  }
  {
    hc_resp_t r;
    if (hc_request(ctx->port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, &r) == 0) {
      sl->health = r.status;
      hc_free(&r, 1);
    }
  }
  /* The idle one sent nothing: no request, so no request deadline. */
  {
    char c;
    struct timeval tv = {0, 1000};
    setsockopt(fd[2], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sl->idle_open = recv(fd[2], &c, 1, 0) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
  for (i = 0; i < 3; i++)
    if (fd[i] >= 0)
      close(fd[i]);
}

static void test_slow_clients_meet_deadlines(void **state) {
  gw__http_limits_t lim;
  gw__http_server_t *srv;
  int closed = 0;
  slow_t sl;

  gw__http_limits_default(&lim);
  lim.header_timeout_ms = 300;
  lim.request_timeout_ms = 600;
  lim.idle_timeout_ms = 5000;
  srv = start_raw(&lim, &closed);
  memset(&sl, 0, sizeof(sl));
  assert_int_equal(hc_run(&ctx->fx.loop, slow_fn, &sl), 0);
  /* Answered 408 at the deadline (reading starts after the trickle, 1.2 s
   * in, so "took" only bounds it from above) and closed. */
  assert_int_equal(sl.status[0], 408);
  assert_int_equal(sl.status[1], 408);
  assert_true(sl.closed[0]);
  assert_true(sl.closed[1]);
  /* Before the trickle even ended plus slack -- not at the idle timeout,
   * which every byte pushed back (the old slowloris hole). */
  assert_true(sl.took[0] < 2.5);
  assert_true(sl.took[1] < 2.5);
  assert_int_equal(sl.health, 200);
  assert_true(sl.idle_open);
  assert_int_equal(hc_pump(&ctx->fx.loop, no_conns, srv, 5000), 0);
  stop_raw(srv, &closed);
}

static void test_server_limits(void **state) {
  gw__http_server_t *srv = malloc(sizeof(*srv));
  gw__http_limits_t lim;
  struct sockaddr_in sin;
  limits_t l;
  int closed = 0;
  int i, n503 = 0, n200 = 0;

  ctx = calloc(1, sizeof(*ctx));
  fx_setup(&ctx->fx);
  gw__http_limits_default(&lim);
  lim.max_connections = 2;
  lim.max_body = 16;
  assert_int_equal(gw__http_server_init(&ctx->fx.loop, srv, &lim, echo_handler), 0);
  srv->data = &closed;
  uv_ip4_addr("127.0.0.1", 0, &sin);
  assert_int_equal(gw__http_server_listen(srv, (struct sockaddr *)&sin, 16), 0);
  ctx->port = gw__http_server_port(srv);
  assert_true(ctx->port > 0);
  assert_int_equal(gw__http_server_listen(srv, (struct sockaddr *)&sin, 16), UV_EALREADY);

  memset(&l, 0, sizeof(l));
  assert_int_equal(hc_run(&ctx->fx.loop, limits_fn, &l), 0);
  /* The three are gone before the next client comes, or it would be
   * refused too. */
  assert_int_equal(hc_pump(&ctx->fx.loop, no_conns, srv, 5000), 0);
  assert_int_equal(hc_run(&ctx->fx.loop, chunked_fn, &l), 0);
  for (i = 0; i < 3; i++) {
    assert_int_equal(l.got[i], 1);
    n200 += l.r[i].status == 200;
    n503 += l.r[i].status == 503;
  }
  assert_int_equal(n200, 2);
  assert_int_equal(n503, 1);
  hc_free(l.r, 3);
  assert_int_equal(l.chunked_got, 1);
  assert_int_equal(l.chunked.status, 413);
  hc_free(&l.chunked, 1);

  gw__http_server_close(srv, server_closed_cb);
  gw__http_server_close(srv, server_closed_cb); /* second: nothing */
  uv_run(&ctx->fx.loop, UV_RUN_NOWAIT);
  for (i = 0; i < 100 && !closed; i++)
    uv_run(&ctx->fx.loop, UV_RUN_ONCE);
  assert_true(closed);
  assert_int_equal(gw__http_server_port(srv), UV_ENOTCONN);
  free(srv);
  stop();
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_keep_alive),
    cmocka_unit_test(test_pipelining),
    cmocka_unit_test(test_status_codes),
    cmocka_unit_test(test_truncated_body),
    cmocka_unit_test(test_client_vanishes_mid_body),
    cmocka_unit_test(test_request_framing),
    cmocka_unit_test(test_auth),
    cmocka_unit_test(test_responses),
    cmocka_unit_test(test_detailed_metrics_admin),
    cmocka_unit_test(test_server_limits),
    cmocka_unit_test(test_pipelining_backpressure),
    cmocka_unit_test(test_slow_clients_meet_deadlines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
