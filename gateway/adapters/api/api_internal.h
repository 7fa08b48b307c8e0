/*
 * api_internal.h - what the api adapter's two files share (private).
 *
 * adapter_api.c is the adapter's lifecycle: the vtable, the listener and
 * its connections, the store's open and close.  routes.c is the HTTP API:
 * the key check, the dispatch of each request to its endpoint, and the
 * endpoints but the Responses API, which is responses.c's; api_json.c is
 * the JSON all endpoints read and write.  Calls go adapter_api.c ->
 * routes.c -> responses.c -> api_json.c, never back.
 */
#ifndef GW_API_INTERNAL_H
#define GW_API_INTERNAL_H

#include "api.h"
#include "http.h"
#include "store.h"

#include <cjson/cJSON.h>

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

/* ---- api_json.c: what every endpoint shares ---------------------------- */

int gw__api_random_hex(char *out, size_t nbytes);
int gw__api_valid_response_id(const char *id);
int gw__api_valid_platform_name(const char *s, size_t n);
double gw__api_now_seconds(void);
void gw__api_respond_json(gw__http_response_t *res, int status, cJSON *obj);
void gw__api_respond_405(gw__http_response_t *res, const char *allow);
int gw__api_method_is(const gw__http_request_t *req, const char *m);
char *gw__api_content_text(const cJSON *content);
cJSON *gw__api_parse_body(const gw__http_request_t *req, gw__http_response_t *res);
void gw__api_missing(gw__http_response_t *res, const char *field);
void gw__api_invalid(gw__http_response_t *res, const char *field, const char *why);
const char *gw__api_model_of(const cJSON *body);
cJSON *gw__api_usage_json(unsigned in, unsigned out, int chat);

/* ---- responses.c: the Responses API (routes.c dispatches to it) -------- */

void gw__api_ep_responses_create(gw__api_adapter_t *api, const gw__http_request_t *req,
                                 gw__http_response_t *res);
void gw__api_ep_response_get(gw__api_adapter_t *api, const char *id, gw__http_response_t *res);
void gw__api_ep_response_delete(gw__api_adapter_t *api, const char *id, gw__http_response_t *res);

#endif /* GW_API_INTERNAL_H */
