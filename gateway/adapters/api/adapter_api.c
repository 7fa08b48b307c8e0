/*
 * adapter_api.c - the api adapter's lifecycle (its HTTP routes: routes.c).
 *
 * The resource story is the point of this project: open() opens the
 * response store (three fds), connect() adds a listening socket, clients add
 * one socket each, and disconnect() must give every one of them back, on
 * every path -- including a connect that failed because the port was taken,
 * which still leaves a socket behind in the listener handle.
 */
#include "api_internal.h"
#include "internal.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */
/* ------------------------------------------------------------------ */

static int is_loopback(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    const unsigned char *b = in6->sin6_addr.s6_addr;
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
      return 1;
    return memcmp(b, v4mapped, 12) == 0 && b[12] == 127;
  }
  return 0;
}

/* Bind addresses are literal: a name to resolve would need the loop's
 * resolver (and its fds) for something an operator writes once. */
static int parse_host(const char *host, int port, struct sockaddr_storage *ss) {
  if (host[0] == '\0' || strcmp(host, "localhost") == 0)
    host = "127.0.0.1";
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0)
    return 0;
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0)
    return 0;
  return UV_EINVAL;
}

/* ------------------------------------------------------------------ */
/* The adapter                                                        */
/* ------------------------------------------------------------------ */

static int api_validate(const gw_platform_config_t *cfg, char *err, size_t errlen) {
  if (cfg->store_path[0] == '\0') {
    snprintf(err, errlen, "platform '%s': field 'store_path' is required for kind 'api'",
             cfg->name);
    return GW_ECONFIG;
  }
  if (cfg->max_responses < 0) {
    snprintf(err, errlen, "platform '%s': field 'max_responses' must be >= 0, got %d", cfg->name,
             cfg->max_responses);
    return GW_ECONFIG;
  }
  /* Host and key are deliberately not checked here: upstream found them
   * wrong at connect, and the watcher must class that as fatal (not retry
   * it forever), which is the behaviour under test. */
  return 0;
}

/* The part left unzeroed is the read buffer, and only it: the last member
 * of the server, which is the adapter's last member. */
_Static_assert(offsetof(gw__http_server_t, rbuf) + GW_HTTP_READ_BUF + 16 >
                 sizeof(gw__http_server_t),
               "rbuf must be gw__http_server_t's last member");
_Static_assert(offsetof(gw__api_adapter_t, http) + sizeof(gw__http_server_t) ==
                 sizeof(gw__api_adapter_t),
               "http must be gw__api_adapter_t's last member");

static int api_create(gw_runner_t *r, const gw_platform_config_t *cfg, gw_adapter_t **out) {
  gw__api_adapter_t *api;

  /* Everything but the server's 64 KiB read buffer is zeroed: a read fills
   * that buffer before anything looks at it (gw__http_server_init leaves it
   * alone too).  calloc zeroed all 68 KiB on every connect attempt, since
   * a soak's heap hands back the block the last attempt freed: about 70k
   * instructions, an eighth of a soak cycle (callgrind, retryable/api).
   * The soak judges memory by heap in use, so an adapter dropped with its
   * buffer untouched (never resident) is still caught. */
  api = malloc(sizeof(*api));
  if (api == NULL)
    return UV_ENOMEM;
  memset(api, 0, offsetof(gw__api_adapter_t, http) + offsetof(gw__http_server_t, rbuf));
  gw_adapter_init_base(&api->base, &gw_api_adapter_vtable, r, cfg);
  *out = &api->base;
  return 0;
}

static int api_open(gw_adapter_t *a) {
  gw__api_adapter_t *api = (gw__api_adapter_t *)a;
  int rc;

  rc = gw__store_open(&api->store, a->cfg.store_path, a->cfg.max_responses);
  if (rc != 0) {
    gw_adapter_log(a, GW_LOG_ERROR, "store open %s: %s (%s)", a->cfg.store_path, uv_strerror(rc),
                   gw__store_errmsg(&api->store));
    return rc;
  }
  return 0;
}

/* The HTTP server rate-limits these; one line each is the operator's cue
 * that RLIMIT_NOFILE is too low for the load (clients are being shed). */
static void http_pressure_cb(gw__http_server_t *srv, int err, uint64_t count) {
  gw__api_adapter_t *api = srv->data;
  long soft, hard;

  gw__fd_limits(&soft, &hard);
  gw_adapter_log(&api->base, GW_LOG_WARN,
                 "accept: %s (%s): at the fd limit (%ld), new clients are being shed; "
                 "%llu time%s since the last report",
                 uv_err_name(err), uv_strerror(err), soft, (unsigned long long)count,
                 count == 1 ? "" : "s");
}

/* One place for the pre-bind checks, shared by connect and --check. */
static int api_check_bind(const gw_platform_config_t *cfg, struct sockaddr_storage *ss, char *err,
                          size_t errlen) {
  size_t klen = strlen(cfg->key);

  memset(ss, 0, sizeof(*ss));
  /* The host is quoted to at most 200 bytes so the message always fits a
   * GW_MSG_MAX buffer whole; a longer one is not an address anyway. */
  if (parse_host(cfg->host, cfg->port, ss) != 0) {
    snprintf(err, errlen, "api host '%.200s' is not an IP address", cfg->host);
    return GW_ECONFIG;
  }
  /* A reachable API without a key, or with a placeholder key, is a
   * configuration error: retrying cannot fix it, so it is fatal. */
  if (klen == 0 && !is_loopback((struct sockaddr *)ss)) {
    snprintf(err, errlen, "api host '%.200s' is not loopback and no API key is set", cfg->host);
    return GW_ECONFIG;
  }
  if (klen > 0 && klen < GW_API_KEY_MIN) {
    snprintf(err, errlen, "api key is shorter than %d characters (a placeholder?)", GW_API_KEY_MIN);
    return GW_ECONFIG;
  }
  return 0;
}

int gw_api_adapter_preflight(const gw_platform_config_t *cfg, char *err, size_t errlen) {
  struct sockaddr_storage ss;

  return api_check_bind(cfg, &ss, err, errlen);
}

static void connect_outcome_cb(uv_timer_t *t) {
  gw__api_adapter_t *api = t->data;

  gw_adapter_connect_done(&api->base, api->result, 0);
}

static int api_connect(gw_adapter_t *a) {
  gw__api_adapter_t *api = (gw__api_adapter_t *)a;
  struct sockaddr_storage ss;
  gw__http_limits_t limits;
  char why[GW_MSG_MAX];
  int rc;

  api->result = GW_CONNECT_FAILED;
  if (api_check_bind(&a->cfg, &ss, why, sizeof(why)) != 0) {
    gw_adapter_set_failure(a, 0, "config_error", "%s", why);
    goto deliver;
  }

  gw__http_limits_default(&limits);
  if (a->cfg.header_timeout_s > 0)
    limits.header_timeout_ms = (uint64_t)(a->cfg.header_timeout_s * 1000.0);
  if (a->cfg.request_timeout_s > 0)
    limits.request_timeout_ms = (uint64_t)(a->cfg.request_timeout_s * 1000.0);
  rc = gw__http_server_init(a->loop, &api->http, &limits, gw__api_handle);
  if (rc != 0)
    return rc;
  api->http.data = api;
  api->http.pressure_cb = http_pressure_cb;
  api->http_init = 1;
  /* The listener's socket exists from here, success or not: disconnect
   * closes it. */
  rc = gw__http_server_listen(&api->http, (struct sockaddr *)&ss, 128);
  if (rc == UV_EADDRINUSE) {
    gw_adapter_set_failure(a, 1, "address_in_use", "api port %d on %s is in use", a->cfg.port,
                           a->cfg.host[0] != '\0' ? a->cfg.host : "127.0.0.1");
    goto deliver;
  }
  if (rc == UV_EACCES || rc == UV_EPERM || rc == UV_EADDRNOTAVAIL) {
    /* The address or port cannot be ours whatever we retry: a configuration
     * error, and retrying it forever was part of the upstream outage. */
    gw_adapter_set_failure(a, 0, "config_error", "api cannot bind %s:%d: %s",
                           a->cfg.host[0] != '\0' ? a->cfg.host : "127.0.0.1", a->cfg.port,
                           uv_strerror(rc));
    goto deliver;
  }
  if (rc != 0)
    return rc; /* the exception path; no callback follows */
  api->result = GW_CONNECT_OK;
  gw_adapter_log(a, GW_LOG_INFO, "listening on %s:%d",
                 a->cfg.host[0] != '\0' ? a->cfg.host : "127.0.0.1",
                 gw__http_server_port(&api->http));

deliver:
  /* The contract says the callback never runs inside connect(). */
  rc = uv_timer_init(a->loop, &api->done_timer);
  if (rc != 0)
    return rc;
  api->timer_init = 1;
  api->done_timer.data = api;
  return uv_timer_start(&api->done_timer, connect_outcome_cb, 0, 0);
}

#ifdef GW_REGRESS
/* Stores the pre-fix disconnect forgot: still open, as in production. */
typedef struct forgotten_s {
  gw__store_t store;
  struct forgotten_s *next;
} forgotten_t;
static forgotten_t *forgotten;

int gw_api_reap_leaked_stores(void) {
  int n = 0;

  while (forgotten != NULL) {
    forgotten_t *f = forgotten;
    forgotten = f->next;
    gw__store_close(&f->store);
    free(f);
    n++;
  }
  return n;
}
#endif

static void http_closed_cb(gw__http_server_t *srv) {
  gw__api_adapter_t *api = srv->data;

  gw_adapter_release(&api->base);
}

static int api_disconnect(gw_adapter_t *a) {
  gw__api_adapter_t *api = (gw__api_adapter_t *)a;

  if (api->timer_init) {
    uv_timer_stop(&api->done_timer);
    gw_adapter_close_handle(a, (uv_handle_t *)&api->done_timer);
    api->timer_init = 0;
  }
  if (api->http_init) {
    /* Client connections free themselves in their close callbacks; hold
     * the adapter until the last one has. */
    gw_adapter_hold(a);
    gw__http_server_close(&api->http, http_closed_cb);
    api->http_init = 0;
  }
#ifdef GW_REGRESS
  if (gw_regress_get() == GW_REGRESS_STORE_CLOSE) {
    /* The pre-fix bug: disconnect never closed the store.  Keep it
     * reachable (only) so a test can reap it after seeing the leak. */
    forgotten_t *f = malloc(sizeof(*f));
    if (f != NULL && gw__store_is_open(&api->store)) {
      f->store = api->store;
      f->next = forgotten;
      forgotten = f;
    } else {
      free(f);
    }
    memset(&api->store, 0, sizeof(api->store));
    return 0;
  }
#endif
  gw__store_close(&api->store);
  return 0;
}

static void api_destroy(gw_adapter_t *a) {
  gw__api_adapter_t *api = (gw__api_adapter_t *)a;

  /* The base lets only a closed or never-opened adapter get here: the
   * store is closed (or, in the regress build, deliberately forgotten). */
  free(api);
}

const gw_adapter_vtable_t gw_api_adapter_vtable = {
  "api", api_validate, api_create, api_open, api_connect, api_disconnect, api_destroy,
};

int gw_api_adapter_port(gw_adapter_t *a) {
  gw__api_adapter_t *api = (gw__api_adapter_t *)a;

  if (a == NULL || a->vt != &gw_api_adapter_vtable || !api->http_init)
    return UV_ENOTCONN;
  return gw__http_server_port(&api->http);
}
