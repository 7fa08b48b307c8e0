/*
 * responses.c - the OpenAI Responses API of the api adapter: POST
 * /v1/responses (a conversation's history from the store, the echo
 * agent's reply, the response stored), GET and DELETE /v1/responses/ID.
 * routes.c dispatches to it; api_json.c is what it builds on.
 */
#include "api_internal.h"
#include "echo.h"
#include "internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_MAX 96
#define CONVERSATION_MAX 256

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
    gw__api_invalid(res, "input", "expected a string or a non-empty array of messages");
    return UV_EINVAL;
  }
  cJSON_ArrayForEach(item, input) {
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(item, "role");
    char *text = gw__api_content_text(cJSON_GetObjectItemCaseSensitive(item, "content"));
    cJSON *m;

    if (!cJSON_IsObject(item) || text == NULL) {
      free(text);
      gw__api_invalid(res, "input", "each item needs text 'content'");
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

  rq->body = gw__api_parse_body(req, res);
  if (rq->body == NULL)
    return UV_EINVAL;
  rq->input = cJSON_GetObjectItemCaseSensitive(rq->body, "input");
  prev_j = cJSON_GetObjectItemCaseSensitive(rq->body, "previous_response_id");
  conv_j = cJSON_GetObjectItemCaseSensitive(rq->body, "conversation");
  rq->instructions = cJSON_GetObjectItemCaseSensitive(rq->body, "instructions");
  rq->do_store = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(rq->body, "store"));
  if (rq->input == NULL) {
    gw__api_missing(res, "input");
    return UV_EINVAL;
  }
  if (prev_j != NULL && !cJSON_IsNull(prev_j)) {
    if (!cJSON_IsString(prev_j) || !gw__api_valid_response_id(prev_j->valuestring)) {
      gw__api_invalid(res, "previous_response_id", "expected an id like resp_...");
      return UV_EINVAL;
    }
    rq->prev_id = prev_j->valuestring;
  }
  if (conv_j != NULL && !cJSON_IsNull(conv_j)) {
    if (!cJSON_IsString(conv_j) || conv_j->valuestring[0] == '\0' ||
        strlen(conv_j->valuestring) > CONVERSATION_MAX) {
      gw__api_invalid(res, "conversation", "expected a name of 1 to 256 characters");
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
    gw__api_invalid(res, "instructions", "expected a string");
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
    gw__api_invalid(res, "input", "no message with role 'user'");
    return UV_EINVAL;
  }
  rq->in_tokens = gw__echo_tokens(last_user);
  if (gw__echo_reply(last_user, strlen(last_user), rq->turn, &rq->reply, NULL) != 0 ||
      gw__api_random_hex(rq->id + strlen(rq->id), 16) != 0 ||
      gw__api_random_hex(rq->msg_id + strlen(rq->msg_id), 16) != 0) {
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
  cJSON_AddNumberToObject(resp, "created_at", (double)(long long)gw__api_now_seconds());
  cJSON_AddStringToObject(resp, "status", "completed");
  cJSON_AddStringToObject(resp, "model", gw__api_model_of(rq->body));
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
  cJSON_AddItemToObject(resp, "usage",
                        gw__api_usage_json(rq->in_tokens, gw__echo_tokens(rq->reply), 0));
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
void gw__api_ep_responses_create(gw__api_adapter_t *api, const gw__http_request_t *req,
                                 gw__http_response_t *res) {
  responses_req_t rq = {.id = "resp_", .msg_id = "msg_"};
  cJSON *resp;

  if (responses_parse(req, &rq, res) == 0 && responses_follow_conversation(api, &rq, res) == 0 &&
      responses_check_instructions(&rq, res) == 0 && responses_load_history(api, &rq, res) == 0 &&
      responses_run_agent(&rq, res) == 0) {
    resp = responses_build(&rq);
    if (responses_persist(api, &rq, resp, res) == 0)
      gw__api_respond_json(res, 200, resp); /* and frees it */
    else
      cJSON_Delete(resp);
  }
  responses_req_free(&rq);
}

void gw__api_ep_response_get(gw__api_adapter_t *api, const char *id, gw__http_response_t *res) {
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
  gw__api_respond_json(res, 200, resp);
}

void gw__api_ep_response_delete(gw__api_adapter_t *api, const char *id, gw__http_response_t *res) {
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
  gw__api_respond_json(res, 200, o);
}
