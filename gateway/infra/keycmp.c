/* keycmp.c - constant-time key comparison; see keycmp.h. */
#include "keycmp.h"

#include <string.h>

int gw__key_equal(const char *given, size_t glen, const char *key) {
  size_t klen = strlen(key);
  /* volatile: keeps the compiler from turning the fold into an early exit
   * once diff is non-zero. */
  volatile unsigned char diff = (unsigned char)((glen != klen) | (glen == 0));
  size_t i;

  /* Past the key's end, compare against its first byte again (a mask, not
   * a branch), so the loop's shape depends on glen alone; the length
   * mismatch is already in diff. */
  for (i = 0; i < glen; i++) {
    size_t in = (size_t)0 - (size_t)(i < klen); /* all ones while i < klen */
    diff |= (unsigned char)(given[i] ^ key[i & in]);
  }
  return diff == 0;
}
