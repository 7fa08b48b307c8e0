/*
 * api_json.c - what every endpoint of the api adapter shares: reading a
 * request's JSON body (UTF-8, no NUL escapes, the shape errors clients
 * see), answering in JSON, the ids it makes and checks, the usage block.
 * routes.c and responses.c build on it; it calls neither.
 */
#include "api_internal.h"
#include "echo.h"
#include "internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gw__api_random_hex(char *out, size_t nbytes) {
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
int gw__api_valid_response_id(const char *id) {
  size_t n;

  if (strncmp(id, "resp_", 5) != 0)
    return 0;
  n = strlen(id + 5);
  return n >= 1 && n <= 64 &&
         strspn(id + 5, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

int gw__api_valid_platform_name(const char *s, size_t n) {
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

double gw__api_now_seconds(void) {
  uv_timeval64_t tv;

  if (uv_gettimeofday(&tv) != 0)
    return 0;
  return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

void gw__api_respond_json(gw__http_response_t *res, int status, cJSON *obj) {
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

void gw__api_respond_405(gw__http_response_t *res, const char *allow) {
  gw__http_respond_error(res, 405, "invalid_request_error", "method_not_allowed",
                         "Method not allowed; use %s", allow);
  gw__http_add_header(res, "Allow", allow);
}

int gw__api_method_is(const gw__http_request_t *req, const char *m) {
  /* HEAD is GET without the body; the HTTP layer drops the body. */
  if (strcmp(m, "GET") == 0 && strcmp(req->method, "HEAD") == 0)
    return 1;
  return strcmp(req->method, m) == 0;
}

/* Text of an OpenAI message content: a string, or an array of parts whose
 * "text" members are concatenated.  NULL when there is none. */
char *gw__api_content_text(const cJSON *content) {
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
 * client's gw__api_invalid bytes would be echoed into a response that is not JSON. */
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

cJSON *gw__api_parse_body(const gw__http_request_t *req, gw__http_response_t *res) {
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

void gw__api_missing(gw__http_response_t *res, const char *field) {
  gw__http_respond_error(res, 400, "invalid_request_error", "missing_required_parameter",
                         "Missing required parameter: '%s'", field);
}

void gw__api_invalid(gw__http_response_t *res, const char *field, const char *why) {
  gw__http_respond_error(res, 400, "invalid_request_error", "invalid_value",
                         "Invalid value for '%s': %s", field, why);
}

const char *gw__api_model_of(const cJSON *body) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, "model");
  return cJSON_IsString(m) && m->valuestring[0] != '\0' ? m->valuestring : GW_ECHO_MODEL;
}

cJSON *gw__api_usage_json(unsigned in, unsigned out, int chat) {
  cJSON *u = cJSON_CreateObject();

  cJSON_AddNumberToObject(u, chat ? "prompt_tokens" : "input_tokens", in);
  cJSON_AddNumberToObject(u, chat ? "completion_tokens" : "output_tokens", out);
  cJSON_AddNumberToObject(u, "total_tokens", in + out);
  return u;
}
