/* test_daemon_config.c - the daemon's YAML configuration: good and bad. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "config_yaml.h"

static const char *const kinds[] = {"platform", "api", "test", NULL};
static const char *const kinds_no_api[] = {"platform", "test", NULL};

static gw__daemon_config_t cfg;
static char err[512];

static int parse(const char *text) {
  memset(err, 0, sizeof(err));
  return gw__daemon_config_parse(text, strlen(text), "t.yaml", kinds, &cfg, err, sizeof(err));
}

/* Fails with GW_ECONFIG and a message holding every needle. */
static void expect_bad(const char *text, const char *needle1, const char *needle2) {
  gw__daemon_config_init(&cfg);
  cfg.nplatforms = 7; /* untouched on failure */
  if (parse(text) != GW_ECONFIG)
    fail_msg("accepted:\n%s", text);
  assert_int_equal(cfg.nplatforms, 7);
  if (strstr(err, needle1) == NULL || (needle2 != NULL && strstr(err, needle2) == NULL))
    fail_msg("message '%s' lacks '%s'/'%s'", err, needle1, needle2 ? needle2 : "");
}

static void test_good(void **state) {
  static const char text[] = "log_level: debug\n"
                             "api:\n"
                             "  host: 127.0.0.1\n"
                             "  port: 0\n"
                             "  key: \"0123456789\"\n"
                             "  store_path: /tmp/r.db\n"
                             "  max_responses: 7\n"
                             "platforms:\n"
                             "  - kind: platform\n"
                             "    name: chat\n"
                             "    host: 127.0.0.1\n"
                             "    port: 9700\n"
                             "    token: tok\n"
                             "    store_path: /tmp/l.db\n"
                             "    connect_timeout: 2.5\n"
                             "    disconnect_timeout: 1\n"
                             "  - {kind: test, name: t2, store_path: /tmp/t.db}\n";

  assert_int_equal(parse(text), 0);
  assert_int_equal(cfg.log_level, GW_LOG_DEBUG);
  assert_true(cfg.has_api);
  assert_string_equal(cfg.api.name, "api");
  assert_string_equal(cfg.api.kind, "api");
  assert_int_equal(cfg.api.port, 0);
  assert_string_equal(cfg.api.key, "0123456789");
  assert_int_equal(cfg.api.max_responses, 7);
  assert_true(cfg.api.connect_timeout_s == 30.0); /* default */
  assert_int_equal(cfg.nplatforms, 2);
  assert_string_equal(cfg.platforms[0].name, "chat");
  assert_int_equal(cfg.platforms[0].port, 9700);
  assert_string_equal(cfg.platforms[0].token, "tok");
  assert_true(cfg.platforms[0].connect_timeout_s == 2.5);
  assert_true(cfg.platforms[0].disconnect_timeout_s == 1.0);
  assert_string_equal(cfg.platforms[1].kind, "test");
  assert_true(cfg.platforms[1].disconnect_timeout_s == 5.0);
}

static void test_empty_and_minimal(void **state) {
  assert_int_equal(parse(""), 0);
  assert_false(cfg.has_api);
  assert_int_equal(cfg.nplatforms, 0);
  assert_int_equal(cfg.log_level, GW_LOG_INFO);
  assert_int_equal(parse("platforms:\n"), 0);
  assert_int_equal(parse("api: {}\n"), 0);
  assert_true(cfg.has_api);
  assert_int_equal(cfg.api.port, 8642);
  assert_string_equal(cfg.api.host, "127.0.0.1");
}

static void test_bad(void **state) {
  expect_bad("platforms:\n  - kind: irc\n    name: a\n", "platforms[0].kind", "unknown kind 'irc'");
  expect_bad("platforms:\n  - kind: irc\n    name: a\n", "t.yaml:2:", NULL);
  expect_bad("platforms:\n  - kind: platform\n    host: h\n", "platforms[0]", "'name' is required");
  expect_bad("platforms:\n  - name: x\n", "platforms[0]", "'kind' is required");
  expect_bad("platforms:\n  - {kind: platform, name: a, connect_timeout: -1}\n",
             "platforms[0].connect_timeout", "(0, 3600]");
  expect_bad("platforms:\n  - {kind: platform, name: a, disconnect_timeout: 0}\n",
             "platforms[0].disconnect_timeout", NULL);
  expect_bad("platforms:\n  - {kind: platform, name: a, connect_timeout: soon}\n",
             "connect_timeout", "'soon'");
  expect_bad("platforms:\n  - {kind: platform, name: a, port: 70000}\n", "platforms[0].port",
             "0..65535");
  expect_bad("platforms:\n  - {kind: platform, name: a, port: -5}\n", "port", NULL);
  expect_bad("platforms:\n  - {kind: platform, name: a, port: 12ab}\n", "port", "integer");
  expect_bad("api:\n  port: 99999999999999999999\n", "api.port", NULL);
  expect_bad("api:\n  max_responses: 0\n", "api.max_responses", NULL);
  expect_bad("platforms:\n  - {kind: platform, name: a, conect_timeout: 3}\n",
             "platforms[0].conect_timeout", "unknown field");
  expect_bad("api:\n  token: x\n", "api.token", "unknown field");
  /* The test adapter's script is the test library's business: the daemon
   * has no such field. */
  expect_bad("platforms:\n  - {kind: platform, name: a, script: RRO}\n", "platforms[0].script",
             "unknown field");
  expect_bad("platform:\n  - {kind: platform, name: a}\n", "platform", "unknown field");
  expect_bad("platforms:\n  kind: platform\n", "platforms", "must be a list");
  expect_bad("platforms:\n  - just-a-string\n", "platforms[0]", "mapping");
  expect_bad("- a\n- b\n", "top level", NULL);
  expect_bad("log_level: loud\n", "log_level", NULL);
  expect_bad("platforms:\n  - {kind: platform, name: a}\n  - {kind: platform, name: a}\n",
             "duplicate name 'a'", NULL);
  expect_bad("api: {}\nplatforms:\n  - {kind: platform, name: api}\n", "'api' is taken", NULL);
  expect_bad("platforms:\n  - {kind: platform, name: [a]}\n", "platforms[0].name", "string");
  expect_bad("api:\n  host: [\n", "YAML syntax", "t.yaml:");
  expect_bad("platforms:\n  - {kind: platform, name: \"\"}\n", "name", "empty");
}

static void test_name_too_long(void **state) {
  char text[512];
  char name[GW_NAME_MAX + 2];

  memset(name, 'n', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0';
  snprintf(text, sizeof(text), "platforms:\n  - {kind: platform, name: %s}\n", name);
  expect_bad(text, "platforms[0].name", "longer than");
}

static void test_api_without_api_kind(void **state) {
  static const char text[] = "api:\n  port: 1\n";

  assert_int_equal(
    gw__daemon_config_parse(text, strlen(text), "t.yaml", kinds_no_api, &cfg, err, sizeof(err)),
    GW_ECONFIG);
  assert_non_null(strstr(err, "no api adapter"));
}

static const char *env_table[8][2];

static const char *fake_getenv(const char *name) {
  size_t i;
  for (i = 0; i < 8 && env_table[i][0] != NULL; i++)
    if (strcmp(env_table[i][0], name) == 0)
      return env_table[i][1];
  return NULL;
}

static void test_env(void **state) {
  assert_int_equal(parse("platforms:\n"), 0);
  memset(env_table, 0, sizeof(env_table));
  env_table[0][0] = "API_SERVER_PORT";
  env_table[0][1] = "9999";
  /* No api section and not enabled: the overrides have nothing to apply to. */
  assert_int_equal(gw__daemon_config_env(&cfg, fake_getenv, err, sizeof(err)), 0);
  assert_false(cfg.has_api);

  env_table[1][0] = "API_SERVER_ENABLED";
  env_table[1][1] = "true";
  env_table[2][0] = "API_SERVER_KEY";
  env_table[2][1] = "sekrit-key-1";
  env_table[3][0] = "API_SERVER_HOST";
  env_table[3][1] = "::1";
  assert_int_equal(gw__daemon_config_env(&cfg, fake_getenv, err, sizeof(err)), 0);
  assert_true(cfg.has_api);
  assert_int_equal(cfg.api.port, 9999);
  assert_string_equal(cfg.api.key, "sekrit-key-1");
  assert_string_equal(cfg.api.host, "::1");

  env_table[0][1] = "80x";
  assert_int_equal(gw__daemon_config_env(&cfg, fake_getenv, err, sizeof(err)), GW_ECONFIG);
  assert_non_null(strstr(err, "API_SERVER_PORT"));
}

/* An exported but empty API_SERVER_KEY (a CI secret that was not set, a
 * `export API_SERVER_KEY=` in a profile) must not switch authentication off
 * behind the config's back: empty is treated as absent, like the other
 * overrides.  And API_SERVER_ENABLED takes a boolean or nothing. */
static void test_env_empty_and_bad_values(void **state) {
  assert_int_equal(parse("api:\n  key: config-key-123\n  store_path: /tmp/r.db\n"), 0);
  memset(env_table, 0, sizeof(env_table));
  env_table[0][0] = "API_SERVER_KEY";
  env_table[0][1] = "";
  env_table[1][0] = "API_SERVER_HOST";
  env_table[1][1] = "";
  env_table[2][0] = "API_SERVER_PORT";
  env_table[2][1] = "";
  assert_int_equal(gw__daemon_config_env(&cfg, fake_getenv, err, sizeof(err)), 0);
  assert_string_equal(cfg.api.key, "config-key-123");
  assert_string_equal(cfg.api.host, "127.0.0.1");
  assert_int_equal(cfg.api.port, 8642);

  env_table[0][1] = "env-key-4567";
  assert_int_equal(gw__daemon_config_env(&cfg, fake_getenv, err, sizeof(err)), 0);
  assert_string_equal(cfg.api.key, "env-key-4567");

  assert_int_equal(parse("platforms:\n"), 0);
  memset(env_table, 0, sizeof(env_table));
  env_table[0][0] = "API_SERVER_ENABLED";
  env_table[0][1] = "maybe";
  assert_int_equal(gw__daemon_config_env(&cfg, fake_getenv, err, sizeof(err)), GW_ECONFIG);
  assert_non_null(strstr(err, "API_SERVER_ENABLED"));
  assert_non_null(strstr(err, "maybe"));
  assert_false(cfg.has_api);
  env_table[0][1] = "false";
  assert_int_equal(gw__daemon_config_env(&cfg, fake_getenv, err, sizeof(err)), 0);
  assert_false(cfg.has_api);
  env_table[0][1] = "";
  assert_int_equal(gw__daemon_config_env(&cfg, fake_getenv, err, sizeof(err)), 0);
  assert_false(cfg.has_api);
  env_table[0][1] = "YES";
  assert_int_equal(gw__daemon_config_env(&cfg, fake_getenv, err, sizeof(err)), 0);
  assert_true(cfg.has_api);
}

/* 100k levels of flow nesting took libyaml over 30 s (quadratic); the
 * depth bound refuses them at once, with a message that says why. */
static void test_deep_nesting_refused_fast(void **state) {
  const size_t depth = 100000;
  static const char head[] = "platforms: ";
  size_t n = sizeof(head) - 1, i;
  char *text = malloc(n + 2 * depth + 2);
  struct timespec t0, t1;
  double took;
  int rc;

  assert_non_null(text);
  memcpy(text, head, n);
  for (i = 0; i < depth; i++)
    text[n++] = '[';
  for (i = 0; i < depth; i++)
    text[n++] = ']';
  text[n++] = '\n';
  text[n] = '\0';
  clock_gettime(CLOCK_MONOTONIC, &t0);
  rc = parse(text);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  free(text);
  took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  assert_int_equal(rc, GW_ECONFIG);
  if (strstr(err, "nested deeper than") == NULL)
    fail_msg("message '%s' does not say the nesting is too deep", err);
  assert_true(took < 1.0);
  /* Block nesting is bounded the same way. */
  {
    char block[512] = "platforms:\n  ";
    for (i = 0; i < 40; i++)
      strcat(block, "- ");
    strcat(block, "x\n");
    assert_int_equal(parse(block), GW_ECONFIG);
    assert_non_null(strstr(err, "nested deeper than"));
  }
}

static void test_load_missing_file(void **state) {
  assert_int_equal(gw__daemon_config_load("/nonexistent/gw.yaml", kinds, &cfg, err, sizeof(err)),
                   GW_ECONFIG);
  assert_non_null(strstr(err, "/nonexistent/gw.yaml"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_good),
    cmocka_unit_test(test_empty_and_minimal),
    cmocka_unit_test(test_bad),
    cmocka_unit_test(test_name_too_long),
    cmocka_unit_test(test_api_without_api_kind),
    cmocka_unit_test(test_env),
    cmocka_unit_test(test_env_empty_and_bad_values),
    cmocka_unit_test(test_deep_nesting_refused_fast),
    cmocka_unit_test(test_load_missing_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
