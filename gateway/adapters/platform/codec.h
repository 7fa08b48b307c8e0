/*
 * codec.h - the platform wire protocol, shared by the platform adapter and
 * its peer fdsoak-platformd so both sides agree on what the protocol is.
 *
 * Newline-delimited JSON, one object per line:
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
 * (UV_EPROTO).
 *
 * The codec is a library of its own (gw_platcodec, built from codec.c alone
 * and also compiled into gw and gw_regress): the peer links it without the
 * runner, the adapters, the store or the HTTP server.  It needs cJSON, and
 * gw.h for the field sizes and uv.h's error codes, nothing else.
 */
#ifndef GW_PLAT_CODEC_H
#define GW_PLAT_CODEC_H

#include <stddef.h>

#include "gw.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GW_PLAT_LINE_MAX 4096
#define GW_PLAT_FIELD_MAX 1024

typedef enum {
  GW_PLAT_MSG_IDENTIFY = 1,
  GW_PLAT_MSG_READY,
  GW_PLAT_MSG_REJECT,
  GW_PLAT_MSG_MESSAGE,
  GW_PLAT_MSG_SEND
} gw__plat_msg_type_t;

typedef struct {
  gw__plat_msg_type_t type;
  char token[GW_SECRET_MAX];    /* identify */
  char reason[GW_MSG_MAX];      /* reject (optional) */
  char chat[GW_NAME_MAX];       /* message, send */
  char text[GW_PLAT_FIELD_MAX]; /* message, send */
} gw__plat_msg_t;

/*
 * Parse one line (without its '\n').  Returns 0 and fills *out, or
 * UV_EPROTO when the line is not a protocol message (not JSON, not an
 * object, unknown or missing "type", a required field missing or not a
 * string, a field longer than its buffer).  *out is untouched on error.
 */
int gw__plat_parse(const char *line, size_t len, gw__plat_msg_t *out);

/*
 * Encode msg as one line including the trailing '\n' into buf.  Returns the
 * length written (without a terminating NUL, which is also written), or
 * UV_ENOBUFS when the line would not fit in cap bytes or exceed
 * GW_PLAT_LINE_MAX, or UV_EINVAL for an unknown type.
 */
int gw__plat_format(const gw__plat_msg_t *msg, char *buf, size_t cap);

/*
 * Line splitter.  Feed it the bytes of each read; it calls line_cb for each
 * complete line (without '\n' and a trailing '\r').  Returns 0, the first
 * non-zero value line_cb returned (feeding stops there), or UV_EPROTO when
 * a line grows past GW_PLAT_LINE_MAX or a NUL byte arrives -- neither can
 * be the protocol, and waiting for a newline that may never come would turn
 * a broken peer into a hang.
 */
typedef int (*gw__plat_line_cb)(void *arg, const char *line, size_t len);

typedef struct {
  size_t len;
  char buf[GW_PLAT_LINE_MAX + 1];
} gw__plat_linebuf_t;

void gw__plat_linebuf_init(gw__plat_linebuf_t *lb);
int gw__plat_linebuf_feed(gw__plat_linebuf_t *lb, const char *data, size_t n,
                          gw__plat_line_cb line_cb, void *arg);

#ifdef __cplusplus
}
#endif
#endif /* GW_PLAT_CODEC_H */
