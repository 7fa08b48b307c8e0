/*
 * platform.h - the platform adapter (kind "platform").
 *
 * The platform adapter models a chat-platform bot: an outbound TCP
 * connection to a peer (fdsoak-platformd in tests and soaks) that speaks
 * the newline-delimited JSON protocol of codec.h.  Its vtable,
 * gw_platform_adapter_vtable, is declared in gw.h.
 */
#ifndef GW_PLATFORM_H
#define GW_PLATFORM_H

#include <stddef.h>

#include "codec.h"
#include "gw.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The echo agent: a deterministic reply, so tests can predict it. */
int gw__plat_echo(const char *chat, const char *text, char *reply, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* GW_PLATFORM_H */
