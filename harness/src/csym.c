/* csym.c - C stacks of a thread stopped in the kernel, from DWARF CFI.
 *
 * Under the seccomp engine a thread that opens a file or a socket waits in
 * the kernel while fdsoak serves its notification, so its user stack is
 * still.  /proc/TID/syscall gives its pc and sp, and no other register: a
 * ptrace stop cannot be had while the thread waits (the wait is killable
 * only, so PTRACE_INTERRUPT would stop it only after the call, and with
 * another stack).  That is enough for the code gcc writes at -O2 without
 * frame pointers: every CFA rule there is "sp + N" (.eh_frame, which strip
 * keeps, and which static glibc has for its own functions).  elfutils'
 * libdwfl unwinds with our own thread callbacks: the initial registers are
 * pc and sp, and memory is read with process_vm_readv (fsk__peek).  A frame whose rule
 * needs another register (a function that keeps a frame pointer in rbp and
 * says CFA = rbp + 16) ends the walk there: the frames found so far are
 * kept.
 *
 * The frames are named as origin.c names the shim's: the symbol from
 * .symtab, the file and line from DWARF line tables where the program was
 * built with -g.  x86-64 and arm64; on arm64 a leaf's return address is in
 * LR, which /proc/TID/syscall does not give, so a walk there stops at the
 * first leaf (written, not tried on arm64 hardware).
 */
#include "csym.h"
#include "gosym.h"

#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#if defined(__x86_64__)
#define CSYM_DWARF_SP 7
#elif defined(__aarch64__)
#define CSYM_DWARF_SP 31
#endif

#define CSYM_FRAMES 48
/* Names of pcs seen (a direct-mapped cache): a loop opens from the same
 * few places, and naming a pc from the symbol and line tables costs tens
 * of microseconds where the lookup costs nothing. */
#define CSYM_NAMES 512

typedef struct {
  uint64_t pc;            /* the address looked up (0: empty) */
  const char *sym, *file; /* libdw's strings: alive as long as the Dwfl */
  int line;
  char addr[80];
} csym_name_t;

struct fsk__csym {
  Dwfl *dwfl;
  pid_t pid;
  /* the thread being unwound, for the callbacks */
  pid_t tid;
  uint64_t pc, sp;
  uint64_t pcs[CSYM_FRAMES];
  int activation[CSYM_FRAMES];
  int n;
  csym_name_t names[CSYM_NAMES];
};

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp) {
  fsk__csym_t *c = arg;

  (void)dwfl;
  if (*thread_argp != NULL)
    return 0;
  *thread_argp = c;
  return c->tid;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp) {
  fsk__csym_t *c = arg;

  (void)dwfl;
  if (tid != c->tid)
    return false;
  *thread_argp = c;
  return true;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg) {
  fsk__csym_t *c = arg;
  uint64_t v = 0;

  (void)dwfl;
  /* process_vm_readv, or /proc/TID/mem where a container refuses it */
  if (fsk__peek(c->tid, addr, &v, sizeof v) != 0)
    return false;
  *result = (Dwarf_Word)v;
  return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg) {
#ifdef CSYM_DWARF_SP
  fsk__csym_t *c = arg;
  Dwarf_Word sp = (Dwarf_Word)c->sp;

  if (!dwfl_thread_state_registers(thread, CSYM_DWARF_SP, 1, &sp))
    return false;
  dwfl_thread_state_register_pc(thread, (Dwarf_Word)c->pc);
  return true;
#else
  (void)thread;
  (void)arg;
  return false;
#endif
}

static const Dwfl_Thread_Callbacks g_thread_cb = {
  .next_thread = next_thread,
  .get_thread = get_thread,
  .memory_read = memory_read,
  .set_initial_registers = set_initial_registers,
};

int fsk__csym_open(pid_t pid, fsk__csym_t **out) {
  static char *debuginfo_path = NULL;
  static const Dwfl_Callbacks cb = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
  };
  fsk__csym_t *c;
  int rc = 0;

  *out = NULL;
#ifndef CSYM_DWARF_SP
  (void)pid;
  (void)cb;
  return -ENOEXEC;
#endif
  if ((c = calloc(1, sizeof *c)) == NULL)
    return -ENOMEM;
  c->pid = pid;
  if ((c->dwfl = dwfl_begin(&cb)) == NULL) {
    rc = -ENOMEM;
    goto out;
  }
  if (dwfl_linux_proc_report(c->dwfl, pid) != 0 || dwfl_report_end(c->dwfl, NULL, NULL) != 0) {
    rc = -ENOENT;
    goto out;
  }
  /* The ELF of the first module tells libdw the architecture. */
  if (!dwfl_attach_state(c->dwfl, NULL, pid, &g_thread_cb, c)) {
    rc = -ENOEXEC;
    goto out;
  }
  *out = c;
out:
  if (rc != 0)
    fsk__csym_free(c);
  return rc;
}

void fsk__csym_free(fsk__csym_t *c) {
  if (c == NULL)
    return;
  if (c->dwfl != NULL)
    dwfl_end(c->dwfl);
  free(c);
}

static int frame_cb(Dwfl_Frame *state, void *arg) {
  fsk__csym_t *c = arg;
  Dwarf_Addr pc;
  bool act = false;

  if (!dwfl_frame_pc(state, &pc, &act) || pc == 0)
    return DWARF_CB_ABORT;
  c->pcs[c->n] = (uint64_t)pc;
  c->activation[c->n] = act;
  c->n++;
  return c->n < CSYM_FRAMES ? DWARF_CB_OK : DWARF_CB_ABORT;
}

/* The C library's own entry points and internals, for a program built
 * without -g: its frames are above the program's first. */
static int libc_name(const char *s) {
  static const char *const names[] = {"open",      "open64",   "openat",  "openat64", "creat",
                                      "creat64",   "socket",   "fopen",   "fopen64",  "freopen",
                                      "freopen64", "fdopen",   "opendir", "tmpfile",  "tmpfile64",
                                      "mkstemp",   "mkostemp", "syscall", NULL};
  size_t i;

  if (s[0] == '_')
    return 1;
  for (i = 0; names[i] != NULL; i++)
    if (strcmp(s, names[i]) == 0)
      return 1;
  return 0;
}

/* The name of address a (a call's own address: a return address - 1). */
static const csym_name_t *name_of(fsk__csym_t *c, uint64_t a) {
  csym_name_t *e = &c->names[(a ^ (a >> 9)) % CSYM_NAMES];
  Dwfl_Module *m;
  Dwfl_Line *l;
  const char *mod = NULL, *base;
  Dwarf_Addr lo = 0;

  if (e->pc == a && a != 0)
    return e;
  memset(e, 0, sizeof *e);
  e->pc = a;
  if ((m = dwfl_addrmodule(c->dwfl, (Dwarf_Addr)a)) == NULL) {
    snprintf(e->addr, sizeof e->addr, "0x%llx", (unsigned long long)a);
    return e;
  }
  mod = dwfl_module_info(m, NULL, &lo, NULL, NULL, NULL, NULL, NULL);
  e->sym = dwfl_module_addrname(m, (Dwarf_Addr)a);
  if ((l = dwfl_module_getsrc(m, (Dwarf_Addr)a)) != NULL)
    e->file = dwfl_lineinfo(l, NULL, &e->line, NULL, NULL, NULL);
  base = mod != NULL ? strrchr(mod, '/') : NULL;
  base = base != NULL ? base + 1 : mod != NULL ? mod : "?";
  snprintf(e->addr, sizeof e->addr, "%s+0x%llx", base, (unsigned long long)(a - lo));
  return e;
}

int fsk__csym_stack(fsk__csym_t *c, pid_t tid, uint64_t pc, uint64_t sp, char *buf, size_t len,
                    int *named) {
  csym_name_t fr[CSYM_FRAMES]; /* copies: a later lookup may take a slot */
  size_t used = 0;
  int i, first = -1, shown = 0;

  buf[0] = '\0';
  *named = 0;
  c->tid = tid;
  c->pc = pc;
  c->sp = sp;
  c->n = 0;
  /* The walk ends where the CFI ends (or needs a register we lack): the
   * frames found until then are what we have. */
  (void)dwfl_getthread_frames(c->dwfl, tid, frame_cb, c);
  /* A return address points after its call: the call's line is at pc - 1
   * (the first frame is where the thread is stopped). */
  for (i = 0; i < c->n; i++)
    fr[i] = *name_of(c, c->pcs[i] - (c->activation[i] ? 0 : 1));
  /* The program's first frame: the first with a line (its own code was
   * built with -g, the C library's was not), else the first named frame
   * that is not the library's. */
  for (i = 0; i < c->n && first < 0; i++)
    if (fr[i].sym != NULL && fr[i].file != NULL && fr[i].line > 0)
      first = i;
  for (i = 0; i < c->n && first < 0; i++)
    if (fr[i].sym != NULL && !libc_name(fr[i].sym))
      first = i;
  if (first < 0)
    first = 0;
  for (i = first; i < c->n && shown < 8 && used + 1 < len; i++) {
    const char *sep = shown ? " <- " : "";

    if (fr[i].sym != NULL && fr[i].file != NULL && fr[i].line > 0)
      used += (size_t)snprintf(buf + used, len - used, "%s%s (%s:%d)", sep, fr[i].sym, fr[i].file,
                               fr[i].line);
    else if (fr[i].sym != NULL)
      used += (size_t)snprintf(buf + used, len - used, "%s%s", sep, fr[i].sym);
    else
      used += (size_t)snprintf(buf + used, len - used, "%s%s", sep, fr[i].addr);
    *named |= fr[i].sym != NULL;
    shown++;
    if (fr[i].sym != NULL && strcmp(fr[i].sym, "main") == 0)
      break;
  }
  return shown;
}
