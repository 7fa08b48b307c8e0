/* config.c - platform config defaults and the checks common to every kind,
 * and (regress build only) the choice of which path gets the old bug back. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void gw_platform_config_defaults(gw_platform_config_t *cfg) {
  if (cfg->connect_timeout_s == 0)
    cfg->connect_timeout_s = 30.0;
  if (cfg->disconnect_timeout_s == 0)
    cfg->disconnect_timeout_s = 5.0;
  if (cfg->max_responses == 0)
    cfg->max_responses = 100;
}

static int terminated(const char *s, size_t size) { return memchr(s, '\0', size) != NULL; }

int gw__config_validate_common(const gw_platform_config_t *cfg, char *err, size_t errlen) {
  const char *name;

  if (cfg == NULL) {
    snprintf(err, errlen, "no platform config");
    return UV_EINVAL;
  }
  /* Fixed-size fields filled by hand must still be strings. */
  if (!terminated(cfg->name, sizeof(cfg->name)) || !terminated(cfg->kind, sizeof(cfg->kind)) ||
      !terminated(cfg->host, sizeof(cfg->host)) || !terminated(cfg->token, sizeof(cfg->token)) ||
      !terminated(cfg->key, sizeof(cfg->key)) ||
      !terminated(cfg->store_path, sizeof(cfg->store_path))) {
    snprintf(err, errlen, "platform config: a string field is not terminated");
    return GW_ECONFIG;
  }
  name = cfg->name[0] != '\0' ? cfg->name : "?";
  if (cfg->name[0] == '\0') {
    snprintf(err, errlen, "platform: field 'name' is required");
    return GW_ECONFIG;
  }
  if (strspn(cfg->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
      strlen(cfg->name)) {
    snprintf(err, errlen,
             "platform '%s': field 'name' may hold only letters, digits, '_', '-', '.'", name);
    return GW_ECONFIG;
  }
  if (cfg->kind[0] == '\0') {
    snprintf(err, errlen, "platform '%s': field 'kind' is required", name);
    return GW_ECONFIG;
  }
  if (cfg->port < 0 || cfg->port > 65535) {
    snprintf(err, errlen, "platform '%s': field 'port' must be 0..65535, got %d", name, cfg->port);
    return GW_ECONFIG;
  }
  /* 0 means "default"; anything else must be a sane, finite duration.  An
   * hour-long connect timeout would stall the watcher's one platform. */
  if (!isfinite(cfg->connect_timeout_s) || cfg->connect_timeout_s < 0 ||
      cfg->connect_timeout_s > 3600) {
    snprintf(err, errlen, "platform '%s': field 'connect_timeout' must be in (0, 3600] s, got %g",
             name, cfg->connect_timeout_s);
    return GW_ECONFIG;
  }
  if (!isfinite(cfg->disconnect_timeout_s) || cfg->disconnect_timeout_s < 0 ||
      cfg->disconnect_timeout_s > 600) {
    snprintf(err, errlen, "platform '%s': field 'disconnect_timeout' must be in (0, 600] s, got %g",
             name, cfg->disconnect_timeout_s);
    return GW_ECONFIG;
  }
  if (cfg->max_responses < 0 || cfg->max_responses > 1000000) {
    snprintf(err, errlen, "platform '%s': field 'max_responses' must be 1..1000000, got %d", name,
             cfg->max_responses);
    return GW_ECONFIG;
  }
  return 0;
}

#ifdef GW_REGRESS
static gw_regress_t regress_choice = GW_REGRESS_NONE;

int gw_regress_set(const char *path) {
  static const struct {
    const char *name;
    gw_regress_t value;
  } table[] = {{"none", GW_REGRESS_NONE},
               {"fatal", GW_REGRESS_FATAL},
               {"retryable", GW_REGRESS_RETRYABLE},
               {"exception", GW_REGRESS_EXCEPTION},
               {"store-close", GW_REGRESS_STORE_CLOSE}};
  size_t i;

  for (i = 0; path != NULL && i < GW_ARRAY_SIZE(table); i++) {
    if (strcmp(path, table[i].name) == 0) {
      regress_choice = table[i].value;
      return 0;
    }
  }
  return UV_EINVAL;
}

gw_regress_t gw_regress_get(void) { return regress_choice; }

int gw__regress_drops(gw_outcome_t outcome) {
  switch (regress_choice) {
  case GW_REGRESS_FATAL:
    return outcome == GW_OUTCOME_FATAL;
  case GW_REGRESS_RETRYABLE:
    return outcome == GW_OUTCOME_RETRYABLE;
  case GW_REGRESS_EXCEPTION:
    return outcome == GW_OUTCOME_EXCEPTION;
  default:
    return 0;
  }
}
#endif
