/*
 * echo.h - the deterministic echo agent behind the api adapter.
 *
 * The gateway's agent is a stand-in whose replies a test can predict: the
 * same input and turn always give the same text, and a continued
 * conversation says which turn it is, so chaining is visible in the reply.
 */
#ifndef GW_ECHO_H
#define GW_ECHO_H

#include <stddef.h>

#define GW_ECHO_MODEL "fdsoak-echo"

/*
 * Reply to the user's text on the given turn (1 = first user message of the
 * conversation): "echo: TEXT" on turn 1 (or 0), "echo (turn N): TEXT" after.
 * *out is malloc'd and NUL-terminated (free() it), *outlen its length
 * (outlen may be NULL).  0 or UV_ENOMEM; outputs set only on success.
 */
int gw__echo_reply(const char *text, size_t len, unsigned turn, char **out, size_t *outlen);

/* Deterministic token count of a text (whitespace-separated words), for
 * OpenAI-shaped usage fields. */
unsigned gw__echo_tokens(const char *text);

#endif /* GW_ECHO_H */
