/*
 * config_yaml.h - the gateway daemon's YAML configuration.
 *
 *   log_level: info                 # debug | info | warn | error
 *   api:                            # optional: the HTTP API (kind "api")
 *     host: 127.0.0.1
 *     port: 8642
 *     key: ""                       # required (>= 8) on a non-loopback host
 *     store_path: /tmp/fdsoak-responses.db
 *     max_responses: 100
 *     connect_timeout: 30           # seconds, (0, 3600]
 *     disconnect_timeout: 5         # seconds, (0, 600]
 *     header_timeout: 10            # seconds from a request's first byte to
 *                                   # the end of its headers, (0, 3600]
 *     request_timeout: 60           # ... to the end of its body, (0, 3600]
 *   platforms:                      # a list
 *     - kind: platform              # a registered kind
 *       name: chat                  # unique; letters, digits, _ - .
 *       host: 127.0.0.1
 *       port: 9700
 *       token: change-me
 *       store_path: /tmp/fdsoak-chat-ledger.db
 *       connect_timeout: 30
 *       disconnect_timeout: 5
 *
 * Unknown keys are errors: a misspelt timeout silently left at its default
 * is how configuration mistakes reach production.  Every error names the
 * file, the line and the field.
 */
#ifndef GW_DAEMON_CONFIG_YAML_H
#define GW_DAEMON_CONFIG_YAML_H

#include <stddef.h>

#include "gw.h"

typedef struct {
  gw_log_level_t log_level;
  int has_api;
  gw_platform_config_t api; /* name "api", kind "api" */
  size_t nplatforms;
  gw_platform_config_t platforms[GW_RUNNER_MAX_PLATFORMS];
} gw__daemon_config_t;

/* Defaults: log level info, no api section, no platforms. */
void gw__daemon_config_init(gw__daemon_config_t *cfg);

/*
 * Parse YAML text.  name is used in messages (the file name).  kinds is a
 * NULL-terminated list of the adapter kinds this daemon can run.  Returns 0,
 * or GW_ECONFIG with "NAME:LINE: FIELD: what is wrong" in err.
 */
int gw__daemon_config_parse(const char *text, size_t len, const char *name,
                            const char *const *kinds, gw__daemon_config_t *out, char *err,
                            size_t errlen);

/* Read and parse a file; a file that cannot be read is GW_ECONFIG too. */
int gw__daemon_config_load(const char *path, const char *const *kinds, gw__daemon_config_t *out,
                           char *err, size_t errlen);

/*
 * Environment overrides, as upstream has them: API_SERVER_ENABLED (true,
 * yes or 1 adds an api section with defaults when there is none; false, no
 * or 0 adds nothing; anything else is an error), API_SERVER_HOST,
 * API_SERVER_PORT, API_SERVER_KEY.  An empty value counts as unset.
 * getenv_fn is getenv in the daemon and a table lookup in tests.  Returns 0
 * or GW_ECONFIG (a malformed port or boolean) with the reason in err.
 */
int gw__daemon_config_env(gw__daemon_config_t *cfg, const char *(*getenv_fn)(const char *),
                          char *err, size_t errlen);

const char *gw__log_level_name(gw_log_level_t level);

#endif /* GW_DAEMON_CONFIG_YAML_H */
