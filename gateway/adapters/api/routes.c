/*
 * routes.c - the api adapter's HTTP routes: an OpenAI-shaped API.
 *
 * gw__api_handle is the HTTP server's handler: it checks the key and sends
 * each request to its endpoint.  The health, model, chat, metrics and
 * admin endpoints live here; the Responses API is responses.c's, the JSON
 * every endpoint reads and writes api_json.c's, and the adapter's
 * lifecycle (the listener, the store's open and close) adapter_api.c's.
 *
 * Requests are handled synchronously (SQLite and the echo agent are both
 * quick), which keeps responses in request order for pipelining for free.
 */
#include "api_internal.h"
#include "echo.h"
#include "internal.h"
#include "keycmp.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_PREFIX "/admin/platforms/"
#define RESPONSES_PREFIX "/v1/responses/"

/* ------------------------------------------------------------------ */
/* Endpoints                                                          */
/* ------------------------------------------------------------------ */

static void ep_health(gw__api_adapter_t *api, gw__http_response_t *res) {
  static const char ok[] = "{\"status\":\"ok\",\"platform\":\"fdsoak-gateway\"}";
  gw__http_respond(res, 200, "application/json", ok, sizeof(ok) - 1);
}

static cJSON *platform_json(const gw_platform_status_t *st, uint64_t now) {
  cJSON *p = cJSON_CreateObject();
  cJSON *outcomes = cJSON_CreateObject();
  int i;

  cJSON_AddStringToObject(p, "name", st->name);
  cJSON_AddStringToObject(p, "kind", st->kind);
  cJSON_AddStringToObject(p, "state", gw_platform_state_name(st->state));
  cJSON_AddBoolToObject(p, "queued", st->queued);
  cJSON_AddBoolToObject(p, "paused", st->paused);
  if (st->paused)
    cJSON_AddStringToObject(p, "pause_reason", st->pause_reason);
  else
    cJSON_AddNullToObject(p, "pause_reason");
  cJSON_AddNumberToObject(p, "attempts", st->attempts);
  cJSON_AddBoolToObject(p, "in_flight", st->in_flight);
  if (st->has_next_retry)
    cJSON_AddNumberToObject(p, "next_retry_in_ms",
                            st->next_retry > now ? (double)(st->next_retry - now) : 0);
  else
    cJSON_AddNullToObject(p, "next_retry_in_ms");
  if (st->last_error_code[0] != '\0' || st->last_error_message[0] != '\0') {
    cJSON *e = cJSON_AddObjectToObject(p, "last_error");
    cJSON_AddStringToObject(e, "code", st->last_error_code);
    cJSON_AddStringToObject(e, "message", st->last_error_message);
  } else {
    cJSON_AddNullToObject(p, "last_error");
  }
  for (i = 0; i < GW_OUTCOME_COUNT; i++)
    cJSON_AddNumberToObject(outcomes, gw_outcome_name((gw_outcome_t)i), (double)st->outcomes[i]);
  cJSON_AddItemToObject(p, "outcomes", outcomes);
  cJSON_AddNumberToObject(p, "attempts_total", (double)st->attempts_total);
  return p;
}

static void ep_health_detailed(gw__api_adapter_t *api, gw__http_response_t *res) {
  gw_runner_t *r = api->base.runner;
  cJSON *o = cJSON_CreateObject();
  cJSON *fds, *http, *store, *plats;
  gw_platform_status_t st;
  uint64_t now = 0;
  long soft, hard;
  size_t i, n = 0;
  int count = -1;

  cJSON_AddStringToObject(o, "status", "ok");
  fds = cJSON_AddObjectToObject(o, "fds");
  gw__fd_limits(&soft, &hard);
  cJSON_AddNumberToObject(fds, "open", gw_fd_count());
  cJSON_AddNumberToObject(fds, "limit", (double)soft);
  cJSON_AddNumberToObject(fds, "limit_hard", (double)hard);
  http = cJSON_AddObjectToObject(o, "http");
  cJSON_AddNumberToObject(http, "connections", gw__http_server_connections(&api->http));
  cJSON_AddNumberToObject(http, "requests", (double)api->http.requests);
  store = cJSON_AddObjectToObject(o, "store");
  if (gw__store_count(&api->store, &count) == 0)
    cJSON_AddNumberToObject(store, "responses", count);
  else
    cJSON_AddNullToObject(store, "responses");
  cJSON_AddNumberToObject(store, "max_responses", api->store.max_responses);
  plats = cJSON_AddArrayToObject(o, "platforms");
  if (r != NULL) {
    n = gw_runner_platform_count(r);
    now = gw_clock_now(gw_runner_clock(r));
  }
  for (i = 0; i < n; i++) {
    if (gw_runner_status_at(r, i, &st) == 0)
      cJSON_AddItemToArray(plats, platform_json(&st, now));
  }
  gw__api_respond_json(res, 200, o);
}

static void ep_models(gw__http_response_t *res) {
  static const char body[] = "{\"object\":\"list\",\"data\":[{\"id\":\"" GW_ECHO_MODEL
                             "\",\"object\":\"model\",\"created\":0,\"owned_by\":\"fdsoak\"}]}";
  gw__http_respond(res, 200, "application/json", body, sizeof(body) - 1);
}

/* Walk the messages: the last user message's text (*text, malloc'd), how
 * many user messages there are (*turn, the agent's turn) and the tokens of
 * them all (*in_tokens: the whole prompt is input). */
static int chat_read_messages(const cJSON *msgs, char **text, unsigned *turn, unsigned *in_tokens,
                              gw__http_response_t *res) {
  const cJSON *m;

  cJSON_ArrayForEach(m, msgs) {
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
    if (!cJSON_IsObject(m) || !cJSON_IsString(role)) {
      gw__api_invalid(res, "messages", "each message needs a string 'role'");
      return UV_EINVAL;
    }
    if (strcmp(role->valuestring, "user") == 0) {
      free(*text);
      *text = gw__api_content_text(content);
      if (*text == NULL) {
        gw__api_invalid(res, "messages", "a user message needs text 'content'");
        return UV_EINVAL;
      }
      (*turn)++;
      *in_tokens += gw__echo_tokens(*text);
    }
  }
  if (*text == NULL) {
    gw__api_invalid(res, "messages", "no message with role 'user'");
    return UV_EINVAL;
  }
  return 0;
}

/* The chat.completion object: one choice, the assistant's reply. */
static cJSON *chat_completion_json(const char *id, const char *model, const char *reply,
                                   unsigned in_tokens) {
  cJSON *out = cJSON_CreateObject();
  cJSON *choices, *choice, *msg;

  cJSON_AddStringToObject(out, "id", id);
  cJSON_AddStringToObject(out, "object", "chat.completion");
  cJSON_AddNumberToObject(out, "created", (double)(long long)gw__api_now_seconds());
  cJSON_AddStringToObject(out, "model", model);
  choices = cJSON_AddArrayToObject(out, "choices");
  choice = cJSON_CreateObject();
  cJSON_AddNumberToObject(choice, "index", 0);
  msg = cJSON_AddObjectToObject(choice, "message");
  cJSON_AddStringToObject(msg, "role", "assistant");
  cJSON_AddStringToObject(msg, "content", reply);
  cJSON_AddStringToObject(choice, "finish_reason", "stop");
  cJSON_AddItemToArray(choices, choice);
  cJSON_AddItemToObject(out, "usage", gw__api_usage_json(in_tokens, gw__echo_tokens(reply), 1));
  return out;
}

static void ep_chat(gw__api_adapter_t *api, const gw__http_request_t *req,
                    gw__http_response_t *res) {
  cJSON *body = gw__api_parse_body(req, res);
  const cJSON *msgs;
  char *text = NULL, *reply = NULL;
  char id[64] = "chatcmpl-";
  unsigned turn = 0, in_tokens = 0;

  if (body == NULL)
    return;
  msgs = cJSON_GetObjectItemCaseSensitive(body, "messages");
  if (msgs == NULL) {
    gw__api_missing(res, "messages");
    goto out;
  }
  if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0) {
    gw__api_invalid(res, "messages", "expected a non-empty array of messages");
    goto out;
  }
  if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "stream"))) {
    gw__http_respond_error(res, 400, "invalid_request_error", "unsupported_parameter",
                           "stream is not supported by the echo agent");
    goto out;
  }
  if (chat_read_messages(msgs, &text, &turn, &in_tokens, res) != 0)
    goto out;
  if (gw__echo_reply(text, strlen(text), turn, &reply, NULL) != 0 ||
      gw__api_random_hex(id + strlen(id), 12) != 0) {
    gw__http_respond_error(res, 500, "server_error", "server_error", "out of memory");
    goto out;
  }
  gw__api_respond_json(res, 200,
                       chat_completion_json(id, gw__api_model_of(body), reply, in_tokens));
out:
  free(text);
  free(reply);
  cJSON_Delete(body);
}

/* Prometheus label values escape backslash, quote and newline. */
static void prom_label(FILE *f, const char *s) {
  for (; *s != '\0'; s++) {
    if (*s == '\\' || *s == '"')
      fputc('\\', f), fputc(*s, f);
    else if (*s == '\n')
      fputs("\\n", f);
    else
      fputc(*s, f);
  }
}

static void ep_metrics(gw__api_adapter_t *api, gw__http_response_t *res) {
  gw_runner_t *r = api->base.runner;
  gw_platform_status_t st;
  char *buf = NULL;
  size_t len = 0;
  long soft, hard;
  size_t i, n = r != NULL ? gw_runner_platform_count(r) : 0;
  int k;
  FILE *f;

  /* open_memstream is a FILE over a growing malloc'd buffer: no fd. */
  f = open_memstream(&buf, &len);
  if (f == NULL) {
    gw__http_respond_error(res, 500, "server_error", "server_error", "out of memory");
    return;
  }
  gw__fd_limits(&soft, &hard);
  fprintf(f,
          "# HELP process_open_fds Number of open file descriptors.\n"
          "# TYPE process_open_fds gauge\n"
          "process_open_fds %d\n",
          gw_fd_count());
  fprintf(f,
          "# HELP process_max_fds Maximum number of open file descriptors.\n"
          "# TYPE process_max_fds gauge\n"
          "process_max_fds %ld\n",
          soft);
  fprintf(f, "# HELP gw_reconnect_attempts_total Connect attempts by platform and outcome.\n"
             "# TYPE gw_reconnect_attempts_total counter\n");
  for (i = 0; i < n; i++) {
    if (gw_runner_status_at(r, i, &st) != 0)
      continue;
    for (k = 0; k < GW_OUTCOME_COUNT; k++) {
      fputs("gw_reconnect_attempts_total{platform=\"", f);
      prom_label(f, st.name);
      fprintf(f, "\",outcome=\"%s\"} %llu\n", gw_outcome_name((gw_outcome_t)k),
              (unsigned long long)st.outcomes[k]);
    }
  }
  fprintf(f, "# HELP gw_platform_state Current state of each platform (1 = in that state).\n"
             "# TYPE gw_platform_state gauge\n");
  for (i = 0; i < n; i++) {
    if (gw_runner_status_at(r, i, &st) != 0)
      continue;
    for (k = GW_PLATFORM_PENDING; k <= GW_PLATFORM_STOPPED; k++) {
      fputs("gw_platform_state{platform=\"", f);
      prom_label(f, st.name);
      fprintf(f, "\",state=\"%s\"} %d\n", gw_platform_state_name((gw_platform_state_t)k),
              st.state == (gw_platform_state_t)k);
    }
  }
  fprintf(f,
          "# HELP gw_http_requests_total HTTP requests handled by the api adapter.\n"
          "# TYPE gw_http_requests_total counter\n"
          "gw_http_requests_total %llu\n"
          "# HELP gw_http_connections Open HTTP client connections.\n"
          "# TYPE gw_http_connections gauge\n"
          "gw_http_connections %u\n",
          (unsigned long long)api->http.requests, gw__http_server_connections(&api->http));
  if (fclose(f) != 0 || buf == NULL) {
    free(buf);
    gw__http_respond_error(res, 500, "server_error", "server_error", "out of memory");
    return;
  }
  free(res->body);
  res->body = buf;
  res->body_len = len;
  res->status = 200;
  res->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

static void ep_admin(gw__api_adapter_t *api, const gw__http_request_t *req, const char *rest,
                     gw__http_response_t *res) {
  gw_runner_t *r = api->base.runner;
  const char *slash = strchr(rest, '/');
  char name[GW_NAME_MAX];
  char reason[GW_MSG_MAX] = "paused by operator";
  gw_platform_status_t st;
  int pause;
  int rc;

  if (slash == NULL || !gw__api_valid_platform_name(rest, (size_t)(slash - rest)) ||
      (strcmp(slash, "/pause") != 0 && strcmp(slash, "/resume") != 0)) {
    gw__http_respond_error(res, 404, "invalid_request_error", "not_found", "Not found");
    return;
  }
  if (!gw__api_method_is(req, "POST") || strcmp(req->method, "HEAD") == 0) {
    gw__api_respond_405(res, "POST");
    return;
  }
  memcpy(name, rest, (size_t)(slash - rest));
  name[slash - rest] = '\0';
  pause = strcmp(slash, "/pause") == 0;
  if (pause && req->body_len > 0) {
    /* An optional {"reason": "..."}; anything else in the body is ignored,
     * but a body that is not JSON is a client error like everywhere. */
    cJSON *body = gw__api_parse_body(req, res);
    const cJSON *why;
    if (body == NULL)
      return;
    why = cJSON_GetObjectItemCaseSensitive(body, "reason");
    if (cJSON_IsString(why) && why->valuestring[0] != '\0')
      gw__strlcpy(reason, why->valuestring, sizeof(reason));
    cJSON_Delete(body);
  }
  if (r == NULL) {
    gw__http_respond_error(res, 503, "server_error", "no_runner", "No runner");
    return;
  }
  rc = pause ? gw_runner_pause(r, name, reason) : gw_runner_resume(r, name);
  if (rc == UV_ENOENT) {
    gw__http_respond_error(res, 404, "invalid_request_error", "platform_not_found",
                           "Platform '%s' not found", name);
    return;
  }
  if (rc != 0) {
    gw__http_respond_error(res, 409, "invalid_request_error",
                           pause ? "platform_not_queued" : "platform_not_paused",
                           "Cannot %s platform '%s': %s", pause ? "pause" : "resume", name,
                           rc == UV_EALREADY ? "it is not paused" : "it is not in the retry queue");
    return;
  }
  gw_adapter_log(&api->base, GW_LOG_INFO, "admin: %s %s", pause ? "paused" : "resumed", name);
  if (gw_runner_status(r, name, &st) != 0) {
    gw__http_respond_error(res, 500, "server_error", "server_error", "status unavailable");
    return;
  }
  gw__api_respond_json(res, 200, platform_json(&st, gw_clock_now(gw_runner_clock(r))));
}

static int authorized(gw__api_adapter_t *api, const gw__http_request_t *req) {
  const char *key = api->base.cfg.key;
  const char *h;

  if (key[0] == '\0')
    return 1;
  h = gw__http_header(req, "Authorization");
  if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
    return 0;
  h += 7;
  while (*h == ' ')
    h++;
  return gw__key_equal(h, strlen(h), key);
}

void gw__api_handle(gw__http_server_t *srv, const gw__http_request_t *req,
                    gw__http_response_t *res) {
  gw__api_adapter_t *api = srv->data;
  const char *path = req->path;

  if (strcmp(path, "/health") == 0) {
    if (gw__api_method_is(req, "GET"))
      ep_health(api, res);
    else
      gw__api_respond_405(res, "GET");
    return;
  }
  /* Before routing, so a client without the key learns nothing, not even
   * which paths exist. */
  if (!authorized(api, req)) {
    gw__http_respond_error(res, 401, "invalid_request_error", "invalid_api_key", "Invalid API key");
    gw__http_add_header(res, "WWW-Authenticate", "Bearer");
    return;
  }
  if (strcmp(path, "/health/detailed") == 0) {
    if (gw__api_method_is(req, "GET"))
      ep_health_detailed(api, res);
    else
      gw__api_respond_405(res, "GET");
  } else if (strcmp(path, "/v1/models") == 0) {
    if (gw__api_method_is(req, "GET"))
      ep_models(res);
    else
      gw__api_respond_405(res, "GET");
  } else if (strcmp(path, "/v1/chat/completions") == 0) {
    if (gw__api_method_is(req, "POST"))
      ep_chat(api, req, res);
    else
      gw__api_respond_405(res, "POST");
  } else if (strcmp(path, "/v1/responses") == 0) {
    if (gw__api_method_is(req, "POST"))
      gw__api_ep_responses_create(api, req, res);
    else
      gw__api_respond_405(res, "POST");
  } else if (strncmp(path, RESPONSES_PREFIX, strlen(RESPONSES_PREFIX)) == 0) {
    const char *id = path + strlen(RESPONSES_PREFIX);
    if (!gw__api_method_is(req, "GET") && !gw__api_method_is(req, "DELETE")) {
      gw__api_respond_405(res, "GET, DELETE");
    } else if (!gw__api_valid_response_id(id)) {
      gw__http_respond_error(res, 400, "invalid_request_error", "invalid_response_id",
                             "Invalid response id; expected resp_ followed by up to 64 "
                             "letters, digits, '_' or '-'");
    } else if (gw__api_method_is(req, "GET")) {
      gw__api_ep_response_get(api, id, res);
    } else {
      gw__api_ep_response_delete(api, id, res);
    }
  } else if (strcmp(path, "/metrics") == 0) {
    if (gw__api_method_is(req, "GET"))
      ep_metrics(api, res);
    else
      gw__api_respond_405(res, "GET");
  } else if (strncmp(path, ADMIN_PREFIX, strlen(ADMIN_PREFIX)) == 0) {
    ep_admin(api, req, path + strlen(ADMIN_PREFIX), res);
  } else {
    gw__http_respond_error(res, 404, "invalid_request_error", "not_found", "Not found: %s %s",
                           req->method, path);
  }
}
