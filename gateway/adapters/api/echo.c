/* echo.c - the deterministic echo agent; see echo.h. */
#include "echo.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

int gw__echo_reply(const char *text, size_t len, unsigned turn, char **out, size_t *outlen) {
  char prefix[48];
  size_t plen;
  char *buf;

  if (text == NULL || out == NULL)
    return UV_EINVAL;
  if (turn > 1)
    snprintf(prefix, sizeof(prefix), "echo (turn %u): ", turn);
  else
    snprintf(prefix, sizeof(prefix), "echo: ");
  plen = strlen(prefix);
  buf = malloc(plen + len + 1);
  if (buf == NULL)
    return UV_ENOMEM;
  memcpy(buf, prefix, plen);
  memcpy(buf + plen, text, len);
  buf[plen + len] = '\0';
  *out = buf;
  if (outlen != NULL)
    *outlen = plen + len;
  return 0;
}

unsigned gw__echo_tokens(const char *text) {
  unsigned n = 0;
  int in_word = 0;

  for (; text != NULL && *text != '\0'; text++) {
    if (isspace((unsigned char)*text)) {
      in_word = 0;
    } else if (!in_word) {
      in_word = 1;
      n++;
    }
  }
  return n;
}
