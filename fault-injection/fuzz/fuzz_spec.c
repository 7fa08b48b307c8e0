/*
 * fuzz_spec.c - libFuzzer target for the shim's rule parser.
 *
 * FDSOAK_INJECT comes from whoever starts the program under test, and the
 * shim parses it inside a constructor of every process it is preloaded
 * into: a crash there takes down the target before main().  So the parser
 * must turn any byte string into either a spec or an error message.
 *
 * The input is used twice: whole, NUL-terminated, as a spec; and split at
 * its first NUL (or newline) into a glob and a subject for inj_glob_match,
 * which the shim runs on every open() and getaddrinfo() it sees.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "inj.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_spec(const char *text) {
  inj_spec_t spec;
  char err[256];
  uint32_t i;

  err[0] = '\0';
  if (inj_spec_parse(text, &spec, err, sizeof(err)) != 0) {
    /* A rejected spec must say why: the shim prints it and exits 2. */
    if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
      abort();
    return;
  }
  if (spec.nrules > INJ_MAX_RULES)
    abort();
  for (i = 0; i < spec.nrules; i++) {
    const inj_rule_t *r = &spec.rules[i];

    /* The shim indexes tables and copies strings by these. */
    if (r->op >= INJ_OP_COUNT || (spec.opmask & (1u << r->op)) == 0)
      abort();
    if (memchr(r->glob, '\0', sizeof(r->glob)) == NULL ||
        memchr(r->text, '\0', sizeof(r->text)) == NULL ||
        memchr(r->pattern, '\0', sizeof(r->pattern)) == NULL)
      abort();
    if (r->when == INJ_WHEN_PATTERN && (r->pattern_len == 0 || r->pattern_len >= INJ_PATTERN_MAX))
      abort();
    if (r->has_addr && r->prefix > (r->addr_family == AF_INET ? 32 : 128))
      abort();
    /* The schedule must be total: any call count, any time. */
    (void)inj_when_fires(r, 0, 0);
    (void)inj_when_fires(r, 1, 1000000000);
    (void)inj_when_fires(r, UINT64_MAX, UINT64_MAX);
    (void)inj_glob_match(r->glob, "127.0.0.1");
    (void)inj_glob_match(r->glob, "/tmp/fdsoak/responses.db-wal");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text;
  char *sep;

  /* Past twice the limit nothing new is reachable: the length check
   * comes first. */
  if (size > 2 * INJ_SPEC_MAX)
    return 0;
  text = malloc(size + 1);
  if (text == NULL)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  check_spec(text);

  /* The glob is what precedes the first newline; the rest is the subject.
   * An embedded NUL simply ends the glob earlier, as it would in C. */
  sep = strchr(text, '\n');
  if (sep != NULL) {
    *sep = '\0';
    (void)inj_glob_match(text, sep + 1);
  } else {
    (void)inj_glob_match(text, text);
    (void)inj_glob_match(text, "");
  }
  free(text);
  return 0;
}
