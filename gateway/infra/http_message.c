/*
 * http_message.c - what an HTTP message is made of, apart from any
 * connection (http.c serves them): the status reasons, a response's body,
 * headers and JSON error, the RFC 9110 token and field-value rules, and
 * a request's header lookup.  See http.h.
 */
#include "http.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *gw__http_reason(int status) {
  switch (status) {
  case 100:
    return "Continue";
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 204:
    return "No Content";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 409:
    return "Conflict";
  case 411:
    return "Length Required";
  case 413:
    return "Payload Too Large";
  case 414:
    return "URI Too Long";
  case 415:
    return "Unsupported Media Type";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 503:
    return "Service Unavailable";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "Unknown";
  }
}

/* ------------------------------------------------------------------ */
/* Responses                                                          */
/* ------------------------------------------------------------------ */

int gw__http_respond(gw__http_response_t *res, int status, const char *content_type,
                     const char *body, size_t len) {
  char *copy = malloc(len + 1);

  if (copy == NULL)
    return UV_ENOMEM;
  if (len > 0)
    memcpy(copy, body, len);
  copy[len] = '\0';
  free(res->body);
  res->body = copy;
  res->body_len = len;
  res->status = status;
  res->content_type = content_type;
  return 0;
}

/* JSON string body (without quotes) of s; out must hold 6*strlen(s)+1. */
static size_t json_escape(char *out, const char *s) {
  static const char hex[] = "0123456789abcdef";
  size_t n = 0;

  for (; *s != '\0'; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') {
      out[n++] = '\\';
      out[n++] = (char)ch;
    } else if (ch < 0x20) {
      out[n++] = '\\';
      out[n++] = 'u';
      out[n++] = '0';
      out[n++] = '0';
      out[n++] = hex[ch >> 4];
      out[n++] = hex[ch & 15];
    } else {
      out[n++] = (char)ch;
    }
  }
  out[n] = '\0';
  return n;
}

int gw__http_respond_error(gw__http_response_t *res, int status, const char *type, const char *code,
                           const char *fmt, ...) {
  char msg[512];
  char emsg[6 * sizeof(msg) + 1];
  char etype[6 * 64 + 1];
  char ecode[6 * 64 + 1];
  char tmp[64];
  char *body;
  size_t cap;
  int n;
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  json_escape(emsg, msg);
  snprintf(tmp, sizeof(tmp), "%s", type != NULL ? type : "invalid_request_error");
  json_escape(etype, tmp);
  if (code != NULL) {
    snprintf(tmp, sizeof(tmp), "%s", code);
    json_escape(ecode, tmp);
  }
  cap = strlen(emsg) + strlen(etype) + (code != NULL ? strlen(ecode) : 0) + 64;
  body = malloc(cap);
  if (body == NULL)
    return UV_ENOMEM;
  if (code != NULL)
    n = snprintf(body, cap, "{\"error\":{\"message\":\"%s\",\"type\":\"%s\",\"code\":\"%s\"}}",
                 emsg, etype, ecode);
  else
    n = snprintf(body, cap, "{\"error\":{\"message\":\"%s\",\"type\":\"%s\",\"code\":null}}", emsg,
                 etype);
  free(res->body);
  res->body = body;
  res->body_len = (size_t)n;
  res->status = status;
  res->content_type = "application/json";
  return 0;
}

/* RFC 9110 token: what a header name may be. */
int gw__http_is_token(const char *s) {
  static const char tchar[] = "!#$%&'*+-.^_`|~";

  if (*s == '\0')
    return 0;
  for (; *s != '\0'; s++) {
    if (!isalnum((unsigned char)*s) && strchr(tchar, *s) == NULL)
      return 0;
  }
  return 1;
}

/* A field value: any byte but the controls other than HTAB. */
static int is_field_value(const char *s) {
  for (; *s != '\0'; s++) {
    unsigned char ch = (unsigned char)*s;
    if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
      return 0;
  }
  return 1;
}

int gw__http_add_header(gw__http_response_t *res, const char *name, const char *value) {
  size_t used = strlen(res->extra_headers);
  int n;

  /* A CR or LF in a value would let it forge headers of its own, and a
   * name that is not a token (a space, a '/', empty) makes the whole
   * response unparseable for the client. */
  if (!gw__http_is_token(name) || !is_field_value(value))
    return UV_EINVAL;
  n = snprintf(res->extra_headers + used, sizeof(res->extra_headers) - used, "%s: %s\r\n", name,
               value);
  if (n < 0 || (size_t)n >= sizeof(res->extra_headers) - used) {
    res->extra_headers[used] = '\0';
    return UV_ENOBUFS;
  }
  return 0;
}

const char *gw__http_header(const gw__http_request_t *req, const char *name) {
  size_t i;

  for (i = 0; i < req->nheaders; i++) {
    if (strcasecmp(req->headers[i].name, name) == 0)
      return req->headers[i].value;
  }
  return NULL;
}
