/*
 * inj_lang.h — what the preloaded shim (libfdsoak-inject.so.0) offers an
 * interpreter besides its hooks: a callback that says where, in the
 * interpreter's own code, each fd was opened.
 *
 * Only the shim defines inj_lang_register, so this is not part of inj.h
 * (whose library, inj_spec, is pure).  A runtime's native reader finds it
 * with dlsym(RTLD_DEFAULT, "inj_lang_register"), so it runs unchanged
 * without the shim.
 */
#ifndef INJ_LANG_H
#define INJ_LANG_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * With fd tracking on and FDSOAK_LANG_LOG set, the shim calls a stack
 * reader right after each fd it tracks is created, on the creating thread:
 * it writes the interpreter's stack as a JSON array into buf (at most len
 * bytes) and returns its length (0: none).  The shim puts it in the stats
 * page's langs[] slot of that fd (inj.h: no system call, where a log line
 * per fd cost more than the program's own open()); FDSOAK_LANG_LOG gets
 * only notes, {"pid","note"}: why a process gives no frames.
 *
 * The reader must not enter the interpreter (no lock, no GIL, no
 * allocation): it runs inside the program's open() or socket(), where the
 * thread may hold any lock.  For CPython 3.11 the shim loads its own,
 * libfdsoak-py311.so from its directory (harness/lang/python/), in its
 * constructor; inj_lang_register lets another runtime's native reader take
 * the slot (NULL clears it).
 */
typedef int (*inj_lang_cb)(int fd, int op, char *buf, int len);
void inj_lang_register(inj_lang_cb cb, const char *lang);

#ifdef __cplusplus
}
#endif
#endif /* INJ_LANG_H */
