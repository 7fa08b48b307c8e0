/*
 * routes.c - the api adapter's HTTP routes: an OpenAI-shaped API.
 *
 * gw__api_handle is the HTTP server's handler: it checks the key and sends
 * each request to its endpoint.  The endpoints, the JSON they parse and
 * build, and the checks on what a client sends live here; the adapter's
 * lifecycle (the listener, the store's open and close) is adapter_api.c's.
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

#define ID_MAX 96
#define CONVERSATION_MAX 256
#define ADMIN_PREFIX "/admin/platforms/"
#define RESPONSES_PREFIX "/v1/responses/"

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */
/* ------------------------------------------------------------------ */

static int random_hex(char *out, size_t nbytes) {
  static const char hex[] = "0123456789abcdef";
  unsigned char raw[32];
  size_t i;
  int rc;

  if (nbytes > sizeof(raw))
    return UV_EINVAL;
  /* getrandom(2) underneath: no fd, never blocks once the pool is up. */
  rc = uv_random(NULL, NULL, raw, nbytes, 0, NULL);
  if (rc != 0)
    return rc;
  for (i = 0; i < nbytes; i++) {
    out[2 * i] = hex[raw[i] >> 4];
    out[2 * i + 1] = hex[raw[i] & 15];
  }
  out[2 * nbytes] = '\0';
  return 0;
}

/* resp_ followed by 1..64 of [A-Za-z0-9_-]: checked before the id reaches
 * the store or a log line. */
static int valid_response_id(const char *id) {
  size_t n;

  if (strncmp(id, "resp_", 5) != 0)
    return 0;
  n = strlen(id + 5);
  return n >= 1 && n <= 64 &&
         strspn(id + 5, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

static int valid_platform_name(const char *s, size_t n) {
  size_t i;

  if (n == 0 || n >= GW_NAME_MAX)
    return 0;
  for (i = 0; i < n; i++) {
    if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.", s[i]) == NULL ||
        s[i] == '\0')
      return 0;
  }
  return 1;
}

static double now_seconds(void) {
  uv_timeval64_t tv;

  if (uv_gettimeofday(&tv) != 0)
    return 0;
  return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void respond_json(gw__http_response_t *res, int status, cJSON *obj) {
  char *text = obj != NULL ? cJSON_PrintUnformatted(obj) : NULL;

  cJSON_Delete(obj);
  if (text == NULL) {
    gw__http_respond_error(res, 500, "server_error", "server_error", "out of memory");
    return;
  }
  free(res->body);
  res->body = text; /* cJSON allocates with malloc: the server frees it */
  res->body_len = strlen(text);
  res->status = status;
  res->content_type = "application/json";
}

static void respond_405(gw__http_response_t *res, const char *allow) {
  gw__http_respond_error(res, 405, "invalid_request_error", "method_not_allowed",
                         "Method not allowed; use %s", allow);
  gw__http_add_header(res, "Allow", allow);
}

static int method_is(const gw__http_request_t *req, const char *m) {
  /* HEAD is GET without the body; the HTTP layer drops the body. */
  if (strcmp(m, "GET") == 0 && strcmp(req->method, "HEAD") == 0)
    return 1;
  return strcmp(req->method, m) == 0;
}

/* Text of an OpenAI message content: a string, or an array of parts whose
 * "text" members are concatenated.  NULL when there is none. */
static char *content_text(const cJSON *content) {
  const cJSON *part;
  size_t len = 0;
  char *out;

  if (cJSON_IsString(content))
    return strdup(content->valuestring);
  if (!cJSON_IsArray(content))
    return NULL;
  cJSON_ArrayForEach(part, content) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
    if (cJSON_IsString(t))
      len += strlen(t->valuestring);
  }
  out = malloc(len + 1);
  if (out == NULL)
    return NULL;
  out[0] = '\0';
  len = 0;
  cJSON_ArrayForEach(part, content) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
    if (cJSON_IsString(t)) {
      size_t n = strlen(t->valuestring);
      memcpy(out + len, t->valuestring, n + 1);
      len += n;
    }
  }
  return out;
}

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing past
 * U+10FFFF.  cJSON copies string bytes as they come, so without this a
 * client's invalid bytes would be echoed into a response that is not JSON. */
static int utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;

  while (i < n) {
    unsigned char c = s[i];
    size_t len, k;
    unsigned cp;

    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf)
      len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
      len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
      len = 4, cp = c & 0x07;
    else
      return 0; /* a continuation byte first, 0xc0/0xc1 (overlong), or > 0xf4 */
    if (n - i < len)
      return 0;
    for (k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    i += len;
  }
  return 1;
}

/* A \u0000 escape inside a string of (syntactically valid) JSON text.
 * cJSON decodes it into a NUL that ends its C string, so the rest of the
 * value would be dropped without a word. */
static int json_has_nul_escape(const char *s, size_t n) {
  int in_string = 0;
  size_t i;

  for (i = 0; i < n; i++) {
    if (!in_string) {
      in_string = s[i] == '"';
    } else if (s[i] == '"') {
      in_string = 0;
    } else if (s[i] == '\\' && i + 1 < n) {
      if (s[i + 1] == 'u' && n - i >= 6 && memcmp(s + i + 2, "0000", 4) == 0)
        return 1;
      i++; /* the escaped character, so \\ and \" do not mislead us */
    }
  }
  return 0;
}

static cJSON *parse_body(const gw__http_request_t *req, gw__http_response_t *res) {
  const char *end = NULL;
  cJSON *body;

  if (req->body_len == 0) {
    gw__http_respond_error(res, 400, "invalid_request_error", "invalid_json",
                           "Request body is empty; expected a JSON object");
    return NULL;
  }
  /* A raw NUL is never valid JSON, and inside a string it would cut the
   * value short just as \u0000 would. */
  if (!utf8_valid((const unsigned char *)req->body, req->body_len) ||
      memchr(req->body, '\0', req->body_len) != NULL) {
    gw__http_respond_error(res, 400, "invalid_request_error", "invalid_json",
                           "Request body is not valid UTF-8 text");
    return NULL;
  }
  body = cJSON_ParseWithLengthOpts(req->body, req->body_len, &end, 0);
  /* JSON text is one value: anything but whitespace after it is an error,
   * not something to ignore. */
  for (; body != NULL && end != NULL && end < req->body + req->body_len; end++) {
    if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
      cJSON_Delete(body);
      gw__http_respond_error(res, 400, "invalid_request_error", "invalid_json",
                             "Request body has data after the JSON value");
      return NULL;
    }
  }
  if (body != NULL && json_has_nul_escape(req->body, req->body_len)) {
    cJSON_Delete(body);
    gw__http_respond_error(res, 400, "invalid_request_error", "invalid_json",
                           "Strings in the request body must not contain \\u0000");
    return NULL;
  }
  if (body == NULL) {
    gw__http_respond_error(res, 400, "invalid_request_error", "invalid_json",
                           "Request body is not valid JSON");
    return NULL;
  }
  if (!cJSON_IsObject(body)) {
    cJSON_Delete(body);
    gw__http_respond_error(res, 400, "invalid_request_error", "invalid_json",
                           "Request body must be a JSON object");
    return NULL;
  }
  return body;
}

static void missing(gw__http_response_t *res, const char *field) {
  gw__http_respond_error(res, 400, "invalid_request_error", "missing_required_parameter",
                         "Missing required parameter: '%s'", field);
}

static void invalid(gw__http_response_t *res, const char *field, const char *why) {
  gw__http_respond_error(res, 400, "invalid_request_error", "invalid_value",
                         "Invalid value for '%s': %s", field, why);
}

static const char *model_of(const cJSON *body) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, "model");
  return cJSON_IsString(m) && m->valuestring[0] != '\0' ? m->valuestring : GW_ECHO_MODEL;
}

static cJSON *usage_json(unsigned in, unsigned out, int chat) {
  cJSON *u = cJSON_CreateObject();

  cJSON_AddNumberToObject(u, chat ? "prompt_tokens" : "input_tokens", in);
  cJSON_AddNumberToObject(u, chat ? "completion_tokens" : "output_tokens", out);
  cJSON_AddNumberToObject(u, "total_tokens", in + out);
  return u;
}

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
  respond_json(res, 200, o);
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
      invalid(res, "messages", "each message needs a string 'role'");
      return UV_EINVAL;
    }
    if (strcmp(role->valuestring, "user") == 0) {
      free(*text);
      *text = content_text(content);
      if (*text == NULL) {
        invalid(res, "messages", "a user message needs text 'content'");
        return UV_EINVAL;
      }
      (*turn)++;
      *in_tokens += gw__echo_tokens(*text);
    }
  }
  if (*text == NULL) {
    invalid(res, "messages", "no message with role 'user'");
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
  cJSON_AddNumberToObject(out, "created", (double)(long long)now_seconds());
  cJSON_AddStringToObject(out, "model", model);
  choices = cJSON_AddArrayToObject(out, "choices");
  choice = cJSON_CreateObject();
  cJSON_AddNumberToObject(choice, "index", 0);
  msg = cJSON_AddObjectToObject(choice, "message");
  cJSON_AddStringToObject(msg, "role", "assistant");
  cJSON_AddStringToObject(msg, "content", reply);
  cJSON_AddStringToObject(choice, "finish_reason", "stop");
  cJSON_AddItemToArray(choices, choice);
  cJSON_AddItemToObject(out, "usage", usage_json(in_tokens, gw__echo_tokens(reply), 1));
  return out;
}

static void ep_chat(gw__api_adapter_t *api, const gw__http_request_t *req,
                    gw__http_response_t *res) {
  cJSON *body = parse_body(req, res);
  const cJSON *msgs;
  char *text = NULL, *reply = NULL;
  char id[64] = "chatcmpl-";
  unsigned turn = 0, in_tokens = 0;

  if (body == NULL)
    return;
  msgs = cJSON_GetObjectItemCaseSensitive(body, "messages");
  if (msgs == NULL) {
    missing(res, "messages");
    goto out;
  }
  if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0) {
    invalid(res, "messages", "expected a non-empty array of messages");
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
      random_hex(id + strlen(id), 12) != 0) {
    gw__http_respond_error(res, 500, "server_error", "server_error", "out of memory");
    goto out;
  }
  respond_json(res, 200, chat_completion_json(id, model_of(body), reply, in_tokens));
out:
  free(text);
  free(reply);
  cJSON_Delete(body);
}

/* Append the request's input to history as {role, content} messages; the
 * last user text and how many there were come back through the pointers. */
static int append_input(const cJSON *input, cJSON *history, gw__http_response_t *res) {
  const cJSON *item;

  if (cJSON_IsString(input)) {
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "user");
    cJSON_AddStringToObject(m, "content", input->valuestring);
    cJSON_AddItemToArray(history, m);
    return 0;
  }
  if (!cJSON_IsArray(input) || cJSON_GetArraySize(input) == 0) {
    invalid(res, "input", "expected a string or a non-empty array of messages");
    return UV_EINVAL;
  }
  cJSON_ArrayForEach(item, input) {
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(item, "role");
    char *text = content_text(cJSON_GetObjectItemCaseSensitive(item, "content"));
    cJSON *m;

    if (!cJSON_IsObject(item) || text == NULL) {
      free(text);
      invalid(res, "input", "each item needs text 'content'");
      return UV_EINVAL;
    }
    m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", cJSON_IsString(role) ? role->valuestring : "user");
    cJSON_AddStringToObject(m, "content", text);
    cJSON_AddItemToArray(history, m);
    free(text);
  }
  return 0;
}

/*
 * A store call failed: 404 when response `id` (if any) is not there; 503
 * with Retry-After when the store is busy (another process holds its lock)
 * or unusable (closed, or its files were removed under it) -- the request
 * was not carried out and may be retried; else 500.  Every failure but the
 * 404 is logged with the store's own message.
 */
static void respond_store_failure(gw__api_adapter_t *api, int rc, const char *id,
                                  gw__http_response_t *res) {
  if (rc == UV_ENOENT && id != NULL) {
    gw__http_respond_error(res, 404, "invalid_request_error", "response_not_found",
                           "Response with id '%s' not found.", id);
    return;
  }
  /* strerror, not uv_strerror: the store's codes are negative errnos, and
   * uv_strerror allocates (and never frees) a string for one it has no name
   * for, such as GW_STORE_ESTALE. */
  gw_adapter_log(&api->base, rc == UV_EBUSY ? GW_LOG_WARN : GW_LOG_ERROR, "store: %s (%s)",
                 strerror(-rc), gw__store_errmsg(&api->store));
  if (rc == UV_EBUSY || rc == UV_EBADF || rc == GW_STORE_ESTALE) {
    gw__http_respond_error(
      res, 503, "server_error", rc == UV_EBUSY ? "store_busy" : "store_unavailable",
      "The response store is %s; nothing was stored",
      rc == UV_EBUSY ? "locked by another process, retry shortly" : "unavailable");
    gw__http_add_header(res, "Retry-After", "1");
    return;
  }
  gw__http_respond_error(res, 500, "server_error", "store_error", "The response store failed: %s",
                         strerror(-rc));
}

/*
 * POST /v1/responses, one step to a function.  A request travels through
 * the steps in a responses_req_t: each step fills in its part, or answers
 * the client with an error and returns non-zero, and responses_req_free
 * releases whatever the steps got so far.
 */
typedef struct {
  cJSON *body;               /* the parsed request */
  const cJSON *input;        /* body's "input" */
  const cJSON *instructions; /* body's "instructions": absent, null or a string */
  const char *prev_id;       /* in body, or conv_prev when a conversation names it */
  const char *conversation;  /* in body; NULL when none is named */
  int do_store;              /* "store" is not false */
  char *conv_prev;           /* the named conversation's latest response id */
  cJSON *history;            /* the conversation so far, this input included */
  unsigned turn;             /* user messages in history */
  unsigned in_tokens;        /* of the last user message */
  char *reply;               /* the echo agent's */
  char id[ID_MAX];
  char msg_id[ID_MAX];
} responses_req_t;

static void responses_req_free(responses_req_t *rq) {
  cJSON_Delete(rq->history);
  cJSON_Delete(rq->body);
  free(rq->conv_prev);
  free(rq->reply);
}

/* The body and the shape of its fields; nothing is looked up yet. */
static int responses_parse(const gw__http_request_t *req, responses_req_t *rq,
                           gw__http_response_t *res) {
  const cJSON *prev_j, *conv_j;

  rq->body = parse_body(req, res);
  if (rq->body == NULL)
    return UV_EINVAL;
  rq->input = cJSON_GetObjectItemCaseSensitive(rq->body, "input");
  prev_j = cJSON_GetObjectItemCaseSensitive(rq->body, "previous_response_id");
  conv_j = cJSON_GetObjectItemCaseSensitive(rq->body, "conversation");
  rq->instructions = cJSON_GetObjectItemCaseSensitive(rq->body, "instructions");
  rq->do_store = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(rq->body, "store"));
  if (rq->input == NULL) {
    missing(res, "input");
    return UV_EINVAL;
  }
  if (prev_j != NULL && !cJSON_IsNull(prev_j)) {
    if (!cJSON_IsString(prev_j) || !valid_response_id(prev_j->valuestring)) {
      invalid(res, "previous_response_id", "expected an id like resp_...");
      return UV_EINVAL;
    }
    rq->prev_id = prev_j->valuestring;
  }
  if (conv_j != NULL && !cJSON_IsNull(conv_j)) {
    if (!cJSON_IsString(conv_j) || conv_j->valuestring[0] == '\0' ||
        strlen(conv_j->valuestring) > CONVERSATION_MAX) {
      invalid(res, "conversation", "expected a name of 1 to 256 characters");
      return UV_EINVAL;
    }
    if (rq->prev_id != NULL) {
      gw__http_respond_error(res, 400, "invalid_request_error", "invalid_request",
                             "Use either 'previous_response_id' or 'conversation', not both");
      return UV_EINVAL;
    }
    rq->conversation = conv_j->valuestring;
  }
  return 0;
}

/* A conversation name continues from its latest response; a name the
 * store does not know starts the conversation. */
static int responses_follow_conversation(gw__api_adapter_t *api, responses_req_t *rq,
                                         gw__http_response_t *res) {
  int rc;

  if (rq->conversation == NULL)
    return 0;
  rc = gw__store_conversation(&api->store, rq->conversation, &rq->conv_prev);
  if (rc == UV_ENOENT)
    return 0;
  if (rc != 0) {
    respond_store_failure(api, rc, NULL, res);
    return rc;
  }
  rq->prev_id = rq->conv_prev;
  return 0;
}

/* After the conversation lookup, not with the other fields: a store that
 * fails there has always answered before a wrong 'instructions' does. */
static int responses_check_instructions(const responses_req_t *rq, gw__http_response_t *res) {
  const cJSON *instr = rq->instructions;

  if (instr != NULL && !cJSON_IsNull(instr) && !cJSON_IsString(instr)) {
    invalid(res, "instructions", "expected a string");
    return UV_EINVAL;
  }
  return 0;
}

/* The conversation so far -- the previous response's stored history, or a
 * new one -- with this request's input appended. */
static int responses_load_history(gw__api_adapter_t *api, responses_req_t *rq,
                                  gw__http_response_t *res) {
  char *prev_text = NULL;
  cJSON *prev_data;
  int rc;

  if (rq->prev_id != NULL) {
    rc = gw__store_get(&api->store, rq->prev_id, &prev_text);
    if (rc == UV_ENOENT) {
      gw__http_respond_error(res, 404, "invalid_request_error", "previous_response_not_found",
                             "Previous response with id '%s' not found.", rq->prev_id);
      return rc;
    }
    if (rc != 0) {
      respond_store_failure(api, rc, NULL, res);
      return rc;
    }
    prev_data = cJSON_Parse(prev_text);
    free(prev_text);
    rq->history = cJSON_DetachItemFromObjectCaseSensitive(prev_data, "history");
    cJSON_Delete(prev_data);
    if (!cJSON_IsArray(rq->history)) {
      /* Answered as the start of a conversation rather than refused. */
      gw_adapter_log(&api->base, GW_LOG_WARN, "stored response %s has no history", rq->prev_id);
      cJSON_Delete(rq->history);
      rq->history = NULL;
    }
  }
  if (rq->history == NULL)
    rq->history = cJSON_CreateArray();
  return append_input(rq->input, rq->history, res);
}

/* The echo agent answers the last user message of the history; the turn
 * it names is how many user messages the history holds. */
static int responses_run_agent(responses_req_t *rq, gw__http_response_t *res) {
  const char *last_user = NULL;
  const cJSON *m;

  cJSON_ArrayForEach(m, rq->history) {
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
    if (cJSON_IsString(role) && strcmp(role->valuestring, "user") == 0 && cJSON_IsString(c)) {
      rq->turn++;
      last_user = c->valuestring;
    }
  }
  if (last_user == NULL) {
    invalid(res, "input", "no message with role 'user'");
    return UV_EINVAL;
  }
  rq->in_tokens = gw__echo_tokens(last_user);
  if (gw__echo_reply(last_user, strlen(last_user), rq->turn, &rq->reply, NULL) != 0 ||
      random_hex(rq->id + strlen(rq->id), 16) != 0 ||
      random_hex(rq->msg_id + strlen(rq->msg_id), 16) != 0) {
    gw__http_respond_error(res, 500, "server_error", "server_error", "out of memory");
    return UV_ENOMEM;
  }
  return 0;
}

/* The response's one output item: an assistant message with the reply. */
static cJSON *response_message_json(const char *msg_id, const char *reply) {
  cJSON *msg = cJSON_CreateObject();
  cJSON *content, *part;

  cJSON_AddStringToObject(msg, "type", "message");
  cJSON_AddStringToObject(msg, "id", msg_id);
  cJSON_AddStringToObject(msg, "status", "completed");
  cJSON_AddStringToObject(msg, "role", "assistant");
  content = cJSON_AddArrayToObject(msg, "content");
  part = cJSON_CreateObject();
  cJSON_AddStringToObject(part, "type", "output_text");
  cJSON_AddStringToObject(part, "text", reply);
  cJSON_AddItemToObject(part, "annotations", cJSON_CreateArray());
  cJSON_AddItemToArray(content, part);
  return msg;
}

/* The OpenAI response object, members in the order clients have seen. */
static cJSON *responses_build(const responses_req_t *rq) {
  cJSON *resp = cJSON_CreateObject();
  cJSON *output;

  cJSON_AddStringToObject(resp, "id", rq->id);
  cJSON_AddStringToObject(resp, "object", "response");
  cJSON_AddNumberToObject(resp, "created_at", (double)(long long)now_seconds());
  cJSON_AddStringToObject(resp, "status", "completed");
  cJSON_AddStringToObject(resp, "model", model_of(rq->body));
  if (cJSON_IsString(rq->instructions))
    cJSON_AddStringToObject(resp, "instructions", rq->instructions->valuestring);
  else
    cJSON_AddNullToObject(resp, "instructions");
  if (rq->prev_id != NULL)
    cJSON_AddStringToObject(resp, "previous_response_id", rq->prev_id);
  else
    cJSON_AddNullToObject(resp, "previous_response_id");
  if (rq->conversation != NULL)
    cJSON_AddStringToObject(resp, "conversation", rq->conversation);
  output = cJSON_AddArrayToObject(resp, "output");
  cJSON_AddItemToArray(output, response_message_json(rq->msg_id, rq->reply));
  cJSON_AddStringToObject(resp, "output_text", rq->reply);
  cJSON_AddBoolToObject(resp, "store", rq->do_store);
  cJSON_AddItemToObject(resp, "usage", usage_json(rq->in_tokens, gw__echo_tokens(rq->reply), 0));
  return resp;
}

/*
 * Unless the request said "store": false, store the response with the
 * history a follow-up continues from (the conversation so far and this
 * reply).  Committed before the 200 goes out: an acknowledged response is
 * on disk (see store.c on why NORMAL sync is enough for kill -9).
 */
static int responses_persist(gw__api_adapter_t *api, responses_req_t *rq, cJSON *resp,
                             gw__http_response_t *res) {
  cJSON *am, *stored;
  char *text;
  int rc;

  if (!rq->do_store)
    return 0;
  am = cJSON_CreateObject();
  cJSON_AddStringToObject(am, "role", "assistant");
  cJSON_AddStringToObject(am, "content", rq->reply);
  cJSON_AddItemToArray(rq->history, am);
  stored = cJSON_CreateObject();
  /* A reference: resp stays the caller's, to answer with. */
  cJSON_AddItemReferenceToObject(stored, "response", resp);
  cJSON_AddItemToObject(stored, "history", rq->history);
  rq->history = NULL; /* stored's now */
  text = cJSON_PrintUnformatted(stored);
  cJSON_Delete(stored);
  if (text == NULL) {
    gw__http_respond_error(res, 500, "server_error", "server_error", "out of memory");
    return UV_ENOMEM;
  }
  rc = gw__store_put(&api->store, rq->id, text, rq->conversation);
  free(text);
  if (rc != 0)
    respond_store_failure(api, rc, NULL, res);
  return rc;
}

/* The steps run in the order a client sees their errors in. */
static void ep_responses_create(gw__api_adapter_t *api, const gw__http_request_t *req,
                                gw__http_response_t *res) {
  responses_req_t rq = {.id = "resp_", .msg_id = "msg_"};
  cJSON *resp;

  if (responses_parse(req, &rq, res) == 0 && responses_follow_conversation(api, &rq, res) == 0 &&
      responses_check_instructions(&rq, res) == 0 && responses_load_history(api, &rq, res) == 0 &&
      responses_run_agent(&rq, res) == 0) {
    resp = responses_build(&rq);
    if (responses_persist(api, &rq, resp, res) == 0)
      respond_json(res, 200, resp); /* and frees it */
    else
      cJSON_Delete(resp);
  }
  responses_req_free(&rq);
}

static void ep_response_get(gw__api_adapter_t *api, const char *id, gw__http_response_t *res) {
  char *text = NULL;
  cJSON *data = NULL, *resp;
  int rc;

  rc = gw__store_get(&api->store, id, &text);
  if (rc != 0) {
    respond_store_failure(api, rc, id, res);
    return;
  }
  data = cJSON_Parse(text);
  free(text);
  resp = cJSON_DetachItemFromObjectCaseSensitive(data, "response");
  cJSON_Delete(data);
  if (resp == NULL) {
    gw__http_respond_error(res, 500, "server_error", "store_error", "Stored response is corrupt");
    return;
  }
  respond_json(res, 200, resp);
}

static void ep_response_delete(gw__api_adapter_t *api, const char *id, gw__http_response_t *res) {
  cJSON *o;
  int rc;

  rc = gw__store_delete(&api->store, id);
  if (rc != 0) {
    respond_store_failure(api, rc, id, res);
    return;
  }
  o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", id);
  cJSON_AddStringToObject(o, "object", "response.deleted");
  cJSON_AddBoolToObject(o, "deleted", 1);
  respond_json(res, 200, o);
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

  if (slash == NULL || !valid_platform_name(rest, (size_t)(slash - rest)) ||
      (strcmp(slash, "/pause") != 0 && strcmp(slash, "/resume") != 0)) {
    gw__http_respond_error(res, 404, "invalid_request_error", "not_found", "Not found");
    return;
  }
  if (!method_is(req, "POST") || strcmp(req->method, "HEAD") == 0) {
    respond_405(res, "POST");
    return;
  }
  memcpy(name, rest, (size_t)(slash - rest));
  name[slash - rest] = '\0';
  pause = strcmp(slash, "/pause") == 0;
  if (pause && req->body_len > 0) {
    /* An optional {"reason": "..."}; anything else in the body is ignored,
     * but a body that is not JSON is a client error like everywhere. */
    cJSON *body = parse_body(req, res);
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
  respond_json(res, 200, platform_json(&st, gw_clock_now(gw_runner_clock(r))));
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
    if (method_is(req, "GET"))
      ep_health(api, res);
    else
      respond_405(res, "GET");
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
    if (method_is(req, "GET"))
      ep_health_detailed(api, res);
    else
      respond_405(res, "GET");
  } else if (strcmp(path, "/v1/models") == 0) {
    if (method_is(req, "GET"))
      ep_models(res);
    else
      respond_405(res, "GET");
  } else if (strcmp(path, "/v1/chat/completions") == 0) {
    if (method_is(req, "POST"))
      ep_chat(api, req, res);
    else
      respond_405(res, "POST");
  } else if (strcmp(path, "/v1/responses") == 0) {
    if (method_is(req, "POST"))
      ep_responses_create(api, req, res);
    else
      respond_405(res, "POST");
  } else if (strncmp(path, RESPONSES_PREFIX, strlen(RESPONSES_PREFIX)) == 0) {
    const char *id = path + strlen(RESPONSES_PREFIX);
    if (!method_is(req, "GET") && !method_is(req, "DELETE")) {
      respond_405(res, "GET, DELETE");
    } else if (!valid_response_id(id)) {
      gw__http_respond_error(res, 400, "invalid_request_error", "invalid_response_id",
                             "Invalid response id; expected resp_ followed by up to 64 "
                             "letters, digits, '_' or '-'");
    } else if (method_is(req, "GET")) {
      ep_response_get(api, id, res);
    } else {
      ep_response_delete(api, id, res);
    }
  } else if (strcmp(path, "/metrics") == 0) {
    if (method_is(req, "GET"))
      ep_metrics(api, res);
    else
      respond_405(res, "GET");
  } else if (strncmp(path, ADMIN_PREFIX, strlen(ADMIN_PREFIX)) == 0) {
    ep_admin(api, req, path + strlen(ADMIN_PREFIX), res);
  } else {
    gw__http_respond_error(res, 404, "invalid_request_error", "not_found", "Not found: %s %s",
                           req->method, path);
  }
}
