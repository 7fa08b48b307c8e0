/*
 * fuzz_config.c - libFuzzer target for the daemon's YAML configuration.
 *
 * The config file is the daemon's one untrusted input that arrives before
 * any limit applies, and libyaml's document model hands the parser nodes of
 * any type in any place.  Every input must end as a config or as a
 * "NAME:LINE: FIELD: what" message, never as a crash or an unterminated
 * string copied into a fixed-size field.
 *
 * After a successful parse the target also runs what the daemon runs next:
 * the environment overrides (with values taken from the input, since they
 * are just as untrusted) and the common per-platform validation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config_yaml.h"
#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kinds[] = {"platform", "api", "test", NULL};

/* The environment the override step sees: API_SERVER_PORT and
 * API_SERVER_HOST come from the input's last line. */
static const char *fuzz_env_value;

static const char *fuzz_getenv(const char *name) {
  if (strcmp(name, "API_SERVER_ENABLED") == 0)
    return "true";
  if (strcmp(name, "API_SERVER_PORT") == 0 || strcmp(name, "API_SERVER_HOST") == 0)
    return fuzz_env_value;
  return NULL;
}

static void check_terminated(const gw_platform_config_t *p) {
  /* The adapters pass these to getaddrinfo, sqlite3_open and snprintf. */
  if (memchr(p->name, '\0', sizeof(p->name)) == NULL ||
      memchr(p->kind, '\0', sizeof(p->kind)) == NULL ||
      memchr(p->host, '\0', sizeof(p->host)) == NULL ||
      memchr(p->token, '\0', sizeof(p->token)) == NULL ||
      memchr(p->key, '\0', sizeof(p->key)) == NULL ||
      memchr(p->store_path, '\0', sizeof(p->store_path)) == NULL)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gw__daemon_config_t *cfg;
  char err[1024];
  char *line;
  size_t i;
  int rc;

  cfg = malloc(sizeof(*cfg));
  line = malloc(size + 1);
  if (cfg == NULL || line == NULL)
    goto out;
  memcpy(line, data, size);
  line[size] = '\0';
  fuzz_env_value = strrchr(line, '\n') != NULL ? strrchr(line, '\n') + 1 : line;

  gw__daemon_config_init(cfg);
  err[0] = '\0';
  /* Not NUL-terminated on purpose: the parser gets a length, as from a
   * file read, and must not look past it. */
  rc = gw__daemon_config_parse((const char *)data, size, "fuzz.yaml", kinds, cfg, err, sizeof(err));
  if (rc != 0) {
    if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
      abort();
    goto out;
  }
  if (cfg->nplatforms > GW_RUNNER_MAX_PLATFORMS)
    abort();
  (void)gw__log_level_name(cfg->log_level);
  for (i = 0; i < cfg->nplatforms; i++) {
    check_terminated(&cfg->platforms[i]);
    (void)gw__config_validate_common(&cfg->platforms[i], err, sizeof(err));
  }
  if (gw__daemon_config_env(cfg, fuzz_getenv, err, sizeof(err)) == 0 && cfg->has_api) {
    check_terminated(&cfg->api);
    (void)gw__config_validate_common(&cfg->api, err, sizeof(err));
  }

out:
  free(line);
  free(cfg);
  return 0;
}
