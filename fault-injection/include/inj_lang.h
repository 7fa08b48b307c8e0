/*
 * inj_lang.h — what the preloaded shim (libfdsoak-inject.so.0) offers an
 * interpreter besides its hooks: a callback that says where, in the
 * interpreter's own code, each fd was opened.
 *
 * Only the shim defines inj_lang_register, so this is not part of inj.h
 * (whose library, inj_spec, is pure).  An interpreter's hook usually finds
 * it with dlsym(RTLD_DEFAULT, "inj_lang_register") (Python's ctypes does),
 * so it runs unchanged without the shim.
 */
#ifndef INJ_LANG_H
#define INJ_LANG_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * An interpreter's own hook (Python's sitecustomize, see harness/lang/) may
 * register a callback with the preloaded shim.  With fd tracking on and
 * FDSOAK_LANG_LOG set, the shim calls it right after each fd it tracks is
 * created, on the creating thread: it writes the interpreter's stack as a
 * JSON array into buf (at most len bytes) and returns its length (0: none).
 * The shim appends {"pid","fd","t","lang","kind","stack"} to the log
 * (t: CLOCK_MONOTONIC ns, as the fd records' mono_ns).  NULL
 * unregisters (before the interpreter shuts down).
 */
typedef int (*inj_lang_cb)(int fd, int op, char *buf, int len);
void inj_lang_register(inj_lang_cb cb, const char *lang);

#ifdef __cplusplus
}
#endif
#endif /* INJ_LANG_H */
