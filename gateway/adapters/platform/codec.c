/* codec.c - the platform wire protocol (codec.h): parse, format, split lines.
 *
 * Moved out of adapter_platform.c so that fdsoak-platformd, the other end of
 * the protocol, links this file and not the whole gateway core. */
#include "codec.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  gw__plat_msg_type_t type;
  const char *name;
} msg_types[] = {
  {GW_PLAT_MSG_IDENTIFY, "identify"}, {GW_PLAT_MSG_READY, "ready"}, {GW_PLAT_MSG_REJECT, "reject"},
  {GW_PLAT_MSG_MESSAGE, "message"},   {GW_PLAT_MSG_SEND, "send"},
};
#define N_MSG_TYPES (sizeof(msg_types) / sizeof(msg_types[0]))

static const char *msg_type_name(gw__plat_msg_type_t t) {
  size_t i;

  for (i = 0; i < N_MSG_TYPES; i++)
    if (msg_types[i].type == t)
      return msg_types[i].name;
  return NULL;
}

/* Copy a string member; a missing member is an error only when required. */
static int json_str(const cJSON *obj, const char *key, int required, char *dst, size_t cap) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
  size_t n;

  if (item == NULL) {
    if (required)
      return UV_EPROTO;
    dst[0] = '\0';
    return 0;
  }
  if (!cJSON_IsString(item) || item->valuestring == NULL)
    return UV_EPROTO;
  n = strlen(item->valuestring);
  if (n >= cap)
    return UV_EPROTO; /* truncating a token or a chat id would be a lie */
  memcpy(dst, item->valuestring, n + 1);
  return 0;
}

int gw__plat_parse(const char *line, size_t len, gw__plat_msg_t *out) {
  gw__plat_msg_t m; /* filled here, copied out only when the line is valid */
  const char *end = NULL;
  cJSON *root = NULL;
  const cJSON *type;
  size_t i;
  int rc = UV_EPROTO;

  if (line == NULL || len == 0 || len > GW_PLAT_LINE_MAX || memchr(line, '\0', len) != NULL)
    return UV_EPROTO;
  memset(&m, 0, sizeof(m));
  root = cJSON_ParseWithLengthOpts(line, len, &end, 0);
  if (root == NULL || !cJSON_IsObject(root))
    goto out;
  /* Trailing bytes after the object are not ours to ignore. */
  for (; end != NULL && end < line + len; end++)
    if (*end != ' ' && *end != '\t' && *end != '\r')
      goto out;

  type = cJSON_GetObjectItemCaseSensitive(root, "type");
  if (!cJSON_IsString(type) || type->valuestring == NULL)
    goto out;
  for (i = 0; i < N_MSG_TYPES; i++)
    if (strcmp(type->valuestring, msg_types[i].name) == 0)
      break;
  if (i == N_MSG_TYPES)
    goto out;
  m.type = msg_types[i].type;

  switch (m.type) {
  case GW_PLAT_MSG_IDENTIFY:
    rc = json_str(root, "token", 1, m.token, sizeof(m.token));
    break;
  case GW_PLAT_MSG_READY:
    rc = 0;
    break;
  case GW_PLAT_MSG_REJECT:
    rc = json_str(root, "reason", 0, m.reason, sizeof(m.reason));
    break;
  case GW_PLAT_MSG_MESSAGE:
  case GW_PLAT_MSG_SEND:
    rc = json_str(root, "chat", 1, m.chat, sizeof(m.chat));
    if (rc == 0)
      rc = json_str(root, "text", 1, m.text, sizeof(m.text));
    break;
  }
  if (rc == 0)
    *out = m;

out:
  cJSON_Delete(root);
  return rc;
}

int gw__plat_format(const gw__plat_msg_t *msg, char *buf, size_t cap) {
  const char *tname = msg ? msg_type_name(msg->type) : NULL;
  cJSON *root = NULL;
  char *s = NULL;
  size_t n;
  int rc;

  if (tname == NULL || buf == NULL)
    return UV_EINVAL;
  rc = UV_ENOMEM;
  root = cJSON_CreateObject();
  if (root == NULL || cJSON_AddStringToObject(root, "type", tname) == NULL)
    goto out;
  switch (msg->type) {
  case GW_PLAT_MSG_IDENTIFY:
    if (cJSON_AddStringToObject(root, "token", msg->token) == NULL)
      goto out;
    break;
  case GW_PLAT_MSG_REJECT:
    if (msg->reason[0] != '\0' && cJSON_AddStringToObject(root, "reason", msg->reason) == NULL)
      goto out;
    break;
  case GW_PLAT_MSG_MESSAGE:
  case GW_PLAT_MSG_SEND:
    if (cJSON_AddStringToObject(root, "chat", msg->chat) == NULL ||
        cJSON_AddStringToObject(root, "text", msg->text) == NULL)
      goto out;
    break;
  case GW_PLAT_MSG_READY:
    break;
  }
  s = cJSON_PrintUnformatted(root);
  if (s == NULL)
    goto out;
  n = strlen(s);
  rc = UV_ENOBUFS;
  if (n > GW_PLAT_LINE_MAX || n + 2 > cap)
    goto out;
  memcpy(buf, s, n);
  buf[n] = '\n';
  buf[n + 1] = '\0';
  rc = (int)n + 1;

out:
  free(s);
  cJSON_Delete(root);
  return rc;
}

void gw__plat_linebuf_init(gw__plat_linebuf_t *lb) { lb->len = 0; }

int gw__plat_linebuf_feed(gw__plat_linebuf_t *lb, const char *data, size_t n,
                          gw__plat_line_cb line_cb, void *arg) {
  const char *nl;
  size_t take, len;
  int rc;

  if (n > 0 && memchr(data, '\0', n) != NULL)
    return UV_EPROTO;
  while (n > 0) {
    nl = memchr(data, '\n', n);
    take = nl != NULL ? (size_t)(nl - data) : n;
    if (lb->len + take > GW_PLAT_LINE_MAX)
      return UV_EPROTO;
    memcpy(lb->buf + lb->len, data, take);
    lb->len += take;
    if (nl == NULL)
      return 0;
    data += take + 1;
    n -= take + 1;
    len = lb->len;
    if (len > 0 && lb->buf[len - 1] == '\r')
      len--;
    lb->buf[len] = '\0';
    lb->len = 0;
    if (len == 0)
      continue; /* blank lines are keep-alives, not messages */
    rc = line_cb(arg, lb->buf, len);
    if (rc != 0)
      return rc;
  }
  return 0;
}
