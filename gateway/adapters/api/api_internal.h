/*
 * api_internal.h - what the api adapter's two files share (private).
 *
 * adapter_api.c is the adapter's lifecycle: the vtable, the listener and
 * its connections, the store's open and close.  routes.c is the HTTP API:
 * the dispatch of each request to its endpoint, the endpoints and their
 * JSON, the key check.  This is all they need of each other.
 */
#ifndef GW_API_INTERNAL_H
#define GW_API_INTERNAL_H

#include "api.h"
#include "http.h"
#include "store.h"

/* Both halves use it: the lifecycle fills it, the routes read the store,
 * the server's counters and the config.  A type in a private header is
 * gw__, like an internal function (ci/names checks). */

typedef struct gw__api_adapter_s {
  gw_adapter_t base; /* first: the runner sees a gw_adapter_t */
  gw__store_t store;
  uv_timer_t done_timer; /* delivers the connect outcome on a later turn */
  int timer_init;
  int http_init;
  gw_connect_result_t result;
  gw__http_server_t http; /* last: it carries the read buffer */
} gw__api_adapter_t;

/* The HTTP server's handler (routes.c): check the key, route the request
 * to its endpoint and fill in res.  srv->data is the gw__api_adapter_t. */
void gw__api_handle(gw__http_server_t *srv, const gw__http_request_t *req,
                    gw__http_response_t *res);

#endif /* GW_API_INTERNAL_H */
