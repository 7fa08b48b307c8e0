/*
 * platform.h - the platform adapter (kind "platform") and its wire protocol.
 *
 * The platform adapter models a chat-platform bot: an outbound TCP
 * connection to a peer (fdsoak-platformd in tests and soaks) that speaks
 * newline-delimited JSON, one object per line:
 *
 *   adapter -> peer   {"type":"identify","token":"..."}         first line
 *                     {"type":"send","chat":"...","text":"..."}  a reply
 *   peer -> adapter   {"type":"ready"}                           accepted
 *                     {"type":"reject","reason":"..."}           bad token
 *                     {"type":"message","chat":"...","text":"..."}
 *
 * A line is at most GW_PLAT_LINE_MAX bytes before its '\n' (a '\r' before
 * the '\n' is tolerated).  Anything else -- a line that is not a JSON object
 * with a known "type", a NUL byte, an overlong line -- is a protocol error
 * (UV_EPROTO).  The codec below is shared by the adapter and the peer
 * program so both sides agree on what the protocol is.
 */
#ifndef GW_PLATFORM_H
#define GW_PLATFORM_H

#include <stddef.h>

#include "gw.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const gw_adapter_vtable_t gw_platform_adapter_vtable;

#define GW_PLAT_LINE_MAX 4096
#define GW_PLAT_FIELD_MAX 1024

typedef enum {
  GW_PLAT_MSG_IDENTIFY = 1,
  GW_PLAT_MSG_READY,
  GW_PLAT_MSG_REJECT,
  GW_PLAT_MSG_MESSAGE,
  GW_PLAT_MSG_SEND
} gw_plat_msg_type_t;

typedef struct {
  gw_plat_msg_type_t type;
  char token[GW_SECRET_MAX];     /* identify */
  char reason[GW_MSG_MAX];       /* reject (optional) */
  char chat[GW_NAME_MAX];        /* message, send */
  char text[GW_PLAT_FIELD_MAX];  /* message, send */
} gw_plat_msg_t;

/*
 * Parse one line (without its '\n').  Returns 0 and fills *out, or
 * UV_EPROTO when the line is not a protocol message (not JSON, not an
 * object, unknown or missing "type", a required field missing or not a
 * string, a field longer than its buffer).  *out is untouched on error.
 */
int gw__plat_parse(const char *line, size_t len, gw_plat_msg_t *out);

/*
 * Encode msg as one line including the trailing '\n' into buf.  Returns the
 * length written (without a terminating NUL, which is also written), or
 * UV_ENOBUFS when the line would not fit in cap bytes or exceed
 * GW_PLAT_LINE_MAX, or UV_EINVAL for an unknown type.
 */
int gw__plat_format(const gw_plat_msg_t *msg, char *buf, size_t cap);

/*
 * Line splitter.  Feed it the bytes of each read; it calls line_cb for each
 * complete line (without '\n' and a trailing '\r').  Returns 0, the first
 * non-zero value line_cb returned (feeding stops there), or UV_EPROTO when
 * a line grows past GW_PLAT_LINE_MAX or a NUL byte arrives -- neither can
 * be the protocol, and waiting for a newline that may never come would turn
 * a broken peer into a hang.
 */
typedef int (*gw_plat_line_cb)(void *arg, const char *line, size_t len);

typedef struct {
  size_t len;
  char buf[GW_PLAT_LINE_MAX + 1];
} gw_plat_linebuf_t;

void gw__plat_linebuf_init(gw_plat_linebuf_t *lb);
int gw__plat_linebuf_feed(gw_plat_linebuf_t *lb, const char *data, size_t n,
                          gw_plat_line_cb line_cb, void *arg);

/* The echo agent: a deterministic reply, so tests can predict it. */
int gw__plat_echo(const char *chat, const char *text, char *reply, size_t cap);

/* Counters of the adapter kind, for tests (process-wide). */
typedef struct {
  unsigned long created, destroyed, messages_in, replies_out;
} gw_plat_stats_t;
void gw__plat_stats(gw_plat_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif /* GW_PLATFORM_H */
