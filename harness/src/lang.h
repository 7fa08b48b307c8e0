/* lang.h - leak origins in the program's own language (Python, Node): the
 * environment that makes a watched interpreter report its stacks, and the
 * log it reports them in (FDSOAK_LANG_LOG, written through the shim). */
#ifndef FSK_LANG_H
#define FSK_LANG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum { FSK_ORIGINS_OFF = 0, FSK_ORIGINS_NATIVE, FSK_ORIGINS_LANG } fsk__origins_t;

/* Parse "off", "native" or "lang"; -1 if none of them. */
int fsk__origins_parse(const char *s);

/* Point this process's environment (inherited by the target) at the
 * language hooks: NODE_OPTIONS gets a --require of
 * lang/node/fdsoak-origins.js, FDSOAK_LANG_LOG the log.  Python needs no
 * variable: the shim loads its frame reader into CPython 3.11 by itself.
 * 0, or a negative errno when the hooks are not installed (err says where
 * they were looked for). */
int fsk__lang_setup(const char *log, char *err, size_t errlen);

typedef struct fsk__lang_log fsk__lang_log_t;
/* Load the log (NULL when empty or unreadable). */
fsk__lang_log_t *fsk__lang_load(const char *log);
void fsk__lang_free(fsk__lang_log_t *l);
/* The first note a process left in the log (why it gives no language
 * frames: an unsupported Python, a reader that could not be loaded), or
 * NULL. */
const char *fsk__lang_note(const fsk__lang_log_t *l);
/* The stack of the last fd numbered fd that pid created, as
 * "fn (file:line) <- fn (file:line) ..." innermost first; 1 if found.
 * born_ns: when the shim saw that fd created (CLOCK_MONOTONIC), 0 if
 * unknown: a line written before it is about an earlier fd of the same
 * number (one the runtime's hook did not see) and is not used. */
/* The same from a stack the shim kept in its page (a JSON array of n
 * bytes, not NUL-terminated); 1 if it had frames. */
int fsk__lang_stack_json(const char *json, size_t n, char *out, size_t len);
int fsk__lang_stack(const fsk__lang_log_t *l, pid_t pid, int fd, uint64_t born_ns, char *out,
                    size_t len);

#endif
