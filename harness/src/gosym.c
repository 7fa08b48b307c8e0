/* gosym.c - Go stacks of a stopped thread, from the program's .gopclntab.
 *
 * Under the seccomp engine a thread that opens a file or a socket waits in
 * the kernel while fdsoak serves the notification, so its user stack is
 * still.  Its pc and sp (/proc/TID/syscall) are enough to walk a Go stack:
 * the pc-to-SP-delta table of each function in .gopclntab says where the
 * return address is (sp + delta on amd64) and what the caller's sp was.
 * The same tables give the file and line of each pc, so a stripped Go
 * binary is named too: .gopclntab is what Go's own tracebacks use, and
 * strip keeps it.
 *
 * The layout read here is Go 1.18's and later's (magic 0xfffffff0, and
 * 0xfffffff1 from 1.20, whose _func has one more field), of amd64 and
 * arm64 programs.  The tables are the same on both (arm64's pc quantum is
 * 4); the walk differs:
 *
 *   amd64  the CALL pushed the return address: it is at sp + delta, and
 *          the caller's sp is above it (sp + delta + 8);
 *   arm64  a function with a frame saved LR at its own 0(SP) and its
 *          caller's frame pointer just below (-8(SP)); the caller's sp is
 *          sp + delta.  A leaf with no frame (delta 0: the system call
 *          stubs are such) keeps its return address in LR, which
 *          /proc/TID/syscall does not give: its caller is skipped, and the
 *          walk goes on from the caller's frame record (its return address
 *          at 0(SP), its caller's frame pointer at -8(SP), whose sp is that
 *          pointer + 8).  The skipped frame is the standard library's
 *          system call wrapper, which the report leaves out anyway.
 *
 * The arm64 walk is written from Go's arm64 frame layout
 * (cmd/internal/obj/arm64) and has not been run on arm64 hardware; the
 * symbolizer is tested on arm64 binaries offline (test_gosym.c).
 */
#include "gosym.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

struct fsk__gosym {
  unsigned char *tab; /* .gopclntab */
  size_t len;
  int v120;  /* Go 1.20+ _func layout */
  int arm64; /* EM_AARCH64: the arm64 walk */
  uint32_t quantum;
  uint64_t nfunc, text;
  const unsigned char *funcnames, *cutab, *filetab, *pctab, *functab;
};

static uint64_t rd64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static uint32_t rd32(const unsigned char *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* The section named name of the ELF at fd: a malloc'd copy. */
static unsigned char *section(int fd, const char *name, size_t *len) {
  Elf64_Ehdr h;
  Elf64_Shdr sh, strs;
  char *names = NULL;
  unsigned char *out = NULL;
  unsigned i;

  if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h || memcmp(h.e_ident, ELFMAG, SELFMAG) != 0 ||
      h.e_ident[EI_CLASS] != ELFCLASS64 || h.e_shstrndx >= h.e_shnum)
    return NULL;
  if (pread(fd, &strs, sizeof strs, (off_t)(h.e_shoff + (uint64_t)h.e_shstrndx * h.e_shentsize)) !=
        (ssize_t)sizeof strs ||
      strs.sh_size > (1u << 20) || (names = malloc(strs.sh_size + 1)) == NULL ||
      pread(fd, names, strs.sh_size, (off_t)strs.sh_offset) != (ssize_t)strs.sh_size)
    goto out;
  names[strs.sh_size] = '\0';
  for (i = 0; i < h.e_shnum; i++) {
    if (pread(fd, &sh, sizeof sh, (off_t)(h.e_shoff + (uint64_t)i * h.e_shentsize)) !=
        (ssize_t)sizeof sh)
      break;
    if (sh.sh_name >= strs.sh_size || strcmp(names + sh.sh_name, name) != 0)
      continue;
    if (sh.sh_size == 0 || sh.sh_size > (256u << 20) || (out = malloc(sh.sh_size)) == NULL)
      break;
    if (pread(fd, out, sh.sh_size, (off_t)sh.sh_offset) != (ssize_t)sh.sh_size) {
      free(out);
      out = NULL;
      break;
    }
    *len = sh.sh_size;
    break;
  }
out:
  free(names);
  return out;
}

int fsk__gosym_open(const char *path, fsk__gosym_t **out) {
  fsk__gosym_t *g = calloc(1, sizeof *g);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  uint32_t magic;
  const unsigned char *t;

  if (g == NULL || fd < 0) {
    free(g);
    if (fd >= 0)
      close(fd);
    return -ENOENT;
  }
  g->tab = section(fd, ".gopclntab", &g->len);
  {
    Elf64_Ehdr h;

    memset(&h, 0, sizeof h);
    if (pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h)
      g->arm64 = h.e_machine == EM_AARCH64;
    if (h.e_machine != EM_AARCH64 && h.e_machine != EM_X86_64) {
      close(fd);
      goto bad;
    }
  }
  close(fd);
  if (g->tab == NULL || g->len < 72)
    goto bad;
  t = g->tab;
  magic = rd32(t);
  if ((magic != 0xfffffff0u && magic != 0xfffffff1u) || t[7] != 8)
    goto bad;
  g->v120 = magic == 0xfffffff1u;
  g->quantum = t[6];
  g->nfunc = rd64(t + 8);
  g->text = rd64(t + 24);
  if (rd64(t + 32) >= g->len || rd64(t + 40) >= g->len || rd64(t + 48) >= g->len ||
      rd64(t + 56) >= g->len || rd64(t + 64) >= g->len ||
      rd64(t + 64) + (g->nfunc + 1) * 8 > g->len)
    goto bad;
  g->funcnames = t + rd64(t + 32);
  g->cutab = t + rd64(t + 40);
  g->filetab = t + rd64(t + 48);
  g->pctab = t + rd64(t + 56);
  g->functab = t + rd64(t + 64);
  *out = g;
  return 0;
bad:
  fsk__gosym_free(g);
  return -ENOEXEC;
}

void fsk__gosym_free(fsk__gosym_t *g) {
  if (g == NULL)
    return;
  free(g->tab);
  free(g);
}

/* The _func of pc, or NULL: the functab is sorted by entry offset. */
static const unsigned char *func_of(const fsk__gosym_t *g, uint64_t pc, uint64_t *entry) {
  uint64_t lo = 0, hi = g->nfunc, off;
  const unsigned char *f;

  if (pc < g->text)
    return NULL;
  off = pc - g->text;
  if (off >= rd32(g->functab + g->nfunc * 8))
    return NULL;
  while (hi - lo > 1) {
    uint64_t mid = (lo + hi) / 2;
    if (rd32(g->functab + mid * 8) <= off)
      lo = mid;
    else
      hi = mid;
  }
  if ((uint64_t)rd32(g->functab + lo * 8 + 4) + 40 > g->len - (size_t)(g->functab - g->tab))
    return NULL;
  f = g->functab + rd32(g->functab + lo * 8 + 4);
  *entry = g->text + rd32(f);
  return f;
}

static uint32_t uvarint(const unsigned char **p, const unsigned char *end) {
  uint32_t v = 0;
  int shift = 0;

  while (*p < end && shift < 35) {
    unsigned char b = *(*p)++;
    v |= (uint32_t)(b & 0x7f) << shift;
    if (!(b & 0x80))
      break;
    shift += 7;
  }
  return v;
}

/* The value of the pc-value table at offset off for pc (Go's pcvalue), or
 * INT32_MIN when the table does not cover it. */
static int32_t pcvalue(const fsk__gosym_t *g, uint32_t off, uint64_t entry, uint64_t pc) {
  const unsigned char *p = g->pctab + off, *end = g->tab + g->len;
  uint64_t at = entry;
  int32_t val = -1;
  int first = 1;

  if (off == 0 || p >= end)
    return INT32_MIN;
  for (;;) {
    uint32_t uv = uvarint(&p, end);
    int32_t delta;

    if (uv == 0 && !first)
      return INT32_MIN;
    first = 0;
    delta = (uv & 1) ? (int32_t) ~(uv >> 1) : (int32_t)(uv >> 1);
    val += delta;
    at += (uint64_t)uvarint(&p, end) * g->quantum;
    if (pc < at)
      return val;
    if (p >= end)
      return INT32_MIN;
  }
}

/* Field offsets in _func: entryOff, nameOff, args, deferreturn, pcsp,
 * pcfile, pcln, npcdata, cuOffset (4 bytes each). */
#define F_NAME 4
#define F_PCSP 16
#define F_PCFILE 20
#define F_PCLN 24
#define F_CU 32

static const char *fname(const fsk__gosym_t *g, const unsigned char *f) {
  uint32_t off = rd32(f + F_NAME);
  const unsigned char *s = g->funcnames + off;

  return s < g->tab + g->len ? (const char *)s : "?";
}

static void fileline(const fsk__gosym_t *g, const unsigned char *f, uint64_t entry, uint64_t pc,
                     const char **file, int *line) {
  int32_t fno = pcvalue(g, rd32(f + F_PCFILE), entry, pc);
  int32_t ln = pcvalue(g, rd32(f + F_PCLN), entry, pc);

  *file = NULL;
  *line = ln;
  if (fno >= 0) {
    const unsigned char *cu = g->cutab + ((uint64_t)rd32(f + F_CU) + (uint64_t)fno) * 4;
    if (cu + 4 <= g->tab + g->len) {
      uint32_t foff = rd32(cu);
      if (foff != 0xffffffffu && g->filetab + foff < g->tab + g->len)
        *file = (const char *)g->filetab + foff;
    }
  }
}

int fsk__gosym_name(const fsk__gosym_t *g, uint64_t pc, char *buf, size_t len) {
  uint64_t entry = 0;
  const unsigned char *f = func_of(g, pc, &entry);
  const char *file;
  int line;

  buf[0] = '\0';
  if (f == NULL)
    return -ENOENT;
  fileline(g, f, entry, pc, &file, &line);
  snprintf(buf, len, "%s (%s:%d)", fname(g, f), file != NULL ? file : "?", line);
  return 0;
}

/* A frame of the Go runtime or standard library: its package path has no
 * dot in its first element (user code is main, or a module path). */
static int stdlib(const char *fn) {
  const char *slash = strchr(fn, '/'), *dot = strchr(fn, '.');

  if (strncmp(fn, "main.", 5) == 0)
    return 0;
  if (slash != NULL && (dot == NULL || slash < dot)) {
    const char *d = memchr(fn, '.', (size_t)(slash - fn));
    return d == NULL;
  }
  return 1;
}

/* The stopped thread's stack, read once from its sp: a walk then needs one
 * system call instead of one per frame.  Read page by page (an iovec per
 * page), so an unmapped page past the stack ends the window rather than
 * failing it whole. */
#define STACK_WINDOW 16384

typedef struct {
  uint64_t base;
  size_t len;
  unsigned char buf[STACK_WINDOW];
} window_t;

static void window_read(window_t *w, pid_t tid, uint64_t sp) {
  struct iovec local = {w->buf, STACK_WINDOW}, remote[STACK_WINDOW / 4096 + 1];
  uint64_t a = sp, end = sp + STACK_WINDOW;
  int n = 0;
  ssize_t r;

  w->base = sp;
  w->len = 0;
  while (a < end && n < (int)(sizeof remote / sizeof *remote)) {
    uint64_t next = (a | 4095) + 1;

    if (next > end)
      next = end;
    remote[n++] = (struct iovec){(void *)(uintptr_t)a, (size_t)(next - a)};
    a = next;
  }
  if (!fsk__peek_fallback()) {
    r = process_vm_readv(tid, &local, 1, remote, (unsigned long)n, 0);
    if (r > 0)
      w->len = (size_t)r;
  }
  /* Refused (or nothing read): fsk__peek goes frame by frame, through
   * /proc/TID/mem where a container's profile asks for it. */
}

static int window_peek(const window_t *w, pid_t tid, uint64_t addr, uint64_t *v) {
  if (addr >= w->base && addr - w->base + sizeof *v <= w->len) {
    memcpy(v, w->buf + (addr - w->base), sizeof *v);
    return 0;
  }
  return fsk__peek(tid, addr, v, sizeof *v);
}

/* One frame of a walk in the report's form, "fn (file.go:line)", appended
 * to buf once the walk has reached code that is not the runtime's or the
 * standard library's (the frames above the program's own are skipped).
 * 1 when the walk should end: main.main, or buf full. */
static int frame_add(const fsk__gosym_t *g, const unsigned char *f, uint64_t entry, uint64_t pc,
                     char *buf, size_t len, size_t *used, int *shown, int *user) {
  const char *fn = fname(g, f), *file, *base;
  int line;

  if (!*user && !stdlib(fn))
    *user = 1;
  if (!*user)
    return 0;
  fileline(g, f, entry, pc, &file, &line);
  base = file != NULL ? strrchr(file, '/') : NULL;
  base = base != NULL ? base + 1 : file;
  *used += (size_t)snprintf(buf + *used, len - *used, "%s%s (%s:%d)", *shown ? " <- " : "", fn,
                            base != NULL ? base : "?", line);
  (*shown)++;
  return strcmp(fn, "main.main") == 0 || *used + 1 >= len;
}

int fsk__gosym_stack(const fsk__gosym_t *g, pid_t tid, uint64_t pc, uint64_t sp, char *buf,
                     size_t len) {
  size_t used = 0;
  int depth, shown = 0, user = 0;
  static __thread window_t w; /* 16 KB: not on the serving thread's stack */

  buf[0] = '\0';
  window_read(&w, tid, sp);
  /* A return address points after its call: the call's line is pc - 1's.
   * The first pc is where the thread is stopped (after its SYSCALL). */
  for (depth = 0; depth < 64 && shown < 6 && used + 1 < len; depth++) {
    uint64_t entry = 0, ret = 0;
    const unsigned char *f = func_of(g, depth == 0 ? pc : pc - 1, &entry);
    int32_t delta;

    if (f == NULL ||
        frame_add(g, f, entry, depth == 0 ? pc : pc - 1, buf, len, &used, &shown, &user))
      break;
    delta = pcvalue(g, rd32(f + F_PCSP), entry, depth == 0 ? pc : pc - 1);
    if (delta < 0)
      break;
    if (!g->arm64) {
      if (window_peek(&w, tid, sp + (uint64_t)delta, &ret) != 0 || ret == 0)
        break;
      sp += (uint64_t)delta + 8;
    } else if (depth == 0 && delta == 0) {
      /* A leaf with no frame: its return address is in LR.  Its caller's
       * frame record is at sp - 8: the caller's return address at sp, its
       * caller's frame pointer at sp - 8 (that frame's sp is it + 8). */
      uint64_t fp = 0;

      if (window_peek(&w, tid, sp, &ret) != 0 || ret == 0 ||
          window_peek(&w, tid, sp - 8, &fp) != 0 || fp == 0)
        break;
      sp = fp + 8;
    } else {
      if (window_peek(&w, tid, sp, &ret) != 0 || ret == 0)
        break;
      sp += (uint64_t)delta;
    }
    pc = ret;
  }
  return shown;
}

int fsk__gosym_pcs(const fsk__gosym_t *g, const uint64_t *pcs, int n, char *buf, size_t len) {
  size_t used = 0;
  int depth, shown = 0, user = 0;

  buf[0] = '\0';
  /* As fsk__gosym_stack, from the frames the kernel walked: the first pc
   * is where the thread entered the kernel, the others return addresses
   * (the call's line is pc - 1's).  A pc outside Go's code (a frame
   * pointer chain that left the program) ends the walk. */
  for (depth = 0; depth < n && shown < 6 && used + 1 < len; depth++) {
    uint64_t entry = 0, pc = depth == 0 ? pcs[0] : pcs[depth] - 1;
    const unsigned char *f = func_of(g, pc, &entry);

    if (f == NULL || frame_add(g, f, entry, pc, buf, len, &used, &shown, &user))
      break;
  }
  return shown;
}

/* Set once process_vm_readv or process_vm_writev failed with EPERM or
 * ENOSYS, which a seccomp profile says (a ptrace check failing would fail
 * the mem file too, so nothing is lost by trying it). */
static int g_vm_denied;

int fsk__peek_fallback(void) { return __atomic_load_n(&g_vm_denied, __ATOMIC_RELAXED); }

static int mem_io(pid_t tid, uint64_t addr, void *buf, size_t len, int write_) {
  char path[64];
  ssize_t r;
  int fd, rc = 0;

  if (!__atomic_load_n(&g_vm_denied, __ATOMIC_RELAXED)) {
    struct iovec l = {buf, len}, rm = {(void *)(uintptr_t)addr, len};

    r = write_ ? process_vm_writev(tid, &l, 1, &rm, 1, 0) : process_vm_readv(tid, &l, 1, &rm, 1, 0);
    if (r == (ssize_t)len)
      return 0;
    if (r >= 0 || (errno != EPERM && errno != ENOSYS))
      return -EFAULT;
    __atomic_store_n(&g_vm_denied, 1, __ATOMIC_RELAXED);
  }
  snprintf(path, sizeof path, "/proc/%d/mem", (int)tid);
  if ((fd = open(path, (write_ ? O_WRONLY : O_RDONLY) | O_CLOEXEC)) < 0)
    return -errno;
  r = write_ ? pwrite(fd, buf, len, (off_t)addr) : pread(fd, buf, len, (off_t)addr);
  if (r != (ssize_t)len)
    rc = r < 0 ? -errno : -EFAULT;
  close(fd);
  return rc;
}

int fsk__peek(pid_t tid, uint64_t addr, void *buf, size_t len) {
  return mem_io(tid, addr, buf, len, 0);
}

int fsk__poke(pid_t tid, uint64_t addr, const void *buf, size_t len) {
  return mem_io(tid, addr, (void *)buf, len, 1);
}
