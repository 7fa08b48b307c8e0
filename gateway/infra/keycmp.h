/* keycmp.h - comparing a presented secret with the configured one. */
#ifndef GW_KEYCMP_H
#define GW_KEYCMP_H

#include <stddef.h>

/*
 * 1 when given[0..glen) equals the NUL-terminated key, else 0.  The time
 * taken depends only on glen, which the client already knows, never on the
 * key's length or on where the two first differ: every byte of given is
 * read and folded into the result, with no branch on the data.  An empty
 * key matches nothing (fail closed: "no key" is the caller's decision).
 */
int gw__key_equal(const char *given, size_t glen, const char *key);

#endif /* GW_KEYCMP_H */
