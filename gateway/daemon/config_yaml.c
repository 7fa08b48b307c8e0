/* config_yaml.c - the daemon's YAML configuration (libyaml document API). */
#include "config_yaml.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

/* A config file is a few hundred bytes; this bound only stops a mistaken
 * path (a log, a core file) from being read whole. */
#define CONFIG_MAX_BYTES (1024 * 1024)
/* The deepest a gateway config goes is 4 (root, platforms, an item, a
 * value); libyaml's scanner costs time quadratic in the nesting depth
 * (100k levels took over 30 s), so deeper input is refused before it is
 * composed into a document. */
#define CONFIG_MAX_DEPTH 32

typedef struct {
  const char *name;
  yaml_document_t *doc;
  const char *const *kinds;
  char *err;
  size_t errlen;
} ctx_t;

static int fail(ctx_t *c, const yaml_node_t *node, const char *field, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));
static int fail(ctx_t *c, const yaml_node_t *node, const char *field, const char *fmt, ...) {
  char what[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  if (node != NULL)
    snprintf(c->err, c->errlen, "%s:%lu: %s: %s", c->name, (unsigned long)node->start_mark.line + 1,
             field, what);
  else
    snprintf(c->err, c->errlen, "%s: %s: %s", c->name, field, what);
  return GW_ECONFIG;
}

static const char *scalar(const yaml_node_t *n) {
  return n != NULL && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int get_string(ctx_t *c, const yaml_node_t *n, const char *field, char *dst, size_t cap) {
  const char *s = scalar(n);
  size_t len;

  if (s == NULL)
    return fail(c, n, field, "must be a string");
  len = n->data.scalar.length;
  if (len >= cap)
    return fail(c, n, field, "longer than %zu bytes", cap - 1);
  if (memchr(s, '\0', len) != NULL)
    return fail(c, n, field, "contains a NUL byte");
  memcpy(dst, s, len);
  dst[len] = '\0';
  return 0;
}

static int get_long(ctx_t *c, const yaml_node_t *n, const char *field, long lo, long hi,
                    long *out) {
  const char *s = scalar(n);
  char *end;
  long v;

  if (s == NULL || *s == '\0')
    return fail(c, n, field, "must be an integer");
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0')
    return fail(c, n, field, "must be an integer, got '%s'", s);
  if (v < lo || v > hi)
    return fail(c, n, field, "must be %ld..%ld, got %ld", lo, hi, v);
  *out = v;
  return 0;
}

static int get_seconds(ctx_t *c, const yaml_node_t *n, const char *field, double max, double *out) {
  const char *s = scalar(n);
  char *end;
  double v;

  if (s == NULL || *s == '\0')
    return fail(c, n, field, "must be a number of seconds");
  errno = 0;
  v = strtod(s, &end);
  if (errno != 0 || *end != '\0' || !isfinite(v))
    return fail(c, n, field, "must be a number of seconds, got '%s'", s);
  if (!(v > 0) || v > max)
    return fail(c, n, field, "must be in (0, %g] seconds, got %s", max, s);
  *out = v;
  return 0;
}

static int kind_known(const ctx_t *c, const char *kind) {
  size_t i;

  for (i = 0; c->kinds != NULL && c->kinds[i] != NULL; i++)
    if (strcmp(c->kinds[i], kind) == 0)
      return 1;
  return 0;
}

/* One mapping (the api section or a platforms[] item) into cfg. */
static int parse_platform(ctx_t *c, yaml_node_t *map, const char *where, int is_api,
                          gw_platform_config_t *cfg) {
  yaml_node_pair_t *pair;
  char field[128];
  int have_name = 0, have_kind = 0;
  int rc;

  if (map->type != YAML_MAPPING_NODE)
    return fail(c, map, where, "must be a mapping of fields");
  for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
    yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
    yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);
    const char *key = scalar(k);
    long l;

    if (key == NULL)
      return fail(c, k, where, "keys must be strings");
    snprintf(field, sizeof(field), "%s.%s", where, key);
    rc = 0;
    if (!is_api && strcmp(key, "kind") == 0) {
      rc = get_string(c, v, field, cfg->kind, sizeof(cfg->kind));
      if (rc == 0 && !kind_known(c, cfg->kind))
        return fail(c, v, field, "unknown kind '%s'", cfg->kind);
      have_kind = 1;
    } else if (!is_api && strcmp(key, "name") == 0) {
      rc = get_string(c, v, field, cfg->name, sizeof(cfg->name));
      if (rc == 0 && cfg->name[0] == '\0')
        return fail(c, v, field, "must not be empty");
      have_name = 1;
    } else if (strcmp(key, "host") == 0) {
      rc = get_string(c, v, field, cfg->host, sizeof(cfg->host));
    } else if (strcmp(key, "port") == 0) {
      rc = get_long(c, v, field, 0, 65535, &l);
      cfg->port = (int)l;
    } else if (!is_api && strcmp(key, "token") == 0) {
      rc = get_string(c, v, field, cfg->token, sizeof(cfg->token));
    } else if (strcmp(key, "key") == 0) {
      rc = get_string(c, v, field, cfg->key, sizeof(cfg->key));
    } else if (strcmp(key, "store_path") == 0) {
      rc = get_string(c, v, field, cfg->store_path, sizeof(cfg->store_path));
    } else if (strcmp(key, "max_responses") == 0) {
      rc = get_long(c, v, field, 1, 1000000, &l);
      cfg->max_responses = (int)l;
    } else if (strcmp(key, "connect_timeout") == 0) {
      rc = get_seconds(c, v, field, 3600, &cfg->connect_timeout_s);
    } else if (strcmp(key, "disconnect_timeout") == 0) {
      rc = get_seconds(c, v, field, 600, &cfg->disconnect_timeout_s);
    } else if (is_api && strcmp(key, "header_timeout") == 0) {
      rc = get_seconds(c, v, field, 3600, &cfg->header_timeout_s);
    } else if (is_api && strcmp(key, "request_timeout") == 0) {
      rc = get_seconds(c, v, field, 3600, &cfg->request_timeout_s);
    } else {
      return fail(c, k, field, "unknown field");
    }
    if (rc != 0)
      return rc;
  }
  if (!is_api && !have_name)
    return fail(c, map, where, "field 'name' is required");
  if (!is_api && !have_kind)
    return fail(c, map, where, "field 'kind' is required");
  gw_platform_config_defaults(cfg);
  return 0;
}

static void api_defaults(gw_platform_config_t *api) {
  memset(api, 0, sizeof(*api));
  snprintf(api->name, sizeof(api->name), "api");
  snprintf(api->kind, sizeof(api->kind), "api");
  snprintf(api->host, sizeof(api->host), "127.0.0.1");
  api->port = 8642;
  snprintf(api->store_path, sizeof(api->store_path), "fdsoak-responses.db");
  gw_platform_config_defaults(api);
}

static int parse_root(ctx_t *c, gw__daemon_config_t *out) {
  yaml_node_t *root = yaml_document_get_root_node(c->doc);
  yaml_node_pair_t *pair;
  size_t i, j;
  int rc;

  if (root == NULL)
    return 0; /* an empty file: an empty configuration */
  if (root->type != YAML_MAPPING_NODE)
    return fail(c, root, "(top level)", "must be a mapping with 'api' and/or 'platforms'");
  for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
    yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
    yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);
    const char *key = scalar(k);

    if (key == NULL)
      return fail(c, k, "(top level)", "keys must be strings");
    if (strcmp(key, "log_level") == 0) {
      const char *s = scalar(v);
      static const gw_log_level_t levels[] = {GW_LOG_DEBUG, GW_LOG_INFO, GW_LOG_WARN, GW_LOG_ERROR};
      for (i = 0; s != NULL && i < 4; i++)
        if (strcasecmp(s, gw__log_level_name(levels[i])) == 0)
          break;
      if (s == NULL || i == 4)
        return fail(c, v, "log_level", "must be debug, info, warn or error");
      out->log_level = levels[i];
    } else if (strcmp(key, "api") == 0) {
      if (!kind_known(c, "api"))
        return fail(c, k, "api", "this build has no api adapter");
      api_defaults(&out->api);
      rc = parse_platform(c, v, "api", 1, &out->api);
      if (rc != 0)
        return rc;
      out->has_api = 1;
    } else if (strcmp(key, "platforms") == 0) {
      yaml_node_item_t *item;
      char where[64];

      if (v->type == YAML_SCALAR_NODE && v->data.scalar.length == 0)
        continue; /* "platforms:" with nothing under it */
      if (v->type != YAML_SEQUENCE_NODE)
        return fail(c, v, "platforms", "must be a list");
      for (item = v->data.sequence.items.start; item < v->data.sequence.items.top; item++) {
        gw_platform_config_t *p;

        snprintf(where, sizeof(where), "platforms[%zu]", out->nplatforms);
        if (out->nplatforms == GW_RUNNER_MAX_PLATFORMS)
          return fail(c, yaml_document_get_node(c->doc, *item), where, "at most %d platforms",
                      GW_RUNNER_MAX_PLATFORMS);
        p = &out->platforms[out->nplatforms];
        memset(p, 0, sizeof(*p));
        rc = parse_platform(c, yaml_document_get_node(c->doc, *item), where, 0, p);
        if (rc != 0)
          return rc;
        out->nplatforms++;
      }
    } else {
      return fail(c, k, key, "unknown field (expected log_level, api, platforms)");
    }
  }

  /* Names identify platforms in logs, metrics and the admin API. */
  for (i = 0; i < out->nplatforms; i++) {
    if (out->has_api && strcmp(out->platforms[i].name, "api") == 0)
      return fail(c, NULL, "platforms.name", "'api' is taken by the api section");
    for (j = 0; j < i; j++)
      if (strcmp(out->platforms[i].name, out->platforms[j].name) == 0)
        return fail(c, NULL, "platforms.name", "duplicate name '%s'", out->platforms[i].name);
  }
  return 0;
}

void gw__daemon_config_init(gw__daemon_config_t *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->log_level = GW_LOG_INFO;
}

/*
 * Walk the event stream only as deep as CONFIG_MAX_DEPTH: events come from
 * the scanner on demand, so stopping at the limit also stops the quadratic
 * work.  A syntax error is left for the loader to report in full.
 */
static int check_depth(const char *text, size_t len, const char *name, char *err, size_t errlen) {
  yaml_parser_t parser;
  yaml_event_t ev;
  int depth = 0, done = 0;
  int rc = 0;

  if (!yaml_parser_initialize(&parser)) {
    snprintf(err, errlen, "%s: out of memory", name);
    return UV_ENOMEM;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  while (!done && rc == 0) {
    if (!yaml_parser_parse(&parser, &ev))
      break;
    switch (ev.type) {
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
      if (++depth > CONFIG_MAX_DEPTH) {
        snprintf(err, errlen, "%s:%lu: nested deeper than %d levels; not a gateway config", name,
                 (unsigned long)ev.start_mark.line + 1, CONFIG_MAX_DEPTH);
        rc = GW_ECONFIG;
      }
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      depth--;
      break;
    case YAML_STREAM_END_EVENT:
      done = 1;
      break;
    default:
      break;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&parser);
  return rc;
}

int gw__daemon_config_parse(const char *text, size_t len, const char *name,
                            const char *const *kinds, gw__daemon_config_t *out, char *err,
                            size_t errlen) {
  yaml_parser_t parser;
  yaml_document_t doc;
  gw__daemon_config_t *tmp = NULL;
  ctx_t c;
  int have_doc = 0;
  int rc = GW_ECONFIG;

  c.name = name != NULL ? name : "config";
  c.doc = &doc;
  c.kinds = kinds;
  c.err = err;
  c.errlen = errlen;

  rc = check_depth(text, len, c.name, err, errlen);
  if (rc != 0)
    return rc;
  rc = GW_ECONFIG;
  if (!yaml_parser_initialize(&parser)) {
    snprintf(err, errlen, "%s: out of memory", c.name);
    return UV_ENOMEM;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  if (!yaml_parser_load(&parser, &doc)) {
    snprintf(err, errlen, "%s:%lu: YAML syntax: %s", c.name,
             (unsigned long)parser.problem_mark.line + 1,
             parser.problem != NULL ? parser.problem : "malformed");
    goto out;
  }
  have_doc = 1;
  /* Build into a copy so *out is set only on success. */
  tmp = malloc(sizeof(*tmp));
  if (tmp == NULL) {
    rc = UV_ENOMEM;
    goto out;
  }
  gw__daemon_config_init(tmp);
  rc = parse_root(&c, tmp);
  if (rc == 0)
    *out = *tmp;

out:
  free(tmp);
  if (have_doc)
    yaml_document_delete(&doc);
  yaml_parser_delete(&parser);
  return rc;
}

int gw__daemon_config_load(const char *path, const char *const *kinds, gw__daemon_config_t *out,
                           char *err, size_t errlen) {
  FILE *f;
  char *buf = NULL;
  size_t n;
  int rc = GW_ECONFIG;

  f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    return GW_ECONFIG;
  }
  buf = malloc(CONFIG_MAX_BYTES + 1);
  if (buf == NULL) {
    rc = UV_ENOMEM;
    goto out;
  }
  n = fread(buf, 1, CONFIG_MAX_BYTES + 1, f);
  if (ferror(f)) {
    snprintf(err, errlen, "%s: read error", path);
    goto out;
  }
  if (n > CONFIG_MAX_BYTES) {
    snprintf(err, errlen, "%s: larger than %d bytes; not a gateway config", path, CONFIG_MAX_BYTES);
    goto out;
  }
  rc = gw__daemon_config_parse(buf, n, path, kinds, out, err, errlen);

out:
  free(buf);
  fclose(f);
  return rc;
}

int gw__daemon_config_env(gw__daemon_config_t *cfg, const char *(*getenv_fn)(const char *),
                          char *err, size_t errlen) {
  const char *v;
  char *end;
  long port;

  /* Every override treats an empty value as absent: `export VAR=` in a
   * profile or an unset CI secret must not change what the config says --
   * least of all switch authentication off.  A value that is not a boolean
   * is refused rather than read as "no": the operator meant something. */
  v = getenv_fn("API_SERVER_ENABLED");
  if (v != NULL && *v != '\0') {
    if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0) {
      if (!cfg->has_api) {
        api_defaults(&cfg->api);
        cfg->has_api = 1;
      }
    } else if (strcasecmp(v, "false") != 0 && strcmp(v, "0") != 0 && strcasecmp(v, "no") != 0) {
      snprintf(err, errlen, "API_SERVER_ENABLED: must be true, false, yes, no, 1 or 0, got '%s'",
               v);
      return GW_ECONFIG;
    }
  }
  if (!cfg->has_api)
    return 0; /* overrides apply to an api the config (or the above) enabled */

  v = getenv_fn("API_SERVER_HOST");
  if (v != NULL && *v != '\0') {
    if (strlen(v) >= sizeof(cfg->api.host)) {
      snprintf(err, errlen, "API_SERVER_HOST: longer than %zu bytes", sizeof(cfg->api.host) - 1);
      return GW_ECONFIG;
    }
    snprintf(cfg->api.host, sizeof(cfg->api.host), "%s", v);
  }
  v = getenv_fn("API_SERVER_PORT");
  if (v != NULL && *v != '\0') {
    errno = 0;
    port = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || port < 0 || port > 65535) {
      snprintf(err, errlen, "API_SERVER_PORT: must be 0..65535, got '%s'", v);
      return GW_ECONFIG;
    }
    cfg->api.port = (int)port;
  }
  v = getenv_fn("API_SERVER_KEY");
  if (v != NULL && *v != '\0') {
    if (strlen(v) >= sizeof(cfg->api.key)) {
      snprintf(err, errlen, "API_SERVER_KEY: longer than %zu bytes", sizeof(cfg->api.key) - 1);
      return GW_ECONFIG;
    }
    snprintf(cfg->api.key, sizeof(cfg->api.key), "%s", v);
  }
  return 0;
}

const char *gw__log_level_name(gw_log_level_t level) {
  switch (level) {
  case GW_LOG_DEBUG:
    return "debug";
  case GW_LOG_INFO:
    return "info";
  case GW_LOG_WARN:
    return "warn";
  case GW_LOG_ERROR:
    return "error";
  case GW_LOG_OFF:
    return "off";
  }
  return "?";
}
