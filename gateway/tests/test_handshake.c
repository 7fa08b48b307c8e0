/* test_handshake.c - the platform protocol's codec: lines and messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "platform.h"

static int parse(const char *s, gw__plat_msg_t *m) { return gw__plat_parse(s, strlen(s), m); }

static void test_parse_valid(void **state) {
  gw__plat_msg_t m;

  assert_int_equal(parse("{\"type\":\"ready\"}", &m), 0);
  assert_int_equal(m.type, GW_PLAT_MSG_READY);

  assert_int_equal(parse("{\"type\":\"reject\",\"reason\":\"bad token\"}", &m), 0);
  assert_int_equal(m.type, GW_PLAT_MSG_REJECT);
  assert_string_equal(m.reason, "bad token");
  assert_int_equal(parse("{\"type\":\"reject\"}", &m), 0); /* reason is optional */
  assert_string_equal(m.reason, "");

  assert_int_equal(parse(" {\"text\":\"hi \\u00e9\",\"chat\":\"c1\",\"type\":\"message\"} ", &m),
                   0);
  assert_int_equal(m.type, GW_PLAT_MSG_MESSAGE);
  assert_string_equal(m.chat, "c1");
  assert_string_equal(m.text, "hi \xc3\xa9");

  assert_int_equal(parse("{\"type\":\"identify\",\"token\":\"s3cret\",\"extra\":1}", &m), 0);
  assert_int_equal(m.type, GW_PLAT_MSG_IDENTIFY);
  assert_string_equal(m.token, "s3cret");
}

static void test_parse_invalid(void **state) {
  static const char *bad[] = {
    "",
    "HTTP/1.1 400 Bad Request",
    "[\"type\",\"ready\"]",
    "\"ready\"",
    "{\"type\":\"ready\"",
    "{\"type\":\"ready\"} trailing",
    "{\"type\":\"ready\"}{\"type\":\"ready\"}",
    "{\"typ\":\"ready\"}",
    "{\"type\":5}",
    "{\"type\":\"READY\"}",
    "{\"type\":\"unknown\"}",
    "{\"type\":\"identify\"}",
    "{\"type\":\"identify\",\"token\":7}",
    "{\"type\":\"message\",\"chat\":\"c\"}",
    "{\"type\":\"message\",\"text\":\"t\"}",
    "{\"type\":\"message\",\"chat\":null,\"text\":\"t\"}",
    "{\"type\":\"reject\",\"reason\":[]}",
  };
  gw__plat_msg_t m;
  size_t i;

  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    memset(&m, 0x5a, sizeof(m));
    if (parse(bad[i], &m) != UV_EPROTO)
      fail_msg("accepted: %s", bad[i]);
    /* Output untouched on error. */
    assert_int_equal(((unsigned char *)&m)[0], 0x5a);
  }
  /* An embedded NUL is never the protocol. */
  assert_int_equal(gw__plat_parse("{\"type\":\"ready\"}\0x", 18, &m), UV_EPROTO);
  assert_int_equal(gw__plat_parse(NULL, 0, &m), UV_EPROTO);
}

static void test_parse_field_too_long(void **state) {
  char line[GW_PLAT_LINE_MAX + 64];
  char chat[GW_NAME_MAX + 1];
  gw__plat_msg_t m;

  memset(chat, 'c', sizeof(chat) - 1);
  chat[sizeof(chat) - 1] = '\0';
  snprintf(line, sizeof(line), "{\"type\":\"message\",\"chat\":\"%s\",\"text\":\"t\"}", chat);
  assert_int_equal(parse(line, &m), UV_EPROTO);
  chat[GW_NAME_MAX - 1] = '\0'; /* exactly fits */
  snprintf(line, sizeof(line), "{\"type\":\"message\",\"chat\":\"%s\",\"text\":\"t\"}", chat);
  assert_int_equal(parse(line, &m), 0);
}

static void test_format_roundtrip(void **state) {
  gw__plat_msg_t in, out;
  char buf[GW_PLAT_LINE_MAX + 2];
  int n;

  memset(&in, 0, sizeof(in));
  in.type = GW_PLAT_MSG_SEND;
  snprintf(in.chat, sizeof(in.chat), "chat \"1\"");
  snprintf(in.text, sizeof(in.text), "line\nbreak and \\ backslash");
  n = gw__plat_format(&in, buf, sizeof(buf));
  assert_true(n > 0);
  assert_int_equal(buf[n - 1], '\n');
  assert_null(memchr(buf, '\n', (size_t)n - 1)); /* escaped: one line */
  assert_int_equal(gw__plat_parse(buf, (size_t)n - 1, &out), 0);
  assert_int_equal(out.type, GW_PLAT_MSG_SEND);
  assert_string_equal(out.chat, in.chat);
  assert_string_equal(out.text, in.text);

  memset(&in, 0, sizeof(in));
  in.type = GW_PLAT_MSG_IDENTIFY;
  snprintf(in.token, sizeof(in.token), "tok");
  n = gw__plat_format(&in, buf, sizeof(buf));
  assert_string_equal(buf, "{\"type\":\"identify\",\"token\":\"tok\"}\n");
  assert_int_equal(n, (int)strlen(buf));

  assert_int_equal(gw__plat_format(&in, buf, 10), UV_ENOBUFS);
  in.type = (gw__plat_msg_type_t)99;
  assert_int_equal(gw__plat_format(&in, buf, sizeof(buf)), UV_EINVAL);
}

typedef struct {
  int n;
  char lines[8][64];
  int stop_at;
} collect_t;

static int collect_cb(void *arg, const char *line, size_t len) {
  collect_t *c = arg;

  assert_int_equal(strlen(line), len); /* NUL-terminated for the parser */
  snprintf(c->lines[c->n], sizeof(c->lines[0]), "%s", line);
  c->n++;
  return c->n == c->stop_at ? 42 : 0;
}

static void test_linebuf_split(void **state) {
  static const char stream[] = "{\"a\":1}\r\n\n{\"b\":2}\n{\"c\"";
  gw__plat_linebuf_t lb;
  collect_t c;
  size_t i;

  /* Byte by byte gives the same lines as all at once. */
  memset(&c, 0, sizeof(c));
  gw__plat_linebuf_init(&lb);
  for (i = 0; i < sizeof(stream) - 1; i++)
    assert_int_equal(gw__plat_linebuf_feed(&lb, stream + i, 1, collect_cb, &c), 0);
  assert_int_equal(c.n, 2);
  assert_string_equal(c.lines[0], "{\"a\":1}");
  assert_string_equal(c.lines[1], "{\"b\":2}");
  assert_int_equal(gw__plat_linebuf_feed(&lb, ":3}\n", 4, collect_cb, &c), 0);
  assert_int_equal(c.n, 3);
  assert_string_equal(c.lines[2], "{\"c\":3}");

  /* A callback's non-zero return stops the feed and is returned. */
  memset(&c, 0, sizeof(c));
  c.stop_at = 1;
  gw__plat_linebuf_init(&lb);
  assert_int_equal(gw__plat_linebuf_feed(&lb, "x\ny\n", 4, collect_cb, &c), 42);
  assert_int_equal(c.n, 1);
}

static void test_linebuf_limits(void **state) {
  static char big[GW_PLAT_LINE_MAX + 1];
  gw__plat_linebuf_t lb;
  collect_t c;

  memset(&c, 0, sizeof(c));
  memset(big, 'x', sizeof(big));
  gw__plat_linebuf_init(&lb);
  /* Exactly the limit is a line... */
  assert_int_equal(gw__plat_linebuf_feed(&lb, big, GW_PLAT_LINE_MAX, collect_cb, &c), 0);
  assert_int_equal(gw__plat_linebuf_feed(&lb, "\n", 1, collect_cb, &c), 0);
  assert_int_equal(c.n, 1);
  /* ...one more byte is a protocol error, before any newline arrives. */
  assert_int_equal(gw__plat_linebuf_feed(&lb, big, sizeof(big), collect_cb, &c), UV_EPROTO);
  /* A NUL byte is rejected at once. */
  gw__plat_linebuf_init(&lb);
  assert_int_equal(gw__plat_linebuf_feed(&lb, "ab\0cd", 5, collect_cb, &c), UV_EPROTO);
}

static void test_echo(void **state) {
  char out[16];

  assert_int_equal(gw__plat_echo("c", "hello", out, sizeof(out)), 11);
  assert_string_equal(out, "echo: hello");
  assert_int_equal(gw__plat_echo("c", "a much longer text", out, sizeof(out)), UV_ENOBUFS);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_valid),
    cmocka_unit_test(test_parse_invalid),
    cmocka_unit_test(test_parse_field_too_long),
    cmocka_unit_test(test_format_roundtrip),
    cmocka_unit_test(test_linebuf_split),
    cmocka_unit_test(test_linebuf_limits),
    cmocka_unit_test(test_echo),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
